"""The `ario.evidence.export/v1` body (spec/evidence.md V20-V26).

An issuer-signed export holds a cached verdict, the source anchor-trace bundle (inline, or
only referenced), that bundle's hash and RSA-PSS operator attestations. Everything is
recomputed: the linkage hash, the source bundle (recursively, by the caller-supplied
`verify_source`), every attestation, and the verdict object, which must agree with the
cached one on the deterministic dimensions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from ..encoding import sha256_hex
from ..errors import Malformed
from ..intake import Doc
from ..jcs import canonical
from ..limits import Limits
from ..reasons import ReasonCode as R
from ..reasons import Status
from ..result import Check, Result, passed, problem
from .attestation import Record, evaluate_record, parse_record
from .fields import get_array, get_hex, get_object, get_string
from .model import EMPTY_TRACE_FINDINGS, AttestationFinding, TraceFindings
from .verdict import agrees, build_verdict

BODY_TYPE = "ario.evidence.export/v1"

#: Our status as the family spells a bundle status.
FAMILY_WORD = {
    Status.VERIFIED: "verified",
    Status.INCOMPLETE: "partial",
    Status.FAILED: "failed",
    Status.MALFORMED: "malformed",
}

SourceVerifier = Callable[[Doc], "tuple[Result, TraceFindings | None]"]


@dataclass
class ExportOutcome:
    """What the export walk established; the wrapper finishes the verdict object."""

    checks: list[Check]
    children: tuple[Result, ...] = ()
    attestations: list[AttestationFinding] = field(default_factory=list)
    trace: TraceFindings = EMPTY_TRACE_FINDINGS
    source_status: str | None = None
    source_linkage_ok: bool | None = None
    verdict_agreement_ok: bool | None = None
    verdict: dict[str, Any] | None = None  # without status/summary until finished

    def subject(self) -> dict[str, Any]:
        """The export block of the result subject (family field names)."""
        return {
            "source_linkage_ok": self.source_linkage_ok,
            "source_status": self.source_status,
            "verdict_agreement_ok": self.verdict_agreement_ok,
            "attestations": [a.to_json() for a in self.attestations],
        }


def verify_export_body(bundle: dict[str, Any], body: dict[str, Any], fast: bool,
                       limits: Limits, verify_source: SourceVerifier) -> ExportOutcome:
    """V20-V25 over an export body whose wrapper already verified."""
    # V20: body structure, exactly one of source_bundle / source_bundle_ref.
    try:
        cached, records_raw, linkage_hex, source, ref = _shape(body, limits)
    except Malformed as exc:
        return ExportOutcome([problem("export.shape", exc.reason, exc.detail)])
    checks: list[Check] = [passed("export.shape")]

    # V23.1-V23.4: every attestation record is well-formed, before anything is trusted.
    records: list[Record] = []
    for i, raw in enumerate(records_raw):
        try:
            records.append(parse_record(raw, i, fast, limits))
        except Malformed as exc:
            checks.append(problem(f"attestation[{i}].record", exc.reason, exc.detail))
            return ExportOutcome(checks)
    checks.append(passed("export.attestations"))

    # V20: a referenced source is never fetched; what needs it stays undetermined.
    if source is None:
        checks.append(problem("export.source", R.SOURCE_BUNDLE_UNAVAILABLE,
                              f"source bundle only referenced ({ref}); not fetched, "
                              "source-dependent checks undetermined"))
        outcome = ExportOutcome(checks)
        _evaluate(records, None, fast, limits, outcome)
        return outcome
    checks.append(passed("export.source"))

    # V21: source linkage.
    try:
        linkage_ok = sha256_hex(canonical(source, fast, limits)) == linkage_hex
    except Malformed:
        linkage_ok = False
    checks.append(passed("export.source_linkage") if linkage_ok else problem(
        "export.source_linkage", R.SOURCE_LINKAGE_MISMATCH,
        "SHA-256(JCS(source_bundle)) differs from source_bundle_hash"))

    # V22: recompute the source bundle.
    source_result, findings = verify_source(Doc(source, fast))
    source_status = FAMILY_WORD[source_result.status]
    if source_result.status is Status.VERIFIED:
        checks.append(passed("export.source_bundle"))
    else:
        reason = (R.SOURCE_BUNDLE_INCOMPLETE if source_result.status is Status.INCOMPLETE
                  else R.SOURCE_BUNDLE_FAILED)
        primary = source_result.reason.value if source_result.reason is not None else "?"
        checks.append(problem("export.source_bundle", reason,
                              f"source bundle is {source_status} ({primary})"))
    outcome = ExportOutcome(checks, (source_result,), trace=findings or EMPTY_TRACE_FINDINGS,
                            source_status=source_status, source_linkage_ok=linkage_ok)

    # V23.5-V23.10: attestations against the source's checkpoints (last occurrence of a tx id wins,
    # as in the reference kernels; duplicates already fail the source, V11).
    if not _evaluate(records, _source_checkpoints(source), fast, limits, outcome):
        return outcome

    # V24, V25: the recomputed verdict object and its agreement with the cached copy.
    verdict = build_verdict(outcome.trace, outcome.attestations, bundle.get("generated_at"))
    agreement = agrees(cached, verdict)
    outcome.verdict, outcome.verdict_agreement_ok = verdict, agreement
    checks.append(passed("export.verdict_agreement") if agreement else problem(
        "export.verdict_agreement", R.VERDICT_DISAGREEMENT,
        "the cached kernel_verdict disagrees with the recomputed verdict"))
    return outcome


def _shape(body: dict[str, Any], limits: Limits) -> tuple[Any, list[Any], str, Any, str | None]:
    cached = get_object(body, "kernel_verdict", "body")
    records = get_array(body, "attestations", "body")
    if len(records) > limits.max_attestations:
        raise Malformed(R.BUNDLE_LIMIT_EXCEEDED,
                        f"{len(records)} attestations exceed {limits.max_attestations}")
    linkage_hex = get_string(body, "source_bundle_hash", "body")
    get_hex(body, "source_bundle_hash", "body", 32)
    source = body.get("source_bundle")
    has_ref = body.get("source_bundle_ref") is not None
    if source is not None and has_ref:
        raise Malformed(R.BAD_FIELD_TYPE,
                        "body has both source_bundle and source_bundle_ref; exactly one is allowed")
    ref = None
    if source is None:
        if not has_ref:
            raise Malformed(R.MISSING_FIELD, "body has neither source_bundle nor source_bundle_ref")
        ref = get_string(body, "source_bundle_ref", "body", non_empty=True)
    return cached, records, linkage_hex, source, ref


def _source_checkpoints(source: Any) -> dict[str, Any]:
    body = source.get("body") if isinstance(source, dict) else None
    raw = body.get("checkpoints") if isinstance(body, dict) else None
    out: dict[str, Any] = {}
    for cp in raw if isinstance(raw, list) else ():
        if isinstance(cp, dict) and isinstance(cp.get("tx_id"), str):
            out[cp["tx_id"]] = cp
    return out


def _evaluate(records: list[Record], checkpoints: dict[str, Any] | None, fast: bool,
              limits: Limits, outcome: ExportOutcome) -> bool:
    """V23.5-V23.10 for every record; False (and a malformed check) if a key cannot be built."""
    for record in records:
        try:
            finding, checks = evaluate_record(record, checkpoints, fast, limits)
        except Malformed as exc:
            outcome.checks.append(problem(f"attestation[{record.index}].signature",
                                          exc.reason, exc.detail))
            return False
        outcome.attestations.append(finding)
        outcome.checks.extend(checks)
    return True

"""The `ario.evidence/v1` wrapper and body dispatch (spec/evidence.md V1-V6).

V1 intake and depth  V2 spec_version, signature_alg, required fields  V3 body_hash
V4 Ed25519 wrapper signature and trusted signer  V5 body dispatch  V6 asserted verdict.
A wrapper whose body hash or signature fails stops there: its body is not examined.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from .. import ed25519
from ..encoding import sha256_hex
from ..errors import Malformed
from ..intake import Doc, check_depth, parse
from ..jcs import canonical
from ..limits import DEFAULT_LIMITS, Limits
from ..policy import DEFAULT_POLICY, Policy
from ..profiles import match_major
from ..reasons import ReasonCode as R
from ..result import Check, Result, make_result, passed, problem, rollup, skipped
from . import export, trace
from .fields import get_hex, get_object, get_string, show
from .model import TraceFindings
from .verdict import finish_verdict, verdict_sha256

KIND = "evidence"
SPEC_MAJOR = "ario.evidence/v1"
_UNSIGNED = ("signature", "co_signatures")

OnChainBytes = Mapping[str, Sequence[tuple[str, "bytes | None"]]]


def verify_evidence_bytes(
    data: bytes,
    *,
    policy: Policy = DEFAULT_POLICY,
    limits: Limits = DEFAULT_LIMITS,
    on_chain: OnChainBytes | None = None,
    content: Mapping[str, bytes] | None = None,
) -> Result:
    """Verify raw `ario.evidence/v1` bundle bytes. Never raises on hostile input."""
    try:
        doc = parse(data, limits)
    except Malformed as exc:
        return make_result(KIND, [problem("intake", exc.reason, exc.detail)])
    return verify_evidence_doc(doc, policy=policy, limits=limits, on_chain=on_chain, content=content)


def verify_evidence_doc(
    doc: Doc,
    *,
    policy: Policy = DEFAULT_POLICY,
    limits: Limits = DEFAULT_LIMITS,
    on_chain: OnChainBytes | None = None,
    content: Mapping[str, bytes] | None = None,
) -> Result:
    """Verify a bundle admitted by `intake.parse` (or `intake.parse_value`).

    `on_chain` maps a checkpoint tx id to the bytes each gateway returned for it, as
    ``[(gateway, bytes or None if unreachable), ...]``; None means offline (the default).
    `content` maps an event id to disclosed raw content bytes (side input, V13).
    """
    result, _ = _verify(doc, policy, limits, on_chain, content, allow_export=True)
    return result


def _verify(doc: Doc, policy: Policy, limits: Limits, on_chain: OnChainBytes | None,
            content: Mapping[str, bytes] | None,
            allow_export: bool) -> tuple[Result, TraceFindings | None]:
    b = doc.value
    # V1: a JSON object nested at most limits.max_depth deep, anywhere.
    if not isinstance(b, dict):
        return make_result(KIND, [problem("intake", R.NOT_AN_OBJECT,
                                          "evidence bundle is not a JSON object")]), None
    try:
        check_depth(b, limits)
    except Malformed as exc:
        return make_result(KIND, [problem("intake", exc.reason, exc.detail)]), None
    checks: list[Check] = [passed("intake")]
    subject = _subject(b)

    # V2 (a): spec_version is ario.evidence/v1 or a numeric minor of it.
    if not match_major(b.get("spec_version"), SPEC_MAJOR):
        checks.append(problem("spec_version", R.UNSUPPORTED_SPEC_VERSION,
                              f"spec_version {show(b.get('spec_version'))} is not accepted"))
        return make_result(KIND, checks, subject), None
    checks.append(passed("spec_version"))

    # V2 (b): the wrapper algorithm, absent or ed25519.
    if "signature_alg" in b and b["signature_alg"] != "ed25519":
        checks.append(problem("signature_alg", R.UNSUPPORTED_ALGORITHM,
                              f"signature_alg {show(b['signature_alg'])} is not supported (only ed25519)"))
        return make_result(KIND, checks, subject), None
    checks.append(passed("signature_alg"))

    # V2 (c): required fields and their encodings; the body must be inline.
    try:
        public_key = get_hex(b, "public_key", "bundle", 32)
        signature = get_hex(b, "signature", "bundle", 64)
        body_hash = get_string(b, "body_hash", "bundle")
        get_hex(b, "body_hash", "bundle", 32)
        body_type = get_string(b, "body_type", "bundle")
        if "body_ref" in b:
            raise Malformed(R.BODY_REF_UNSUPPORTED,
                            "body_ref (out-of-line body) is not supported; the body must be inline")
        body = get_object(b, "body", "bundle")
    except Malformed as exc:
        checks.append(problem("fields", exc.reason, exc.detail))
        return make_result(KIND, checks, subject), None
    checks.append(passed("fields"))

    # V3 and V4: both are evaluated; either failing ends verification (body untrusted).
    checks.append(_body_hash_check(body, body_hash, doc.fast, limits))
    checks.append(_signature_check(b, public_key, signature, doc.fast, limits))
    if any(c.reason is not None for c in checks[-2:]):
        return make_result(KIND, checks, subject), None

    # V4: trusted signer, only when the policy names a closed key set.
    if policy.trusted_keys is None:
        checks.append(skipped("trusted_signer", "no trusted key set given"))
    elif public_key in policy.trusted_keys:
        checks.append(passed("trusted_signer"))
    else:
        checks.append(problem("trusted_signer", R.UNTRUSTED_SIGNER,
                              f"wrapper key {b['public_key']} is not in the trusted key set"))

    # V5: dispatch on body_type.
    if body_type == trace.BODY_TYPE:
        checks.append(passed("body_type"))
        body_checks, findings = trace.verify_trace_body(body, doc.fast, limits, on_chain, content)
        checks.extend(body_checks)
        if findings is not None:
            subject["trace"] = findings.to_json()
        return make_result(KIND, checks, subject), findings
    if body_type == export.BODY_TYPE and allow_export:
        checks.append(passed("body_type"))
        return _finish_export(b, body, doc.fast, limits, on_chain, content, checks, subject), None
    why = ("an export cannot be the source of an export" if body_type == export.BODY_TYPE
           else f"body_type {show(body_type)} is not verifiable here")
    checks.append(problem("body_type", R.UNKNOWN_BODY_TYPE,
                          f"{why}; wrapper verified, body undetermined"))
    return make_result(KIND, checks, subject), None


def _finish_export(b: dict[str, Any], body: dict[str, Any], fast: bool, limits: Limits,
                   on_chain: OnChainBytes | None, content: Mapping[str, bytes] | None,
                   checks: list[Check], subject: dict[str, Any]) -> Result:
    def verify_source(source_doc: Doc) -> tuple[Result, TraceFindings | None]:
        # The source's own signer is the producer: no trust policy applies to it.
        return _verify(source_doc, DEFAULT_POLICY, limits, on_chain, content, allow_export=False)

    outcome = export.verify_export_body(b, body, fast, limits, verify_source)
    checks.extend(outcome.checks)
    subject["export"] = outcome.subject()
    if outcome.verdict is not None:
        # V26: the verdict carries our final status, so it never claims more than we do.
        status, _ = rollup(checks)
        verdict = finish_verdict(outcome.verdict, export.FAMILY_WORD[status],
                                 outcome.source_status or "malformed",
                                 outcome.trace, outcome.attestations)
        subject["verdict"] = verdict
        subject["verdict_jcs_sha256"] = verdict_sha256(verdict)
    return make_result(KIND, checks, subject, outcome.children)


def _body_hash_check(body: dict[str, Any], body_hash: str, fast: bool, limits: Limits) -> Check:
    try:
        recomputed = sha256_hex(canonical(body, fast, limits))
    except Malformed as exc:
        return problem("body_hash", exc.reason, f"body: {exc.detail}")
    if recomputed == body_hash:
        return passed("body_hash")
    return problem("body_hash", R.BODY_HASH_MISMATCH,
                   f"SHA-256(JCS(body)) is {recomputed}, bundle states {body_hash}")


def _signature_check(b: dict[str, Any], public_key: bytes, signature: bytes, fast: bool,
                     limits: Limits) -> Check:
    scope = {k: v for k, v in b.items() if k not in _UNSIGNED}
    try:
        message = canonical(scope, fast, limits)
    except Malformed as exc:
        return problem("signature", exc.reason, exc.detail)
    if ed25519.verify(public_key, message, signature):
        return passed("signature")
    return problem("signature", R.SIGNATURE_INVALID,
                   "Ed25519 signature does not verify over JCS(bundle without signature)")


def _subject(b: dict[str, Any]) -> dict[str, Any]:
    subject: dict[str, Any] = {}
    for key in ("spec_version", "body_type", "public_key", "generated_at"):
        if isinstance(b.get(key), str):
            subject[key] = b[key]
    verdict = b.get("verdict")
    if isinstance(verdict, dict) and isinstance(verdict.get("status"), str):
        subject["asserted_status"] = verdict["status"]  # display only, never trusted (V6)
    return subject

"""A14: a second opinion on the plugin's own audit report (spec/audit.md §7.3).

`ar-io-mlflow audit NAME/VERSION --format json` writes an `ario.mlflow.audit/v1` summary of
the plugin's verdicts: per stage a tx id and four checks (`signature`, `anchored_bytes`,
`source_of_truth`, `ario_attestation`), each `ok` true / false / null with a reason. The
file is untrusted input: `parse_claims` reads it strictly (kernel intake, then a closed
shape with limits) or raises `ClaimsError` with a reason code.

`ClaimsFold` compares, while events stream by, each claimed check with ours for the event
with that tx id; it keeps only the claimed stages. Per claimed check:

| claimed | ours | agreement | effect on the audit |
|---|---|---|---|
| true | passed | `agree` | none |
| true | failed / malformed | `contradicted` | `claim_contradicted` (failed) |
| true | incomplete / skipped / absent | `unchecked` | none (our own check already says why) |
| false | passed | `disagreement` | `claim_disagreement` (incomplete) |
| false | anything else | `agree` / `unchecked` | none |
| null | any | `not_claimed` | none |

A claimed stage whose tx id is not among the events is `event_omitted` (incomplete), and a
claims file about another model version (or training run) than the verified signed events
name is `claim_contradicted`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

from verifier.core.errors import Malformed
from verifier.core.intake import load
from verifier.core.limits import Limits
from verifier.core.reasons import ReasonCode as R
from verifier.core.reasons import Status
from verifier.core.result import Check, Outcome, Result, passed, problem, skipped

CLAIMS = "claims"
SCHEMA = "ario.mlflow.audit/v1"
MAX_BYTES = 16 * 1024 * 1024
MAX_STAGES = 10_000
MAX_TEXT = 4096
#: The plugin's check names and the check of ours each one corresponds to (spec/audit.md §9).
CHECK_MAP = {"signature": "signature", "anchored_bytes": "payload_hash",
             "source_of_truth": "record", "ario_attestation": "attestation"}
_TX = re.compile(r"[A-Za-z0-9_-]{1,128}")
_LIMITS = Limits(max_document_bytes=MAX_BYTES, max_depth=16)


class ClaimsError(Exception):
    """The claims file cannot be used; `reason` is an intake code or `claims_malformed`."""

    def __init__(self, reason: R, detail: str) -> None:
        super().__init__(detail)
        self.reason, self.detail = reason, detail


@dataclass(frozen=True, slots=True)
class ClaimedStage:
    """One stage of the report: `checks` maps a plugin check name to (ok, reason)."""

    stage: str
    tx_id: str | None
    checks: tuple[tuple[str, bool | None, str], ...]
    ok: bool | None


@dataclass(frozen=True, slots=True)
class Claims:
    model: str | None
    version: str | None
    stages: tuple[ClaimedStage, ...]
    overall_ok: bool | None
    run_id: str | None = None


def _text(value: Any, where: str, *, optional: bool = True) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise ClaimsError(R.CLAIMS_MALFORMED, f"{where} must be a string of at most {MAX_TEXT} characters")
    return value


def _tri(value: Any, where: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise ClaimsError(R.CLAIMS_MALFORMED, f"{where} must be true, false or null")


def parse_claims(data: bytes) -> Claims:
    """Strictly read an `ario.mlflow.audit/v1` report. Unknown keys are ignored (the plugin
    may add some); every known key must have its type. Raises ClaimsError."""
    try:
        doc = load(data, _LIMITS)
    except Malformed as exc:
        raise ClaimsError(exc.reason, f"claims file: {exc.detail}") from None
    if not isinstance(doc, dict):
        raise ClaimsError(R.CLAIMS_MALFORMED, "the claims file is not a JSON object")
    if doc.get("schema") != SCHEMA:
        raise ClaimsError(R.CLAIMS_MALFORMED, f"claims schema must be {SCHEMA!r}")
    version = doc.get("version")
    if isinstance(version, int) and not isinstance(version, bool):
        version = str(version)
    stages = doc.get("stages")
    if not isinstance(stages, list) or len(stages) > MAX_STAGES:
        raise ClaimsError(R.CLAIMS_MALFORMED, f"stages must be a list of at most {MAX_STAGES}")
    out = []
    for i, st in enumerate(stages):
        where = f"stages[{i}]"
        if not isinstance(st, dict):
            raise ClaimsError(R.CLAIMS_MALFORMED, f"{where} is not an object")
        tx = _text(st.get("tx_id"), f"{where}.tx_id")
        if tx is not None and not _TX.fullmatch(tx):
            raise ClaimsError(R.CLAIMS_MALFORMED, f"{where}.tx_id is not a tx id")
        checks = st.get("checks", {})
        if not isinstance(checks, dict) or len(checks) > 64:
            raise ClaimsError(R.CLAIMS_MALFORMED, f"{where}.checks must be an object of at most 64 checks")
        rows = []
        for name, c in checks.items():
            cw = f"{where}.checks.{name[:40]}"
            _text(name, cw, optional=False)
            if not isinstance(c, dict):
                raise ClaimsError(R.CLAIMS_MALFORMED, f"{cw} is not an object")
            rows.append((name, _tri(c.get("ok"), f"{cw}.ok"), _text(c.get("reason"), f"{cw}.reason") or ""))
        out.append(ClaimedStage(_text(st.get("stage"), f"{where}.stage", optional=False) or "",
                                tx, tuple(rows), _tri(st.get("ok"), f"{where}.ok")))
    return Claims(_text(doc.get("model"), "model"), _text(version, "version"), tuple(out),
                  _tri(doc.get("overall_ok"), "overall_ok"), _text(doc.get("run_id"), "run_id"))


def _ours(result: Result, check_id: str) -> Check | None:
    for c in result.checks:
        if c.id == check_id:
            return c
    return None


def compare(claimed: bool | None, ours: Outcome | None) -> str:
    """The agreement of one claimed check with our outcome (the table above)."""
    if claimed is None:
        return "not_claimed"
    if claimed:
        if ours is Outcome.PASSED:
            return "agree"
        return "contradicted" if ours in (Outcome.FAILED, Outcome.MALFORMED) else "unchecked"
    if ours is Outcome.PASSED:
        return "disagreement"
    return "agree" if ours in (Outcome.FAILED, Outcome.MALFORMED) else "unchecked"


_STATUS_OUTCOME = {Status.VERIFIED: Outcome.PASSED, Status.FAILED: Outcome.FAILED,
                   Status.MALFORMED: Outcome.MALFORMED, Status.INCOMPLETE: Outcome.INCOMPLETE}


class ClaimsFold:
    """Compares the claims with each event result as it streams by (memory: the claims)."""

    def __init__(self, claims: Claims) -> None:
        self.claims = claims
        self.by_tx: dict[str, list[int]] = {}
        for i, st in enumerate(claims.stages):
            if st.tx_id is not None:
                self.by_tx.setdefault(st.tx_id, []).append(i)
        self.rows: list[dict[str, Any] | None] = [None] * len(claims.stages)

    def observe(self, result: Result) -> None:
        tx = result.subject.get("tx_id")
        for i in self.by_tx.get(tx, ()) if isinstance(tx, str) else ():
            st = self.claims.stages[i]
            checks = {}
            for name, ok, why in st.checks:
                mine = _ours(result, CHECK_MAP.get(name, name))
                checks[name] = {"claimed": ok, "claimed_reason": why,
                                "ours": mine.outcome.value if mine else None,
                                "our_reason": mine.reason.value if mine and mine.reason else None,
                                "agreement": compare(ok, mine.outcome if mine else None)}
            overall = compare(st.ok, _STATUS_OUTCOME[result.status])
            self.rows[i] = {"stage": st.stage, "tx_id": st.tx_id, "event_type": result.subject.get("event_type"),
                            "status": result.status.value, "ok": st.ok, "agreement": overall,
                            "checks": checks}

    def finish(self, subject: Mapping[str, Any] | None = None) -> tuple[Check, dict[str, Any]]:
        """The A14 check and the per-stage comparison for the report. `subject` is the
        audit subject (A12) the claimed model version is compared with."""
        c = self.claims
        stages, contradicted, disagreed, missing = [], [], [], []
        for st, row in zip(c.stages, self.rows):
            if row is None:
                row = {"stage": st.stage, "tx_id": st.tx_id, "ok": st.ok, "status": None,
                       "agreement": "not_anchored" if st.tx_id is None else "missing",
                       "checks": {n: {"claimed": ok, "claimed_reason": why, "ours": None,
                                      "our_reason": None, "agreement": "unchecked"}
                                  for n, ok, why in st.checks}}
                if st.tx_id is not None:
                    missing.append(f"{st.stage} {st.tx_id}")
            stages.append(row)
            where = f"{st.stage} {st.tx_id or '(no tx)'}"
            verdicts = [(n, v["agreement"]) for n, v in row["checks"].items()] + [("ok", row["agreement"])]
            contradicted += [f"{where}: {n}" for n, a in verdicts if a == "contradicted"]
            disagreed += [f"{where}: {n}" for n, a in verdicts if a == "disagreement"]
        report = {"schema": SCHEMA, "model": c.model, "version": c.version, "run_id": c.run_id,
                  "overall_ok": c.overall_ok, "stages": stages}
        models = (subject or {}).get("model_versions") or []
        if c.model is not None and models and not any(
                m.get("name") == c.model and (c.version is None or m.get("version") == c.version)
                for m in models):
            return problem(CLAIMS, R.CLAIM_CONTRADICTED,
                           f"the claims are about model {c.model} v{c.version}, not a model version "
                           "the signed events name"), report
        runs = (subject or {}).get("run_ids") or []
        if c.run_id is not None and runs and c.run_id not in runs:
            return problem(CLAIMS, R.CLAIM_CONTRADICTED,
                           f"the claims name training run {c.run_id}, not a run the signed events "
                           "name"), report
        if contradicted:
            return problem(CLAIMS, R.CLAIM_CONTRADICTED,
                           f"{len(contradicted)} claimed pass(es) fail here: " + _list(contradicted)), report
        if missing:
            return problem(CLAIMS, R.EVENT_OMITTED,
                           f"{len(missing)} claimed stage(s) have no event in the evidence: "
                           + _list(missing)), report
        if disagreed:
            return problem(CLAIMS, R.CLAIM_DISAGREEMENT,
                           f"{len(disagreed)} claimed failure(s) verify here: " + _list(disagreed)), report
        if not c.stages:
            return skipped(CLAIMS, "the claims file lists no stages"), report
        return passed(CLAIMS, f"{len(c.stages)} claimed stage(s) agree with the evidence "
                              "(or make no claim we can check)"), report


def _list(items: list[str]) -> str:
    return "; ".join(items[:6]) + (f" (and {len(items) - 6} more)" if len(items) > 6 else "")

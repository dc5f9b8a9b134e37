"""A11 as a fold: the audit roll-up kept while events stream past (spec/audit.md).

`RollUp.observe(seq, result)` counts one decided event; `checks`/`subject` give the
audit's "events" check and subject. Its size does not grow with the number of events
except for the distinct signer keys (a handful in practice). The "first" event of a
status is the one with the smallest `seq`, whatever order events were decided in, so the
wording matches a source-order pass; counts are listed in a fixed order (status
severity, event type name) for the same reason.
"""

from __future__ import annotations

from typing import Any, Sequence

from verifier.core.reasons import SEVERITY, ReasonCode as R, Status
from verifier.core.result import Check, Result, passed, problem

from .policy import AuditPolicy


class RollUp:
    """Counts per status and event type, bound events, signers and time spans."""

    def __init__(self) -> None:
        self.statuses: dict[Status, int] = {}
        self.first: dict[Status, tuple[int, str, R | None]] = {}
        self.by_type: dict[str, int] = {}
        self.bound = 0
        self.signers: set[str] = set()
        self.signed: list[str] = []     # [earliest, latest]
        self.witnessed: list[str] = []
        self.events = 0

    def observe(self, seq: int, c: Result) -> None:
        get, status = c.subject.get, c.status
        self.events += 1
        statuses = self.statuses
        statuses[status] = statuses.get(status, 0) + 1
        first = self.first.get(status)
        if first is None or seq < first[0]:
            self.first[status] = (seq, str(get("label") or get("tx_id") or "event"), c.reason)
        etype = get("event_type", "unknown")
        if etype.__class__ is not str:
            etype = str(etype)
        by_type = self.by_type
        by_type[etype] = by_type.get(etype, 0) + 1
        if get("bound"):
            self.bound += 1
        if isinstance(k := get("public_key"), str):
            self.signers.add(k)
        if isinstance(t := get("signed_at"), str):
            _widen(self.signed, t)
        if isinstance(t := get("witnessed_at"), str):
            _widen(self.witnessed, t)

    def checks(self, target: Any, gaps: Sequence[tuple[str, str]],
               lineage: Sequence[Check]) -> list[Check]:
        """The "events" check, one check per collection gap, then the lineage checks."""
        checks: list[Check] = []
        if not self.events:
            checks.append(problem("events", R.ENVELOPE_NOT_FOUND,
                                  f"no anchored events were found for {target}"))
        else:
            checks.append(self._events_check())
        for what, why in gaps:
            checks.append(problem("collection", R.SURFACE_UNAVAILABLE, f"{what}: {why}"))
        checks.extend(lineage)
        return checks

    def _events_check(self) -> Check:
        counts = self.statuses
        worst = max(counts, key=lambda s: SEVERITY[s])
        summary = ", ".join(f"{counts[s]} {s.value}" for s in Status if counts.get(s))
        detail = f"{self.events} event(s): {summary}"
        if worst is Status.VERIFIED:
            return passed("events", detail)
        _, label, reason = self.first[worst]
        return problem("events", reason,  # type: ignore[arg-type]
                       f"{detail}; first {worst.value}: {label} ({reason.value})")  # type: ignore[union-attr]

    def subject(self, target: Any, graph: dict[str, Any], policy: AuditPolicy) -> dict[str, Any]:
        signed, witnessed = self.signed, self.witnessed
        return {
            "target": target,
            "events": self.events,
            "by_status": {s.value: self.statuses[s] for s in Status if s in self.statuses},
            "by_event_type": dict(sorted(self.by_type.items())),
            "bound": self.bound,
            "signers": sorted(self.signers),
            "signer_pinned": policy.trusted_keys is not None,
            "signed_at": {"earliest": signed[0], "latest": signed[-1]} if signed else None,
            "witnessed_at": {"earliest": witnessed[0], "latest": witnessed[-1]} if witnessed else None,
            "policy": policy.to_json(),
            "graph": graph,
        }


def _widen(span: list[str], t: str) -> None:
    """Widen [earliest, latest] to include `t` (ISO timestamps compare as text)."""
    if not span:
        span += [t, t]
    elif t < span[0]:
        span[0] = t
    elif t > span[1]:
        span[1] = t

"""Typed verification results: named checks with an outcome and a reason code.

A `Check` passes (`reason is None`), is skipped (not applicable), or carries one reason code
whose status bucket decides its outcome. A `Result` rolls its checks up: the worst bucket
wins (malformed > failed > incomplete > verified) and the primary reason is the first
check reason with that bucket. Nothing here is free text that callers must parse; the
`detail` strings are for display only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Iterable

from .reasons import SEVERITY, ReasonCode, Status, bucket


class Outcome(str, Enum):
    """Outcome of one check."""

    PASSED = "passed"
    SKIPPED = "skipped"
    INCOMPLETE = "incomplete"
    FAILED = "failed"
    MALFORMED = "malformed"


_OUTCOME_OF = {
    Status.INCOMPLETE: Outcome.INCOMPLETE,
    Status.FAILED: Outcome.FAILED,
    Status.MALFORMED: Outcome.MALFORMED,
}


@dataclass(frozen=True, slots=True)
class Check:
    """One named check. `id` values are stable (see spec/result-model.md)."""

    id: str
    outcome: Outcome
    reason: ReasonCode | None = None
    detail: str = ""

    @property
    def status(self) -> Status:
        """The status bucket this check contributes (verified for passed/skipped)."""
        return bucket(self.reason) if self.reason is not None else Status.VERIFIED

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "outcome": self.outcome.value,
            "reason": self.reason.value if self.reason is not None else None,
            "detail": self.detail,
        }


def passed(check_id: str, detail: str = "") -> Check:
    """A passing check."""
    return Check(check_id, Outcome.PASSED, None, detail)


def skipped(check_id: str, detail: str = "") -> Check:
    """A check that does not apply to this input."""
    return Check(check_id, Outcome.SKIPPED, None, detail)


def problem(check_id: str, reason: ReasonCode, detail: str = "") -> Check:
    """A non-passing check; its outcome follows from the reason's bucket."""
    return Check(check_id, _OUTCOME_OF[bucket(reason)], reason, detail)


@dataclass(slots=True)
class Result:
    """Outcome of verifying one document (envelope, bundle, lineage...).

    Treat as immutable. It is not a frozen dataclass only because frozen construction
    costs several microseconds, which matters on the 100k-envelope hot path."""

    kind: str
    status: Status
    reason: ReasonCode | None
    checks: tuple[Check, ...]
    subject: dict[str, Any] = field(default_factory=dict)
    children: tuple["Result", ...] = ()

    @property
    def ok(self) -> bool:
        """True only for `verified`; there is no third value."""
        return self.status is Status.VERIFIED

    def check(self, check_id: str) -> Check | None:
        """The first check with this id, if any."""
        for c in self.checks:
            if c.id == check_id:
                return c
        return None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "status": self.status.value,
            "reason": self.reason.value if self.reason is not None else None,
            "checks": [c.to_json() for c in self.checks],
        }
        if self.subject:
            out["subject"] = self.subject
        if self.children:
            out["children"] = [c.to_json() for c in self.children]
        return out


def rollup(checks: Iterable[Check]) -> tuple[Status, ReasonCode | None]:
    """Worst bucket wins; the primary reason is the first reason in that bucket."""
    status, reason = Status.VERIFIED, None
    for c in checks:
        if c.reason is None:
            continue
        s = bucket(c.reason)
        if SEVERITY[s] > SEVERITY[status]:
            status, reason = s, c.reason
    return status, reason


def make_result(
    kind: str,
    checks: Iterable[Check],
    subject: dict[str, Any] | None = None,
    children: Iterable[Result] = (),
) -> Result:
    """Build a `Result` whose status and primary reason follow from its checks."""
    checks = tuple(checks)
    status, reason = rollup(checks)
    return Result(kind, status, reason, checks, subject or {}, tuple(children))


def malformed_result(kind: str, check_id: str, reason: ReasonCode, detail: str) -> Result:
    """A result for input rejected before any cryptographic check ran."""
    return make_result(kind, [problem(check_id, reason, detail)])

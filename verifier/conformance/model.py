"""The runner's data model: cases, answers, per-case results (spec/conformance.md).

A `Case` is one request the runner sends to an implementation plus what it must answer.
Cases come from our own vectors (one vector = one case) or are converted from another
corpus format (see `peer.py`). Everything here is plain data; no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

PROTOCOL_VERSION = 1

#: Families of spec/vectors.md §3, in report order.
FAMILIES: tuple[str, ...] = (
    "jcs", "envelope", "merkle", "agent_proof", "evidence", "chain", "data_item", "receipt",
    "audit_bundle",
)

#: output name -> the capability an implementation declares to have it compared
#: (spec/vectors.md §4).
OUTPUT_CAPABILITY: dict[str, str] = {
    "canonical_hex": "canonical",
    "signed_scope_hex": "canonical",
    "payload_hash_hex": "hashes",
    "signature_hex": "signatures",
    "leaf_hashes_hex": "merkle",
    "root_hex": "merkle",
    "audit_path_hex": "merkle",
    "verdict_jcs_sha256": "evidence_verdict",
    "data_item_id": "data_items",
}
CAPABILITIES: tuple[str, ...] = (
    "canonical", "hashes", "signatures", "merkle", "evidence_verdict", "data_items",
)

STATUSES: tuple[str, ...] = ("verified", "failed", "malformed", "incomplete")
#: Pseudo-status for peer cases that only say "must not verify" without a status.
REJECTED = "rejected"
REASON_RE = re.compile(r"^[a-z0-9_]+$")


@dataclass(frozen=True, slots=True)
class Expected:
    """What a correct implementation answers.

    `status` is one of `STATUSES`, or `REJECTED` (anything but verified). `reason` is
    compared only when `reason_known` (always true for our own vectors; false for peer
    cases whose primary reason code the peer format does not determine).
    """

    status: str
    reason: str | None
    reason_known: bool = True
    outputs: dict[str, Any] = field(default_factory=dict)

    @property
    def must_reject(self) -> bool:
        return self.status != "verified"

    def describe(self) -> str:
        reason = self.reason if self.reason_known else "(any reason)"
        if self.status == "verified":
            return "verified"
        return f"{self.status}/{reason}"


@dataclass(frozen=True, slots=True)
class Case:
    """One conformance case: `id` is unique within a run."""

    id: str
    corpus: str
    family: str
    input: dict[str, Any]
    expected: Expected
    description: str = ""
    source: str = ""  # file the case came from, relative to its corpus root

    def request(self) -> dict[str, Any]:
        """The protocol request object: exactly id, family and the vector's input."""
        return {"id": self.id, "family": self.family, "input": self.input}


class Outcome(str, Enum):
    """How one case ended, after expected failures are applied."""

    PASSED = "passed"
    FAILED = "failed"  # unexpected failure
    XFAIL = "xfail"  # failed, and listed in the expected-failures file
    XPASS = "xpass"  # listed as expected failure but passed: unexpected
    NOT_APPLICABLE = "not_applicable"  # family not declared: never sent

    @property
    def unexpected(self) -> bool:
        return self in (Outcome.FAILED, Outcome.XPASS)


class Problem(str, Enum):
    """Why a case did not pass (None when it passed)."""

    MISMATCH = "mismatch"  # a well-formed answer that disagrees with the vector
    ERROR = "error"  # the implementation answered {"error": ...}
    INVALID_ANSWER = "invalid_answer"  # not JSON, wrong id, bad field types
    CRASH = "crash"  # process exited / closed stdout before answering
    TIMEOUT = "timeout"  # no answer within the per-case timeout
    NO_HANDSHAKE = "no_handshake"  # the implementation never completed the hello


@dataclass(slots=True)
class CaseResult:
    """The runner's verdict on one case."""

    case: Case
    outcome: Outcome
    problem: Problem | None = None
    detail: str = ""  # one or more human lines explaining a failure
    answer: dict[str, Any] | None = None
    outputs_compared: tuple[str, ...] = ()
    outputs_not_applicable: tuple[str, ...] = ()
    expected_failure_reason: str | None = None
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        c = self.case
        out: dict[str, Any] = {
            "id": c.id,
            "corpus": c.corpus,
            "family": c.family,
            "source": c.source,
            "outcome": self.outcome.value,
            "expected": {
                "status": c.expected.status,
                "reason": c.expected.reason if c.expected.reason_known else "*",
            },
            "seconds": round(self.seconds, 6),
        }
        if self.problem is not None:
            out["problem"] = self.problem.value
        if self.detail:
            out["detail"] = self.detail
        if self.answer is not None:
            out["actual"] = {"status": self.answer.get("status"), "reason": self.answer.get("reason")}
            if "error" in self.answer:
                out["actual"]["error"] = self.answer["error"]
        if self.outputs_compared:
            out["outputs_compared"] = list(self.outputs_compared)
        if self.outputs_not_applicable:
            out["outputs_not_applicable"] = list(self.outputs_not_applicable)
        if self.expected_failure_reason is not None:
            out["expected_failure"] = self.expected_failure_reason
        return out


@dataclass(frozen=True, slots=True)
class Hello:
    """What an implementation declared in its handshake."""

    name: str
    version: str
    families: frozenset[str]
    capabilities: frozenset[str]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "families": sorted(self.families),
            "capabilities": sorted(self.capabilities),
        }

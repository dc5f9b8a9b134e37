"""Lineage verification over a set of envelopes (spec/chain.md).

`verify_lineage` verifies every envelope (children, input order), turns each admissible one
into a `ChainNode` (L1, L8) and applies the lineage rules of `chain_rules.link`. The
result's checks are one ``envelope:<key>`` per input followed by the link findings; its
subject carries the lineage graph. Hostile input never raises: it ends as checks.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Sequence

from .chain_rules import GENESIS, ChainNode, LinkReport, link, link_form, rule_for
from .encoding import is_lower_hex
from .envelope import verify_envelope_bytes, verify_envelope_doc
from .errors import Malformed
from .intake import parse
from .jcs import canonical
from .limits import DEFAULT_LIMITS, Limits
from .policy import DEFAULT_POLICY, Policy
from .profiles import Profile, signed_scope
from .reasons import ReasonCode as R
from .result import Check, Outcome, Result, make_result, passed, problem

KIND = "lineage"
_BYTES = (bytes, bytearray, memoryview)

__all__ = [
    "GENESIS", "ChainNode", "LineageInput", "LinkReport", "link", "link_form", "rule_for",
    "verify_lineage",
]


@dataclass(frozen=True, slots=True)
class LineageInput:
    """One member of a lineage: its tx id (if known), envelope bytes and payload bytes."""

    tx_id: str | None
    envelope: bytes
    payload: bytes | None = None


def verify_lineage(
    events: Sequence[LineageInput],
    *,
    policy: Policy = DEFAULT_POLICY,
    limits: Limits = DEFAULT_LIMITS,
) -> Result:
    """Verify each envelope, then link the set by its profiles' chain rules."""
    try:
        events = list(events)
    except TypeError:
        return make_result(KIND, [problem("chain:events", R.BAD_FIELD_TYPE,
                                          "events must be a sequence of LineageInput")])
    if len(events) > limits.max_chain_events:
        return make_result(KIND, [problem("chain:events", R.INPUT_TOO_LARGE,
                                          f"{len(events)} events exceed the limit of "
                                          f"{limits.max_chain_events}")])
    if not events:
        return make_result(KIND, [problem("chain:events", R.ENVELOPE_NOT_FOUND,
                                          "the lineage holds no events")])
    children: list[Result] = []
    checks: list[Check] = []
    nodes: list[ChainNode] = []
    seen: set[str] = set()
    for i, item in enumerate(events):
        tx_id = getattr(item, "tx_id", None)
        tx_id = tx_id if isinstance(tx_id, str) else None
        key = tx_id if tx_id is not None else f"#{i}"
        while key in seen:
            key = f"{key}#{i}"
        seen.add(key)
        child, node = _member(item, key, tx_id, policy, limits)
        children.append(child)
        if child.reason is not None:
            checks.append(_member_check(key, child))
        if node is not None:
            nodes.append(node)
    if not checks:
        checks.append(passed("chain:members", f"all {len(events)} envelopes verified"))
    report = link(nodes, trusted_keys=policy.trusted_keys)
    checks.extend(report.checks)
    subject = {"events": len(events), "linked": len(nodes), "graph": report.graph}
    return make_result(KIND, checks, subject, children)


def _member_check(key: str, child: Result) -> Check:
    """L1: a member's verdict enters the lineage with its own primary reason."""
    cid = f"envelope:{key}"
    first = next((c for c in child.checks if c.reason is child.reason), None)
    return problem(cid, child.reason, first.detail if first is not None else "")


def _member(item: Any, key: str, tx_id: str | None, policy: Policy,
            limits: Limits) -> tuple[Result, ChainNode | None]:
    data, payload = getattr(item, "envelope", None), getattr(item, "payload", None)
    if not isinstance(data, _BYTES) or not (payload is None or isinstance(payload, _BYTES)):
        return make_result("envelope", [problem("intake", R.BAD_FIELD_TYPE,
                                                "envelope and payload must be bytes")]), None
    data = bytes(data)
    payload = bytes(payload) if payload is not None else None
    try:
        doc = parse(data, limits)
    except Malformed:
        return verify_envelope_bytes(data, payload, policy=policy, limits=limits), None
    child = verify_envelope_doc(doc, payload, policy=policy, limits=limits)
    fields = child.check("fields")
    if fields is None or fields.outcome is not Outcome.PASSED:
        return child, None  # L1: only structurally complete envelopes become nodes
    return child, _node(doc.value, doc.fast, key, tx_id, child, payload, limits)


def _node(env: dict[str, Any], fast: bool, key: str, tx_id: str | None, child: Result,
          payload: bytes | None, limits: Limits) -> ChainNode:
    profile = Profile(child.subject["profile"])
    event_type = _text(env.get("event_type"))
    # L8: Promoted profiles disclose previous_hash in the envelope; "" marks it missing.
    previous: str | None = _text(env.get("previous_hash"), missing="")
    if profile is Profile.EVENTS:
        previous = _text(env["previous_hash"], "") if "previous_hash" in env else None
        bound = child.check("payload_hash")
        if payload is not None and bound is not None and bound.outcome is Outcome.PASSED:
            record = _record(payload, limits)
            if record is not None:
                event_type = _text(record.get("event_type"))
                previous = _text(record.get("previous_hash"), missing="")
    return ChainNode(
        key=key, tx_id=tx_id, event_id=_text(env.get("event_id")), event_type=event_type,
        profile=profile.value, payload_hash=env["payload_hash"], previous_hash=previous,
        public_key=env["public_key"], fingerprint=_fingerprint(env, fast, profile, limits),
        rotates_to=_rotation(env, profile, event_type),
    )


def _text(value: Any, missing: str | None = None) -> str | None:
    return value if isinstance(value, str) else missing


def _record(payload: bytes, limits: Limits) -> dict[str, Any] | None:
    try:
        value = parse(payload, limits).value
    except Malformed:
        return None
    return value if isinstance(value, dict) else None


def _fingerprint(env: dict[str, Any], fast: bool, profile: Profile, limits: Limits) -> str | None:
    """L7: SHA-256 of JCS(signed scope + signature): same signed envelope, same value."""
    scope = signed_scope(env, profile)
    scope["signature"] = env["signature"]
    try:
        return hashlib.sha256(canonical(scope, fast, limits)).hexdigest()
    except Malformed:
        return None


def _rotation(env: dict[str, Any], profile: Profile, event_type: str | None) -> str | None:
    """L6: an agent key_retired event hands its (retired) signing key to a new key."""
    if profile is not Profile.AGENT or event_type != "key_retired":
        return None
    body = env.get("payload")
    if not isinstance(body, dict) or not is_lower_hex(body.get("new_public_key"), 32):
        return None
    retired = body.get("retired_public_key", env["public_key"])
    return body["new_public_key"] if retired == env["public_key"] else None


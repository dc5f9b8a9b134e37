"""The `ario.anchor.trace/v1` body: checkpoints, events and their proofs (spec/evidence.md V10-V16).

Structure is validated for every item first (V10; malformed on any violation), then
each checkpoint and event is verified and the findings are summarized as one check per
rule, in the normative check order of spec/evidence.md §5.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from ..envelope import verify_envelope_doc
from ..errors import Malformed
from ..intake import Doc
from ..jcs import canonical
from ..limits import Limits
from ..merkle import leaf_hash, verify_inclusion
from ..policy import Policy
from ..reasons import ReasonCode as R
from ..reasons import Status
from ..result import Check, Result, passed, problem, skipped
from .binding import (committed_content, content_binding, on_chain_finding, payload_binding,
                      record_event)
from .fields import get_array, get_hex, get_int, get_object, get_string, optional_hex
from .model import CheckpointFinding, EventFinding, Finding, OnChain, TraceFindings

BODY_TYPE = "ario.anchor.trace/v1"
#: Inner envelopes are judged by the family rules alone: no legacy, no signer restriction.
_INNER_POLICY = Policy()
_MAX_LISTED = 5


@dataclass(frozen=True, slots=True)
class _Checkpoint:
    tx_id: str
    envelope: dict[str, Any]
    record: bytes | None
    root_hex: str
    root: bytes


@dataclass(frozen=True, slots=True)
class _Event:
    envelope: dict[str, Any]
    record: bytes | None
    content: bytes | None
    leaf_hash_hex: str
    leaf_hash: bytes
    leaf_index: int
    leaf_count: int
    audit_path: tuple[bytes, ...]
    checkpoint_tx_id: str


def verify_trace_body(
    body: dict[str, Any],
    fast: bool,
    limits: Limits,
    on_chain: Mapping[str, Sequence[tuple[str, bytes | None]]] | None = None,
    content: Mapping[str, bytes] | None = None,
) -> tuple[list[Check], TraceFindings | None]:
    """Verify an anchor-trace body. Findings are None when the body is malformed."""
    try:
        checkpoints, events = _parse_body(body, limits)
    except Malformed as exc:
        return [problem("trace.shape", exc.reason, exc.detail)], None
    checks: list[Check] = [passed("trace.shape")]

    # V11 (a): tx ids are unique; the first occurrence is the one events bind to.
    by_tx_id: dict[str, _Checkpoint] = {}
    duplicates: list[str] = []
    for cp in checkpoints:
        if cp.tx_id in by_tx_id:
            duplicates.append(cp.tx_id)
        else:
            by_tx_id[cp.tx_id] = cp
    checks.append(_summary("trace.checkpoints.tx_id", R.DUPLICATE_EVENT,
                           [f"tx_id {t} appears more than once" for t in duplicates]))

    cp_findings, cp_checks, sizes = _verify_checkpoints(checkpoints, by_tx_id, fast, limits,
                                                        on_chain)
    ev_findings = []
    bad_envelope, withheld, bad_inclusion, bad_content = [], [], [], []
    for i, ev in enumerate(events):
        finding, notes = _verify_event(ev, by_tx_id, sizes, fast, limits, content or {})
        ev_findings.append(finding)
        label = f"event[{i}] {finding.event_id}"
        if notes.get("envelope"):
            bad_envelope.append(f"{label}: {notes['envelope']}")
        if finding.payload_bound is Finding.UNDETERMINED and finding.envelope_ok:
            withheld.append(f"{label}: record_bytes withheld")
        if notes.get("inclusion"):
            bad_inclusion.append(f"{label}: {notes['inclusion']}")
        if notes.get("content"):
            bad_content.append(f"{label}: {notes['content']}")

    checks.extend(cp_checks[:2])
    checks.append(_summary("trace.events.envelope", R.EVENT_INVALID, bad_envelope))
    checks.append(_summary("trace.events.record", R.RECORD_WITHHELD, withheld))
    checks.append(_summary("trace.events.inclusion", R.INCLUSION_INVALID, bad_inclusion))
    checks.append(_summary("trace.events.content", R.CONTENT_MISMATCH, bad_content))
    checks.append(cp_checks[2])
    # V15: a trace without checkpoints proves nothing.
    if checkpoints:
        checks.append(passed("trace.nonempty"))
    else:
        checks.append(problem("trace.nonempty", R.EMPTY_TRACE, "the trace has no checkpoints"))
    return checks, TraceFindings(tuple(cp_findings), tuple(ev_findings))


def _parse_body(body: dict[str, Any], limits: Limits) -> tuple[list[_Checkpoint], list[_Event]]:
    """V10: structure of the whole body."""
    raw_cps = get_array(body, "checkpoints", "body")
    raw_events = get_array(body, "events", "body")
    if len(raw_cps) + len(raw_events) > limits.max_trace_items:
        raise Malformed(R.BUNDLE_LIMIT_EXCEEDED,
                        f"{len(raw_cps) + len(raw_events)} trace items exceed {limits.max_trace_items}")
    checkpoints = []
    for i, cp in enumerate(raw_cps):
        where = f"body.checkpoints[{i}]"
        if not isinstance(cp, dict):
            raise Malformed(R.BAD_FIELD_TYPE, f"{where} must be a JSON object")
        checkpoints.append(_Checkpoint(
            tx_id=get_string(cp, "tx_id", where, non_empty=True),
            envelope=get_object(cp, "envelope", where),
            record=optional_hex(cp, "record_bytes", where),
            root_hex=get_string(cp, "merkle_root", where),
            root=get_hex(cp, "merkle_root", where, 32),
        ))
    events = []
    for i, ev in enumerate(raw_events):
        where = f"body.events[{i}]"
        if not isinstance(ev, dict):
            raise Malformed(R.BAD_FIELD_TYPE, f"{where} must be a JSON object")
        incl = get_object(ev, "inclusion", where)
        iw = f"{where}.inclusion"
        path = get_array(incl, "audit_path", iw)
        events.append(_Event(
            envelope=get_object(ev, "envelope", where),
            record=optional_hex(ev, "record_bytes", where),
            content=optional_hex(ev, "content", where),
            leaf_hash_hex=get_string(incl, "leaf_hash", iw),
            leaf_hash=get_hex(incl, "leaf_hash", iw, 32),
            leaf_index=get_int(incl, "leaf_index", iw),
            leaf_count=get_int(incl, "leaf_count", iw),
            audit_path=tuple(get_hex({"p": p}, "p", f"{iw}.audit_path[{k}]", 32)
                             for k, p in enumerate(path)),
            checkpoint_tx_id=get_string(incl, "checkpoint_tx_id", iw),
        ))
    return checkpoints, events


def _envelope_ok(result: Result) -> bool:
    """The family's envelope `ok`: verified, or verified except for a withheld payload."""
    return result.status is Status.VERIFIED or (
        result.status is Status.INCOMPLETE and result.reason is R.PAYLOAD_UNAVAILABLE)


def _why(result: Result) -> str:
    for c in result.checks:
        if c.reason is not None and c.reason is not R.PAYLOAD_UNAVAILABLE:
            return f"{c.reason.value}: {c.detail}" if c.detail else c.reason.value
    return "does not verify"


def _verify_checkpoints(
    checkpoints: list[_Checkpoint], by_tx_id: dict[str, _Checkpoint], fast: bool,
    limits: Limits, on_chain: Mapping[str, Sequence[tuple[str, bytes | None]]] | None,
) -> tuple[list[CheckpointFinding], list[Check], dict[str, int]]:
    """V11 envelope + record and Merkle root, V16 on-chain bytes. Also returns the tree
    size each (first-occurrence) checkpoint record commits to, for V12 (b)."""
    findings: list[CheckpointFinding] = []
    sizes: dict[str, int] = {}
    bad_env, bad_root, mismatched, unreachable = [], [], [], []
    for i, cp in enumerate(checkpoints):
        label = f"checkpoint[{i}] {cp.tx_id}"
        # V11 (b): the envelope verifies and its payload_hash binds the committed record.
        result = verify_envelope_doc(Doc(cp.envelope, fast), cp.record,
                                     policy=_INNER_POLICY, limits=limits)
        envelope_ok = result.status is Status.VERIFIED
        if not envelope_ok:
            why = ("record_bytes missing, root untrusted" if cp.record is None and _envelope_ok(result)
                   else _why(result))
            bad_env.append(f"{label}: {why}")
        # V11 (c): the record commits to exactly the stated root.
        event = record_event(cp.record, limits)
        committed = event.get("merkle_root") if event is not None else None
        size = event.get("leaf_count") if event is not None else None
        if by_tx_id[cp.tx_id] is cp and isinstance(size, int) and not isinstance(size, bool):
            sizes[cp.tx_id] = size
        root_ok = isinstance(committed, str) and committed == cp.root_hex
        if not root_ok and cp.record is not None:
            bad_root.append(f"{label}: record commits to {committed!r}, bundle states {cp.root_hex}")
        elif not root_ok:
            bad_root.append(f"{label}: no committed record to read the root from")
        # V16: optional on-chain comparison (bytes supplied by the caller).
        oc = None
        if on_chain is not None:
            first = by_tx_id[cp.tx_id]
            oc = on_chain_finding(first.envelope, on_chain.get(cp.tx_id, ()), fast, limits)
            if oc.rollup is OnChain.MISMATCH:
                gws = [g for g, o in oc.per_gateway if o is OnChain.MISMATCH]
                mismatched.append(f"{label}: bytes from {', '.join(gws)} differ from JCS(envelope)")
            elif oc.rollup is OnChain.UNREACHABLE:
                unreachable.append(f"{label}: unreachable on every gateway")
        findings.append(CheckpointFinding(cp.tx_id, envelope_ok, root_ok, oc))
    if on_chain is None:
        oc_check = skipped("trace.on_chain", "no on-chain bytes supplied (offline)")
    elif mismatched:
        oc_check = _summary("trace.on_chain", R.GATEWAY_DISAGREEMENT, mismatched)
    else:
        oc_check = _summary("trace.on_chain", R.GATEWAY_UNAVAILABLE, unreachable)
    return findings, [
        _summary("trace.checkpoints.envelope", R.CHECKPOINT_INVALID, bad_env),
        _summary("trace.checkpoints.merkle_root", R.MERKLE_ROOT_MISMATCH, bad_root),
        oc_check,
    ], sizes


def _verify_event(ev: _Event, by_tx_id: dict[str, _Checkpoint], sizes: dict[str, int],
                  fast: bool, limits: Limits,
                  content: Mapping[str, bytes]) -> tuple[EventFinding, dict[str, str]]:
    """V12 (a) envelope and record, V12 (b) inclusion, V13 content."""
    notes: dict[str, str] = {}
    event_id = ev.envelope.get("event_id")
    event_id = event_id if isinstance(event_id, str) else "<unknown>"
    # V12 (a): signature and spec_version; the record (if disclosed) must bind payload_hash.
    result = verify_envelope_doc(Doc(ev.envelope, fast), ev.record,
                                 policy=_INNER_POLICY, limits=limits)
    envelope_ok = _envelope_ok(result)
    if not envelope_ok:
        notes["envelope"] = _why(result)
    bound = payload_binding(ev.envelope, ev.record, fast, limits)

    # V12 (b): resolve the checkpoint, walk the audit path, and bind the leaf to this envelope.
    cp = by_tx_id.get(ev.checkpoint_tx_id)
    inclusion_ok = False
    if cp is None:
        notes["inclusion"] = f"checkpoint_tx_id {ev.checkpoint_tx_id!r} names no checkpoint"
    elif sizes.get(cp.tx_id, ev.leaf_count) != ev.leaf_count:
        notes["inclusion"] = (f"leaf_count {ev.leaf_count} is not the tree size "
                              f"{sizes[cp.tx_id]} the checkpoint record commits to")
    elif len(ev.audit_path) > limits.max_audit_path or not verify_inclusion(
            ev.leaf_hash, ev.leaf_index, ev.leaf_count, list(ev.audit_path), cp.root):
        notes["inclusion"] = "the audit path does not lead to the checkpoint's merkle_root"
    else:
        try:
            own_leaf = leaf_hash(canonical(ev.envelope, fast, limits))
        except Malformed as exc:
            own_leaf = None
            notes["inclusion"] = f"envelope not canonicalizable: {exc.detail}"
        if own_leaf == ev.leaf_hash:
            inclusion_ok = True
        elif own_leaf is not None:
            notes["inclusion"] = "leaf_hash is not SHA-256(0x00 || JCS(event envelope))"

    # V13: disclosed content against the committed content hash.
    committed = committed_content(record_event(ev.record, limits), ev.envelope)
    content_ok, why = content_binding(committed, ev.content, content.get(event_id))
    if content_ok is Finding.BROKEN:
        notes["content"] = why
    finding = EventFinding(event_id, envelope_ok, bound, inclusion_ok, cp is not None, content_ok)
    return finding, notes


def _summary(check_id: str, reason: R, items: list[str]) -> Check:
    """One check for a rule applied to many items: passes iff no item is listed."""
    if not items:
        return passed(check_id)
    shown = "; ".join(items[:_MAX_LISTED])
    more = f" (and {len(items) - _MAX_LISTED} more)" if len(items) > _MAX_LISTED else ""
    return problem(check_id, reason, shown + more)

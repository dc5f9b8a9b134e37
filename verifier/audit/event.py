"""A1-A6 for one event: everything that needs only the event's own evidence.

`check_event` parses the envelope once, picks the committed payload bytes (derive.py),
verifies the envelope with the kernel, binds tx id and bytes (binding.py) and returns an
`EventOutcome` (checks so far, subject, chain node and the facts the lineage checks need).
It is a pure function of its arguments so the engine can run it in worker processes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Mapping

from verifier.core import mlflow_profile as mp
from verifier.core.chain_rules import ChainNode
from verifier.core.envelope import envelope_checks
from verifier.core.errors import Malformed
from verifier.core.intake import parse
from verifier.core.limits import Limits
from verifier.core.policy import Policy
from verifier.core.reasons import ReasonCode as R
from verifier.core.result import Check, Outcome, passed, problem, skipped
from verifier.sources.fill import TX_SOURCE_SEARCH
from verifier.sources.model import EventRecord, FetchStatus

from .binding import binding_check, receipt_check
from .derive import derive
from .policy import AuditPolicy

PROOF_FOUND = "proof_found"
#: Origins that are only the producer's local copy, not bytes obtained for the tx id.
LOCAL_ORIGINS = ("mlflow-artifact:",)
_FOUND: dict[str | None, Check] = {}  # origin -> shared passed check (the first few origins)
_FOUND_MAX = 64  # bundle origins name one member per event: those are not kept
_LINEAGE_TYPES = frozenset({mp.TRAINING, mp.REGISTRATION, mp.DATASET, mp.PROMOTION})
# binding_check and receipt_check of an envelope without data item or receipt.
_NO_BINDING = (binding_check(None, b"", None, AuditPolicy()), receipt_check(None, None, AuditPolicy())[0])
_NO_BINDING_REQUIRED = (binding_check(None, b"", None, AuditPolicy(require_binding=True)),
                        _NO_BINDING[1])


@dataclass(slots=True)
class EventOutcome:
    """Per-event result of A1-A6, before the lineage checks (A7-A10) are added.

    `fingerprint` identifies the signed envelope for the linker (None: the envelope was
    not admitted as a chain node)."""

    key: str
    checks: list[Check]
    subject: dict[str, Any]
    fingerprint: str | None
    facts: dict[str, Any] | None
    surface: dict[str, Any] | None = None  # the source's surface, for lineage events only (A13)

    def node(self) -> ChainNode | None:
        """The event as the linker sees it (spec/chain.md L1, L8)."""
        if self.fingerprint is None:
            return None
        s = self.subject
        return ChainNode(self.key, s["tx_id"], s.get("event_id"), s.get("event_type"),
                         s["profile"], s["payload_hash"], s.get("previous_hash", ""),
                         s["public_key"], self.fingerprint)


def pack(outcomes: list[EventOutcome]) -> tuple[list[Check], list[tuple[int, ...]], list[tuple]]:
    """A compact, cheap-to-pickle form of a chunk: each distinct check, and each distinct
    list of checks (most events of a chunk share one), is sent once."""
    table: list[Check] = []
    index: dict[int, int] = {}  # id(check) -> position in table
    combos: list[tuple[int, ...]] = []
    combo_of: dict[tuple[int, ...], int] = {}  # ids of an event's checks -> combo
    rows = []
    for o in outcomes:
        ids = tuple(map(id, o.checks))
        c = combo_of.get(ids)
        if c is None:
            refs = []
            for check in o.checks:
                j = index.get(id(check))
                if j is None:
                    j = index[id(check)] = len(table)
                    table.append(check)
                refs.append(j)
            c = combo_of[ids] = len(combos)
            combos.append(tuple(refs))
        rows.append((o.key, c, o.subject, o.fingerprint, o.facts, o.surface))
    return table, combos, rows


def unpack(packed: tuple[list[Check], list[tuple[int, ...]], list[tuple]]) -> list[EventOutcome]:
    """Inverse of `pack` (each outcome gets its own list of checks: the fold extends it)."""
    table, combos, rows = packed
    lists = [[table[j] for j in refs] for refs in combos]
    return [EventOutcome(key, lists[c].copy(), subject, fp, facts, surface)
            for key, c, subject, fp, facts, surface in rows]


def _found(origin: str | None) -> Check:
    check = _FOUND.get(origin)
    if check is None:
        check = passed(PROOF_FOUND, f"envelope bytes from {origin}" if origin
                       else "envelope bytes available")
        if len(_FOUND) < _FOUND_MAX:
            _FOUND[origin] = check
    return check


def effective_origin(record: EventRecord) -> str:
    """Where the envelope bytes really came from (a bundle keeps the exporter's origin)."""
    origin = record.envelope_origin or ""
    if origin.startswith("bundle:"):
        return record.hints.get("exported_envelope_origin", origin)
    return origin


def proof_found_check(record: EventRecord) -> Check:
    """A1: were the anchored envelope bytes obtained for the tx id?"""
    fetch = record.fetch
    if record.hints.get("tx_source") == TX_SOURCE_SEARCH and record.envelope is not None:
        return passed(PROOF_FOUND, f"envelope bytes from {record.envelope_origin}; tx id "
                                   f"{record.tx_id} found by GraphQL search on Event-Id "
                                   "(the source recorded no tx id)")
    if fetch is None and record.tx_id is not None and record.envelope is not None:
        if not effective_origin(record).startswith(LOCAL_ORIGINS):
            return _found(record.envelope_origin)
    where = f" ({_per_gateway(fetch)})" if fetch is not None and fetch.per_gateway else ""
    if record.tx_id is None:
        searched = record.hints.get("tx_search")
        if searched:
            return problem(PROOF_FOUND, R.ENVELOPE_NOT_FOUND, "no tx id recorded for this "
                           f"event and none found by Event-Id search: {searched}")
        return problem(PROOF_FOUND, R.ENVELOPE_NOT_FOUND, "the event has no tx id: it was never anchored")
    status = fetch.status if fetch is not None else None
    if status is FetchStatus.DISAGREEMENT:
        return problem(PROOF_FOUND, R.GATEWAY_DISAGREEMENT,
                       f"different bytes for {record.tx_id}{where}")
    if record.envelope is not None:
        origin = effective_origin(record)
        if not origin.startswith(LOCAL_ORIGINS):
            return _found(record.envelope_origin)
        lead = f"only the local copy {origin} is available; the anchored bytes were not obtained"
    else:
        lead = f"no envelope bytes for {record.tx_id}"
    if status is FetchStatus.UNAVAILABLE:
        return problem(PROOF_FOUND, R.GATEWAY_UNAVAILABLE, f"{lead}: no gateway answered{where}")
    if status is FetchStatus.OFFLINE:
        return problem(PROOF_FOUND, R.ENVELOPE_NOT_FOUND, f"{lead} (offline, not cached)")
    if status is FetchStatus.TOO_LARGE:
        return problem(PROOF_FOUND, R.ENVELOPE_NOT_FOUND, f"{lead}: the response exceeded the byte cap{where}")
    if status is FetchStatus.NOT_FOUND:
        return problem(PROOF_FOUND, R.ENVELOPE_NOT_FOUND, f"{lead}: not found{where}")
    return problem(PROOF_FOUND, R.ENVELOPE_NOT_FOUND, f"{lead} (no gateway was asked)")


def _per_gateway(fetch: Any) -> str:
    return "; ".join(f"{g}: {o}" for g, o in fetch.per_gateway)


def check_event(
    index: int,
    record: EventRecord,
    policy: AuditPolicy,
    env_policy: Policy,
    limits: Limits,
) -> EventOutcome:
    """A1-A6 for `record` (the `index`-th record of the source), with the record's surface
    attached when the event is a lineage event (the completeness fold reads it)."""
    tx_id = record.tx_id
    key = tx_id if isinstance(tx_id, str) else f"#{index}"
    checks: list[Check] = [proof_found_check(record)]
    envelope = record.envelope
    if envelope is None:
        return _no_envelope(key, record, checks)

    hints = record.hints
    data_item = record.data_item
    if data_item is None and record.receipt is None and "binding_attempts" not in hints:
        if policy.require_receipts:
            checks += (binding_check(None, b"", None, policy), receipt_check(None, None, policy)[0])
        else:
            checks += _NO_BINDING_REQUIRED if policy.require_binding else _NO_BINDING
        bound, info = False, None
    else:
        checks.append(binding_check(tx_id, envelope, data_item, policy,
                                    origin=hints.get("data_item_origin"),
                                    attempts=hints.get("binding_attempts"),
                                    claims=hints.get("gateway_claims")))
        receipt, info = receipt_check(tx_id, record.receipt, policy)
        checks.append(receipt)
        bound = checks[1].outcome is Outcome.PASSED
    subject: dict[str, Any] = {"tx_id": tx_id, "bound": bound,  # origin: where these bytes were read
                               "envelope_origin": record.envelope_origin or ""}
    if record.payload is not None:
        subject["payload_origin"] = record.payload_origin or ""
    if data_item is not None:
        subject["data_item_origin"] = hints.get("data_item_origin", "")
    if hints.get("tx_source") == TX_SOURCE_SEARCH:
        subject["tx_source"] = TX_SOURCE_SEARCH
    if info is not None:
        subject["witnessed_at"] = info.witnessed_at
        subject["receipt_signer"] = info.receipt_signer
        subject["receipt_signer_pinned"] = info.receipt_signer_pinned

    try:
        doc = parse(envelope, limits)
    except Malformed as exc:
        checks.append(problem("intake", exc.reason, f"envelope: {exc.detail}"))
        return EventOutcome(key, checks, subject, None, None)
    env = doc.value
    if not isinstance(env, dict):
        checks.append(problem("intake", R.NOT_AN_OBJECT, "envelope is not a JSON object"))
        return EventOutcome(key, checks, subject, None, None)

    event_type = env.get("event_type")
    entity = env.get("subject")
    derived = derive(event_type, entity, env.get("payload_hash"), record.payload, record.surface)
    env_checks, _, clean = envelope_checks(doc, derived.committed, env_policy, limits, subject)
    checks += env_checks
    checks.append(derived.check)
    subject["label"] = label_of(event_type, entity, derived.facts)
    if isinstance(entity, dict):
        subject["entity"] = entity  # the signed subject: which run, model version, trace...

    fingerprint = None
    if clean or _passed(env_checks, "fields"):
        subject.setdefault("previous_hash", "")  # L8: a missing previous_hash is ""
        if clean or _passed(env_checks, "signature"):  # L7: same signature, same envelope
            fingerprint = f"{env['public_key']}:{env['signature']}"
        else:
            fingerprint = hashlib.sha256(envelope).hexdigest()
    if event_type.__class__ is str and event_type in _LINEAGE_TYPES:
        out = EventOutcome(key, checks, subject, fingerprint, derived.facts)
        if isinstance(record.surface, dict):
            out.surface = record.surface
        return out
    return EventOutcome(key, checks, subject, fingerprint, None)


def _no_envelope(key: str, record: EventRecord, checks: list[Check]) -> EventOutcome:
    subject: dict[str, Any] = {"tx_id": record.tx_id}
    for h in ("event_type", "label"):
        if h in record.hints:
            subject[h] = record.hints[h]
    checks.append(skipped("envelope", "no envelope bytes; nothing else can be checked"))
    out = EventOutcome(key, checks, subject, None, None)
    etype = subject.get("event_type")
    if etype.__class__ is str and etype in _LINEAGE_TYPES and isinstance(record.surface, dict):
        out.surface = record.surface
    return out


def _passed(checks: list[Check], check_id: str) -> bool:
    """True iff the first check named `check_id` passed."""
    for c in checks:
        if c.id == check_id:
            return c.outcome is Outcome.PASSED
    return False


def label_of(event_type: Any, subject: Any, facts: Mapping[str, Any] | None) -> str:
    """A short human name for the event ("training run 1a2b", "model fraud v3", ...)."""
    s = subject if isinstance(subject, dict) else {}
    f = facts or {}
    if event_type == mp.TRAINING:
        return f"training run {s.get('run_id') or f.get('run_id') or '?'}"
    if event_type == mp.REGISTRATION:
        return f"registration of model {s.get('name', '?')} v{s.get('version', '?')}"
    if event_type == mp.PROMOTION:
        to = f.get("to_stage")
        stage = f" to {to}" if isinstance(to, str) else ""
        return f"promotion of model {s.get('name', '?')} v{s.get('version', '?')}{stage}"
    if event_type == mp.PREDICTION:
        return f"prediction {s.get('decision_id', '?')}"
    if event_type == mp.DATASET:
        return f"dataset {s.get('name', '?')} ({str(s.get('digest', '?'))[:16]})"
    return f"{event_type or 'event'}"

"""The audit engine: a `Collection` in, one typed `Result` of kind "audit" out (spec/audit.md).

Steps A1-A6 (event.py) need only one event's evidence and run in order, optionally across
worker processes (fork, chunked, envelopes parsed once). A7-A10 (lineage.py, attest.py)
need the whole set and run in the calling process. A11 rolls the per-event results up:
the audit is as bad as its worst event, and missing pieces make it incomplete, never
verified. Nothing here does I/O except through the optional `verify_service` (A10).
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any, Callable, Sequence

from verifier.core import mlflow_profile as mp
from verifier.core.limits import DEFAULT_LIMITS, Limits
from verifier.core.reasons import SEVERITY, ReasonCode as R, Status, bucket
from verifier.core.result import Check, Outcome, Result, make_result, passed, problem
from verifier.sources.model import Collection, EventRecord

from .attest import VerifyAnswer, attestation_check
from .claims import Claims, ClaimsFold
from .completeness import CompletenessFold
from .event import EventOutcome, check_event, pack, unpack
from .lineage import (
    _HIDDEN, _NO_NODE, chain_findings, dataset_check, dataset_key, registration_artifacts,
    training_artifacts,
)
from .policy import DEFAULT_AUDIT_POLICY, AuditPolicy
from .subject import SubjectFold

KIND = "audit"
EVENT_KIND = "event"
#: Below this many events worker processes cost more than they save.
PARALLEL_THRESHOLD = 4096
Progress = Callable[[int, int], None]


def audit_collection(
    collection: Collection,
    policy: AuditPolicy = DEFAULT_AUDIT_POLICY,
    *,
    limits: Limits = DEFAULT_LIMITS,
    workers: int = 1,
    verify_service: Callable[[str], VerifyAnswer] | None = None,
    progress: Progress | None = None,
    claims: Claims | None = None,
) -> Result:
    """Audit every event of `collection` under `policy`, comparing the plugin's `claims`
    when given (A14). Never raises on hostile content."""
    with gc_paused():
        return _audit(collection, policy, limits, workers, verify_service, progress, claims)


@contextmanager
def gc_paused() -> Any:
    """Pause the cyclic garbage collector for a bulk step. An audit allocates millions of
    acyclic containers (results, subjects, graph nodes); each full collection would walk
    all of them again, costing a sixth of a 100k-event audit and freeing nothing. Reference
    counting still frees everything; the collector's previous state is restored after."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _audit(collection: Collection, policy: AuditPolicy, limits: Limits, workers: int,
           verify_service: Callable[[str], VerifyAnswer] | None,
           progress: Progress | None, claims: Claims | None = None) -> Result:
    records = list(collection.records)
    if len(records) > limits.max_chain_events:
        return make_result(KIND, [problem("events", R.INPUT_TOO_LARGE,
                                          f"{len(records)} events exceed the limit of "
                                          f"{limits.max_chain_events}")],
                           {"target": collection.target})
    outcomes = _local_checks(records, policy, limits, workers, progress)
    findings = chain_findings([n for o in outcomes if (n := o.node()) is not None], policy.trusted_keys)

    proven: set[tuple] = set()
    trainings: dict[str, dict[str, Any]] = {}
    for o in outcomes:
        etype = o.subject.get("event_type")
        if o.facts is None:
            continue
        if etype == mp.DATASET:
            proven.add(dataset_key(o.facts))
        elif etype == mp.TRAINING and isinstance(o.facts.get("run_id"), str):
            trainings.setdefault(o.facts["run_id"], o.facts)

    children: list[Result] = []
    subject, complete = SubjectFold(collection.target), CompletenessFold()  # A12, A13
    second = ClaimsFold(claims) if claims is not None else None  # A14
    per_event = findings.per_event
    for i, o in enumerate(outcomes):
        outcomes[i] = None  # type: ignore[call-overload]  # the child result replaces it
        checks = o.checks  # the outcome's own list: extended in place, then frozen
        local = len(checks)
        checks.append((per_event.get(o.key) or _HIDDEN) if o.fingerprint is not None
                      else _NO_NODE)  # chain_check, inline
        etype, facts = o.subject.get("event_type"), o.facts
        if etype == mp.TRAINING:
            checks.append(dataset_check(facts, proven))
            run = facts.get("run_id") if facts else None
            checks.append(training_artifacts(facts, collection.model_files.get(run)
                                             if isinstance(run, str) else None))
        elif etype == mp.REGISTRATION:
            run = facts.get("source_run_id") if facts else None
            run = run if isinstance(run, str) else None
            checks.append(registration_artifacts(facts, collection.model_files.get(run) if run else None,
                                                 trainings.get(run) if run else None))
        if verify_service is not None:
            tx = records[i].tx_id
            answer = verify_service(tx) if isinstance(tx, str) else None
            check, info = attestation_check(answer, tx, records[i].envelope,
                                            policy.min_attestation_level)
            checks.append(check)
            o.subject.update(info)
        child = _event_result(o, checks, local)
        children.append(child)
        subject.observe(child, facts)
        complete.observe(child, facts, records[i].surface)
        if second is not None:
            second.observe(child)

    tally = _tally(children)
    checks = _audit_checks(collection, children, findings.lineage, tally)
    checks += [subject.finish(), complete.finish()]
    out = _subject(collection, tally, findings.graph, policy)
    out["subject"] = subject.to_json()
    if second is not None:
        check, out["claims"] = second.finish(out["subject"])
        checks.append(check)
    return make_result(KIND, checks, out, children)


def _event_result(o: EventOutcome, checks: list[Check], local: int) -> Result:
    """Fold the lineage checks (after the first `local`) into the worker's A1-A6 roll-up
    (same rule as `rollup`)."""
    status, reason = o.status, o.reason
    for c in checks[local:]:
        if c.reason is not None:
            extra = bucket(c.reason)
            if SEVERITY[extra] > SEVERITY[status]:
                status, reason = extra, c.reason
    return Result(EVENT_KIND, status, reason, tuple(checks), o.subject)


# -- A1-A6, serial or across processes ----------------------------------------------------

_STATE: tuple[Sequence[EventRecord], AuditPolicy, Limits] | None = None


def _init_worker(records: Sequence[EventRecord], policy: AuditPolicy, limits: Limits) -> None:
    global _STATE
    _STATE = (records, policy, limits)


def _run_range(span: tuple[int, int]) -> tuple[list[Check], list[tuple]]:
    assert _STATE is not None
    records, policy, limits = _STATE
    return pack(_checks_for(records, range(*span), policy, limits))


def _checks_for(records: Sequence[EventRecord], indices: range, policy: AuditPolicy,
                limits: Limits) -> list[EventOutcome]:
    env_policy = policy.envelope_policy()
    return [check_event(i, records[i], policy, env_policy, limits) for i in indices]


def _run_chunk(records: list[EventRecord], start: int, policy: AuditPolicy,
               limits: Limits) -> tuple[list[Check], list[tuple]]:
    env_policy = policy.envelope_policy()
    return pack([check_event(start + i, r, policy, env_policy, limits) for i, r in enumerate(records)])


def _pool_context() -> tuple[Any, bool]:
    """(context, inherit): fork when this process has no other threads (workers inherit
    the records), else forkserver (records are shipped per chunk); (None, _) = serial."""
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork"), True
    if "forkserver" in methods:
        return multiprocessing.get_context("forkserver"), False
    return None, False


def _local_checks(records: list[EventRecord], policy: AuditPolicy, limits: Limits,
                  workers: int, progress: Progress | None) -> list[EventOutcome]:
    n = len(records)
    workers = max(1, min(workers, os.cpu_count() or 1))
    chunk = max(512, -(-n // (workers * 8)) if workers > 1 else 2048)
    spans = [(s, min(s + chunk, n)) for s in range(0, n, chunk)]
    ctx, inherit = _pool_context() if workers > 1 and n >= PARALLEL_THRESHOLD else (None, False)
    out: list[EventOutcome] = []
    if ctx is None:
        for span in spans:
            out.extend(_checks_for(records, range(*span), policy, limits))
            if progress is not None:
                progress(len(out), n)
        return out
    if inherit:  # forked workers inherit the records; only ranges and results cross over
        pool = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker,
                                   initargs=(records, policy, limits))
        parts = pool.map(_run_range, spans)
    else:
        pool = ProcessPoolExecutor(workers, mp_context=ctx)
        parts = pool.map(_run_chunk, [records[a:b] for a, b in spans], [a for a, _ in spans],
                         [policy] * len(spans), [limits] * len(spans))
    with pool:
        for part in parts:
            out.extend(unpack(part))
            if progress is not None:
                progress(len(out), n)
    return out


# -- A11: roll-up --------------------------------------------------------------------------


def _tally(children: list[Result]) -> dict[str, Any]:
    """One pass over the events for the roll-up and the audit subject."""
    statuses: dict[Status, int] = {}
    first: dict[Status, Result] = {}
    by_type: dict[str, int] = {}
    bound = 0
    signers: set[str] = set()
    signed: list[str] = []  # [earliest, latest]
    witnessed: list[str] = []
    for c in children:
        s, status = c.subject, c.status
        if status in statuses:
            statuses[status] += 1
        else:
            statuses[status], first[status] = 1, c
        etype = str(s.get("event_type", "unknown"))
        by_type[etype] = by_type.get(etype, 0) + 1
        if s.get("bound"):
            bound += 1
        if isinstance(k := s.get("public_key"), str):
            signers.add(k)
        for key, span in (("signed_at", signed), ("witnessed_at", witnessed)):
            if isinstance(t := s.get(key), str):
                if not span:
                    span += [t, t]
                elif t < span[0]:
                    span[0] = t
                elif t > span[1]:
                    span[1] = t
    return {"statuses": statuses, "first": first, "by_type": by_type, "bound": bound,
            "signers": signers, "signed": signed, "witnessed": witnessed, "events": len(children)}


def _audit_checks(collection: Collection, children: list[Result],
                  lineage: Sequence[Check], tally: dict[str, Any]) -> list[Check]:
    checks: list[Check] = []
    if not children:
        checks.append(problem("events", R.ENVELOPE_NOT_FOUND,
                              f"no anchored events were found for {collection.target}"))
    else:
        checks.append(_events_check(tally))
    for what, why in collection.gaps:
        checks.append(problem("collection", R.SURFACE_UNAVAILABLE, f"{what}: {why}"))
    checks.extend(lineage)
    return checks


def _events_check(tally: dict[str, Any]) -> Check:
    counts = tally["statuses"]
    worst = max(counts, key=lambda s: SEVERITY[s])
    summary = ", ".join(f"{counts[s]} {s.value}" for s in Status if counts.get(s))
    detail = f"{tally['events']} event(s): {summary}"
    if worst is Status.VERIFIED:
        return passed("events", detail)
    first = tally["first"][worst]
    label = first.subject.get("label") or first.subject.get("tx_id") or "event"
    return problem("events", first.reason,  # type: ignore[arg-type]
                   f"{detail}; first {worst.value}: {label} ({first.reason.value})")  # type: ignore[union-attr]


def _subject(collection: Collection, tally: dict[str, Any], graph: dict[str, Any],
             policy: AuditPolicy) -> dict[str, Any]:
    signed, witnessed = tally["signed"], tally["witnessed"]
    return {
        "target": collection.target,
        "events": tally["events"],
        "by_status": {s.value: n for s, n in tally["statuses"].items()},
        "by_event_type": tally["by_type"],
        "bound": tally["bound"],
        "signers": sorted(tally["signers"]),
        "signer_pinned": policy.trusted_keys is not None,
        "signed_at": {"earliest": signed[0], "latest": signed[-1]} if signed else None,
        "witnessed_at": {"earliest": witnessed[0], "latest": witnessed[-1]} if witnessed else None,
        "policy": policy.to_json(),
        "graph": graph,
    }


def event_problems(result: Result) -> list[tuple[Result, Check]]:
    """(event, check) pairs for every non-passing check of an audit's events."""
    return [(c, k) for c in result.children for k in c.checks
            if k.outcome not in (Outcome.PASSED, Outcome.SKIPPED)]


def stream_collection(collection: Collection, source: Any, policy: AuditPolicy = DEFAULT_AUDIT_POLICY,
                      *, limits: Limits = DEFAULT_LIMITS, workers: int = 1,
                      verify_service: Callable[[str], VerifyAnswer] | None = None,
                      claims: Claims | None = None) -> Any:
    """An `AuditRun` (stream.py) over an in-memory collection. The events are yielded once
    the whole audit is decided; the streaming pipeline (issue 9) replaces this with
    chunk-at-a-time decisions behind the same interface."""
    from .stream import AuditRun, EventResult

    state: dict[str, Result] = {}

    def events() -> Any:
        result = audit_collection(collection, policy, limits=limits, workers=workers,
                                  verify_service=verify_service, claims=claims)
        state["result"] = Result(result.kind, result.status, result.reason, result.checks,
                                 result.subject, ())
        for seq, child in enumerate(result.children):
            yield EventResult(seq, child)

    def finish() -> Result:
        return state["result"]

    records = collection.records
    return AuditRun(source, policy, events, finish, total=len(records),
                    loader=lambda seq: records[seq] if 0 <= seq < len(records) else None)

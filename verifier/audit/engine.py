"""The audit engine: events in, per-event results streamed out, one verdict at the end
(spec/audit.md A1-A13; docs/architecture.md, "The audit stream").

Events flow one bounded chunk at a time: A1-A6 (event.py) run on a chunk of records, in
this process, in local worker processes or on a Dask cluster (runtime.py), and come back
as compact rows. Here, in source order, each event registers in the compact lineage index
(linker.py) and is decided at once when nothing later in the source can change its checks
(its predecessor, dataset proofs and training record already seen); otherwise it waits,
pending, and is decided at the end. Decided events go straight to the consumer and to the
bounded folds (A11 roll-up, A12 subject, A13 completeness). Nothing holds all events.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Callable, Iterator, Mapping, Sequence

from verifier.core import mlflow_profile as mp
from verifier.core.limits import DEFAULT_LIMITS, Limits
from verifier.core.reasons import ReasonCode as R
from verifier.core.result import Check, Outcome, Result, make_result, problem, rollup
from verifier.runtime import batched, gc_paused, ordered_map
from verifier.sources.bundle_source import BundleSource, read_shard
from verifier.sources.errors import BundleError
from verifier.sources.model import Collection, EventRecord

from .attest import VerifyAnswer, attestation_check
from .claims import Claims, ClaimsFold
from .completeness import CompletenessFold
from .event import EventOutcome, check_event, pack, unpack
from .lineage import _NO_NODE, dataset_check, dataset_key, registration_artifacts, training_artifacts
from .linker import StreamLinker
from .policy import DEFAULT_AUDIT_POLICY, AuditPolicy
from .rollup import RollUp
from .stream import AuditRun, EventResult, SourceInfo
from .subject import SubjectFold

KIND = "audit"
EVENT_KIND = "event"
#: Below this many events local worker processes cost more than they save.
PARALLEL_THRESHOLD = 4096
#: Events per task sent to a worker (a bounded chunk: at most workers * 4 are in flight).
CHUNK = 1024
Progress = Callable[[int, int], None]
#: The event types with A8/A9 checks (`AuditFold._lineage`); every other event has none.
_LINEAGE_RULED = (mp.TRAINING, mp.REGISTRATION)  # a tuple: `in` compares, never hashes


def audit_collection(
    collection: Collection,
    policy: AuditPolicy = DEFAULT_AUDIT_POLICY,
    *,
    limits: Limits = DEFAULT_LIMITS,
    workers: int = 1,
    scheduler: str | None = None,
    verify_service: Callable[[str], VerifyAnswer] | None = None,
    progress: Progress | None = None,
    claims: Claims | None = None,
) -> Result:
    """Audit every event of `collection` under `policy` (comparing the plugin's `claims`
    when given, A14): the stream collected into one `Result` whose children are the events
    in source order. Never raises on hostile content."""
    run = stream_collection(collection, SourceInfo("collection", str(collection.target), True),
                            policy, limits=limits, workers=workers, scheduler=scheduler,
                            verify_service=verify_service, claims=claims)
    n = len(collection.records)
    children: list[Result | None] = [None] * n
    for ev in run:
        children[ev.seq] = ev.result
        if progress is not None:
            progress(run.done, n)
    r = run.summary.result
    return Result(r.kind, r.status, r.reason, r.checks, r.subject,
                  tuple(c for c in children if c is not None))


def stream_collection(collection: Collection, source: SourceInfo,
                      policy: AuditPolicy = DEFAULT_AUDIT_POLICY, *,
                      limits: Limits = DEFAULT_LIMITS, workers: int = 1,
                      scheduler: str | None = None,
                      verify_service: Callable[[str], VerifyAnswer] | None = None,
                      claims: Claims | None = None,
                      chunk: int = CHUNK, min_parallel: int = PARALLEL_THRESHOLD) -> AuditRun:
    """An `AuditRun` over an in-memory collection (MLflow, a v1 bundle): the per-event
    checks run `chunk` events at a time (in `workers` local processes when there are at
    least `min_parallel` events, or on the Dask cluster at `scheduler`); results stream out
    as they are decided."""
    records = collection.records
    n = len(records)

    def loader(seq: int) -> EventRecord | None:
        return records[seq] if 0 <= seq < n else None

    return _run(source, policy, limits, collection.target, collection.model_files,
                collection.gaps, n, lambda: _checked(records, policy, limits, workers, scheduler,
                                                     chunk, min_parallel),
                loader, verify_service, claims)


def stream_bundle(bundle: BundleSource, path: str | None, source: SourceInfo,
                  policy: AuditPolicy = DEFAULT_AUDIT_POLICY, *,
                  limits: Limits = DEFAULT_LIMITS, workers: int = 1,
                  scheduler: str | None = None, claims: Claims | None = None,
                  chunk: int = CHUNK, min_parallel: int = PARALLEL_THRESHOLD) -> AuditRun:
    """An `AuditRun` over an opened audit bundle. v2: serial runs read one shard at a time
    here; worker processes or Dask workers are sent (path, shard name) and read and verify
    the shard themselves (`read_shard` re-checks its digest). v1 (one pseudo-shard) runs
    as an in-memory collection. A shard that turns out bad makes the audit malformed with
    its bundle reason; the events before it are still reported."""
    if bundle.format == "v1" or (path is None and (scheduler or workers > 1)):
        col = bundle.collection()
        return stream_collection(col, source, policy, limits=limits, workers=workers,
                                 scheduler=scheduler, claims=claims, chunk=chunk,
                                 min_parallel=min_parallel)
    total = bundle.total
    parallel = bool(scheduler) or (workers > 1 and total >= min_parallel)

    def outcomes() -> Iterator[list[EventOutcome]]:
        if not parallel:
            seq = 0
            for part in batched(bundle.records(), chunk):
                yield _outcomes(part, seq, policy, limits)
                seq += len(part)
            return
        tasks = ((path, shard, bundle.limits, policy, limits) for shard in bundle.shard_entries())
        for kind, value in ordered_map(_run_shard, tasks, workers=workers, scheduler=scheduler,
                                       prefetch=4):
            if kind == "error":
                raise BundleError(R(value[0]), value[1])
            yield unpack(value)

    return _run(source, policy, limits, bundle.target, bundle.model_files, bundle.gaps, total,
                outcomes, bundle.record, None, claims, close=bundle.close)


def _run(source: SourceInfo, policy: AuditPolicy, limits: Limits, target: Any,
         model_files: Mapping[str, Any], gaps: Sequence[tuple[str, str]], total: int,
         outcomes: Callable[[], Iterator[list[EventOutcome]]],
         loader: Callable[[int], EventRecord | None],
         verify_service: Callable[[str], VerifyAnswer] | None, claims: Claims | None,
         close: Callable[[], None] | None = None) -> AuditRun:
    if total > limits.max_chain_events:
        if close is not None:
            close()
        return AuditRun.failed(source, make_result(KIND, [problem(
            "events", R.INPUT_TOO_LARGE, f"{total} events exceed the limit of {limits.max_chain_events}")],
            {"target": target}), policy)
    fold = AuditFold(target, model_files, gaps, policy, verify_service, loader, claims,
                     expected=total)

    def events() -> Iterator[EventResult]:
        with gc_paused():
            seq = 0
            try:
                for chunk in outcomes():
                    for o in chunk:
                        yield from fold.arrive(seq, o)
                        seq += 1
            except BundleError as exc:  # a shard reached mid-stream is unusable
                fold.broken = problem("bundle", exc.reason, exc.message)
            yield from fold.end()

    return AuditRun(source, policy, events, fold.result, total=total, loader=loader, close=close)


# -- A1-A6, chunk by chunk ------------------------------------------------------------------

def _outcomes(records: Sequence[EventRecord], start: int, policy: AuditPolicy,
              limits: Limits) -> list[EventOutcome]:
    env_policy = policy.envelope_policy()
    return [check_event(start + i, r, policy, env_policy, limits) for i, r in enumerate(records)]


def _run_chunk(task: tuple[int, list[EventRecord], AuditPolicy, Limits]) -> tuple[list[Check], list[tuple]]:
    start, records, policy, limits = task
    return pack(_outcomes(records, start, policy, limits))


def _run_shard(task: tuple) -> tuple[str, Any]:
    """In a worker: read one shard of the bundle at `path` and run A1-A6 on it."""
    path, shard, bundle_limits, policy, limits = task
    try:
        records = read_shard(path, shard, bundle_limits)
    except BundleError as exc:
        return "error", (exc.reason.value, exc.message)
    return "ok", pack(_outcomes(records, shard.first, policy, limits))


def _checked(records: Sequence[EventRecord], policy: AuditPolicy, limits: Limits, workers: int,
             scheduler: str | None, chunk: int, min_parallel: int) -> Iterator[list[EventOutcome]]:
    """A1-A6 outcomes, one chunk at a time, in source order."""
    n = len(records)
    spans = [(a, min(a + chunk, n)) for a in range(0, n, chunk)]
    if not scheduler and (workers <= 1 or n < min_parallel):
        for a, b in spans:
            yield _outcomes(records[a:b], a, policy, limits)
        return
    # One path for local processes and Dask: the chunk's records travel with the task (an
    # index-span path over fork-inherited records measured no faster: docs/performance.md).
    tasks = ((a, list(records[a:b]), policy, limits) for a, b in spans)
    rows = ordered_map(_run_chunk, tasks, workers=workers, scheduler=scheduler, prefetch=4)
    for packed in rows:
        yield unpack(packed)


# -- the fold: A7-A13 on the stream ----------------------------------------------------------


class AuditFold:
    """Decides each event as soon as nothing later can change it; the rest at `end`."""

    def __init__(self, target: Any, model_files: Mapping[str, Any], gaps: Sequence[tuple[str, str]],
                 policy: AuditPolicy, verify_service: Callable[[str], VerifyAnswer] | None,
                 loader: Callable[[int], EventRecord | None], claims: Claims | None = None, *,
                 expected: int = 0) -> None:
        """`expected`: the number of events the source announces (sizes the lineage index)."""
        self.target, self.model_files, self.gaps, self.policy = target, model_files, gaps, policy
        self.verify_service, self.loader = verify_service, loader
        self.linker = StreamLinker(policy.trusted_keys, expected=expected)
        self.proven: set[tuple] = set()                  # dataset proofs seen (A8)
        self.trainings: dict[str, dict[str, Any]] = {}   # run id -> first training facts (A9)
        self.pending: dict[int, tuple[EventOutcome, int, Check | None, Check | None]] = {}
        self.rollup, self.subject = RollUp(), SubjectFold(target)
        self.complete = CompletenessFold()
        self.claims = ClaimsFold(claims) if claims is not None else None  # A14
        self.lineage: tuple[Check, ...] = ()
        self.broken: Check | None = None  # the source failed mid-stream (a bad shard)
        self.graph: dict[str, Any] = {}

    def arrive(self, seq: int, o: EventOutcome) -> tuple[EventResult, ...]:
        """Register event `seq` (source order) and return it if already decided."""
        facts, etype = o.facts, o.subject.get("event_type")
        if facts is not None:
            if etype == mp.DATASET:
                self.proven.add(dataset_key(facts))
            elif etype == mp.TRAINING and isinstance(facts.get("run_id"), str):
                self.trainings.setdefault(facts["run_id"], facts)
        node = o.node()
        index, chain = (-1, _NO_NODE) if node is None else self.linker.add(node)
        attest = self._attest(seq, o) if self.verify_service is not None else None
        lineage = self._lineage(etype, facts, final=False) if etype in _LINEAGE_RULED else ()
        if chain is None or lineage is None:
            self.pending[seq] = (o, index, chain, attest)
            return ()
        return (self._emit(seq, o, chain, lineage, attest),)

    def end(self) -> Iterator[EventResult]:
        """Decide the pending events (in source order) and the set-level checks."""
        decided, self.lineage, self.graph = self.linker.finish()
        for seq in sorted(self.pending):
            o, index, chain, attest = self.pending.pop(seq)
            lineage = self._lineage(o.subject.get("event_type"), o.facts, final=True)
            yield self._emit(seq, o, chain if chain is not None else decided[index],
                             lineage or [], attest)

    def result(self) -> Result:
        """The audit verdict (after `end`): kind "audit", no children."""
        checks = self.rollup.checks(self.target, self.gaps, self.lineage)
        if self.broken is not None:
            checks.insert(0, self.broken)
        checks += [self.subject.finish(), self.complete.finish()]
        out = self.rollup.subject(self.target, self.graph, self.policy)
        out["subject"] = self.subject.to_json()
        if self.claims is not None:
            check, out["claims"] = self.claims.finish(out["subject"])
            checks.append(check)
        return make_result(KIND, checks, out)

    def _lineage(self, etype: Any, facts: Mapping[str, Any] | None, final: bool) -> list[Check] | None:
        """A8/A9 checks, or None while a later event could still change them (only events
        of a type in `_LINEAGE_RULED` have any)."""
        if etype == mp.TRAINING:
            datasets = dataset_check(facts, self.proven)
            if not final and datasets.reason is R.DATASET_UNRESOLVED:
                return None
            run = facts.get("run_id") if facts else None
            return [datasets, training_artifacts(facts, self.model_files.get(run)
                                                 if isinstance(run, str) else None)]
        if etype == mp.REGISTRATION:
            run = facts.get("source_run_id") if facts else None
            run = run if isinstance(run, str) else None
            if not final and run is not None and run not in self.trainings:
                return None
            return [registration_artifacts(facts, self.model_files.get(run) if run else None,
                                           self.trainings.get(run) if run else None)]
        return []

    def _attest(self, seq: int, o: EventOutcome) -> Check:
        record = self.loader(seq)
        tx = record.tx_id if record is not None else None
        answer = self.verify_service(tx) if isinstance(tx, str) else None  # type: ignore[misc]
        check, info = attestation_check(answer, tx, record.envelope if record is not None else None,
                                        self.policy.min_attestation_level)
        o.subject.update(info)
        return check

    def _emit(self, seq: int, o: EventOutcome, chain: Check, lineage: Sequence[Check],
              attest: Check | None) -> EventResult:
        checks = o.checks  # the outcome's own list: extended in place, then frozen
        checks.append(chain)
        if lineage:
            checks += lineage
        if attest is not None:
            checks.append(attest)
        child = _event_result(o, checks)
        facts = o.facts
        self.rollup.observe(seq, child)
        self.subject.observe(child, facts)
        self.complete.observe(child, facts, o.surface)
        if self.claims is not None:
            self.claims.observe(child)
        return EventResult(seq, child)


def _event_result(o: EventOutcome, checks: list[Check]) -> Result:
    status, reason = rollup(checks)
    return Result(EVENT_KIND, status, reason, tuple(checks), o.subject)


def event_problems(result: Result) -> list[tuple[Result, Check]]:
    """(event, check) pairs for every non-passing check of an audit's events."""
    return [(c, k) for c in result.children for k in c.checks
            if k.outcome not in (Outcome.PASSED, Outcome.SKIPPED)]

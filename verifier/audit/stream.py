"""The audit's per-event result stream: the one interface the CLI, the TUI and the PDF report
consume (docs/architecture.md, "The audit stream").

An `AuditRun` is one audit in progress. Iterating it drives the audit and yields one
`EventResult` per event, in the order the events are decided (not necessarily source
order: an event whose predecessor arrives later is decided when it does). Every event is
yielded exactly once, with its final status. When the iterator is exhausted, `summary`
holds the verdict: a `Result` of kind "audit" with the audit-level checks and a subject of
bounded size (counts, signed subject, policy, lineage overview), plus the non-verified
events up to `FAILURE_CAP`.

Consumers never see the engine's internals: a TUI posts each `EventResult` as a message, a
report writes the findings and the register, `--events-out` writes one JSON line per
event. `evidence(seq)` re-reads one event's raw evidence from the source for detail views
(envelope, payload, data item, receipt, surface), so nothing keeps all evidence in memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Mapping

from verifier.core.reasons import SEVERITY, ReasonCode, Status
from verifier.core.result import Result
from verifier.sources.model import EventRecord

from .policy import DEFAULT_AUDIT_POLICY, AuditPolicy

#: The summary keeps at most this many non-verified events in full; beyond, only counts.
FAILURE_CAP = 1000


@dataclass(frozen=True, slots=True)
class EventResult:
    """One event's final result. `seq` is its 0-based position in the source's order (a
    stable locator for `AuditRun.evidence`); `result` is a `Result` of kind "event" whose
    checks are A1-A10 and whose subject holds display facts (tx_id, event_type, event_id,
    label, signed_at, witnessed_at, public_key, payload_hash, previous_hash, entity...).
    Every string in the subject came from evidence: escape it before showing it."""

    seq: int
    result: Result

    @property
    def status(self) -> Status:
        return self.result.status

    @property
    def reason(self) -> ReasonCode | None:
        return self.result.reason

    @property
    def subject(self) -> Mapping[str, Any]:
        return self.result.subject

    @property
    def tx_id(self) -> str | None:
        tx = self.result.subject.get("tx_id")
        return tx if isinstance(tx, str) else None

    @property
    def event_type(self) -> str | None:
        t = self.result.subject.get("event_type")
        return t if isinstance(t, str) else None

    def to_json(self) -> dict[str, Any]:
        """One `--events-out` line: the event result plus its `seq`."""
        out = self.result.to_json()
        out["seq"] = self.seq
        return out


@dataclass(frozen=True)
class AuditSummary:
    """The verdict of a finished run, of bounded size whatever the number of events.

    `result`: kind "audit" (status, primary reason, audit-level checks, subject); its
    `children` are empty. `counts`: events per status. `by_reason`: events per primary
    reason code (value). `failures`: the non-verified events, the first `FAILURE_CAP` in
    the order they were decided; `failures_omitted` counts the rest."""

    result: Result
    counts: Mapping[Status, int] = field(default_factory=dict)
    by_reason: Mapping[str, int] = field(default_factory=dict)
    failures: tuple[EventResult, ...] = ()
    failures_omitted: int = 0

    @property
    def status(self) -> Status:
        return self.result.status

    @property
    def events(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class SourceInfo:
    """What was audited, for headers: `kind` ("bundle", "mlflow"), `label` (the path or
    target as the user gave it: untrusted only in that the user typed it), `offline`, and
    `details` (e.g. bundle digest and format, tracking URI redacted, gateways, quorum)."""

    kind: str
    label: str
    offline: bool
    details: Mapping[str, Any] = field(default_factory=dict)


class Tally:
    """The bounded roll-up of a stream: counts per status and reason, capped failures."""

    def __init__(self, cap: int = FAILURE_CAP) -> None:
        self.cap = cap
        self.counts: dict[Status, int] = {}
        self.by_reason: dict[str, int] = {}
        self.failures: list[EventResult] = []
        self.omitted = 0

    def add(self, ev: EventResult) -> None:
        status = ev.result.status
        self.counts[status] = self.counts.get(status, 0) + 1
        if ev.result.reason is not None:
            code = ev.result.reason.value
            self.by_reason[code] = self.by_reason.get(code, 0) + 1
        if status is not Status.VERIFIED:
            if len(self.failures) < self.cap:
                self.failures.append(ev)
            else:
                self.omitted += 1

    def summary(self, result: Result) -> AuditSummary:
        return AuditSummary(result, dict(self.counts), dict(self.by_reason),
                            tuple(self.failures), self.omitted)


class AuditRun:
    """One audit. Iterate once to drive it; then read `summary`.

    `events` is a zero-argument callable returning the event iterator (so nothing runs
    before the consumer starts iterating); `finish` returns the audit-level `Result` once
    every event has been yielded. `total` is the number of events when known up front.
    `loader(seq)` re-reads one event's evidence (None when the source cannot)."""

    def __init__(self, source: SourceInfo, policy: AuditPolicy,
                 events: Callable[[], Iterator[EventResult]], finish: Callable[[], Result], *,
                 total: int | None = None,
                 loader: Callable[[int], EventRecord | None] | None = None,
                 close: Callable[[], None] | None = None) -> None:
        self.source, self.policy, self.total = source, policy, total
        self._events, self._finish, self._loader, self._close = events, finish, loader, close
        self._tally = Tally()
        self._summary: AuditSummary | None = None
        self._started = False
        self._sinks: list[Callable[[EventResult], None]] = []
        self._closers: list[Callable[[], None]] = []
        self.done = 0

    def add_sink(self, sink: Callable[[EventResult], None],
                 close: Callable[[], None] | None = None) -> None:
        """Also pass every event to `sink` as it is decided (e.g. `--events-out`), whoever
        iterates the run; `close` runs when the run is closed."""
        self._sinks.append(sink)
        if close is not None:
            self._closers.append(close)

    def __iter__(self) -> Iterator[EventResult]:
        if self._started:
            raise RuntimeError("an AuditRun can be iterated only once")
        self._started = True
        return self._drive()

    def _drive(self) -> Iterator[EventResult]:
        sinks = self._sinks
        for ev in self._events():
            self._tally.add(ev)
            self.done += 1
            for sink in sinks:
                sink(ev)
            yield ev
        self._summary = self._tally.summary(self._finish())

    @property
    def finished(self) -> bool:
        return self._summary is not None

    @property
    def summary(self) -> AuditSummary:
        """The verdict; only after the iterator is exhausted (RuntimeError before)."""
        if self._summary is None:
            raise RuntimeError("the audit has not finished: exhaust the iterator first")
        return self._summary

    def run(self, sink: Callable[[EventResult], None] | None = None) -> AuditSummary:
        """Drive the whole audit, passing each event to `sink`; return the summary."""
        if not self._started:
            for ev in self:
                if sink is not None:
                    sink(ev)
        elif self._summary is None:
            raise RuntimeError("the audit is being iterated elsewhere")
        return self.summary

    def evidence(self, seq: int) -> EventRecord | None:
        """The raw evidence of event `seq` (re-read from the source), or None."""
        return self._loader(seq) if self._loader is not None else None

    def close(self) -> None:
        if self._close is not None:
            self._close()
            self._close = None
        while self._closers:
            self._closers.pop()()

    def __enter__(self) -> "AuditRun":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @classmethod
    def failed(cls, source: SourceInfo, result: Result,
               policy: AuditPolicy = DEFAULT_AUDIT_POLICY) -> "AuditRun":
        """A run that could not start (unreadable or hostile input): no events, `result`
        (malformed / incomplete, with its reason) as the verdict."""
        return cls(source, policy, lambda: iter(()), lambda: result, total=0)


def worst(statuses: Iterable[Status]) -> Status:
    """The most severe status (VERIFIED for none)."""
    out = Status.VERIFIED
    for s in statuses:
        if SEVERITY[s] > SEVERITY[out]:
            out = s
    return out

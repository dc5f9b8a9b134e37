"""Consume an audit stream once, in bounded memory, for the report.

Every event goes to a gzip JSON Lines file as it arrives (the `events.jsonl.gz`
attachment: the full register); only bounded aggregates stay in memory: counts per event
type and status, per-check outcome counts, the first and last event of each type, the
register rows while the audit is small, and the lineage nodes of non-prediction events
with their predictions counted per parent. Nothing here renders or trusts a string.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Iterable

from verifier.audit.stream import AuditSummary, EventResult
from verifier.core.reasons import Status

#: Audits with at most this many events list every event in the register.
REGISTER_FULL = 150
#: Non-prediction events kept as lineage nodes and register rows above REGISTER_FULL.
NODE_CAP = 300
#: Distinct event types and prediction parents kept apart; the rest are counted together
#: (evidence chooses these strings, so their number must not grow the report).
TYPE_CAP = 24
PARENT_CAP = 64
OTHER = "(other)"
PREDICTION = "prediction"
#: The profile's lifecycle types are always kept apart.
KNOWN_TYPES = frozenset({"dataset", "training_complete", "model_registered", "stage_transition", PREDICTION})


@dataclass(frozen=True, slots=True)
class Row:
    """One register line, as the event's subject shows it (untrusted strings)."""

    seq: int
    event_type: str
    label: str
    signed_at: str
    witnessed_at: str
    tx_id: str
    signer: str
    status: Status
    reason: str
    previous: str


def clip(text: str, limit: int) -> str:
    """At most `limit` characters of an evidence string (a marker shows the cut): a hostile
    label must not make the report huge; the full value is in the attachment."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def row_of(ev: EventResult) -> Row:
    s = ev.subject

    def text(key: str, limit: int = 160) -> str:
        v = s.get(key)
        return clip(v, limit) if isinstance(v, str) else ""

    return Row(ev.seq, text("event_type") or "unknown", text("label"), text("signed_at"),
               text("witnessed_at"), text("tx_id"), text("public_key"), ev.status,
               ev.reason.value if ev.reason is not None else "", text("previous_hash"))


@dataclass
class Collected:
    """The bounded roll-up of one audit run, plus the path of the full register."""

    summary: AuditSummary | None = None
    events: int = 0
    by_type: dict[str, dict[Status, int]] = field(default_factory=dict)
    checks: dict[str, dict[str, int]] = field(default_factory=dict)
    first: dict[str, Row] = field(default_factory=dict)
    last: dict[str, Row] = field(default_factory=dict)
    rows: list[Row] | None = field(default_factory=list)  # None once above REGISTER_FULL
    nodes: list[Row] = field(default_factory=list)
    nodes_omitted: int = 0
    predictions_by_parent: dict[str, dict[Status, int]] = field(default_factory=dict)
    events_file: Path | None = None
    events_sha256: str = ""
    events_size: int = 0

    @property
    def full_register(self) -> bool:
        return self.rows is not None

    def add(self, ev: EventResult) -> None:
        row = row_of(ev)
        self.events += 1
        kind = row.event_type
        if kind not in KNOWN_TYPES and kind not in self.by_type and len(self.by_type) >= TYPE_CAP:
            kind = OTHER
        counts = self.by_type.setdefault(kind, {})
        counts[row.status] = counts.get(row.status, 0) + 1
        for c in ev.result.checks:
            per = self.checks.setdefault(c.id, {})
            per[c.outcome.value] = per.get(c.outcome.value, 0) + 1
        if kind not in self.first or row.seq < self.first[kind].seq:
            self.first[kind] = row
        if kind not in self.last or row.seq > self.last[kind].seq:
            self.last[kind] = row
        if self.rows is not None:
            self.rows.append(row)
            if len(self.rows) > REGISTER_FULL:
                self.rows = None
        if row.event_type == PREDICTION:
            parents = self.predictions_by_parent
            parent = row.previous if row.previous in parents or len(parents) < PARENT_CAP else OTHER
            per = parents.setdefault(parent, {})
            per[row.status] = per.get(row.status, 0) + 1
        elif len(self.nodes) < NODE_CAP:
            self.nodes.append(row)
        else:
            self.nodes_omitted += 1

    def finish(self) -> None:
        """Order what arrived in decision order by source position."""
        if self.rows is not None:
            self.rows.sort(key=lambda r: r.seq)
        self.nodes.sort(key=lambda r: r.seq)


class _HashingWriter:
    """A binary sink that hashes and counts what passes through to `out`."""

    def __init__(self, out: BinaryIO) -> None:
        self.out, self.sha, self.size = out, hashlib.sha256(), 0

    def write(self, data: bytes) -> int:
        self.sha.update(data)
        self.size += len(data)
        return self.out.write(data)

    def flush(self) -> None:
        self.out.flush()


def collect(run: Iterable[EventResult], events_path: Path,
            progress: Any = None) -> Collected:
    """Drive `run` (an AuditRun) once: every event to `events_path` as gzip JSON Lines
    (mtime 0, so the bytes depend on the events only), bounded aggregates in memory. The
    caller reads `run.summary` afterwards (set here as `summary` when available)."""
    out = Collected(events_file=events_path)
    with open(events_path, "wb") as raw:
        sink = _HashingWriter(raw)
        with gzip.GzipFile(filename="", mode="wb", fileobj=sink, mtime=0, compresslevel=6) as gz:
            for ev in run:
                gz.write(json.dumps(ev.to_json(), ensure_ascii=False, sort_keys=True).encode() + b"\n")
                out.add(ev)
                if progress is not None:
                    progress(out.events)
    out.events_sha256, out.events_size = sink.sha.hexdigest(), sink.size
    out.summary = getattr(run, "summary", None)
    out.finish()
    return out

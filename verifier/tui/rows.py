"""The browser's event index: one compact row per event, views over them, chain links.

No Textual here (and no I/O): the audit child turns each `EventResult` into a `Row` (a
tuple of short strings), the app keeps only rows (full results are fetched on demand), and
the event table renders the visible slice of a view. 100k rows are 100k tuples, not 100k
widgets. Every string in a row came from evidence: widgets escape it before display.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, NamedTuple, Sequence

from verifier.core.reasons import SEVERITY, Status

#: Display order of statuses: the worst first (failures first in the default view).
STATUS_ORDER = (Status.MALFORMED, Status.FAILED, Status.INCOMPLETE, Status.VERIFIED)
MARK = {Status.VERIFIED: "✓", Status.INCOMPLETE: "~", Status.FAILED: "✗", Status.MALFORMED: "!"}
GENESIS = "GENESIS"
#: Lineage stages in the order they happen (event_type values of the mlflow profile).
STAGES = (("dataset", "dataset proofs"), ("training_complete", "training runs"),
          ("model_registered", "registrations"), ("stage_transition", "promotions"),
          ("prediction", "predictions"))


class Row(NamedTuple):
    """One event as the table, filters, search and chain walk need it."""

    seq: int
    status: Status
    event_type: str
    signed_at: str
    witnessed_at: str
    tx_id: str
    reason: str
    label: str
    event_id: str
    run_id: str
    decision_id: str
    payload_hash: str
    previous_hash: str


def _s(value: Any) -> str:
    return value if isinstance(value, str) else ""


def row_of(seq: int, result: Any) -> Row:
    """The row of an event `Result` (any subject shape; missing or odd fields become "")."""
    s = result.subject if isinstance(result.subject, dict) else {}
    entity = s.get("entity") if isinstance(s.get("entity"), dict) else {}
    run_id = _s(entity.get("run_id")) or _s(entity.get("model_run_id")) or _s(s.get("run_id"))
    return Row(seq, result.status, _s(s.get("event_type")) or result.kind,
               _s(s.get("signed_at")), _s(s.get("witnessed_at")), _s(s.get("tx_id")),
               result.reason.value if result.reason is not None else "",
               _s(s.get("label")), _s(s.get("event_id")), run_id,
               _s(entity.get("decision_id")), _s(s.get("payload_hash")),
               _s(s.get("previous_hash")))


@dataclass
class Query:
    """What the table shows: statuses/types/reasons (empty = all), a search prefix, a sort."""

    statuses: frozenset[Status] = frozenset()
    types: frozenset[str] = frozenset()
    reasons: frozenset[str] = frozenset()
    search: str = ""
    sort: str = "status"

    @property
    def narrowed(self) -> bool:
        return bool(self.statuses or self.types or self.reasons or self.search)

    def matches(self, row: Row) -> bool:
        if self.statuses and row.status not in self.statuses:
            return False
        if self.types and row.event_type not in self.types:
            return False
        if self.reasons and row.reason not in self.reasons:
            return False
        if self.search:
            needle = self.search.lower()
            return any(f.lower().startswith(needle) for f in
                       (row.tx_id, row.event_id, row.run_id, row.decision_id, row.payload_hash))
        return True


#: Sort keys the table offers (the default puts the worst status first, then source order).
SORTS = ("status", "type", "time", "tx")
_SORT_KEY = {
    "status": lambda r: (-SEVERITY[r.status], r.seq),
    "type": lambda r: (r.event_type, r.seq),
    "time": lambda r: (r.signed_at, r.seq),
    "tx": lambda r: (r.tx_id, r.seq),
}


@dataclass
class EventIndex:
    """Every row received so far, the current view (a list of seqs) and the chain links."""

    rows: dict[int, Row] = field(default_factory=dict)
    by_tx: dict[str, int] = field(default_factory=dict)
    successors: dict[str, list[int]] = field(default_factory=dict)
    query: Query = field(default_factory=Query)
    view: list[int] = field(default_factory=list)
    _dirty: bool = False

    def add(self, rows: Iterable[Row]) -> None:
        for row in rows:
            self.rows[row.seq] = row
            if row.tx_id:
                self.by_tx.setdefault(row.tx_id, row.seq)
            if row.previous_hash and row.previous_hash != GENESIS:
                self.successors.setdefault(row.previous_hash, []).append(row.seq)
        self._dirty = True

    def __len__(self) -> int:
        return len(self.rows)

    def refresh(self) -> list[int]:
        """Recompute the view if rows arrived or the query changed; return it."""
        if self._dirty:
            q = self.query
            rows = self.rows.values()
            chosen = [r for r in rows if q.matches(r)] if q.narrowed else list(rows)
            chosen.sort(key=_SORT_KEY.get(q.sort, _SORT_KEY["status"]))
            self.view = [r.seq for r in chosen]
            self._dirty = False
        return self.view

    def set_query(self, query: Query) -> None:
        self.query = query
        self._dirty = True

    def counts(self) -> dict[Status, int]:
        out: dict[Status, int] = {}
        for r in self.rows.values():
            out[r.status] = out.get(r.status, 0) + 1
        return out

    def values(self, attr: str) -> dict[str, int]:
        """Distinct values of a row field with their counts (for the filter screen)."""
        out: dict[str, int] = {}
        for r in self.rows.values():
            v = getattr(r, attr)
            key = v.value if isinstance(v, Status) else v
            out[key] = out.get(key, 0) + 1
        return out

    # -- the chain ---------------------------------------------------------------------

    def predecessor(self, seq: int) -> int | None:
        row = self.rows.get(seq)
        if row is None or not row.previous_hash or row.previous_hash == GENESIS:
            return None
        return self.by_tx.get(row.previous_hash)

    def successors_of(self, seq: int) -> list[int]:
        row = self.rows.get(seq)
        return list(self.successors.get(row.tx_id, ())) if row is not None and row.tx_id else []

    def path(self, seq: int, limit: int = 1000) -> tuple[list[int], str]:
        """The chain from its first known event to `seq` and how it starts: "GENESIS",
        "missing" (the first event's predecessor is not in this audit) or "cycle"."""
        out, seen = [seq], {seq}
        while len(out) < limit:
            prev = self.predecessor(out[-1])
            if prev is None:
                row = self.rows[out[-1]]
                start = GENESIS if row.previous_hash == GENESIS else "missing"
                return out[::-1], start
            if prev in seen:
                return out[::-1], "cycle"
            seen.add(prev)
            out.append(prev)
        return out[::-1], "truncated"

    def stages(self) -> list[tuple[str, str, list[int]]]:
        """(event_type, title, seqs worst first) per lineage stage, then any other types."""
        groups: dict[str, list[Row]] = {}
        for r in self.rows.values():
            groups.setdefault(r.event_type, []).append(r)
        known = [t for t, _ in STAGES]
        order = [(t, title) for t, title in STAGES if t in groups]
        order += [(t, t or "(no type)") for t in sorted(groups) if t not in known]
        out = []
        for etype, title in order:
            rows = sorted(groups[etype], key=_SORT_KEY["status"])
            out.append((etype, title, [r.seq for r in rows]))
        return out


def worst_of(statuses: Sequence[Status]) -> Status:
    out = Status.VERIFIED
    for s in statuses:
        if SEVERITY[s] > SEVERITY[out]:
            out = s
    return out

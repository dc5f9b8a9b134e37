"""The browser's event index: one compact row per event, views over them, chain links.

No Textual here (and no I/O): the audit child turns each `EventResult` into a `Row` (a
tuple of short strings), the app keeps only rows (full results are fetched on demand), and
the event table renders the visible slice of a view. 100k rows are 100k tuples, not 100k
widgets. Every string in a row came from evidence: widgets escape it before display.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, NamedTuple

from verifier.core.reasons import Status

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
_SORT_FIELD = {"type": 0, "time": 1, "tx": 3}  # index in the packed text


_SEP = "\x1f"
_STATUS_CODE = {s: i for i, s in enumerate(STATUS_ORDER)}  # 0 = worst


def pack(row: Row) -> tuple[int, int, str]:
    """(seq, status code, the other fields joined): one string per event instead of a dozen
    objects (100k rows: tens of MB, not hundreds). A separator inside an untrusted value
    becomes its visible escape, which is how it would be shown anyway."""
    fields = row[2:]
    text = _SEP.join(f.replace(_SEP, "\\u001f") if _SEP in f else f for f in fields)
    return row.seq, _STATUS_CODE[row.status], text


class RowTable:
    """Rows by seq, stored packed; `table[seq]` unpacks one `Row` on demand."""

    def __init__(self) -> None:
        self._text: list[str | None] = []
        self.codes = bytearray()  # status code per seq (255: no row yet)
        self._n = 0

    def put(self, seq: int, code: int, text: str) -> None:
        if seq >= len(self._text):
            grow = seq + 1 - len(self._text)
            self._text.extend([None] * grow)
            self.codes.extend(b"\xff" * grow)
        if self._text[seq] is None:
            self._n += 1
        self._text[seq], self.codes[seq] = text, code

    def __len__(self) -> int:
        return self._n

    def __contains__(self, seq: object) -> bool:
        return isinstance(seq, int) and 0 <= seq < len(self._text) and self._text[seq] is not None

    def __getitem__(self, seq: int) -> Row:
        text = self._text[seq] if 0 <= seq < len(self._text) else None
        if text is None:
            raise KeyError(seq)
        return Row(seq, STATUS_ORDER[self.codes[seq]], *text.split(_SEP))

    def seqs(self) -> Iterator[int]:
        return (i for i, t in enumerate(self._text) if t is not None)

    def items(self) -> Iterator[tuple[int, str]]:
        """(seq, packed text) of every row (for scans that need one or two fields)."""
        return ((i, t) for i, t in enumerate(self._text) if t is not None)

    def values(self) -> Iterator[Row]:
        return (self[i] for i in self.seqs())

    def text(self, seq: int) -> str:
        return self._text[seq] or ""

    def get(self, seq: int) -> Row | None:
        return self[seq] if seq in self else None


@dataclass
class EventIndex:
    """Every row received so far, the current view (a list of seqs) and the chain links."""

    rows: RowTable = field(default_factory=RowTable)
    by_tx: dict[str, int] = field(default_factory=dict)
    successors: dict[str, list[int]] = field(default_factory=dict)
    query: Query = field(default_factory=Query)
    view: list[int] = field(default_factory=list)
    _dirty: bool = False
    # The default view kept as it grows: seqs per status code, sorted lazily.
    _buckets: list[list[int]] = field(default_factory=lambda: [[] for _ in STATUS_ORDER])
    _unsorted: set[int] = field(default_factory=set)
    _stale: bool = False

    def add(self, rows: Iterable[Row]) -> None:
        self.add_packed(pack(r) for r in rows)

    def add_packed(self, items: Iterable[tuple[int, int, str]]) -> None:
        """Rows as `pack` makes them (the audit child sends them so)."""
        buckets, unsorted = self._buckets, self._unsorted
        for seq, code, text in items:
            if seq in self.rows:  # not in the stream's contract; rebuild rather than guess
                self._stale = True
            else:
                bucket = buckets[code]
                if bucket and seq < bucket[-1]:
                    unsorted.add(code)
                bucket.append(seq)
            self.rows.put(seq, code, text)
            fields = text.split(_SEP)
            tx, prev = fields[3], fields[10]
            if tx:
                self.by_tx.setdefault(tx, seq)
            if prev and prev != GENESIS:
                self.successors.setdefault(prev, []).append(seq)
        self._dirty = True

    def __len__(self) -> int:
        return len(self.rows)

    def refresh(self) -> list[int]:
        """Recompute the view if rows arrived or the query changed; return it. Works on the
        packed rows: only rows that may match a search or type/reason filter are unpacked."""
        if self._dirty:
            q = self.query
            codes = self.rows.codes
            if not q.narrowed and q.sort == "status":  # the buckets kept by add_packed
                if self._stale:
                    self._buckets = [[] for _ in STATUS_ORDER]
                    for seq in self.rows.seqs():
                        self._buckets[codes[seq]].append(seq)
                    self._stale, self._unsorted = False, set()
                for code in self._unsorted:
                    self._buckets[code].sort()
                self._unsorted.clear()
                self.view = [seq for b in self._buckets for seq in b]
            else:
                seqs = list(self._matching(q))
                if q.sort in _SORT_FIELD:
                    i, text = _SORT_FIELD[q.sort], self.rows.text
                    seqs.sort(key=lambda s: (text(s).split(_SEP, i + 1)[i], s))
                else:
                    seqs.sort(key=lambda s: (codes[s], s))
                self.view = seqs
            self._dirty = False
        return self.view

    def _matching(self, q: Query) -> Iterator[int]:
        """Seqs of the rows the query admits: statuses by code, a search first by a scan of
        the packed text (a field prefix is SEP + needle), the rest on unpacked candidates."""
        codes = self.rows.codes
        wanted = {_STATUS_CODE[s] for s in q.statuses} if q.statuses else None
        needle = _SEP + q.search.lower() if q.search else None
        exact = bool(q.search or q.types or q.reasons)
        for seq, text in self.rows.items():
            if wanted is not None and codes[seq] not in wanted:
                continue
            if needle is not None and needle not in _SEP + text.lower():
                continue
            if exact and not q.matches(self.rows[seq]):
                continue
            yield seq

    def set_query(self, query: Query) -> None:
        self.query = query
        self._dirty = True

    def counts(self) -> dict[Status, int]:
        codes = bytes(self.rows.codes)
        return {s: n for i, s in enumerate(STATUS_ORDER) if (n := codes.count(i))}

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
        """(event_type, title, seqs worst first) per lineage stage, then any other types.
        Reads only each row's type and status code (no row is unpacked whole)."""
        groups: dict[str, list[int]] = {}
        for seq, text in self.rows.items():
            etype = text[:text.find(_SEP)]
            group = groups.get(etype)
            if group is None:
                group = groups[etype] = []
            group.append(seq)
        known = [t for t, _ in STAGES]
        order = [(t, title) for t, title in STAGES if t in groups]
        order += [(t, t or "(no type)") for t in sorted(groups) if t not in known]
        codes = self.rows.codes
        return [(etype, title, sorted(groups[etype], key=lambda s: (codes[s], s)))
                for etype, title in order]

"""One event's detail, built in the audit child from its result and raw evidence.

`Detail` carries display-ready pieces (pretty JSON texts, the data item's fields, the
receipt, the anchored-vs-current record diff); it is plain data, pickled to the app. Every
string here came from evidence: the widgets escape it. Parsing uses the kernel's hardened
parser, so hostile bytes become a note, never an exception.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from verifier.audit.derive import current_record
from verifier.core import mlflow_profile as mp
from verifier.core.errors import Malformed
from verifier.core.intake import parse
from verifier.core.reasons import ReasonCode
from verifier.core.result import Outcome, Result
from verifier.sources.model import EventRecord

#: Longest JSON text shown in a detail view (the rest is cut, with a note).
MAX_TEXT = 200_000
_MISSING = object()


@dataclass
class Detail:
    """Everything the detail screen shows for one event."""

    seq: int
    result: Result | None
    envelope: str | None = None
    payload: str | None = None
    data_item: dict[str, Any] | None = None
    receipt: str | None = None
    diff: list[tuple[str, str, str]] = field(default_factory=list)
    #: True when the payload the diff starts from hashes to the signed payload_hash (so it
    #: is the anchored record); False: it is only the bytes the evidence carried.
    diff_anchored: bool = False
    notes: list[str] = field(default_factory=list)


def pretty(data: bytes | None, what: str, notes: list[str]) -> str | None:
    """Indented JSON of `data`, or its text as is when it does not parse (with a note)."""
    if data is None:
        return None
    try:
        value = parse(data).value
    except Malformed as exc:
        notes.append(f"{what} is not valid JSON ({exc.reason.value}): shown as raw text")
        text = data[:MAX_TEXT].decode("utf-8", "replace")
    else:
        text = json.dumps(value, indent=2, ensure_ascii=False)
    if len(text) > MAX_TEXT:
        notes.append(f"{what} cut at {MAX_TEXT} characters")
        text = text[:MAX_TEXT]
    return text


def _compact(value: Any) -> str:
    if value is _MISSING:
        return "(absent)"
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= 400 else text[:399] + "…"


def _same(a: Any, b: Any) -> bool:
    if a is _MISSING or b is _MISSING:
        return a is b
    ja, jb = mp.payload_bytes(a), mp.payload_bytes(b)
    return ja is not None and ja == jb


def record_diff(event_type: Any, payload: bytes | None,
                surface: dict[str, Any] | None) -> list[tuple[str, str, str]]:
    """(field, anchored, current) for every re-derivable field that differs; nested
    objects (metrics, params) are compared one level down."""
    if payload is None:
        return []
    try:
        anchored = parse(payload).value
    except Malformed:
        return []
    if not isinstance(anchored, dict):
        return []
    live = current_record(event_type, anchored, surface)
    if live is None:
        return []
    keys = set(live) | (set(anchored) if event_type in (mp.PREDICTION, mp.DATASET) else set())
    out = []
    for key in sorted(keys):
        a, b = anchored.get(key, _MISSING), live.get(key, _MISSING)
        if isinstance(a, dict) and isinstance(b, dict):
            for sub in sorted(set(a) | set(b)):
                x, y = a.get(sub, _MISSING), b.get(sub, _MISSING)
                if not _same(x, y):
                    out.append((f"{key}.{sub}", _compact(x), _compact(y)))
        elif not _same(a, b):
            out.append((key, _compact(a), _compact(b)))
    return out


def _data_item(raw: bytes, notes: list[str]) -> dict[str, Any] | None:
    from verifier.core.ans104 import item_subject, parse_data_item

    try:
        return item_subject(parse_data_item(raw))
    except Malformed as exc:
        notes.append(f"data item does not parse ({exc.reason.value})")
    return None


def build_detail(seq: int, result: Result | None, record: EventRecord | None) -> Detail:
    """The detail of event `seq` from its result and evidence (either may be None)."""
    detail = Detail(seq, result)
    if record is None:
        detail.notes.append("the raw evidence of this event is not available from the source")
        return detail
    notes = detail.notes
    detail.envelope = pretty(record.envelope, "envelope", notes)
    detail.payload = pretty(record.payload, "payload", notes)
    if record.data_item is not None:
        detail.data_item = _data_item(record.data_item, notes)
    if isinstance(record.receipt, dict):
        detail.receipt = json.dumps(record.receipt, indent=2, ensure_ascii=False, default=str)
    check = result.check("record") if result is not None else None
    if check is not None and check.reason is ReasonCode.RECORD_MISMATCH:
        etype = result.subject.get("event_type") if result is not None else None
        detail.diff = record_diff(etype, record.payload, record.surface)
        bound = result.check("payload_hash") if result is not None else None
        detail.diff_anchored = bound is not None and bound.outcome is Outcome.PASSED
    return detail

"""The values that disagree, for a finding: anchored (signed) vs current (source) fields.

Re-reads one event's evidence through `AuditRun.evidence(seq)` (only for the findings shown
in detail, so memory stays bounded) and compares the committed payload with the record as
the MLflow surface has it now (`verifier.audit.derive.current_record`, the same rule the
TUI's detail view shows). Display only: the verdict never depends on this.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Callable

from verifier.audit.derive import current_record
from verifier.core.errors import Malformed
from verifier.core.intake import parse
from verifier.core.reasons import ReasonCode as R
from verifier.sources.model import EventRecord

#: Longest value shown in a diff cell; longer values are cut with a marker.
VALUE_CHARS = 160
#: At most this many differing fields per finding.
MAX_FIELDS = 12
#: The field name of the payload-hash row (the other rows are record fields).
PAYLOAD_ROW = "payload bytes"


def short(value: Any) -> str:
    """Compact JSON of `value`, cut to VALUE_CHARS."""
    try:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= VALUE_CHARS else text[:VALUE_CHARS - 1] + "…"


def _payload(record: EventRecord) -> dict[str, Any] | None:
    if not record.payload:
        return None
    try:
        value = parse(record.payload).value
    except (Malformed, TypeError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def disagreements(reasons: set[R], event_type: str, payload_hash: str,
                  load: Callable[[], EventRecord | None]) -> list[tuple[str, str, str]]:
    """(field, anchored, current) rows for the reasons that have values to compare."""
    if not reasons & {R.RECORD_MISMATCH, R.PAYLOAD_HASH_MISMATCH}:
        return []
    try:
        record = load()
    except Exception:  # noqa: BLE001 - a source that cannot re-read leaves the diff out
        return []
    if record is None:
        return []
    rows: list[tuple[str, str, str]] = []
    if R.PAYLOAD_HASH_MISMATCH in reasons and record.payload is not None:
        rows.append((PAYLOAD_ROW, payload_hash or "(none)",
                     hashlib.sha256(record.payload).hexdigest()))
    if R.RECORD_MISMATCH in reasons:
        payload = _payload(record)
        try:
            current = current_record(event_type, payload, record.surface) if payload else None
        except Exception:  # noqa: BLE001 - hostile surface shapes: no diff, never a crash
            current = None
        if payload is not None and current is not None:
            for key in sorted(current):
                if payload.get(key) != current[key]:
                    rows.append((key, short(payload.get(key, "(absent)")), short(current[key])))
    return rows[:MAX_FIELDS]

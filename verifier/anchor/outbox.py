"""The local outbox: signed events whose upload has not succeeded yet (spec/anchoring.md §6).

One JSON file per event, ``<outbox>/<event_id>.json``, written atomically. It holds the
signed envelope, the signed data item (so a retry uploads the very same bytes and gets the
same tx id), the last error and the MLflow updates to apply once the upload succeeds
(`actions`, with ``{tx_id}`` / ``{url}`` placeholders). After a successful retry the record
moves to ``<outbox>/done/``. Nothing here talks to the network or to MLflow.
"""

from __future__ import annotations

import base64
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from .keys import synced_temp_file

RECORD_FORMAT = "ario-verifier.outbox/v1"
_SAFE_NAME = re.compile(r"[A-Za-z0-9_.-]{1,128}")


@dataclass
class PendingRecord:
    """One event waiting for its upload."""

    event_id: str
    event_type: str
    envelope: dict[str, Any]
    data_item: bytes | None
    item_id: str | None
    tracking_uri: str | None
    actions: list[dict[str, Any]] = field(default_factory=list)
    attempts: int = 0
    last_error: str = ""
    last_error_kind: str = ""
    created_at: str = ""
    path: Path | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "format": RECORD_FORMAT,
            "event_id": self.event_id,
            "event_type": self.event_type,
            "envelope": self.envelope,
            "data_item": base64.b64encode(self.data_item).decode("ascii") if self.data_item else None,
            "item_id": self.item_id,
            "tracking_uri": self.tracking_uri,
            "actions": self.actions,
            "attempts": self.attempts,
            "last_error": self.last_error,
            "last_error_kind": self.last_error_kind,
            "created_at": self.created_at,
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any], path: Path | None = None) -> "PendingRecord":
        if doc.get("format") != RECORD_FORMAT:
            raise ValueError("not an outbox record")
        item = doc.get("data_item")
        return cls(
            event_id=str(doc["event_id"]), event_type=str(doc["event_type"]),
            envelope=dict(doc["envelope"]),
            data_item=base64.b64decode(item) if item else None,
            item_id=doc.get("item_id"), tracking_uri=doc.get("tracking_uri"),
            actions=list(doc.get("actions") or []), attempts=int(doc.get("attempts") or 0),
            last_error=str(doc.get("last_error") or ""),
            last_error_kind=str(doc.get("last_error_kind") or ""),
            created_at=str(doc.get("created_at") or ""), path=path,
        )


class Outbox:
    """A directory of pending records."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)

    def _path(self, event_id: str, done: bool = False) -> Path:
        if not _SAFE_NAME.fullmatch(event_id) or event_id in (".", ".."):
            raise ValueError(f"event id {event_id!r} is not a safe file name")
        base = self.directory / "done" if done else self.directory
        return base / f"{event_id}.json"

    def save(self, record: PendingRecord) -> Path:
        """Create or update a record atomically (temp file + rename, mode 0600)."""
        path = self._path(record.event_id)
        _atomic_write(path, (json.dumps(record.to_json(), indent=2, sort_keys=True) + "\n").encode())
        record.path = path
        return path

    def pending(self) -> Iterator[PendingRecord]:
        """Pending records, oldest first; unreadable files are skipped (never deleted)."""
        if not self.directory.is_dir():
            return
        entries = sorted(self.directory.glob("*.json"), key=lambda p: (p.stat().st_mtime, p.name))
        for path in entries:
            try:
                yield PendingRecord.from_json(json.loads(path.read_text(encoding="utf-8")), path)
            except (OSError, ValueError, KeyError, TypeError):
                continue

    def get(self, event_id: str) -> PendingRecord | None:
        path = self._path(event_id)
        try:
            return PendingRecord.from_json(json.loads(path.read_text(encoding="utf-8")), path)
        except FileNotFoundError:
            return None

    def mark_done(self, record: PendingRecord, tx_id: str, receipt: dict[str, Any] | None,
                  apply_errors: list[str] | None = None) -> Path:
        """Move the record to ``done/`` with its tx id, receipt and any MLflow update that
        could not be applied (kept for the operator; the upload itself succeeded)."""
        src = self._path(record.event_id)
        dst = self._path(record.event_id, done=True)
        doc = record.to_json()
        doc.update(tx_id=tx_id, receipt=receipt, apply_errors=list(apply_errors or []))
        _atomic_write(dst, (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode())
        try:
            src.unlink()
        except FileNotFoundError:
            pass
        return dst


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = synced_temp_file(path, data)
    try:
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise

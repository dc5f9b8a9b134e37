"""Writing audit bundle v2 (spec/audit-bundle.md §7) in bounded memory.

`BundleWriter` takes records one at a time, fills a shard up to `shard_events` events or
`shard_bytes` bytes, writes it to the archive and keeps only its manifest entry; so memory
is one shard whatever the lineage's size. The manifest goes last (it holds the shard
digests). Output is deterministic (fixed entry times and modes, sorted JSON keys) and
atomic (temporary file, fsync, rename). `write_bundle_v2` writes a whole `Collection` with
predecessors before successors (`lineage_order`).
"""

from __future__ import annotations

import binascii
import json
import os
from collections.abc import Iterable
from datetime import datetime, timezone
from hashlib import sha256
from pathlib import Path
from types import TracebackType
from typing import Any

from verifier import __version__
from verifier.sources.bundle_v2 import FORMAT_V2, GAPS, MANIFEST, MODEL_FILES, shard_name
from verifier.sources.model import Collection, EventRecord
from verifier.sources.zipwrite import atomic_zip

_TX_OK = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
#: Bundle order (V9): an event's predecessors come before it where the type says so.
_RANK = {"dataset": 0, "training_complete": 1, "model_registered": 2,
         "stage_transition": 3, "prediction": 4}
_dumps = json.JSONEncoder(sort_keys=True, ensure_ascii=False, allow_nan=False,
                          separators=(",", ":")).encode


def lineage_rank(record: EventRecord) -> int:
    """0 dataset, 1 training, 2 registration, 3 promotion, 4 prediction, 5 anything else."""
    return _RANK.get(record.hints.get("event_type", ""), 5)


#: `lineage_rank` of a prediction.
PREDICTION_RANK = _RANK["prediction"]


def lineage_order(records: Iterable[EventRecord]) -> list[EventRecord]:
    """Records sorted by event type (datasets, training, registration, promotions,
    predictions, then anything else), stably: the streaming audit can then decide most
    events on arrival. Readers never rely on it."""
    return sorted(records, key=lineage_rank)


def bytes_value(data: bytes | None) -> str | dict[str, str] | None:
    """An evidence slot (V5): the text itself when the bytes are UTF-8 (envelopes and
    payloads: readable, and cheaper to read than base64), else ``{"base64": ...}``."""
    if data is None:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return {"base64": binascii.b2a_base64(data, newline=False).decode("ascii")}


def record_line(record: EventRecord) -> bytes:
    """One shard line (V5) for `record`; ValueError if it cannot be represented."""
    hints = record.hints
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in hints.items()):
        raise ValueError(f"record {record.tx_id!r}: hints must map strings to strings")
    if record.tx_id is not None and not (0 < len(record.tx_id) <= 128
                                         and _TX_OK.issuperset(record.tx_id)):
        raise ValueError(f"record tx id {record.tx_id[:80]!r} is not [A-Za-z0-9_-]{{1,128}}")
    origins = {}
    if record.envelope_origin:
        origins["envelope"] = record.envelope_origin
    if record.payload_origin:
        origins["payload"] = record.payload_origin
    fetch = None
    if record.fetch is not None:
        fetch = {"status": record.fetch.status.value, "origin": record.fetch.origin,
                 "per_gateway": [list(p) for p in record.fetch.per_gateway]}
    line = {"tx_id": record.tx_id, "envelope": bytes_value(record.envelope),
            "payload": bytes_value(record.payload), "data_item": bytes_value(record.data_item),
            "receipt": record.receipt, "surface": record.surface, "hints": hints,
            "origins": origins, "fetch": fetch}
    return _dumps(line).encode("utf-8") + b"\n"


def _utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class BundleWriter:
    """Streams records into a v2 bundle at `path`; use as a context manager and call
    `finish(model_files, gaps)` last. Leaving the block without `finish` (or by an
    exception) leaves no file behind."""

    def __init__(self, path: str | os.PathLike[str], target: str, *,
                 created_at: str | None = None, tool_version: str = __version__,
                 shard_events: int = 1024, shard_bytes: int = 4 * 1024**2,
                 compresslevel: int = 6) -> None:
        if shard_events < 1 or shard_bytes < 1:
            raise ValueError("shard_events and shard_bytes must be positive")
        self.path, self.target = Path(path), target
        self.created_at, self.tool_version = created_at or _utc_now(), tool_version
        self.shard_events, self.shard_bytes = shard_events, shard_bytes
        self._atomic = atomic_zip(self.path, compresslevel)
        self._zip: Any = None
        self._lines: list[bytes] = []
        self._size = 0
        self._shards: list[dict[str, Any]] = []
        self.events = 0
        self.sha256: str | None = None
        self._done = False

    def __enter__(self) -> BundleWriter:
        self._zip = self._atomic.__enter__()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._done:
            return
        if kind is None:
            exc = RuntimeError("BundleWriter left without finish(): no bundle written")
            self._atomic.__exit__(RuntimeError, exc, None)
            raise exc
        if kind is not None:
            self._atomic.__exit__(kind, exc, tb)

    def add(self, record: EventRecord) -> None:
        """Append one record (its line is built now; the shard is written when full)."""
        self.add_line(record_line(record))

    def add_line(self, line: bytes) -> None:
        """Append one record already made a line by `record_line`."""
        if self._lines and (len(self._lines) >= self.shard_events
                            or self._size + len(line) > self.shard_bytes):
            self._flush()
        self._lines.append(line)
        self._size += len(line)
        self.events += 1

    def _add_member(self, name: str, data: bytes) -> dict[str, Any]:
        self._zip.add(name, data)
        return {"name": name, "size": len(data), "sha256": sha256(data).hexdigest()}

    def _flush(self) -> None:
        if self._lines:
            entry = self._add_member(shard_name(len(self._shards)), b"".join(self._lines))
            entry["events"] = len(self._lines)
            self._shards.append(entry)
            self._lines, self._size = [], 0

    def finish(self, model_files: dict[str, dict[str, str]] | None = None,
               gaps: Iterable[tuple[str, str]] = ()) -> None:
        """Write the last shard, model files, gaps and the manifest, then commit the file."""
        self._flush()
        files = {run: dict(sorted(f.items())) for run, f in sorted((model_files or {}).items())}
        for run in files:
            if not (0 < len(run) <= 128 and _TX_OK.issuperset(run)):
                raise ValueError(f"run id {run[:80]!r} is not a safe identifier")
        manifest = {
            "format": FORMAT_V2, "target": self.target, "created_at": self.created_at,
            "tool": {"name": "ario-verifier", "version": self.tool_version},
            "events": self.events, "shards": self._shards,
            "model_files": self._add_member(MODEL_FILES, _dumps(files).encode()),
            "gaps": self._add_member(GAPS, _dumps([[w, y] for w, y in gaps]).encode()),
        }
        self._zip.add(MANIFEST, _dumps(manifest).encode("utf-8"))
        self._done = True  # from here on the temporary file is committed or cleaned up
        self._atomic.__exit__(None, None, None)
        self.sha256 = self._zip.digest.hexdigest()

    @property
    def members(self) -> int:
        """Members written so far (shards, then model files, gaps and manifest)."""
        return len(self._shards) + (3 if self.sha256 else 0)


def write_bundle_v2(collection: Collection, path: str | os.PathLike[str], *,
                    created_at: str | None = None, tool_version: str = __version__,
                    shard_events: int = 1024, shard_bytes: int = 4 * 1024**2,
                    compresslevel: int = 6) -> Any:
    """Write `collection` as a v2 bundle, records in `lineage_order`; returns the
    `BundleSummary` (path, sha256, members, events)."""
    from verifier.sources.bundle import BundleSummary

    with BundleWriter(path, collection.target, created_at=created_at, tool_version=tool_version,
                      shard_events=shard_events, shard_bytes=shard_bytes,
                      compresslevel=compresslevel) as writer:
        for record in lineage_order(collection.records):
            writer.add(record)
        writer.finish(collection.model_files, collection.gaps)
    return BundleSummary(Path(path), writer.sha256 or "", writer.members, writer.events)

"""The audit bundle (spec/audit-bundle.md): one ZIP holding everything an offline audit needs.

`write_bundle` turns a `Collection` into a deterministic archive (fixed entry times and
modes, ``manifest.json`` first then members sorted by path) written atomically (temp file
in the target directory, fsync, ``os.replace``). `read_bundle` turns an untrusted archive
back into a `Collection`: the archive is checked by `zipguard` first, every member listed
in the manifest is re-hashed, and every problem raises `BundleError` with a bundle reason
code. The manifest is an index only; nothing in it is trusted as evidence.

No MLflow and no network library is imported here.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from hashlib import sha256
from operator import itemgetter
from pathlib import Path
from typing import Any, BinaryIO

from verifier import __version__
from verifier.core.reasons import ReasonCode
from verifier.gcpause import gc_paused
from verifier.sources.bundle_v2 import BundleLimits, fetch_claim, load_json, str_map
from verifier.sources.errors import BundleError
from verifier.sources.model import Collection, EventRecord
from verifier.sources.zipguard import DEFAULT_ZIP_LIMITS, SafeZip, ZipLimits
from verifier.sources.zipwrite import atomic_zip

FORMAT = "ario-verifier.audit-bundle/v1"
MANIFEST = "manifest.json"
#: slot -> (directory, suffix) of the member holding it, named by the event key.
SLOTS = {
    "envelope": ("envelopes", ".json"),
    "payload": ("payloads", ".bin"),
    "data_item": ("dataitems", ".bin"),
    "receipt": ("receipts", ".json"),
    "surface": ("surfaces", ".json"),
}
KEY = re.compile(r"[A-Za-z0-9_-]{1,128}")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_M = ReasonCode.BUNDLE_MALFORMED


@dataclass(frozen=True)
class BundleSummary:
    """What `write_bundle` wrote."""

    path: Path
    sha256: str
    members: int
    events: int


def event_key(record: EventRecord) -> str:
    """The member base name of a record: its tx id, else a stable ``local-`` digest."""
    if record.tx_id and KEY.fullmatch(record.tx_id):
        return record.tx_id
    h = hashlib.sha256()
    for part in (record.tx_id or "", record.envelope or b"", record.payload or b"",
                 json.dumps(record.hints, sort_keys=True)):
        data = part.encode() if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "big") + data)
    return "local-" + h.hexdigest()[:32]


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, allow_nan=False,
                      separators=(",", ":")).encode("utf-8")


def _utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- writing --------------------------------------------------------------------------------

def write_bundle(collection: Collection, path: str | os.PathLike[str], *,
                 created_at: str | None = None, tool_version: str = __version__,
                 compresslevel: int = 6) -> BundleSummary:
    """Write `collection` as an audit bundle at `path`, atomically.

    Raises ValueError for a collection that cannot be represented (two records with the
    same key, a run id that is not a safe member name, non-JSON surface values).
    """
    members: dict[str, bytes] = {}
    events: list[dict[str, Any]] = []
    for record in collection.records:
        key = event_key(record)
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in record.hints.items()):
            raise ValueError(f"record {key}: hints must map strings to strings")
        entry: dict[str, Any] = {"key": key, "tx_id": record.tx_id,
                                 "event_type": record.hints.get("event_type"),
                                 "hints": dict(sorted(record.hints.items())),
                                 "origins": {}}
        values = {"envelope": record.envelope, "payload": record.payload,
                  "data_item": record.data_item,
                  "receipt": None if record.receipt is None else _json_bytes(record.receipt),
                  "surface": None if record.surface is None else _json_bytes(record.surface)}
        for slot, data in values.items():
            folder, suffix = SLOTS[slot]
            name = f"{folder}/{key}{suffix}"
            if data is None:
                entry[slot] = None
                continue
            if name in members:
                raise ValueError(f"two records share the bundle key {key!r}")
            members[name] = bytes(data)
            entry[slot] = name
        for slot, origin in (("envelope", record.envelope_origin),
                             ("payload", record.payload_origin)):
            if origin:
                entry["origins"][slot] = origin
        if record.fetch is not None:
            entry["fetch"] = {"status": record.fetch.status.value,
                              "origin": record.fetch.origin,
                              "per_gateway": [list(p) for p in record.fetch.per_gateway]}
        events.append(entry)
    model_files: dict[str, str] = {}
    for run_id, files in sorted(collection.model_files.items()):
        if not KEY.fullmatch(run_id):
            raise ValueError(f"run id {run_id!r} is not a safe member name")
        name = f"model-files/{run_id}.json"
        members[name] = _json_bytes(dict(sorted(files.items())))
        model_files[run_id] = name
    manifest = {
        "format": FORMAT,
        "target": collection.target,
        "created_at": created_at or _utc_now(),
        "tool": {"name": "ario-verifier", "version": tool_version},
        "members": [{"path": n, "sha256": hashlib.sha256(d).hexdigest(), "size": len(d)}
                    for n, d in sorted(members.items())],
        "events": events,
        "model_files": model_files,
        "gaps": [[what, why] for what, why in collection.gaps],
    }
    ordered = [(MANIFEST, _json_bytes(manifest))] + sorted(members.items())
    return _atomic_zip(Path(path), ordered, compresslevel, len(events))


def _atomic_zip(path: Path, members: list[tuple[str, bytes]], level: int,
                n_events: int) -> BundleSummary:
    with atomic_zip(path, level) as writer:
        for name, data in members:
            writer.add(name, data)
    return BundleSummary(path, writer.digest.hexdigest(), len(members), n_events)


# -- reading --------------------------------------------------------------------------------

def looks_like_bundle(head: bytes) -> bool:
    """True if bytes start like a ZIP archive (local header or empty-archive marker)."""
    return head[:4] in (b"PK\x03\x04", b"PK\x05\x06")


def read_bundle(source: str | os.PathLike[str] | bytes | BinaryIO,
                limits: ZipLimits | BundleLimits = DEFAULT_ZIP_LIMITS) -> Collection:
    """Read and check an audit bundle of either format into one `Collection`; raises
    `BundleError` on any problem. Memory grows with the bundle: streaming consumers use
    `bundle_source.open_bundle` instead."""
    from verifier.sources.bundle_source import open_bundle

    with open_bundle(source, limits) as src:
        return src.collection()


def read_v1(zf: SafeZip, manifest: dict[str, Any]) -> Collection:
    """The `Collection` of an opened v1 bundle whose manifest is already parsed.

    The cyclic collector is paused meanwhile: the manifest and the records are millions of
    acyclic containers that full collections would only walk again and again."""
    with gc_paused():
        return _Reader(zf, manifest).collection()


_load, _str_map = load_json, str_map


class _Reader:
    """Assembles records, reading and re-hashing each member once, on first use.

    `listed` maps each listed member to its (digest, size) until the member is used, then
    to None. Error locations ("manifest.events[3].payload") are only formatted on error.
    """

    def __init__(self, zf: SafeZip, manifest: dict[str, Any]) -> None:
        self.zf, self.manifest = zf, manifest
        self.listed = self._listed(manifest.get("members"))
        manifest["members"] = None  # indexed now; free it before records are built

    def _listed(self, members: Any, *, bulk: bool = True) -> dict[str, tuple[str, int] | None]:
        """Index the manifest's member list. `bulk` tries the C-level pass first (falls back
        to the entry loop, which names the first bad entry); False runs the loop alone, so a
        test can pin both paths to the same outcome."""
        if not isinstance(members, list):
            raise BundleError(_M, "manifest.members is not a list")
        listed = _listed_in_bulk(members, self.zf) if bulk else None
        if listed is not None:
            return listed
        listed = {}
        present, hex64 = self.zf.__contains__, _HEX64.fullmatch
        for i, m in enumerate(members):
            if m.__class__ is dict and len(m) == 3:
                path, digest, size = m.get("path"), m.get("sha256"), m.get("size")
                if (path.__class__ is str and digest.__class__ is str and size.__class__ is int
                        and path != MANIFEST and size >= 0 and hex64(digest)
                        and path not in listed and present(path)):
                    listed[path] = (digest, size)
                    continue
            self._bad_member(i, m, listed)
        for name in self.zf.names:
            if name != MANIFEST and name not in listed:
                raise BundleError(_M, f"member {name!r} is not listed in the manifest")
        return listed

    def _bad_member(self, i: int, m: Any, listed: dict[str, Any]) -> None:
        """Raise the precise error for a members entry the fast test refused."""
        where = f"manifest.members[{i}]"
        if not isinstance(m, dict) or len(m) != 3:
            raise BundleError(_M, f"{where} must have exactly path, sha256, size")
        path, digest, size = m.get("path"), m.get("sha256"), m.get("size")
        if not isinstance(path, str) or path == MANIFEST:
            raise BundleError(_M, f"{where}.path is invalid")
        if not isinstance(digest, str) or not _HEX64.fullmatch(digest):
            raise BundleError(_M, f"{where}.sha256 is not 64 lowercase hex")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise BundleError(_M, f"{where}.size is not a non-negative integer")
        if path in listed:
            raise BundleError(_M, f"{where}: {path!r} listed twice")
        raise BundleError(_M, f"manifest lists {path!r} but the archive lacks it")

    def member(self, name: Any, expected: str, where: str | tuple[int, str]) -> bytes:
        """The bytes of a listed, not yet used member named exactly `expected`.
        `where` is a location, or (event index, slot) formatted only on error."""
        if name != expected or name not in self.listed:
            raise BundleError(_M, f"{_at(where)} names {str(name)[:80]!r}")
        entry = self.listed[name]
        if entry is None:
            raise BundleError(_M, f"{_at(where)}: {name!r} is used twice")
        self.listed[name] = None
        data = self.zf.read(name)
        if len(data) != entry[1] or hashlib.sha256(data).hexdigest() != entry[0]:
            raise BundleError(_M, f"manifest digest mismatch for {name!r}")
        return data

    def collection(self) -> Collection:
        manifest = self.manifest
        target = manifest.get("target")
        if not isinstance(target, str):
            raise BundleError(_M, "manifest.target is not a string")
        col = Collection(target=target)
        events = manifest.get("events")
        if not isinstance(events, list):
            raise BundleError(_M, "manifest.events is not a list")
        records, record = col.records, self.record
        for i, ev in enumerate(events):
            records.append(record(ev, i))
            events[i] = None  # let the index entry's memory be reused
        for run_id, name in _str_map(manifest.get("model_files", {}),
                                     "manifest.model_files").items():
            where = f"manifest.model_files[{run_id[:80]!r}]"
            files = _load(self.member(name, f"model-files/{run_id}.json", where), str(name))
            if not isinstance(files, dict) or not all(
                    isinstance(v, str) and _HEX64.fullmatch(v) for v in files.values()):
                raise BundleError(_M, f"{name} must map paths to 64-hex digests")
            col.model_files[run_id] = files
        for name, entry in self.listed.items():
            if entry is not None:
                raise BundleError(_M, f"member {name!r} is not referenced by any event")
        gaps = manifest.get("gaps", [])
        if not isinstance(gaps, list) or not all(
                isinstance(g, list) and len(g) == 2 and all(isinstance(s, str) for s in g)
                for g in gaps):
            raise BundleError(_M, "manifest.gaps must be a list of [what, why] strings")
        col.gaps = [(g[0], g[1]) for g in gaps]
        return col

    def record(self, ev: Any, i: int) -> EventRecord:
        if not isinstance(ev, dict):
            raise BundleError(_M, f"manifest.events[{i}] is not an object")
        key, tx_id = ev.get("key"), ev.get("tx_id")
        if not isinstance(key, str) or not KEY.fullmatch(key):
            raise BundleError(_M, f"manifest.events[{i}].key is not a valid event key")
        if tx_id is not None and (not isinstance(tx_id, str) or not KEY.fullmatch(tx_id)):
            raise BundleError(_M, f"manifest.events[{i}].tx_id is not a valid tx id")
        hints, origins = ev.get("hints", {}), ev.get("origins", {})
        if not _is_str_map(hints):
            _str_map(hints, f"manifest.events[{i}].hints")
        record = EventRecord(tx_id=tx_id, hints=dict(hints))
        if not _is_str_map(origins):
            _str_map(origins, f"manifest.events[{i}].origins")
        get, listed, read = ev.get, self.listed, self.zf.read
        for slot, folder, suffix in _SLOT_PATHS:
            name = get(slot)
            if name is None:
                continue
            entry = listed.get(name) if name == folder + key + suffix else None
            if entry is None:  # not the expected name, not listed or used already
                data = self.member(name, folder + key + suffix, (i, slot))
            else:  # `member`, inline
                listed[name] = None
                data = read(name)
                if len(data) != entry[1] or sha256(data).hexdigest() != entry[0]:
                    raise BundleError(_M, f"manifest digest mismatch for {name!r}")
            if slot == "envelope":
                record.envelope, record.envelope_origin = data, "bundle:" + name
                if "envelope" in origins:
                    record.hints["exported_envelope_origin"] = origins["envelope"]
            elif slot == "payload":
                record.payload, record.payload_origin = data, "bundle:" + name
                if "payload" in origins:
                    record.hints["exported_payload_origin"] = origins["payload"]
            elif slot == "data_item":
                record.data_item = data
            else:
                value = _load(data, name)
                if not isinstance(value, dict):
                    raise BundleError(_M, f"{name} is not a JSON object")
                setattr(record, slot, value)
        fetch = get("fetch")
        if fetch is not None:
            record.fetch = _fetch_claim(fetch, record, f"manifest.events[{i}]")
        return record


_PATH, _SHA, _SIZE = itemgetter("path"), itemgetter("sha256"), itemgetter("size")


def _listed_in_bulk(members: list[Any], zf: SafeZip) -> dict[str, Any] | None:
    """`_Reader._listed` for a well-formed members list, in C-level passes; None when any
    entry or archive member is out of order (the entry-by-entry loop then says which)."""
    try:
        if set(map(type, members)) - {dict} or set(map(len, members)) - {3}:
            return None
        paths, digests, sizes = (list(map(get, members)) for get in (_PATH, _SHA, _SIZE))
    except KeyError:
        return None
    if (set(map(type, paths)) - {str} or set(map(type, digests)) - {str}
            or set(map(type, sizes)) - {int} or (sizes and min(sizes) < 0)
            or not all(map(_HEX64.fullmatch, digests))):
        return None
    listed = dict(zip(paths, zip(digests, sizes)))
    names = set(zf.names)
    names.discard(MANIFEST)
    if len(listed) != len(paths) or MANIFEST in listed or names != listed.keys():
        return None
    return listed


_SLOT_PATHS = tuple((slot, folder + "/", suffix) for slot, (folder, suffix) in SLOTS.items())


def _at(where: str | tuple[int, str]) -> str:
    return where if isinstance(where, str) else f"manifest.events[{where[0]}].{where[1]}"


_ALL_STR = frozenset({str}).issuperset


def _is_str_map(value: Any) -> bool:
    return value.__class__ is dict and _ALL_STR(map(type, value.values()))


def folder_of(slot: str) -> str:
    """The member directory for a slot name."""
    return SLOTS[slot][0]


_fetch_claim = fetch_claim

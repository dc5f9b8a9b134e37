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
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, BinaryIO

from verifier import __version__
from verifier.core.errors import Malformed
from verifier.core.intake import parse
from verifier.core.limits import Limits
from verifier.core.reasons import ReasonCode
from verifier.sources.errors import BundleError
from verifier.sources.model import Collection, EventRecord, FetchResult, FetchStatus
from verifier.sources.zipguard import DEFAULT_ZIP_LIMITS, SafeZip, ZipLimits

FORMAT = "ario-verifier.audit-bundle/v1"
MANIFEST = "manifest.json"
#: Fixed timestamp of every entry (the ZIP epoch), so equal content gives equal bytes.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
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
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w+b") as fh:
            with zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as zf:
                for name, data in members:
                    info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
                    info.compress_type = zipfile.ZIP_DEFLATED
                    info.create_system = 3
                    info.external_attr = (0o100644 & 0xFFFF) << 16
                    zf.writestr(info, data, compresslevel=level)
            fh.flush()
            os.fsync(fh.fileno())
            fh.seek(0)
            digest = hashlib.sha256()
            for chunk in iter(lambda: fh.read(1024 * 1024), b""):
                digest.update(chunk)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return BundleSummary(path, digest.hexdigest(), len(members), n_events)


# -- reading --------------------------------------------------------------------------------

def looks_like_bundle(head: bytes) -> bool:
    """True if bytes start like a ZIP archive (local header or empty-archive marker)."""
    return head[:4] in (b"PK\x03\x04", b"PK\x05\x06")


def read_bundle(source: str | os.PathLike[str] | bytes | BinaryIO,
                limits: ZipLimits = DEFAULT_ZIP_LIMITS) -> Collection:
    """Read and check an audit bundle; raises `BundleError` on any problem."""
    with SafeZip(source, limits) as zf:
        if MANIFEST not in zf.names:
            raise BundleError(_M, "manifest.json is missing")
        manifest = _parse_json(zf.read(MANIFEST), MANIFEST, limits)
        if not isinstance(manifest, dict):
            raise BundleError(_M, "manifest.json is not a JSON object")
        if manifest.get("format") != FORMAT:
            raise BundleError(_M, f"unsupported bundle format {str(manifest.get('format'))[:80]!r}"
                                  f" (expected {FORMAT})")
        listed = _check_members(zf, manifest.get("members"))
        data = {name: zf.read(name) for name in listed}
        for name, (digest, size) in listed.items():
            if len(data[name]) != size or hashlib.sha256(data[name]).hexdigest() != digest:
                raise BundleError(_M, f"manifest digest mismatch for {name!r}")
        return _assemble(manifest, data, limits)


def _check_members(zf: SafeZip, members: Any) -> dict[str, tuple[str, int]]:
    if not isinstance(members, list):
        raise BundleError(_M, "manifest.members is not a list")
    listed: dict[str, tuple[str, int]] = {}
    for i, m in enumerate(members):
        where = f"manifest.members[{i}]"
        if not isinstance(m, dict) or set(m) != {"path", "sha256", "size"}:
            raise BundleError(_M, f"{where} must have exactly path, sha256, size")
        path, digest, size = m["path"], m["sha256"], m["size"]
        if not isinstance(path, str) or path == MANIFEST:
            raise BundleError(_M, f"{where}.path is invalid")
        if not isinstance(digest, str) or not _HEX64.fullmatch(digest):
            raise BundleError(_M, f"{where}.sha256 is not 64 lowercase hex")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise BundleError(_M, f"{where}.size is not a non-negative integer")
        if path in listed:
            raise BundleError(_M, f"{where}: {path!r} listed twice")
        if path not in zf.names:
            raise BundleError(_M, f"manifest lists {path!r} but the archive lacks it")
        listed[path] = (digest, size)
    for name in zf.names:
        if name != MANIFEST and name not in listed:
            raise BundleError(_M, f"member {name!r} is not listed in the manifest")
    return listed


def _parse_json(data: bytes, what: str, limits: ZipLimits) -> Any:
    try:
        return parse(data, Limits(max_document_bytes=limits.max_member_bytes)).value
    except Malformed as exc:
        raise BundleError(_M, f"{what}: {exc}") from None


def _str_map(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise BundleError(_M, f"{where} must be an object of strings")
    return value


def _assemble(manifest: dict[str, Any], data: dict[str, bytes], limits: ZipLimits) -> Collection:
    target = manifest.get("target")
    if not isinstance(target, str):
        raise BundleError(_M, "manifest.target is not a string")
    col = Collection(target=target)
    used: set[str] = set()
    events = manifest.get("events")
    if not isinstance(events, list):
        raise BundleError(_M, "manifest.events is not a list")
    for i, ev in enumerate(events):
        col.records.append(_record(ev, f"manifest.events[{i}]", data, used, limits))
    model_files = manifest.get("model_files", {})
    for run_id, name in _str_map(model_files, "manifest.model_files").items():
        if name != f"model-files/{run_id}.json" or name not in data or name in used:
            raise BundleError(_M, f"manifest.model_files[{run_id!r}] names {name!r}")
        used.add(name)
        files = _parse_json(data[name], name, limits)
        if not isinstance(files, dict) or not all(
                isinstance(v, str) and _HEX64.fullmatch(v) for v in files.values()):
            raise BundleError(_M, f"{name} must map paths to 64-hex digests")
        col.model_files[run_id] = files
    for name in data:
        if name not in used:
            raise BundleError(_M, f"member {name!r} is not referenced by any event")
    gaps = manifest.get("gaps", [])
    if not isinstance(gaps, list) or not all(
            isinstance(g, list) and len(g) == 2 and all(isinstance(s, str) for s in g)
            for g in gaps):
        raise BundleError(_M, "manifest.gaps must be a list of [what, why] strings")
    col.gaps = [(g[0], g[1]) for g in gaps]
    return col


def _record(ev: Any, where: str, data: dict[str, bytes], used: set[str],
            limits: ZipLimits) -> EventRecord:
    if not isinstance(ev, dict):
        raise BundleError(_M, f"{where} is not an object")
    key, tx_id = ev.get("key"), ev.get("tx_id")
    if not isinstance(key, str) or not KEY.fullmatch(key):
        raise BundleError(_M, f"{where}.key is not a valid event key")
    if tx_id is not None and (not isinstance(tx_id, str) or not KEY.fullmatch(tx_id)):
        raise BundleError(_M, f"{where}.tx_id is not a valid tx id")
    hints = dict(_str_map(ev.get("hints", {}), f"{where}.hints"))
    origins = _str_map(ev.get("origins", {}), f"{where}.origins")
    got: dict[str, bytes | None] = {}
    for slot, (folder, suffix) in SLOTS.items():
        name = ev.get(slot)
        if name is None:
            got[slot] = None
            continue
        if name != f"{folder}/{key}{suffix}" or name not in data:
            raise BundleError(_M, f"{where}.{slot} names {str(name)[:80]!r}")
        if name in used:
            raise BundleError(_M, f"{where}.{slot}: {name!r} is used twice")
        used.add(name)
        got[slot] = data[name]
    record = EventRecord(tx_id=tx_id, envelope=got["envelope"], payload=got["payload"],
                         data_item=got["data_item"], hints=hints)
    for slot in ("receipt", "surface"):
        raw = got[slot]
        if raw is not None:
            value = _parse_json(raw, f"{folder_of(slot)}/{key}.json", limits)
            if not isinstance(value, dict):
                raise BundleError(_M, f"{folder_of(slot)}/{key}.json is not a JSON object")
            setattr(record, slot, value)
    if record.envelope is not None:
        record.envelope_origin = f"bundle:{ev['envelope']}"
        if "envelope" in origins:
            record.hints["exported_envelope_origin"] = origins["envelope"]
    if record.payload is not None:
        record.payload_origin = f"bundle:{ev['payload']}"
        if "payload" in origins:
            record.hints["exported_payload_origin"] = origins["payload"]
    record.fetch = _fetch_claim(ev.get("fetch"), record, where)
    return record


def folder_of(slot: str) -> str:
    """The member directory for a slot name."""
    return SLOTS[slot][0]


def _fetch_claim(claim: Any, record: EventRecord, where: str) -> FetchResult | None:
    """The exporter's account of its gateway fetch: a report hint, never evidence."""
    if claim is None:
        return None
    if not isinstance(claim, dict):
        raise BundleError(_M, f"{where}.fetch is not an object")
    try:
        status = FetchStatus(claim.get("status"))
    except ValueError:
        raise BundleError(_M, f"{where}.fetch.status is unknown") from None
    per = claim.get("per_gateway", [])
    if not isinstance(per, list) or not all(
            isinstance(p, list) and len(p) == 2 and all(isinstance(s, str) for s in p)
            for p in per):
        raise BundleError(_M, f"{where}.fetch.per_gateway must be [gateway, outcome] pairs")
    origin = claim.get("origin")
    if origin is not None and not isinstance(origin, str):
        raise BundleError(_M, f"{where}.fetch.origin is not a string")
    data = record.envelope if status is FetchStatus.OK else None
    return FetchResult(record.tx_id or "", status, data, origin,
                       tuple((p[0], p[1]) for p in per))

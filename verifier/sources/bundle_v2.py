"""Reading audit bundle v2 (`ario-verifier.audit-bundle/v2`, spec/audit-bundle.md §7).

A v2 bundle is a ZIP whose small ``manifest.json`` indexes evidence *shards*
(``events/NNNNNN.jsonl``, one JSON object per event per line) by name, event count, size
and SHA-256, plus ``model-files.json`` and ``gaps.json``. `Index` checks the manifest and
the archive's member set without inflating any shard; `shard_records` inflates one shard
(bounded by its declared size), re-hashes it against the manifest, and only then parses
its lines, one at a time. So a reader holds one shard, never the whole collection.

Every problem raises `BundleError` (bundle_malformed / bundle_limit_exceeded /
bundle_unsafe_path, with the rule's identifier from the spec in the message).
"""

from __future__ import annotations

import binascii
import re
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from hashlib import sha256
from typing import Any

from verifier.core.errors import Malformed
from verifier.core.intake import load, load_lines
from verifier.core.limits import Limits
from verifier.core.reasons import ReasonCode
from verifier.sources.errors import BundleError
from verifier.sources.model import EventRecord, FetchResult, FetchStatus
from verifier.sources.zipguard import DEFAULT_ZIP_LIMITS, SafeZip, ZipLimits

FORMAT_V2 = "ario-verifier.audit-bundle/v2"
MANIFEST = "manifest.json"
MODEL_FILES = "model-files.json"
GAPS = "gaps.json"
_M = ReasonCode.BUNDLE_MALFORMED
_L = ReasonCode.BUNDLE_LIMIT_EXCEEDED
_HEX64 = re.compile(r"[0-9a-f]{64}")
_TX = re.compile(r"[A-Za-z0-9_-]{1,128}")
_TX_MATCH = _TX.fullmatch
_MANIFEST_KEYS = frozenset({"format", "target", "created_at", "tool", "events", "shards",
                            "model_files", "gaps"})
_REF_KEYS = frozenset({"name", "size", "sha256"})
_SHARD_KEYS = frozenset({"name", "events", "size", "sha256"})
#: The keys of one shard line, all always present (V5).
LINE_KEYS = frozenset({"tx_id", "envelope", "payload", "data_item", "receipt", "surface",
                       "hints", "origins", "fetch"})
BYTES_SLOTS = ("envelope", "payload", "data_item")
_B64_KEYS = frozenset({"base64"})


def shard_name(index: int) -> str:
    """The member name of shard `index` (V3): ``events/`` + six or more digits."""
    return f"events/{index:06d}.jsonl"


@dataclass(frozen=True)
class BundleLimits:
    """Bounds for reading a bundle (v1 uses `zip`; v2 adds the shard bounds, spec §7 V8)."""

    zip: ZipLimits = DEFAULT_ZIP_LIMITS
    max_manifest_bytes: int = 32 * 1024**2
    max_events: int = 10_000_000
    max_shards: int = 100_000
    max_shard_events: int = 65_536
    max_shard_bytes: int = 256 * 1024**2
    max_line_bytes: int = 128 * 1024**2
    # each decoded envelope, payload and data item is bounded by `zip.max_evidence_bytes`,
    # the document limit (`--max-bytes`) v1 applies to its evidence members


DEFAULT_BUNDLE_LIMITS = BundleLimits()


def as_bundle_limits(limits: BundleLimits | ZipLimits | None) -> BundleLimits:
    """`BundleLimits` from what a caller passed (a bare `ZipLimits` keeps the v2 defaults)."""
    if limits is None:
        return DEFAULT_BUNDLE_LIMITS
    if isinstance(limits, ZipLimits):
        return BundleLimits(zip=limits)
    return limits


def load_json(data: bytes, what: str, max_bytes: int = 1 << 62) -> Any:
    """Strict JSON by the kernel's intake (envelope.md I1); otherwise BUNDLE_MALFORMED
    naming `what` and the intake reason."""
    try:
        return load(data, Limits(max_document_bytes=max_bytes))
    except Malformed as exc:
        raise _not_strict(what, exc) from None


def str_map(value: Any, where: str) -> dict[str, str]:
    """`value` if it is an object of strings, else BUNDLE_MALFORMED."""
    if not _is_str_map(value):
        raise BundleError(_M, f"{where} must be an object of strings")
    return value


def _is_str_map(value: Any) -> bool:
    """Whether `value` is an object of strings (a decoded value is never a str subclass,
    and join takes str only: one C-level pass)."""
    if value.__class__ is not dict:
        return False
    try:
        "".join(value.values())
    except TypeError:
        return False
    return True


def _not_strict(what: str, exc: Malformed) -> BundleError:
    return BundleError(_M, f"{what}: not strict JSON [{exc.reason.value}]: {exc.detail}")


def fetch_claim(claim: Any, record: EventRecord, where: str) -> FetchResult | None:
    """The exporter's account of its gateway fetch: a report hint, never evidence (B5)."""
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


@dataclass(frozen=True)
class Shard:
    """One manifest shard entry; `first` is the sequence number of its first event."""

    name: str
    events: int
    size: int
    sha256: str
    first: int


def _count(value: Any, where: str) -> int:
    if value.__class__ is not int or value < 0:
        raise BundleError(_M, f"{where} is not a non-negative integer")
    return value


def _ref(value: Any, where: str, keys: frozenset[str] = _REF_KEYS) -> tuple[int, str]:
    """(size, sha256) of a digested member entry with exactly `keys` (V2, V3)."""
    if value.__class__ is not dict or value.keys() != keys:
        raise BundleError(_M, f"{where} must have exactly {', '.join(sorted(keys))}")
    digest = value["sha256"]
    if digest.__class__ is not str or not _HEX64.fullmatch(digest):
        raise BundleError(_M, f"{where}.sha256 is not 64 lowercase hex")
    return _count(value["size"], f"{where}.size"), digest


def read_member(zf: SafeZip, name: str, size: int, digest: str) -> bytes:
    """A member's bytes, inflated within its declared size, checked against the manifest's
    size and SHA-256 (V6)."""
    data = zf.read(name)
    if len(data) != size or sha256(data).hexdigest() != digest:
        raise BundleError(_M, f"V6: manifest digest mismatch for {name!r}")
    return data


@dataclass
class Index:
    """A checked v2 manifest: the claimed target, the shards, model files and gaps."""

    target: str
    created_at: str
    total: int
    shards: list[Shard]
    model_files: dict[str, dict[str, str]] = field(default_factory=dict)
    gaps: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def open(cls, zf: SafeZip, manifest: dict[str, Any], limits: BundleLimits,
             contents: bool = True) -> Index:
        """Check the manifest (V2-V4) and the archive's member set against it and, with
        `contents`, read the model files and gaps; no shard is inflated here."""
        if manifest.keys() != _MANIFEST_KEYS:
            extra = sorted(manifest.keys() ^ _MANIFEST_KEYS)
            raise BundleError(_M, f"V2: manifest keys differ from the v2 set: {extra[:5]}")
        target, created = manifest["target"], manifest["created_at"]
        if target.__class__ is not str or created.__class__ is not str:
            raise BundleError(_M, "V2: manifest target and created_at must be strings")
        if manifest["tool"].__class__ is not dict:
            raise BundleError(_M, "V2: manifest.tool is not an object")
        total = _count(manifest["events"], "manifest.events")
        if total > limits.max_events:
            raise BundleError(_L, f"V8: {total} events, over the {limits.max_events}-event limit")
        entries = manifest["shards"]
        if entries.__class__ is not list:
            raise BundleError(_M, "V3: manifest.shards is not a list")
        if len(entries) > limits.max_shards:
            raise BundleError(_L, f"V8: {len(entries)} shards, over the "
                                  f"{limits.max_shards}-shard limit")
        shards, first = [], 0
        for i, entry in enumerate(entries):
            where = f"manifest.shards[{i}]"
            size, digest = _ref(entry, where, _SHARD_KEYS)
            if entry["name"] != shard_name(i):
                raise BundleError(_M, f"V3: {where}.name must be {shard_name(i)!r}")
            events = _count(entry["events"], f"{where}.events")
            if events == 0:
                raise BundleError(_M, f"V3: {where} holds no events")
            if events > limits.max_shard_events:
                raise BundleError(_L, f"V8: {where} holds {events} events, over the "
                                      f"{limits.max_shard_events}-event shard limit")
            if size > limits.max_shard_bytes:
                raise BundleError(_L, f"V8: {where} is {size} bytes, over the "
                                      f"{limits.max_shard_bytes}-byte shard limit")
            shards.append(Shard(shard_name(i), events, size, digest, first))
            first += events
        if first != total:
            raise BundleError(_M, f"V3: manifest.events is {total} but the shards hold {first}")
        refs = {MODEL_FILES: _ref(manifest["model_files"], "manifest.model_files"),
                GAPS: _ref(manifest["gaps"], "manifest.gaps")}
        if any(e.__class__ is dict and e.get("name") != n for n, e in
               ((MODEL_FILES, manifest["model_files"]), (GAPS, manifest["gaps"]))):
            raise BundleError(_M, f"V2: manifest.model_files and manifest.gaps must name "
                                  f"{MODEL_FILES!r} and {GAPS!r}")
        listed = {s.name: s.size for s in shards} | {n: r[0] for n, r in refs.items()}
        _check_members(zf, listed)
        index = cls(target, created, total, shards)
        if not contents:
            return index
        index.model_files = _model_files(read_member(zf, MODEL_FILES, *refs[MODEL_FILES]))
        index.gaps = _gaps(read_member(zf, GAPS, *refs[GAPS]))
        return index

    def shard(self, name: str) -> Shard:
        """The entry of shard `name`; BUNDLE_MALFORMED when the manifest has none."""
        m = re.fullmatch(r"events/([0-9]{6,})\.jsonl", name) if isinstance(name, str) else None
        i = int(m.group(1)) if m else -1
        if not 0 <= i < len(self.shards) or self.shards[i].name != name:
            raise BundleError(_M, f"V3: no shard {str(name)[:80]!r} in the manifest")
        return self.shards[i]

    def locate(self, seq: int) -> Shard | None:
        """The shard holding event `seq` (0-based, in bundle order), or None."""
        if not 0 <= seq < self.total:
            return None
        firsts = [s.first for s in self.shards]
        return self.shards[bisect_right(firsts, seq) - 1]


def _check_members(zf: SafeZip, listed: dict[str, int]) -> None:
    """V4: the archive holds exactly the manifest and the listed members, each with the
    declared size the manifest gives it (checked before anything is inflated)."""
    for name, size in listed.items():
        if name not in zf:
            raise BundleError(_M, f"V4: manifest lists {name!r} but the archive lacks it")
        if zf.size(name) != size:
            raise BundleError(_M, f"V4: {name!r} is {zf.size(name)} bytes in the archive, "
                                  f"{size} in the manifest")
    for name in zf.names:
        if name != MANIFEST and name not in listed:
            raise BundleError(_M, f"V4: member {name!r} is not listed in the manifest")


def _model_files(data: bytes) -> dict[str, dict[str, str]]:
    value = load_json(data, MODEL_FILES)
    if value.__class__ is not dict or not all(
            k.__class__ is str and _TX.fullmatch(k) and files.__class__ is dict
            and all(v.__class__ is str and _HEX64.fullmatch(v) for v in files.values())
            for k, files in value.items()):
        raise BundleError(_M, f"V7: {MODEL_FILES} must map run ids to {{path: 64-hex digest}}")
    return value


def _gaps(data: bytes) -> list[tuple[str, str]]:
    value = load_json(data, GAPS)
    if value.__class__ is not list or not all(
            g.__class__ is list and len(g) == 2 and all(s.__class__ is str for s in g)
            for g in value):
        raise BundleError(_M, f"V7: {GAPS} must be a list of [what, why] strings")
    return [(g[0], g[1]) for g in value]


def shard_records(zf: SafeZip, shard: Shard, limits: BundleLimits, *,
                  fast: bool = True) -> Iterator[EventRecord]:
    """The records of one shard, in order. The whole shard is inflated (bounded by its
    declared size), re-hashed and its lines counted before the first record is yielded.

    The lines are decoded by `intake.load_lines` (the per-line checks done once for the
    shard) unless a line could pass the line limit, or `fast` is off: then each line is
    sliced and loaded by itself (the reference path; same records, same errors)."""
    data = read_member(zf, shard.name, shard.size, shard.sha256)
    if not fast or len(data) > limits.max_line_bytes:
        yield from _shard_records_by_line(data, shard, limits)
        return
    count, values = load_lines(data, Limits(max_document_bytes=limits.max_line_bytes))
    if not data.endswith(b"\n") or count != shard.events:
        raise _line_count(shard)
    name, origin, n = shard.name, "bundle:" + shard.name, 0
    try:
        for n, ev in enumerate(values, 1):
            yield line_record(ev, name, n, origin, limits)
    except Malformed as exc:  # from `values` (line n + 1): line_record raises BundleError only
        raise _not_strict(f"{name} line {n + 1}", exc) from None


def _shard_records_by_line(data: bytes, shard: Shard, limits: BundleLimits) -> Iterator[EventRecord]:
    if not data.endswith(b"\n") or data.count(b"\n") != shard.events:
        raise _line_count(shard)
    origin = "bundle:" + shard.name
    pos = 0
    for n in range(1, shard.events + 1):
        end = data.index(b"\n", pos)
        if end - pos > limits.max_line_bytes:
            raise BundleError(_L, f"V8: {shard.name} line {n} is {end - pos} bytes, over the "
                                  f"{limits.max_line_bytes}-byte line limit")
        ev = load_json(data[pos:end], f"{shard.name} line {n}", limits.max_line_bytes)
        yield line_record(ev, shard.name, n, origin, limits)
        pos = end + 1


def _line_count(shard: Shard) -> BundleError:
    return BundleError(_M, f"V5: {shard.name} does not hold exactly {shard.events} "
                           "newline-terminated lines")


def _bytes(value: Any, limits: BundleLimits, name: str, n: int, slot: str) -> bytes | None:
    """Evidence slot `slot` of line `n` of shard `name` (V5): null, a string (the bytes are
    its UTF-8 encoding) or ``{"base64": <standard base64>}``; bounded by the document limit.
    The location is spelled out only for an error."""
    if value is None:
        return None
    bound = limits.zip.max_evidence_bytes
    if value.__class__ is str:
        if len(value) > bound or len(data := value.encode("utf-8")) > bound:
            raise BundleError(_L, f"V8: {name} line {n}: {slot} is over the {bound}-byte "
                                  "document limit")
        return data
    where = f"{name} line {n}: {slot}"
    if value.__class__ is not dict or value.keys() != _B64_KEYS or value["base64"].__class__ is not str:
        raise BundleError(_M, f"V5: {where} is not a string, {{\"base64\": string}} or null")
    text = value["base64"]
    if len(text) // 4 * 3 > bound + 2:
        raise BundleError(_L, f"V8: {where} decodes to more than the {bound}-byte document limit")
    try:
        data = binascii.a2b_base64(text, strict_mode=True)
    except (binascii.Error, ValueError):
        raise BundleError(_M, f"V5: {where} is not strict base64") from None
    if len(data) > bound:
        raise BundleError(_L, f"V8: {where} decodes to {len(data)} bytes, over the "
                              f"{bound}-byte document limit")
    return data


def line_record(ev: Any, name: str, n: int, origin: str, limits: BundleLimits) -> EventRecord:
    """Line `n` of shard `name`, already strictly decoded to `ev`, as an `EventRecord`
    (V5); origins become ``bundle:<shard>`` and the exporter's origins move to hints, as
    in v1 (B5). The line's location is spelled out only for an error."""
    if ev.__class__ is not dict or ev.keys() != LINE_KEYS:
        raise BundleError(_M, f"V5: {name} line {n} must be an object with exactly the keys "
                              f"{', '.join(sorted(LINE_KEYS))}")
    tx_id = ev["tx_id"]
    if tx_id is not None and (tx_id.__class__ is not str or not _TX_MATCH(tx_id)):
        raise BundleError(_M, f"V5: {name} line {n}: tx_id is not a valid tx id")
    hints, origins = ev["hints"], ev["origins"]  # ev is this line's own: hints may be kept
    if not _is_str_map(hints):
        raise BundleError(_M, f"V5: {name} line {n}: hints must be an object of strings")
    if not _is_str_map(origins):
        raise BundleError(_M, f"V5: {name} line {n}: origins must be an object of strings")
    envelope = _bytes(ev["envelope"], limits, name, n, "envelope")
    payload = _bytes(ev["payload"], limits, name, n, "payload")
    data_item = _bytes(ev["data_item"], limits, name, n, "data_item")
    envelope_origin = payload_origin = None
    if envelope is not None:
        envelope_origin = origin
        if "envelope" in origins:
            hints["exported_envelope_origin"] = origins["envelope"]
    if payload is not None:
        payload_origin = origin
        if "payload" in origins:
            hints["exported_payload_origin"] = origins["payload"]
    receipt, surface = ev["receipt"], ev["surface"]
    if receipt is not None and receipt.__class__ is not dict:
        raise BundleError(_M, f"V5: {name} line {n}: receipt is not an object or null")
    if surface is not None and surface.__class__ is not dict:
        raise BundleError(_M, f"V5: {name} line {n}: surface is not an object or null")
    record = EventRecord(tx_id, envelope, envelope_origin, payload, payload_origin, data_item,
                         receipt, surface, hints)
    if ev["fetch"] is not None:
        record.fetch = fetch_claim(ev["fetch"], record, f"{name} line {n}")
    return record


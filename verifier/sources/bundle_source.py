"""One way to open an audit bundle of either format: `open_bundle` -> `BundleSource`.

The source says what the bundle claims (`target`, `model_files`, `gaps`, `total` events,
`format`) once its index is checked, and hands out its evidence as a stream: `records()`
yields one shard at a time (v2; a v1 bundle is one shard holding everything), `shards()`
names the shards and module-level `read_shard` reads one in any process (it opens the
archive itself and re-checks the shard's digest), `record(seq)` finds one event for a
detail view. Every problem raises `BundleError` with a bundle reason code, also from the
iterator (a shard is checked when it is reached).
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterator
from functools import cached_property
from typing import Any, BinaryIO

from verifier.core.reasons import ReasonCode
from verifier.sources.bundle import FORMAT as FORMAT_V1
from verifier.sources.bundle import read_v1
from verifier.sources.bundle_v2 import (
    DEFAULT_BUNDLE_LIMITS, FORMAT_V2, GAPS, MANIFEST, BundleLimits, Index, Shard,
    as_bundle_limits, load_json, shard_records,
)
from verifier.sources.errors import BundleError
from verifier.sources.model import Collection, EventRecord
from verifier.sources.zipguard import SafeZip, ZipLimits

#: The single pseudo-shard of a v1 bundle (its events are indexed in the manifest).
V1_SHARD = MANIFEST
_M = ReasonCode.BUNDLE_MALFORMED
_L = ReasonCode.BUNDLE_LIMIT_EXCEEDED

Source = str | os.PathLike[str] | bytes | BinaryIO


class BundleSource:
    """An opened, index-checked bundle. Close it (or use ``with``) to release the file."""

    def __init__(self, source: Source, zf: SafeZip, limits: BundleLimits, fmt: str,
                 target: str, total: int, model_files: dict[str, dict[str, str]],
                 gaps: list[tuple[str, str]], index: Index | None = None,
                 collection: Collection | None = None) -> None:
        self._source, self._zf, self.limits = source, zf, limits
        self.format, self.target, self.total = fmt, target, total
        self.model_files, self.gaps = model_files, gaps
        self._index, self._collection = index, collection

    def shards(self) -> list[str]:
        """Shard names in bundle order (v1: the one pseudo-shard ``manifest.json``)."""
        if self._index is None:
            return [V1_SHARD]
        return [s.name for s in self._index.shards]

    def shard_entries(self) -> list[Shard]:
        """The checked manifest entries of the shards (name, events, size, sha256, first
        seq), small and picklable: hand one to `read_shard` in a worker (v2 only)."""
        return list(self._index.shards) if self._index is not None else []

    def records(self) -> Iterator[EventRecord]:
        """Every event in bundle order; v2 holds one shard in memory at a time."""
        if self._collection is not None:
            yield from self._collection.records
            return
        assert self._index is not None
        for shard in self._index.shards:
            yield from shard_records(self._zf, shard, self.limits)

    def read_shard(self, name: str) -> list[EventRecord]:
        """The records of shard `name` (digest re-checked)."""
        if self._collection is not None:
            if name != V1_SHARD:
                raise BundleError(_M, f"no shard {str(name)[:80]!r} in a v1 bundle")
            return list(self._collection.records)
        assert self._index is not None
        return list(shard_records(self._zf, self._index.shard(name), self.limits))

    def record(self, seq: int) -> EventRecord | None:
        """Event number `seq` (0-based, bundle order), or None if there is none."""
        if self._collection is not None:
            records = self._collection.records
            return records[seq] if 0 <= seq < len(records) else None
        assert self._index is not None
        shard = self._index.locate(seq)
        if shard is None:
            return None
        for i, record in enumerate(shard_records(self._zf, shard, self.limits)):
            if shard.first + i == seq:
                return record
        return None

    def collection(self) -> Collection:
        """Everything at once, as a `Collection` (memory grows with the bundle)."""
        if self._collection is not None:
            return self._collection
        return Collection(target=self.target, records=list(self.records()),
                          model_files=self.model_files, gaps=list(self.gaps))

    @cached_property
    def sha256(self) -> str:
        """SHA-256 of the bundle file, read in 1 MiB chunks."""
        source, digest = self._source, hashlib.sha256()
        if isinstance(source, (bytes, bytearray, memoryview)):
            digest.update(source)
        elif isinstance(source, (str, os.PathLike)):
            with open(source, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(chunk)
        else:
            source.seek(0)
            for chunk in iter(lambda: source.read(1 << 20), b""):
                digest.update(chunk)
        return digest.hexdigest()

    def close(self) -> None:
        """Release the archive."""
        self._zf.close()

    def __enter__(self) -> BundleSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_bundle(source: Source, limits: BundleLimits | ZipLimits | None = None, *,
                _shards_only: bool = False) -> BundleSource:
    """Open and check a bundle of either format. v2: the manifest and the member set are
    checked and model files and gaps read, but no shard is inflated until it is reached;
    v1: the whole bundle is read and checked (it has no shards)."""
    lim = as_bundle_limits(limits)
    zf = SafeZip(source, lim.zip)
    try:
        return _open(source, zf, lim, _shards_only)
    except BaseException:
        zf.close()
        raise


def _open(source: Source, zf: SafeZip, lim: BundleLimits, shards_only: bool) -> BundleSource:
    if MANIFEST not in zf:
        raise BundleError(_M, "manifest.json is missing")
    v2_layout = GAPS in zf  # a v2 bundle always holds gaps.json; a v1 bundle never does
    if v2_layout and zf.size(MANIFEST) > lim.max_manifest_bytes:
        raise BundleError(_L, f"V8: manifest.json is {zf.size(MANIFEST)} bytes, over the "
                              f"{lim.max_manifest_bytes}-byte manifest limit")
    manifest: Any = load_json(zf.read(MANIFEST), MANIFEST)
    if not isinstance(manifest, dict):
        raise BundleError(_M, "manifest.json is not a JSON object")
    fmt = manifest.get("format")
    if fmt == FORMAT_V2:
        if shards_only:
            index = Index.open(zf, manifest, lim, contents=False)
        else:
            index = Index.open(zf, manifest, lim)
        return BundleSource(source, zf, lim, "v2", index.target, index.total,
                            index.model_files, index.gaps, index=index)
    if fmt == FORMAT_V1:
        col = read_v1(zf, manifest)
        return BundleSource(source, zf, lim, "v1", col.target, len(col.records),
                            col.model_files, col.gaps, collection=col)
    raise BundleError(_M, f"unsupported bundle format {str(fmt)[:80]!r} "
                          f"(expected {FORMAT_V2} or {FORMAT_V1})")


_OPENED = threading.local()  # this thread's archive for read_shard: (identity, SafeZip)


def _archive(path: str | os.PathLike[str], limits: ZipLimits) -> SafeZip:
    """The archive at `path`, opened once per worker thread for all the shards it reads (a
    1M-event bundle's central directory costs ~1.3 ms to read and check per open). It is
    reopened when the file at `path` is another one (device, inode, size, mtime) or other
    limits apply; per thread and per process, so no two readers share a file offset."""
    st = os.stat(path)
    ident = (os.getpid(), os.fspath(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, limits)
    held = getattr(_OPENED, "archive", None)
    if held is not None and held[0] == ident:
        return held[1]
    if held is not None:
        held[1].close()
        _OPENED.archive = None
    zf = SafeZip(path, limits)
    _OPENED.archive = (ident, zf)
    return zf


def read_shard(path: str | os.PathLike[str], shard: str | Shard,
               limits: BundleLimits | ZipLimits | None = None) -> list[EventRecord]:
    """The records of one shard of the bundle at `path`, for a worker process. `shard` is a
    name (the archive and its index are opened and checked here) or, cheaper, the `Shard`
    entry from the opener's `shard_entries()` (only the central directory is read; the
    shard's size and digest are still checked against that entry)."""
    if isinstance(shard, Shard):
        lim = as_bundle_limits(limits)
        zf = _archive(path, lim.zip)
        if shard.name not in zf:
            raise BundleError(_M, f"V4: manifest lists {shard.name!r} but the archive lacks it")
        return list(shard_records(zf, shard, lim))
    with open_bundle(path, limits or DEFAULT_BUNDLE_LIMITS, _shards_only=True) as src:
        return src.read_shard(shard)

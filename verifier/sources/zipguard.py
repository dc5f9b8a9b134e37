"""Hostile-input-safe ZIP reading for audit bundles, without extracting anything.

The central directory is parsed here (not by `zipfile`: it is several times faster for
the hundreds of thousands of small members a large lineage has) and checked against
`ZipLimits` and the rules below before any member is decompressed. Every problem becomes
a `BundleError` with a precise reason code and message.

Path rules (BUNDLE_UNSAFE_PATH): a member name is one or more ``/``-separated segments of
``[A-Za-z0-9._-]``, none empty, ``.`` or ``..``; so no absolute paths, drive letters,
backslashes, NUL or non-ASCII names. Entries whose Unix mode is a symlink or any other
non-regular file are refused. Directory entries, encrypted members, compression methods
other than stored/deflate, duplicate names, a local header that disagrees with the
central directory, bad CRCs, members that inflate past their declared size and compressed
sizes a member of its declared size cannot need are BUNDLE_MALFORMED. Declared sizes are
checked against the member, evidence-document and total limits before anything is
inflated; inflation never produces more than the declared size + 1 bytes.
"""

from __future__ import annotations

import io
import mmap
import os
import re
import stat
import struct
import zlib
from dataclasses import dataclass
from typing import BinaryIO, NamedTuple

from verifier.core.limits import DEFAULT_LIMITS
from verifier.core.reasons import ReasonCode
from verifier.sources.errors import BundleError

_MALFORMED = ReasonCode.BUNDLE_MALFORMED
_LIMIT = ReasonCode.BUNDLE_LIMIT_EXCEEDED
_UNSAFE = ReasonCode.BUNDLE_UNSAFE_PATH
_NAME = re.compile(r"[A-Za-z0-9._-]+(?:/[A-Za-z0-9._-]+)*")
_DOT_SEGMENT = re.compile(r"(?:^|/)\.\.?(?:/|$)")
_STORED, _DEFLATED = 0, 8
_CD = struct.Struct("<4s6H3L5H2L")        # central directory file header (46 bytes)
_LOCAL = struct.Struct("<4s5H3L2H")       # local file header (30 bytes)
_EOCD = struct.Struct("<4s4H2LH")         # end of central directory (22 bytes)
_EOCD64 = struct.Struct("<4sQ2H2L4Q")     # zip64 end of central directory (56 bytes)
_LOC64 = struct.Struct("<4sLQL")          # zip64 locator (20 bytes)


@dataclass(frozen=True)
class ZipLimits:
    """Bounds for one archive. The ratio bound applies to members of at least
    `ratio_floor` uncompressed bytes (tiny members may legitimately compress well)."""

    max_archive_bytes: int = 4 * 1024**3
    max_members: int = 1_000_000
    max_member_bytes: int = 256 * 1024**2
    max_total_bytes: int = 4 * 1024**3
    max_ratio: float = 100.0
    ratio_floor: int = 64 * 1024
    max_name_length: int = 512
    #: Members under these directories are documents the kernel reads (envelopes, payloads,
    #: data items, receipts, surfaces): each is bounded like any document (`--max-bytes`,
    #: core `Limits.max_document_bytes`), before anything is inflated.
    max_evidence_bytes: int = DEFAULT_LIMITS.max_document_bytes
    evidence_prefixes: tuple[str, ...] = ("envelopes/", "payloads/", "dataitems/", "receipts/",
                                          "surfaces/")


DEFAULT_ZIP_LIMITS = ZipLimits()


class Entry(NamedTuple):
    """One central directory entry (sizes as declared)."""

    name: str
    method: int
    crc: int
    compressed: int
    size: int
    offset: int


def check_name(name: str, limits: ZipLimits = DEFAULT_ZIP_LIMITS) -> None:
    """Raise BUNDLE_UNSAFE_PATH unless `name` is a safe relative POSIX member path:
    segments of ``[A-Za-z0-9._-]``, none empty, ``.`` or ``..``."""
    if (len(name) <= limits.max_name_length and _NAME.fullmatch(name)
            and not _DOT_SEGMENT.search(name)):
        return
    shown = repr(name[:80])
    if not name:
        raise BundleError(_UNSAFE, "empty member name")
    if len(name) > limits.max_name_length:
        raise BundleError(_UNSAFE, f"member name longer than {limits.max_name_length}: {shown}")
    if "\\" in name:
        raise BundleError(_UNSAFE, f"backslash in member name {shown}")
    if name.startswith("/") or re.match(r"[A-Za-z]:", name):
        raise BundleError(_UNSAFE, f"absolute member path {shown}")
    for seg in name.split("/"):
        if seg in ("", ".", ".."):
            raise BundleError(_UNSAFE, f"member path {shown} has an empty, '.' or '..' segment")
    raise BundleError(_UNSAFE, f"member name {shown} has characters outside [A-Za-z0-9._-]")


def _buffer(source: str | os.PathLike[str] | bytes | BinaryIO, limit: int
            ) -> tuple[memoryview | mmap.mmap | bytes, object | None]:
    """Bytes-like view of the archive (mmap for files) and what to close afterwards."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), None
    try:
        if isinstance(source, (str, os.PathLike)):
            fh: BinaryIO = open(source, "rb")
            owned = True
        else:
            fh, owned = source, False
        try:
            size = os.fstat(fh.fileno()).st_size
            if size > limit:
                raise BundleError(_LIMIT, f"archive is {size} bytes, over the {limit}-byte limit")
            if size == 0:
                return b"", fh if owned else None
            return mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ), fh if owned else None
        except (AttributeError, io.UnsupportedOperation):
            data = fh.read(limit + 1)
            if len(data) > limit:
                raise BundleError(_LIMIT, f"archive is over the {limit}-byte limit") from None
            return data, None
    except BundleError:
        raise
    except OSError as exc:
        raise BundleError(_MALFORMED, f"cannot open archive: {exc.strerror or exc}") from None


class SafeZip:
    """An opened, pre-checked archive. `names` lists members in central directory order."""

    def __init__(self, source: str | os.PathLike[str] | bytes | BinaryIO,
                 limits: ZipLimits = DEFAULT_ZIP_LIMITS, *, bulk: bool = True) -> None:
        """`bulk=False` skips the C-level directory scan and checks entry by entry (the
        general path the scan is pinned against; both give the same `Entry` values)."""
        self.limits, self._bulk = limits, bulk
        self._buf, self._owned = _buffer(source, limits.max_archive_bytes)
        self._size = len(self._buf)
        if len(self._buf) > limits.max_archive_bytes:
            self.close()
            raise BundleError(_LIMIT, f"archive is {len(self._buf)} bytes, over the "
                                      f"{limits.max_archive_bytes}-byte limit")
        try:
            self._entries = self._directory()
        except BundleError:
            self.close()
            raise
        self.names = list(self._entries)

    def __contains__(self, name: str) -> bool:
        return name in self._entries

    def _directory(self) -> dict[str, Entry]:
        buf, limits = self._buf, self.limits
        count, cd_size, cd_offset = _end_record(buf)
        if count > limits.max_members:
            raise BundleError(_LIMIT, f"{count} members, over the {limits.max_members}-member limit")
        if cd_offset + cd_size > len(buf):
            raise BundleError(_MALFORMED, "not a readable ZIP archive: central directory "
                                          "lies outside the file (truncated?)")
        fast = _scan(buf, count, cd_offset, cd_offset + cd_size, limits) if self._bulk else None
        if fast is not None:
            return fast
        entries: dict[str, Entry] = {}
        pos, end, total = cd_offset, cd_offset + cd_size, 0
        for _ in range(count):
            if pos + 46 > end:
                raise BundleError(_MALFORMED, "central directory is truncated")
            (sig, made, _need, flags, method, _t, _d, crc, csize, usize, nlen, elen, clen,
             _disk, _iattr, eattr, offset) = _CD.unpack_from(buf, pos)
            if sig != b"PK\x01\x02":
                raise BundleError(_MALFORMED, "bad central directory entry signature")
            raw_name = bytes(buf[pos + 46:pos + 46 + nlen])
            extra = bytes(buf[pos + 46 + nlen:pos + 46 + nlen + elen])
            pos += 46 + nlen + elen + clen
            if pos > end:
                raise BundleError(_MALFORMED, "central directory is truncated")
            if 0xFFFFFFFF in (csize, usize, offset):
                usize, csize, offset = _zip64_extra(extra, usize, csize, offset)
            name = _decode_name(raw_name, limits)
            if raw_name.endswith(b"/") or eattr & 0x10:
                raise BundleError(_MALFORMED, f"directory entry {name[:80]!r} (only files are allowed)")
            check_name(name, limits)
            mode = eattr >> 16 if made >> 8 == 3 else 0
            if mode and stat.S_IFMT(mode) not in (0, stat.S_IFREG):
                kind = "symlink" if stat.S_ISLNK(mode) else "special file"
                raise BundleError(_UNSAFE, f"member {name!r} is a {kind}, not a regular file")
            if flags & 0x1:
                raise BundleError(_MALFORMED, f"member {name!r} is encrypted")
            if method not in (_STORED, _DEFLATED):
                raise BundleError(_MALFORMED, f"member {name!r} uses unsupported compression "
                                              f"method {method}")
            if usize > limits.max_member_bytes:
                raise BundleError(_LIMIT, f"member {name!r} is {usize} bytes, over the "
                                          f"{limits.max_member_bytes}-byte member limit")
            if usize > limits.max_evidence_bytes and name.startswith(limits.evidence_prefixes):
                raise BundleError(_LIMIT, f"member {name!r} is {usize} bytes, over the "
                                          f"{limits.max_evidence_bytes}-byte document limit")
            if csize > _max_compressed(method, usize):
                raise BundleError(_MALFORMED, f"member {name!r} declares {csize} compressed bytes "
                                              f"for {usize} uncompressed")
            if usize >= limits.ratio_floor and usize / max(csize, 1) > limits.max_ratio:
                raise BundleError(_LIMIT, f"member {name!r} compression ratio "
                                          f"{usize / max(csize, 1):.0f}:1 exceeds "
                                          f"{limits.max_ratio:.0f}:1")
            if name in entries:
                raise BundleError(_MALFORMED, f"duplicate member {name!r}")
            total += usize
            if total > limits.max_total_bytes:
                raise BundleError(_LIMIT, f"members total more than {limits.max_total_bytes} "
                                          "uncompressed bytes")
            entries[name] = Entry(name, method, crc, csize, usize, offset)
        return entries

    def size(self, name: str) -> int:
        """Declared uncompressed size of a member."""
        return self._entries[name][4]

    def read(self, name: str) -> bytes:
        """A member's bytes; local header, length and CRC are checked."""
        e = self._entries.get(name)
        if e is None:
            raise BundleError(_MALFORMED, f"missing member {name!r}")
        _name, method, crc, compressed, size, offset = e
        buf, end = self._buf, self._size
        if offset + 30 > end:
            raise BundleError(_MALFORMED, f"member {name!r} is truncated")
        sig, _v, flags, lmethod, _t, _d, _crc, _cs, _us, nlen, elen = _LOCAL.unpack_from(buf, offset)
        start = offset + 30 + nlen + elen
        if sig != b"PK\x03\x04" or buf[offset + 30:offset + 30 + nlen] != name.encode() \
                or lmethod != method or flags & 0x1:
            raise BundleError(_MALFORMED, f"member {name!r}: local header disagrees with the "
                                          "central directory")
        if start + compressed > end:
            raise BundleError(_MALFORMED, f"member {name!r} is truncated")
        raw = buf[start:start + compressed]
        if method == _STORED:
            data = bytes(raw)
            if len(data) != size:
                raise BundleError(_MALFORMED, f"member {name!r}: stored size differs from declared")
        else:
            data = None
            if compressed <= _ONE_SHOT:  # one call; anything unusual is left to _inflate
                try:
                    data = zlib.decompress(raw, -15, size + 1)
                except zlib.error:
                    pass
                else:
                    if len(data) != size:
                        data = None
            if data is None:
                data = _inflate(name, raw, size)
        if zlib.crc32(data) != crc:
            raise BundleError(_MALFORMED, f"member {name!r} fails its CRC-32 check")
        if compressed >= _RELEASE and isinstance(buf, mmap.mmap):
            _release(buf)
        return data

    def close(self) -> None:
        """Release the mapping and any file this object opened."""
        if isinstance(self._buf, mmap.mmap):
            self._buf.close()
        if self._owned is not None:
            self._owned.close()  # type: ignore[attr-defined]
            self._owned = None

    def __enter__(self) -> SafeZip:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _max_compressed(method: int, size: int) -> int:
    """The most compressed bytes a member of `size` bytes can need: stored is exact; deflate
    adds at most 5 bytes per 64 KiB stored block. A member declaring more is refused, so
    no member's compressed bytes are ever copied beyond its (bounded) size."""
    return size if method == _STORED else size + (size >> 10) + 1024


#: Members at least this large give the archive's mapped pages back once read, so reading a
#: large archive member by member (audit bundle v2 shards) keeps the file out of the peak
#: RSS. The whole mapping is released (~20 us for 0.5 GB): a page fault maps a read-around
#: window of up to ~0.5 MB on either side, reaching into members read before and after.
_RELEASE = 256 * 1024


def _release(buf: mmap.mmap) -> None:
    """Drop the archive's pages from this process (they stay in the page cache)."""
    try:
        buf.madvise(mmap.MADV_DONTNEED)
    except (AttributeError, OSError, ValueError):  # no madvise here: only RSS is affected
        pass


#: Deflate inflates at most ~1032:1, so members this small are inflated in one call (at
#: most ~2 MiB even for a hostile one) and only then compared with their declared size;
#: a stream that is not exactly right is inflated again by `_inflate`, which says why.
_ONE_SHOT = 2048


def _inflate(name: str, raw: bytes, size: int) -> bytes:
    inflater = zlib.decompressobj(-15)
    try:
        data = inflater.decompress(raw, size + 1)
    except zlib.error as exc:
        raise BundleError(_MALFORMED, f"member {name!r} cannot be inflated: {exc}") from None
    if len(data) > size:
        raise BundleError(_MALFORMED, f"member {name!r} inflates past its declared size")
    if len(data) != size or not inflater.eof:
        raise BundleError(_MALFORMED, f"member {name!r} is truncated")
    return data


_NAME_BYTES = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-/\n"
_BAD_JOINS = (b"//", b"/\n", b"\n/", b"\n\n") + tuple(
    a + dots + b for a in (b"/", b"\n") for b in (b"/", b"\n") for dots in (b".", b".."))


def _names_ok(joined: bytes, count: int) -> bool:
    """True iff `joined` (the raw names, one per line) holds `count` names that each pass
    `_decode_name`, `check_name` and the directory test: C-level passes only."""
    framed = b"\n" + joined + b"\n"
    return (not joined.translate(None, _NAME_BYTES) and joined.count(b"\n") == count - 1
            and not any(bad in framed for bad in _BAD_JOINS))


def _scan(buf: bytes | mmap.mmap | memoryview, count: int, pos: int, end: int,
          limits: ZipLimits) -> dict[str, Entry] | None:
    """The central directory when every entry is an ordinary one (regular file, stored or
    deflated, no zip64 fields, sizes and names within the limits, no duplicates); None
    otherwise, and `SafeZip._directory`'s checked loop then reports the first problem."""
    unpack = _CD.unpack_from
    max_member, floor, ratio = limits.max_member_bytes, limits.ratio_floor, limits.max_ratio
    max_name, big = limits.max_name_length, 0xFFFFFFFF
    max_doc = limits.max_evidence_bytes
    doc_dirs = tuple(p.encode("ascii") for p in limits.evidence_prefixes)
    rows = []
    total = 0
    for _ in range(count):
        if pos + 46 > end:
            return None
        (sig, made, _need, flags, method, _t, _d, crc, csize, usize, nlen, elen, clen,
         _disk, _iattr, eattr, offset) = unpack(buf, pos)
        start = pos + 46
        pos = start + nlen + elen + clen
        if (sig != b"PK\x01\x02" or pos > end or not 0 < nlen <= max_name or flags & 0x1
                or eattr & 0x10 or (method != _STORED and method != _DEFLATED)
                or usize > max_member or big in (csize, usize, offset)
                or (usize > max_doc and bytes(buf[start:start + nlen]).startswith(doc_dirs))
                or csize > (usize if method == _STORED else usize + (usize >> 10) + 1024)
                or (made >> 8 == 3 and (eattr >> 16) & 0o170000 not in (0, 0o100000))
                or (usize >= floor and usize / max(csize, 1) > ratio)):
            return None
        rows.append((buf[start:start + nlen], method, crc, csize, usize, offset))
        total += usize
    if total > limits.max_total_bytes:
        return None
    joined = b"\n".join([r[0] for r in rows])
    if rows and not _names_ok(joined, count):
        return None
    names = joined.decode("ascii").split("\n") if rows else []
    entries = {name: Entry(name, *row[1:]) for name, row in zip(names, rows)}
    return entries if len(entries) == count else None


def _end_record(buf: bytes | mmap.mmap | memoryview) -> tuple[int, int, int]:
    """(entry count, central directory size, offset) from the (zip64) end record."""
    n = len(buf)
    tail_start = max(0, n - (22 + 65535))
    tail = bytes(buf[tail_start:n])
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or at + 22 > len(tail):
        raise BundleError(_MALFORMED, "not a readable ZIP archive: no end of central "
                                      "directory record (truncated or not a ZIP)")
    _sig, disk, cd_disk, _here, count, cd_size, cd_offset, _clen = _EOCD.unpack_from(tail, at)
    if disk or cd_disk:
        raise BundleError(_MALFORMED, "multi-disk ZIP archives are not supported")
    eocd = tail_start + at
    if 0xFFFF == count or 0xFFFFFFFF in (cd_size, cd_offset):
        loc = eocd - 20
        if loc < 0 or bytes(buf[loc:loc + 4]) != b"PK\x06\x07":
            raise BundleError(_MALFORMED, "zip64 end record locator is missing")
        _s, _d, rec, _disks = _LOC64.unpack_from(buf, loc)
        if rec + 56 > n or bytes(buf[rec:rec + 4]) != b"PK\x06\x06":
            raise BundleError(_MALFORMED, "zip64 end record is missing")
        (_s, _size, _made, _need, _disk, _cdd, _here64, count, cd_size,
         cd_offset) = _EOCD64.unpack_from(buf, rec)
    return count, cd_size, cd_offset


def _zip64_extra(extra: bytes, usize: int, csize: int, offset: int) -> tuple[int, int, int]:
    pos = 0
    while pos + 4 <= len(extra):
        tag, length = struct.unpack_from("<HH", extra, pos)
        body = extra[pos + 4:pos + 4 + length]
        if tag == 1:
            values, i = [], 0
            for current in (usize, csize, offset):
                if current == 0xFFFFFFFF:
                    if i + 8 > len(body):
                        raise BundleError(_MALFORMED, "zip64 extra field is truncated")
                    values.append(struct.unpack_from("<Q", body, i)[0])
                    i += 8
                else:
                    values.append(current)
            return values[0], values[1], values[2]
        pos += 4 + length
    raise BundleError(_MALFORMED, "zip64 sizes without a zip64 extra field")


def _decode_name(raw: bytes, limits: ZipLimits) -> str:
    if len(raw) > limits.max_name_length:
        raise BundleError(_UNSAFE, f"member name longer than {limits.max_name_length}")
    if not raw.isascii() or b"\0" in raw:
        raise BundleError(_UNSAFE, f"member name {raw[:80]!r} has characters outside "
                                   "[A-Za-z0-9._-]")
    return raw.decode("ascii")

"""Hostile-input-safe reading of ZIP archives (used by the audit bundle reader).

Nothing is ever extracted to disk. Before any member is decompressed, the central
directory is checked against `ZipLimits` and the path rules below; every problem becomes a
`BundleError` with a precise reason code and message.

Path rules (BUNDLE_UNSAFE_PATH): a member name is one or more ``/``-separated segments of
``[A-Za-z0-9._-]``, none empty, ``.`` or ``..``; so no absolute paths, drive letters,
backslashes, NUL or non-ASCII names. Entries whose Unix mode is a symlink or any other
non-regular file are refused. Directory entries, encrypted members, compression methods
other than stored/deflate and duplicate names are BUNDLE_MALFORMED.
"""

from __future__ import annotations

import io
import os
import re
import stat
import zipfile
import zlib
from dataclasses import dataclass
from typing import BinaryIO

from verifier.core.reasons import ReasonCode
from verifier.sources.errors import BundleError

_MALFORMED = ReasonCode.BUNDLE_MALFORMED
_LIMIT = ReasonCode.BUNDLE_LIMIT_EXCEEDED
_UNSAFE = ReasonCode.BUNDLE_UNSAFE_PATH
_SEGMENT = re.compile(r"[A-Za-z0-9._-]+")
_ALLOWED_METHODS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})
_READ_CHUNK = 1024 * 1024


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


DEFAULT_ZIP_LIMITS = ZipLimits()


def check_name(name: str, limits: ZipLimits = DEFAULT_ZIP_LIMITS) -> None:
    """Raise BUNDLE_UNSAFE_PATH unless `name` is a safe relative POSIX member path."""
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
        if not _SEGMENT.fullmatch(seg):
            raise BundleError(_UNSAFE, f"member name {shown} has characters outside [A-Za-z0-9._-]")


def _check_entry(info: zipfile.ZipInfo, limits: ZipLimits) -> None:
    name = info.filename
    if info.orig_filename != name and "\\" in info.orig_filename:
        raise BundleError(_UNSAFE, f"backslash in member name {info.orig_filename[:80]!r}")
    if name.endswith("/") or info.external_attr & 0x10:
        raise BundleError(_MALFORMED, f"directory entry {name[:80]!r} (only files are allowed)")
    check_name(name, limits)
    mode = info.external_attr >> 16
    if mode and stat.S_IFMT(mode) not in (0, stat.S_IFREG):
        kind = "symlink" if stat.S_ISLNK(mode) else "special file"
        raise BundleError(_UNSAFE, f"member {name!r} is a {kind}, not a regular file")
    if info.flag_bits & 0x1:
        raise BundleError(_MALFORMED, f"member {name!r} is encrypted")
    if info.compress_type not in _ALLOWED_METHODS:
        raise BundleError(_MALFORMED, f"member {name!r} uses unsupported compression "
                                      f"method {info.compress_type}")
    if info.file_size > limits.max_member_bytes:
        raise BundleError(_LIMIT, f"member {name!r} is {info.file_size} bytes, over the "
                                  f"{limits.max_member_bytes}-byte member limit")
    if info.file_size >= limits.ratio_floor:
        ratio = info.file_size / max(info.compress_size, 1)
        if ratio > limits.max_ratio:
            raise BundleError(_LIMIT, f"member {name!r} compression ratio {ratio:.0f}:1 "
                                      f"exceeds {limits.max_ratio:.0f}:1")


class SafeZip:
    """An opened, pre-checked archive. `names` lists members in archive order."""

    def __init__(self, source: str | os.PathLike[str] | bytes | BinaryIO,
                 limits: ZipLimits = DEFAULT_ZIP_LIMITS) -> None:
        self.limits = limits
        fh = io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source
        size = _size_of(fh)
        if size is not None and size > limits.max_archive_bytes:
            raise BundleError(_LIMIT, f"archive is {size} bytes, over the "
                                      f"{limits.max_archive_bytes}-byte limit")
        try:
            self._zip = zipfile.ZipFile(fh)  # type: ignore[arg-type]
            infos = self._zip.infolist()
        except FileNotFoundError:
            raise BundleError(_MALFORMED, f"no such file: {source!s}") from None
        except zipfile.BadZipFile as exc:
            raise BundleError(_MALFORMED, f"not a readable ZIP archive: {exc}") from None
        except (OSError, EOFError, ValueError, NotImplementedError, zipfile.LargeZipFile) as exc:
            raise BundleError(_MALFORMED, f"not a readable ZIP archive: {exc}") from None
        if len(infos) > limits.max_members:
            self.close()
            raise BundleError(_LIMIT, f"{len(infos)} members, over the "
                                      f"{limits.max_members}-member limit")
        self._infos: dict[str, zipfile.ZipInfo] = {}
        total = 0
        try:
            for info in infos:
                _check_entry(info, limits)
                if info.filename in self._infos:
                    raise BundleError(_MALFORMED, f"duplicate member {info.filename!r}")
                self._infos[info.filename] = info
                total += info.file_size
                if total > limits.max_total_bytes:
                    raise BundleError(_LIMIT, f"members total more than {limits.max_total_bytes}"
                                              " uncompressed bytes")
        except BundleError:
            self.close()
            raise
        self.names = list(self._infos)

    def size(self, name: str) -> int:
        """Declared uncompressed size of a member."""
        return self._infos[name].file_size

    def read(self, name: str) -> bytes:
        """A member's bytes, bounded by its declared size; CRC and length are checked."""
        info = self._infos.get(name)
        if info is None:
            raise BundleError(_MALFORMED, f"missing member {name!r}")
        buf = bytearray()
        try:
            with self._zip.open(info) as fh:
                while True:
                    chunk = fh.read(_READ_CHUNK)
                    if not chunk:
                        break
                    buf += chunk
                    if len(buf) > info.file_size:
                        raise BundleError(_MALFORMED, f"member {name!r} inflates past its "
                                                      "declared size")
        except BundleError:
            raise
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError,
                NotImplementedError) as exc:
            raise BundleError(_MALFORMED, f"member {name!r} cannot be read: {exc}") from None
        if len(buf) != info.file_size:
            raise BundleError(_MALFORMED, f"member {name!r} is truncated")
        return bytes(buf)

    def close(self) -> None:
        """Close the archive."""
        self._zip.close() if hasattr(self, "_zip") else None

    def __enter__(self) -> SafeZip:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _size_of(fh: object) -> int | None:
    if isinstance(fh, (str, os.PathLike)):
        try:
            return os.stat(fh).st_size
        except OSError:
            return None
    try:
        pos = fh.tell()  # type: ignore[attr-defined]
        end = fh.seek(0, io.SEEK_END)  # type: ignore[attr-defined]
        fh.seek(pos)  # type: ignore[attr-defined]
        return int(end) - int(pos)
    except (AttributeError, OSError, ValueError):
        return None

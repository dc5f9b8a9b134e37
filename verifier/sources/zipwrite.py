"""A minimal deterministic ZIP writer for audit bundles (sequential, no seeking).

Every entry is dated 1980-01-01 00:00:00 with Unix mode 0100644; a member is deflated
(raw deflate, the given level) unless that does not make it smaller, then stored. A
zip64 end record is added when there are more than 65,535 entries; archives of 4 GiB or
more are refused (the bundle reader's limit is lower anyway). Written with plain struct
packing because `zipfile` spends most of its time per entry, and v1 bundles have hundreds
of thousands of small members.

`ZipWriter` takes members one at a time and keeps only their central directory records
(46 bytes + name each), so a writer that streams members holds one member at a time; it
hashes what it writes, so the archive's SHA-256 needs no second pass.
"""

from __future__ import annotations

import hashlib
import os
import struct
import tempfile
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

_DOS_DATE = (0 << 9) | (1 << 5) | 1   # 1980-01-01
_DOS_TIME = 0
_MODE = 0o100644 << 16
_MADE_BY = (3 << 8) | 45              # Unix, spec 4.5
_NEED = 20                            # 2.0 (deflate)
_LIMIT32 = 0xFFFFFFFF


class ZipWriter:
    """Writes members to `fh` in the order given; `close()` writes the central directory."""

    def __init__(self, fh: BinaryIO, level: int = 6) -> None:
        self.fh, self.level = fh, level
        self.central: list[bytes] = []
        self.offset = 0
        self.digest = hashlib.sha256()

    def _write(self, data: bytes) -> None:
        self.fh.write(data)
        self.digest.update(data)

    def add(self, name: str, data: bytes) -> None:
        """Append one member (deflated unless that does not make it smaller)."""
        raw_name = name.encode("ascii")
        crc = zlib.crc32(data)
        packed = zlib.compress(data, self.level, -15)
        method = 8
        if len(packed) >= len(data):
            packed, method = data, 0
        offset = self.offset
        if offset + 30 + len(raw_name) + len(packed) >= _LIMIT32:
            raise ValueError("audit bundles of 4 GiB or more are not supported")
        self._write(struct.pack("<4s5H3L2H", b"PK\x03\x04", _NEED, 0, method, _DOS_TIME,
                                _DOS_DATE, crc, len(packed), len(data), len(raw_name), 0)
                    + raw_name)
        self._write(packed)
        self.central.append(struct.pack("<4s6H3L5H2L", b"PK\x01\x02", _MADE_BY, _NEED, 0, method,
                                        _DOS_TIME, _DOS_DATE, crc, len(packed), len(data),
                                        len(raw_name), 0, 0, 0, 0, _MODE, offset) + raw_name)
        self.offset = offset + 30 + len(raw_name) + len(packed)

    def close(self) -> int:
        """Write the central directory and end records; returns the archive size."""
        cd = b"".join(self.central)
        count, offset = len(self.central), self.offset
        end = offset + len(cd)
        if end >= _LIMIT32:
            raise ValueError("audit bundles of 4 GiB or more are not supported")
        self._write(cd)
        if count > 0xFFFF:
            self._write(struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, _MADE_BY, 45, 0, 0,
                                    count, count, len(cd), offset))
            self._write(struct.pack("<4sLQL", b"PK\x06\x07", 0, end, 1))
            self._write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF,
                                    len(cd), offset, 0))
            return end + 56 + 20 + 22
        self._write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count, count, len(cd),
                                offset, 0))
        return end + 22


def write_zip(fh: BinaryIO, members: Iterable[tuple[str, bytes]], level: int = 6) -> int:
    """Write `members` (name, bytes) in the given order; returns the archive size."""
    writer = ZipWriter(fh, level)
    for name, data in members:
        writer.add(name, data)
    return writer.close()


@contextmanager
def atomic_zip(path: str | os.PathLike[str], level: int = 6) -> Iterator[ZipWriter]:
    """A `ZipWriter` onto a temporary file next to `path`; on a clean exit the archive is
    finished, fsynced and renamed over `path` (readers never see half a bundle), otherwise
    the temporary file is removed."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb", buffering=1024 * 1024) as fh:
            writer = ZipWriter(fh, level)
            yield writer
            writer.close()
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise

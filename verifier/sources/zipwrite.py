"""A minimal deterministic ZIP writer for audit bundles (sequential, no seeking).

Every entry is dated 1980-01-01 00:00:00 with Unix mode 0100644; a member is deflated
(raw deflate, the given level) unless that does not make it smaller, then stored. A
zip64 end record is added when there are more than 65,535 entries; archives of 4 GiB or
more are refused (the bundle reader's limit is lower anyway). Written with plain struct
packing because `zipfile` spends most of its time per entry, and bundles have hundreds of
thousands of small members.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable
from typing import BinaryIO

_DOS_DATE = (0 << 9) | (1 << 5) | 1   # 1980-01-01
_DOS_TIME = 0
_MODE = 0o100644 << 16
_MADE_BY = (3 << 8) | 45              # Unix, spec 4.5
_NEED = 20                            # 2.0 (deflate)
_LIMIT32 = 0xFFFFFFFF


def write_zip(fh: BinaryIO, members: Iterable[tuple[str, bytes]], level: int = 6) -> int:
    """Write `members` (name, bytes) in the given order; returns the archive size."""
    central: list[bytes] = []
    offset = 0
    for name, data in members:
        raw_name = name.encode("ascii")
        crc = zlib.crc32(data)
        packed = zlib.compress(data, level, -15)
        method = 8
        if len(packed) >= len(data):
            packed, method = data, 0
        if offset + 30 + len(raw_name) + len(packed) >= _LIMIT32:
            raise ValueError("audit bundles of 4 GiB or more are not supported")
        fh.write(struct.pack("<4s5H3L2H", b"PK\x03\x04", _NEED, 0, method, _DOS_TIME, _DOS_DATE,
                             crc, len(packed), len(data), len(raw_name), 0) + raw_name)
        fh.write(packed)
        central.append(struct.pack("<4s6H3L5H2L", b"PK\x01\x02", _MADE_BY, _NEED, 0, method,
                                   _DOS_TIME, _DOS_DATE, crc, len(packed), len(data),
                                   len(raw_name), 0, 0, 0, 0, _MODE, offset) + raw_name)
        offset += 30 + len(raw_name) + len(packed)
    cd = b"".join(central)
    fh.write(cd)
    count, end = len(central), offset + len(cd)
    if end >= _LIMIT32:
        raise ValueError("audit bundles of 4 GiB or more are not supported")
    if count > 0xFFFF:
        fh.write(struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, _MADE_BY, 45, 0, 0,
                             count, count, len(cd), offset))
        fh.write(struct.pack("<4sLQL", b"PK\x06\x07", 0, end, 1))
        fh.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF,
                             len(cd), offset, 0))
        return end + 56 + 20 + 22
    fh.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count, count, len(cd), offset, 0))
    return end + 22

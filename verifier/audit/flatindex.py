"""A compact, exact map from fixed-width byte keys to node indices, for the lineage index.

A Python dict of 32-byte keys costs ~100-115 bytes per entry (a 65-byte bytes object plus
the table); at a million events that is most of the audit's memory. `FlatIndex` keeps the
keys back to back in one bytearray, the owning node index in an int32 array and an
open-addressing table (linear probing, load <= 1/2) of int32 entry numbers: about
width + 12 bytes per entry. Lookups compare the full key, so the index is exact (no
digest collision can make a lookup succeed wrongly); several entries may share a key.
"""

from __future__ import annotations

from array import array

_EMPTY = -1
_BLOCK = 4096  # entries re-placed per copied block of keys when the table grows


class FlatIndex:
    """Append-only multimap: `add(key, node)`, `first(key)`, `setdefault(key, node)`,
    `all(key)` (node order)."""

    __slots__ = ("width", "data", "owner", "slots", "mask")

    def __init__(self, width: int, expected: int = 0) -> None:
        """Keys of `width` bytes; `expected` entries fit without growing the table."""
        self.width = width
        self.data = bytearray()          # entry e's key is data[e*width:(e+1)*width]
        self.owner = array("i")          # entry -> node index
        size = 16
        while size < 2 * expected:
            size *= 2
        self.slots = array("i", [_EMPTY]) * size
        self.mask = size - 1

    def __len__(self) -> int:
        return len(self.owner)

    def _matches(self, key: bytes) -> list[int]:
        """Entry numbers whose key equals `key` (probe order)."""
        w, data, slots, mask = self.width, self.data, self.slots, self.mask
        j = hash(key) & mask
        out = []
        while (e := slots[j]) != _EMPTY:
            if data[e * w:e * w + w] == key:
                out.append(e)
            j = (j + 1) & mask
        return out

    def first(self, key: bytes) -> int:
        """The first node added with `key`, or -1."""
        w, data, slots, mask = self.width, self.data, self.slots, self.mask
        j = hash(key) & mask
        while (e := slots[j]) != _EMPTY:
            if data[e * w:e * w + w] == key:  # entries of a key lie in add order on its probe path
                return self.owner[e]
            j = (j + 1) & mask
        return -1

    def all(self, key: bytes) -> list[int]:
        """Every node added with `key`, in the order they were added."""
        return [self.owner[e] for e in sorted(self._matches(key))]

    def add(self, key: bytes, node: int) -> None:
        if len(key) != self.width:
            raise ValueError("FlatIndex key of the wrong width")
        e = len(self.owner)
        self.data += key
        self.owner.append(node)
        if 2 * (e + 1) > len(self.slots):
            self._grow()
        else:
            self._place(key, e)

    def setdefault(self, key: bytes, node: int) -> int:
        """The first node added with `key`; when there is none, add `key` for `node` and
        return `node` (one probe of the table instead of `first` then `add`)."""
        w, data, slots, mask = self.width, self.data, self.slots, self.mask
        if len(key) != w:
            raise ValueError("FlatIndex key of the wrong width")
        j = hash(key) & mask
        while (e := slots[j]) != _EMPTY:
            if data[e * w:e * w + w] == key:
                return self.owner[e]
            j = (j + 1) & mask
        e = len(self.owner)
        data += key
        self.owner.append(node)
        if 2 * (e + 1) > len(slots):
            self._grow()
        else:
            slots[j] = e
        return node

    def _place(self, key: bytes, e: int) -> None:
        slots, mask = self.slots, self.mask
        j = hash(key) & mask
        while slots[j] != _EMPTY:
            j = (j + 1) & mask
        slots[j] = e

    def _grow(self) -> None:
        """Double the table and re-place every entry (keys copied a block at a time, so
        the transient copy stays small)."""
        size = len(self.slots) * 2
        slots = array("i", [_EMPTY]) * size
        mask = size - 1
        w, data, n = self.width, self.data, len(self.owner)
        for a in range(0, n, _BLOCK):
            b = min(n, a + _BLOCK)
            block = bytes(data[a * w:b * w])
            for e in range(a, b):
                k = (e - a) * w
                j = hash(block[k:k + w]) & mask
                while slots[j] != _EMPTY:
                    j = (j + 1) & mask
                slots[j] = e
        self.slots, self.mask = slots, mask

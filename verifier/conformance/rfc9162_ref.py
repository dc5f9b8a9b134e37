"""An RFC 9162 Merkle reference, independent of the kernel's `core/merkle.py`, used only by
the peer-corpus converter to double-check the must-fail inclusion cases it derives (so a
kernel bug cannot make a derived case agree with itself)."""

from __future__ import annotations

import hashlib


def leaf_hash(b: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + b).digest()


def node_hash(a: bytes, b: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + a + b).digest()


def mth(hashes: list[bytes]) -> bytes:
    n = len(hashes)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashes[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return node_hash(mth(hashes[:k]), mth(hashes[k:]))


def inclusion_ok(leaf: bytes, index: int, size: int, path: list[bytes], root: bytes) -> bool:
    if index < 0 or index >= size:
        return False
    if size == 1:
        return not path and leaf == root
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root

"""RFC 9162 binary Merkle trees over SHA-256 (spec/merkle.md §2, rules H1-H4).

H1 leaf and node hashes with domain separation (0x00 leaf, 0x01 node); H2 the tree root
(left subtree = largest power of two strictly below n; empty tree = SHA-256 of nothing);
H3 the audit path of one leaf, bottom-up; H4 inclusion verification.

Root and path are computed level by level (pair left to right, promote an unpaired last
node unchanged), which yields the same tree as the recursive split of RFC 9162 §2.1.1 in
O(n) hashes. `verify_inclusion` takes hostile values and answers False rather than raise.
"""

from __future__ import annotations

import hashlib
from typing import Sequence

#: Root of the empty tree: SHA-256 of the empty string (H2).
EMPTY_ROOT = hashlib.sha256(b"").digest()
HASH_LEN = 32

_sha256 = hashlib.sha256


def leaf_hash(data: bytes) -> bytes:
    """H1: SHA-256(0x00 || data) for the raw leaf bytes."""
    return _sha256(b"\x00" + bytes(data)).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """H1: SHA-256(0x01 || left || right) for two child hashes."""
    return _sha256(b"\x01" + left + right).digest()


def _next_level(level: list[bytes]) -> list[bytes]:
    """Hash adjacent pairs; an unpaired last node moves up unchanged."""
    up = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
    if len(level) % 2:
        up.append(level[-1])
    return up


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """H2: the Merkle Tree Hash of already-hashed leaves (EMPTY_ROOT for none)."""
    level = list(leaf_hashes)
    if not level:
        return EMPTY_ROOT
    while len(level) > 1:
        level = _next_level(level)
    return level[0]


def audit_path(index: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """H3: sibling hashes from the leaf at `index` up to the root (empty for one leaf).

    A producer-side helper: an index outside the tree is a caller error (ValueError).
    """
    level = list(leaf_hashes)
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(level):
        raise ValueError(f"leaf index {index!r} is outside a tree of {len(level)} leaves")
    path: list[bytes] = []
    while len(level) > 1:
        sibling = index ^ 1
        if sibling < len(level):
            path.append(level[sibling])
        index >>= 1
        level = _next_level(level)
    return path


def path_length(index: int, size: int) -> int:
    """Number of audit-path entries the leaf at `index` has in a tree of `size` leaves.

    Returns -1 when `index` is not a leaf of such a tree. Used for diagnostics.
    """
    if not _is_int(index) or not _is_int(size) or not 0 <= index < size:
        return -1
    length = 0
    while size > 1:
        if index ^ 1 < size:
            length += 1
        index >>= 1
        size = (size + 1) >> 1
    return length


def verify_inclusion(
    leaf: bytes, index: int, size: int, path: Sequence[bytes], expected_root: bytes
) -> bool:
    """H4: True iff `path` leads from `leaf` at `index` in a `size`-leaf tree to `expected_root`.

    Every hash must be 32 bytes; `index` and `size` must be ints (not bools). Out-of-range
    indices, an empty tree, and paths too long or too short all give False; nothing raises.
    """
    if not (_is_hash(leaf) and _is_hash(expected_root) and _is_int(index) and _is_int(size)):
        return False
    if not isinstance(path, (list, tuple)) or index < 0 or index >= size:
        return False
    if size == 1:
        return len(path) == 0 and leaf == expected_root
    fn, sn, r = index, size - 1, bytes(leaf)
    for p in path:
        if sn == 0 or not _is_hash(p):
            return False  # path longer than the tree is deep, or a bad entry
        if fn & 1 or fn == sn:
            r = node_hash(bytes(p), r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, bytes(p))
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == expected_root


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_hash(value: object) -> bool:
    return isinstance(value, (bytes, bytearray)) and len(value) == HASH_LEN

"""RFC 9162 Merkle primitives against the ar-io-proof peer corpus and a recursive model.

Pins spec/merkle.md H1-H4: leaf hashes, roots and audit paths byte-exact for every
merkle-tree-* vector and for the ario.events/v1 checkpoint vectors (leaf bytes = JCS of the
complete signed leaf envelope), inclusion accepted for the right proof and refused for a
wrong index, a flipped path byte, a wrong size, or a path of the wrong length.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
import rfc8785

from verifier.core import merkle
from verifier.core.envelope import verify_envelope_bytes
from verifier.core.intake import parse
from verifier.core.jcs import canonical
from verifier.core.merkle import (
    EMPTY_ROOT, audit_path, leaf_hash, node_hash, path_length, root, verify_inclusion,
)

CORPUS = Path(__file__).resolve().parents[2].parent / "shared/peer-corpus/ar-io-proof"
TREE_FILES = (
    "merkle-tree-00-leaves.json", "merkle-tree-01-leaves.json", "merkle-tree-02-leaves.json",
    "merkle-tree-03-leaves.json", "merkle-tree-07-leaves.json", "merkle-tree-16-leaves.json",
    "merkle-tree-1024-leaves.json",
)


def corpus_file(rel: str) -> dict:
    """Load one peer-corpus file; a missing corpus is a failure, never a skip."""
    path = CORPUS / rel
    if not path.is_file():
        pytest.fail(f"peer corpus file missing: {path} (CI={os.environ.get('CI')!r}); "
                    "the ar-io-proof corpus must sit at ../shared/peer-corpus/ar-io-proof "
                    "beside the repository")
    return json.loads(path.read_text())


def _hexes(values) -> list[str]:
    return [v.hex() for v in values]


# -- recursive model straight from RFC 9162 §2.1 -----------------------------------------

def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def _mth(hashes: list[bytes]) -> bytes:
    if not hashes:
        return hashlib.sha256(b"").digest()
    if len(hashes) == 1:
        return hashes[0]
    k = _k(len(hashes))
    return node_hash(_mth(hashes[:k]), _mth(hashes[k:]))


def _path(m: int, hashes: list[bytes]) -> list[bytes]:
    if len(hashes) == 1:
        return []
    k = _k(len(hashes))
    if m < k:
        return _path(m, hashes[:k]) + [_mth(hashes[k:])]
    return _path(m - k, hashes[k:]) + [_mth(hashes[:k])]


def _leaves(n: int) -> list[bytes]:
    return [leaf_hash(b"leaf %d" % i) for i in range(n)]


# -- peer corpus: merkle-tree-*.json ------------------------------------------------------

@pytest.mark.parametrize("name", TREE_FILES)
def test_corpus_tree(name):
    vec = corpus_file(name)
    leaves = [leaf_hash(rfc8785.dumps(leaf["leaf_object"])) for leaf in vec["leaves"]]
    assert _hexes(leaves) == [leaf["leaf_hash_hex"] for leaf in vec["leaves"]]
    assert len(leaves) == vec["leaf_count"]
    tree_root = root(leaves)
    assert tree_root.hex() == vec["expected_root_hex"]
    n = len(leaves)
    for proof in vec["inclusion_proofs"]:
        i = proof["leaf_index"]
        path = audit_path(i, leaves)
        assert _hexes(path) == proof["audit_path_hex"]
        assert path_length(i, n) == len(path)
        wire = [bytes.fromhex(h) for h in proof["audit_path_hex"]]
        assert verify_inclusion(leaves[i], i, n, wire, tree_root)
        # The same proof must not verify for any other index, with the right leaf or the other.
        for j in range(n):
            if j != i:
                assert not verify_inclusion(leaves[i], j, n, wire, tree_root)
                assert not verify_inclusion(leaves[j], i, n, wire, tree_root)
        # Flip one bit in every byte of every path entry.
        for e in range(len(wire)):
            for b in range(32):
                bad = list(wire)
                bad[e] = bad[e][:b] + bytes([bad[e][b] ^ 0x01]) + bad[e][b + 1:]
                assert not verify_inclusion(leaves[i], i, n, bad, tree_root)
        # Wrong sizes: every size that changes the path shape must refuse.
        tried = 0
        for size in (0, i, n - 1, n + 1, 2 * n, 2 * n + 1, 2**53 - 1):
            if size != n and path_length(i, size) != len(wire):
                assert not verify_inclusion(leaves[i], i, size, wire, tree_root)
                tried += 1
        assert tried >= 2
        # Path one entry too long or too short.
        assert not verify_inclusion(leaves[i], i, n, wire + [tree_root], tree_root)
        if wire:
            assert not verify_inclusion(leaves[i], i, n, wire[:-1], tree_root)
        # A flipped root or leaf.
        assert not verify_inclusion(leaves[i], i, n, wire, bytes(32))
        assert not verify_inclusion(leaf_hash(b"other"), i, n, wire, tree_root)


def test_corpus_has_every_tree():
    assert sorted(p.name for p in CORPUS.glob("merkle-tree-*.json")) == sorted(TREE_FILES)


def test_corpus_proof_shape_facts():
    # formats.md §5: 7 leaves -> proofs at [0, 3, 6] with lengths [3, 3, 2]; 1024 -> length 10.
    seven = corpus_file("merkle-tree-07-leaves.json")["inclusion_proofs"]
    assert [(p["leaf_index"], len(p["audit_path_hex"])) for p in seven] == [(0, 3), (3, 3), (6, 2)]
    big = corpus_file("merkle-tree-1024-leaves.json")["inclusion_proofs"]
    shape = [(p["leaf_index"], len(p["audit_path_hex"])) for p in big]
    assert shape == [(0, 10), (512, 10), (1023, 10)]


# -- peer corpus: ario.events/v1 checkpoints ---------------------------------------------

def _check_events_window(win: dict) -> None:
    """Leaves over complete leaf-envelope JCS bytes; the checkpoint record commits the root."""
    merkle_part = win["merkle"]
    leaf_bytes = []
    for leaf in merkle_part["leaves"]:
        raw = bytes.fromhex(leaf["envelope_jcs_bytes_hex"])
        if "envelope" in leaf:
            assert rfc8785.dumps(leaf["envelope"]) == raw
            record = rfc8785.dumps(leaf["event_record"])
            assert verify_envelope_bytes(raw, record).ok
        doc = parse(raw)
        assert canonical(doc.value, doc.fast) == raw  # the leaf bytes are canonical already
        leaf_bytes.append(raw)
    leaves = [leaf_hash(b) for b in leaf_bytes]
    assert _hexes(leaves) == [leaf["leaf_hash_hex"] for leaf in merkle_part["leaves"]]
    tree_root = root(leaves)
    assert tree_root.hex() == merkle_part["expected_root_hex"]
    event = win["inputs"]["event_record"]["event"]
    assert event["merkle_root"] == tree_root.hex()
    assert event["leaf_count"] == len(leaves)
    for proof in merkle_part["inclusion_proofs"]:
        i = proof["leaf_index"]
        assert _hexes(audit_path(i, leaves)) == proof["audit_path_hex"]
        wire = [bytes.fromhex(h) for h in proof["audit_path_hex"]]
        assert verify_inclusion(leaves[i], i, len(leaves), wire, tree_root)
        other = (i + 1) % len(leaves)
        assert not verify_inclusion(leaves[i], other, len(leaves), wire, tree_root)
    # The checkpoint envelope verifies against its record bytes (external commitment).
    record = rfc8785.dumps(win["inputs"]["event_record"])
    assert hashlib.sha256(record).hexdigest() == win["expected_outputs"]["payload_hash_hex"]
    envelope = bytes.fromhex(win["expected_outputs"]["envelope_jcs_bytes_hex"])
    assert verify_envelope_bytes(envelope, record).ok


def test_events_checkpoint_01():
    vec = corpus_file("ario.events-v1/events-checkpoint-01.json")
    assert len(vec["merkle"]["leaves"]) == 3
    _check_events_window(vec)


def test_events_checkpoint_chain_01():
    vec = corpus_file("ario.events-v1/events-checkpoint-chain-01.json")
    w1, w2 = vec["windows"]
    for win in (w1, w2):
        _check_events_window(win)
    w1_hash = hashlib.sha256(rfc8785.dumps(w1["inputs"]["event_record"])).hexdigest()
    assert w1_hash == vec["chain_link"]["window1_record_hash"]
    assert w2["inputs"]["event_record"]["previous_hash"] == w1_hash
    assert vec["chain_link"]["window2_previous_hash"] == w1_hash


# -- the iterative tree equals the recursive definition ----------------------------------

def test_iterative_matches_recursive_model():
    for n in range(0, 70):
        leaves = _leaves(n)
        tree_root = root(leaves)
        assert tree_root == _mth(leaves), n
        for i in range(n):
            path = audit_path(i, leaves)
            assert path == _path(i, leaves), (n, i)
            assert path_length(i, n) == len(path)
            assert verify_inclusion(leaves[i], i, n, path, tree_root), (n, i)


def test_root_is_linear(monkeypatch):
    calls = 0
    real = merkle.node_hash

    def counting(left: bytes, right: bytes) -> bytes:
        nonlocal calls
        calls += 1
        return real(left, right)

    monkeypatch.setattr(merkle, "node_hash", counting)
    for n in (1, 2, 3, 1000, 1024, 5000):
        calls = 0
        root(_leaves(n))
        assert calls == n - 1  # one hash per interior node, never more
    calls = 0
    audit_path(4999, _leaves(5000))
    assert calls == 4999


def test_hash_primitives():
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert root([]) == EMPTY_ROOT
    assert leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()
    a, b = leaf_hash(b"a"), leaf_hash(b"b")
    assert node_hash(a, b) == hashlib.sha256(b"\x01" + a + b).digest()
    assert root([a]) == a
    assert root([a, b]) == node_hash(a, b)
    assert root((a, b)) == root([a, b])  # any sequence


def test_audit_path_rejects_bad_index():
    leaves = _leaves(3)
    for bad in (-1, 3, True, 1.0, "0", None):
        with pytest.raises(ValueError):
            audit_path(bad, leaves)
    with pytest.raises(ValueError):
        audit_path(0, [])


def test_single_leaf_tree():
    (only,) = _leaves(1)
    assert audit_path(0, [only]) == []
    assert verify_inclusion(only, 0, 1, [], only)
    assert not verify_inclusion(only, 0, 1, [only], only)
    assert not verify_inclusion(only, 0, 1, [], leaf_hash(b"x"))
    assert not verify_inclusion(only, 1, 1, [], only)


def test_path_length_edges():
    assert path_length(0, 1) == 0
    assert path_length(6, 7) == 2 and path_length(0, 7) == 3
    assert path_length(0, 2**53 - 1) == 53
    for bad in ((0, 0), (-1, 3), (3, 3), (True, 3), (0, 3.0), ("0", 3)):
        assert path_length(*bad) == -1


def test_verify_inclusion_hostile_arguments_never_raise():
    leaves = _leaves(5)
    tree_root = root(leaves)
    path = audit_path(2, leaves)
    good = (leaves[2], 2, 5, path, tree_root)
    assert verify_inclusion(*good)
    hostile = [None, True, False, 2.0, "2", b"", b"\x00" * 31, b"\x00" * 33, [], {}, -1,
               2**64, object()]
    for pos in range(5):
        for value in hostile:
            args = list(good)
            args[pos] = value
            assert verify_inclusion(*args) is False, (pos, value)
    # Bad entries inside the path.
    for value in (None, "ab" * 32, b"\x00" * 31, 7):
        assert not verify_inclusion(leaves[2], 2, 5, [value] + path[1:], tree_root)
    # Size 0, index == size, negative index.
    assert not verify_inclusion(leaves[0], 0, 0, [], EMPTY_ROOT)
    assert not verify_inclusion(leaves[2], 5, 5, path, tree_root)
    assert not verify_inclusion(leaves[2], -3, 5, path, tree_root)
    # A very long path stops at the tree depth; a tuple path and bytearray hashes work.
    assert not verify_inclusion(leaves[2], 2, 5, path + [tree_root] * 10_000, tree_root)
    assert verify_inclusion(bytearray(leaves[2]), 2, 5, tuple(bytearray(p) for p in path),
                            bytearray(tree_root))


def test_a_path_does_not_pin_the_tree_size():
    # spec/merkle.md H4: why the size must come from signed data.
    leaves = _leaves(16)
    path = audit_path(0, leaves)
    accepted = [n for n in range(1, 40) if verify_inclusion(leaves[0], 0, n, path, root(leaves))]
    assert accepted == list(range(9, 17))

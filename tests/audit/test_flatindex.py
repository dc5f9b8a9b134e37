"""`FlatIndex` (the linker's compact key -> node table) answers exactly as a dict of lists."""

import hashlib

import pytest

from verifier.audit.flatindex import FlatIndex


def _key(n: int, width: int) -> bytes:
    return hashlib.sha256(b"%d" % n).digest()[:width]


@pytest.mark.parametrize("width", [16, 32])
def test_matches_a_dict_of_lists_through_growth_and_repeats(width):
    index, ref = FlatIndex(width), {}
    for node in range(5000):
        key = _key(node % 1700, width)  # every key repeats two or three times
        assert index.first(key) == (ref[key][0] if key in ref else -1)
        index.add(key, node)
        ref.setdefault(key, []).append(node)
    assert len(index) == 5000 and len(index.slots) >= 2 * len(index)
    for key, nodes in ref.items():
        assert index.all(key) == nodes
        assert index.first(key) == nodes[0]
    assert index.all(_key(99999, width)) == [] and index.first(_key(99999, width)) == -1


def test_keys_with_the_same_slot_are_told_apart_by_their_bytes():
    index = FlatIndex(2)
    keys = [bytes([a, b]) for a in range(40) for b in range(40)]  # dense probe clusters
    for node, key in enumerate(keys):
        index.add(key, node)
    assert [index.first(k) for k in keys] == list(range(len(keys)))
    assert index.first(b"\xff\xff") == -1


def test_a_key_of_the_wrong_width_is_refused():
    with pytest.raises(ValueError):
        FlatIndex(32).add(b"short", 0)


@pytest.mark.parametrize("width", [16, 32])
def test_setdefault_answers_as_first_then_add(width):
    index, ref = FlatIndex(width), {}
    for node in range(5000):
        key = _key(node % 1300, width)
        assert index.setdefault(key, node) == ref.setdefault(key, node)
    assert len(index) == 1300 and len(index.slots) >= 2 * len(index)
    for key, node in ref.items():
        assert index.first(key) == node and index.all(key) == [node]
    with pytest.raises(ValueError):
        index.setdefault(b"short", 0)


def test_a_table_sized_for_the_expected_entries_answers_the_same_without_growing():
    sized, grown = FlatIndex(32, expected=3000), FlatIndex(32)
    slots = len(sized.slots)
    assert slots >= 6000 and len(grown.slots) == 16
    for node in range(3000):
        key = _key(node % 1000, 32)
        sized.add(key, node)
        grown.add(key, node)
    assert len(sized.slots) == slots  # never grew
    assert all(sized.all(_key(k, 32)) == grown.all(_key(k, 32)) for k in range(1001))


"""`intake.load_lines` (JSON Lines in one go) is `load` line by line: the same values, and
at the first bad line the same `Malformed` (reason and detail), for every I1 rule, whether
the whole-text tests pass (lines decoded in place) or not (every line through `load`)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jsonl_cases import BAD, DECODER_BAD, GOOD, SLOW_GOOD, SPACED
from verifier.core.errors import Malformed
from verifier.core.intake import LINES_DROP, lines_text, load, load_lines
from verifier.core.limits import Limits


def by_line(data: bytes, limits: Limits) -> list[tuple[str, object]]:
    out: list[tuple[str, object]] = []
    for line in data.split(b"\n")[:-1]:
        try:
            out.append(("value", load(line, limits)))
        except Malformed as exc:
            out.append(("error", (exc.reason, exc.detail)))
            break
    return out


def at_once(data: bytes, limits: Limits) -> tuple[int, list[tuple[str, object]]]:
    count, values = load_lines(data, limits)
    out: list[tuple[str, object]] = []
    try:
        for value in values:
            out.append(("value", value))
    except Malformed as exc:
        out.append(("error", (exc.reason, exc.detail)))
    return count, out


def in_place(data: bytes, limits: Limits = Limits()) -> bool:
    """Whether `load_lines` decodes the lines of `data` in place (the whole-text tests pass)."""
    return lines_text(data, data.translate(None, LINES_DROP), limits) is not None


def same(data: bytes, limits: Limits = Limits()) -> list[tuple[str, object]]:
    count, got = at_once(data, limits)
    want = by_line(data, limits)
    assert count == data.count(b"\n")
    assert got == want
    return got


@pytest.mark.parametrize("bad", BAD)
def test_a_bad_line_gets_loads_reason_at_its_place(bad):
    data = b"\n".join(GOOD + [bad] + GOOD) + b"\n"
    got = same(data)
    assert [k for k, _ in got] == ["value"] * len(GOOD) + ["error"]
    assert in_place(data) is (bad in DECODER_BAD)


@pytest.mark.parametrize("line", GOOD + SPACED + SLOW_GOOD)
def test_good_and_spaced_lines_give_loads_values(line):
    data = b"\n".join([GOOD[0], line, GOOD[0]]) + b"\n"
    got = same(data)
    assert [k for k, _ in got] == ["value"] * 3
    assert in_place(data) is (line not in SLOW_GOOD)


def test_bytes_after_the_last_newline_are_no_line():
    assert same(b'{"a":1}\n{"b":') == [("value", {"a": 1})]
    assert load_lines(b"", Limits())[0] == 0 and same(b"") == []


def test_size_bound_applies_per_line():
    data = b'{"a":"' + b"x" * 50 + b'"}\n' + b'{"b":1}\n'
    assert [k for k, _ in same(data, Limits(max_document_bytes=40))] == ["error"]
    assert [k for k, _ in same(data, Limits(max_document_bytes=60))] == ["value"] * 2


PIECES = st.sampled_from(GOOD + BAD + SPACED + SLOW_GOOD + [b"{", b"}", b"[", b'"', b"\\", b"\\u", b":",
                                                b",", b"\xff", b" ", b"\r", b"1"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(PIECES, max_size=4).map(b"".join), max_size=6),
       st.sampled_from([2, 5, 128]))
def test_any_lines_agree_with_load(lines, depth):
    same(b"".join(line + b"\n" for line in lines), Limits(max_depth=depth))

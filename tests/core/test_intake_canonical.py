"""`intake.parse` against the general path: the same value or the same rejection (reason and
detail) as `intake.load` for every text, and `Doc.fast` / `Doc.canonical` as decided
independently here (`canonical`: fast, no JSON whitespace byte at all, and the raw bytes
equal RFC 8785 of the value). Texts are written from trees whose objects are lists of
pairs, so they can repeat keys, put keys out of order, hold escapes, non-ASCII, floats,
``-0``, out-of-range integers and NaN."""

from __future__ import annotations

import json
import re

import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from verifier.core.errors import Malformed
from verifier.core.intake import load, parse

KEYS = st.sampled_from(["a", "b", "c", "signature", "_x", "B", "é", "a b", "q\"", "z\\"])
STRINGS = st.text(alphabet=st.characters(codec="utf-8"), max_size=6) | st.sampled_from(
    ["x", "", "x:y", ",", "\ud800", "\U0001f600", "\u2028"])
NUMBERS = st.sampled_from(["0", "-0", "1", "-17", "1.5", "1e3", "-0.0", "9007199254740991",
                           "9007199254740992", "12345678901234567", "NaN", "Infinity", "1E400"])
SCALARS = st.one_of(st.none().map(lambda _: "null"), st.booleans().map(json.dumps),
                    NUMBERS, STRINGS.map(lambda s: ("s", s)))
TREES = st.recursive(SCALARS, lambda kids: st.lists(kids, max_size=4) | st.lists(
    st.tuples(KEYS, kids), max_size=4).map(lambda pairs: ("o", pairs)), max_leaves=12)


def _string(s: str, ascii_only: bool) -> str:
    return json.dumps(s, ensure_ascii=ascii_only) if s != "\ud800" else '"\\ud800"'


def write(tree, sep: str, ascii_only: bool, sort: bool) -> str:
    """JSON text of a tree; objects keep repeated keys (and their order unless `sort`)."""
    if isinstance(tree, str):
        return tree
    if isinstance(tree, tuple) and tree[0] == "s":
        return _string(tree[1], ascii_only)
    if isinstance(tree, tuple):
        pairs = sorted(tree[1], key=lambda kv: kv[0]) if sort else tree[1]
        return "{" + sep.join(_string(k, ascii_only) + ":" + write(v, sep, ascii_only, sort)
                              for k, v in pairs) + "}"
    return "[" + sep.join(write(v, sep, ascii_only, sort) for v in tree) + "]"


def expected(data: bytes):
    try:
        value = load(data)
    except Malformed as exc:
        return "rejected", exc.reason, exc.detail
    bare = re.sub(rb'"[^"]*"', b"", data)  # only meaningful without backslashes
    fast = (b"\\" not in data and data.isascii() and not re.search(rb"\d[.eE]", bare)
            and not re.search(rb"-0(?![.eE\d])", bare))
    compact = not any(ws in data for ws in (b" ", b"\t", b"\n", b"\r"))
    canonical = fast and compact and data == rfc8785.dumps(value)
    return "ok", json.dumps(value), fast, canonical


def got(data: bytes):
    try:
        doc = parse(data)
    except Malformed as exc:
        return "rejected", exc.reason, exc.detail
    assert doc.raw == data
    return "ok", json.dumps(doc.value), doc.fast, doc.canonical


@settings(max_examples=1500, deadline=None)
@given(TREES, st.sampled_from([",", ", "]), st.booleans(), st.booleans())
def test_parse_equals_the_general_path(tree, sep, ascii_only, sort):
    data = write(tree, sep, ascii_only, sort).encode("utf-8", "surrogatepass")
    assert got(data) == expected(data)


def test_canonical_decided_in_the_decode():
    assert got(b'{"a":{"b":1,"c":[{"d":2,"e":"x"}]},"f":null}')[2:] == (True, True)
    assert got(b'{"a":{"c":1,"b":2}}')[2:] == (True, False)  # inner object out of order
    assert got(b'{"b":1,"a":{"c":1.5}}')[2:] == (False, False)  # a float after the disorder
    assert got(b'{"b":1,"a":{"c":1,"c":2}}')[:2] == ("rejected", "duplicate_key")
    assert got(b'{"a":{"c":1,"c":2},"b":1,"a":0}')[:2] == ("rejected", "duplicate_key")
    assert got(b'{"b":{"a":1},"a":9007199254740992}')[:2] == ("rejected", "number_out_of_range")
    assert got(b'{"a": 1}')[2:] == (True, False) and got(b'{"a":"b c"}')[2:] == (True, False)
    assert got(b'"x"')[2:] == (True, True) and got(b"[]")[2:] == (True, True)

"""Property tests: the fast canonical paths are byte-identical to a full RFC 8785
implementation on every input they accept, and intake never raises anything but Malformed."""

from __future__ import annotations

import json

import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from verifier.core.errors import Malformed
from verifier.core.intake import parse
from verifier.core.jcs import canonical, scope_bytes
from verifier.core.profiles import Profile, signed_scope

SAFE_INT = st.integers(min_value=-(2**53 - 1), max_value=2**53 - 1)
TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=12)
ASCII = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=127), max_size=12)
FLOATS = st.floats(allow_nan=False, allow_infinity=False)


def values(text):
    scalars = st.none() | st.booleans() | SAFE_INT | FLOATS | text
    return st.recursive(scalars, lambda kids: st.lists(kids, max_size=4)
                        | st.dictionaries(text, kids, max_size=4), max_leaves=20)


@settings(max_examples=200, deadline=None)
@given(values(TEXT), st.sampled_from([None, 0, 2]), st.booleans())
def test_intake_then_canonical_equals_rfc8785(value, indent, ascii_only):
    data = json.dumps(value, indent=indent, ensure_ascii=ascii_only).encode()
    doc = parse(data)
    assert canonical(doc.value, doc.fast) == rfc8785.dumps(value)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(ASCII, values(ASCII), max_size=6), st.sampled_from(list(Profile)))
def test_scope_splice_equals_general_scope(extra, profile):
    env = dict(extra)
    env.update({"payload_hash": "ab" * 32, "public_key": "cd" * 32, "signature": "ef" * 64})
    doc = parse(json.dumps(env).encode())
    assert scope_bytes(doc.value, profile, doc.fast) == rfc8785.dumps(signed_scope(doc.value, profile))


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=200))
def test_intake_only_ever_raises_malformed(data):
    try:
        doc = parse(data)
    except Malformed:
        return
    try:
        canonical(doc.value, doc.fast)
    except Malformed:
        pass


@settings(max_examples=300, deadline=None)
@given(values(ASCII), st.sampled_from([None, 0, 1]), st.booleans(), st.booleans())
def test_canonical_text_claim_is_never_wrong(value, indent, sort_keys, compact):
    """The raw text is judged canonical exactly when it is byte for byte RFC 8785 (on
    the fast path, where no byte is JSON whitespace)."""
    seps = (",", ":") if compact else None
    data = json.dumps(value, indent=indent, sort_keys=sort_keys, separators=seps).encode()
    doc = parse(data)
    if doc.canonical:
        assert doc.fast and data == rfc8785.dumps(value)
    elif doc.fast and not any(ws in data for ws in (b" ", b"\t", b"\n", b"\r")):
        assert data != rfc8785.dumps(value)


def test_canonical_text_recognised_for_jcs_bytes():
    value = {"b": [1, {"d": "x:y", "c": None}], "a": "q,r", "z": -5}
    data = rfc8785.dumps(value)
    doc = parse(data)
    assert doc.fast and doc.canonical


def test_scope_splice_look_alikes_equal_general_scope():
    """Nested "signature" keys, look-alike text inside strings, and the signature as the
    first, middle or last member: the splice equals the general scope or steps aside."""
    sig, other = "ef" * 64, "0a" * 64
    base = {"payload_hash": "ab" * 32, "public_key": "cd" * 32, "signature": sig}
    shapes = [
        {"subject": {"signature": sig}},
        {"subject": {"signature": other}},
        {"a": {"signature": other}},
        {"a": {"b": 1, "signature": other}},
        {"payload": [{"signature": sig}, {"signature": "x"}]},
        {"z": [{"signature": sig}], "a": 1},
        {"note": f'"signature":"{sig}"'},
        {"note": '"signature":"', "zz": ',"signature":"x"'},
        {"_": 0},
        {"zzz": "last"},
    ]
    for extra in shapes:
        env = {**base, **extra}
        for keep in (env, {k: v for k, v in env.items() if k >= "signature"}):
            for data in (rfc8785.dumps(keep), json.dumps(keep).encode()):
                doc = parse(data)
                for profile in Profile:
                    want = rfc8785.dumps(signed_scope(doc.value, profile))
                    raw = data if doc.canonical else None
                    assert scope_bytes(doc.value, profile, doc.fast, canonical_raw=raw) == want

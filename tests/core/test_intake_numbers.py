"""Number literals of any length get a typed answer from the kernel, never an exception
(issue 8 defect 1: CPython refuses int() of literals past 4,300 digits with ValueError).

The expected verdict is computed independently: an integer literal is out of range iff it
has more than 16 digits or exceeds 2^53-1; a fraction/exponent literal iff float() of it
is infinite (float() has no digit limit)."""

from __future__ import annotations

import json
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from verifier.core.detect import verify_document
from verifier.core.envelope import verify_envelope_bytes
from verifier.core.errors import Malformed
from verifier.core.intake import depth_of, load, parse, text_nests_deeper
from verifier.core.reasons import ReasonCode, Status

R = ReasonCode
DIGITS = st.one_of(st.integers(1, 20), st.integers(1, 100_000))


@st.composite
def literals(draw) -> str:
    """JSON number literals: up to 100,000 integer digits, long fractions, huge exponents."""
    n = draw(DIGITS)
    whole = "0" if n == 1 and draw(st.booleans()) else (
        draw(st.sampled_from("123456789")) + draw(st.sampled_from("0123456789")) * (n - 1))
    frac = draw(st.one_of(st.just(""), DIGITS.map(lambda k: "." + "3" * k)))
    exp = draw(st.one_of(
        st.just(""),
        st.integers(-10**6, 10**6).map(lambda e: f"e{e}"),
        DIGITS.map(lambda k: "E+" + "9" * k),
        DIGITS.map(lambda k: "e-" + "9" * k),
    ))
    return ("-" if draw(st.booleans()) else "") + whole + frac + exp


def out_of_range(lit: str) -> bool:
    if "." in lit or "e" in lit or "E" in lit:
        return math.isinf(float(lit))
    digits = lit.lstrip("-")
    return len(digits) > 16 or int(digits) > 2**53 - 1


@settings(max_examples=150, deadline=None)
@given(literals())
def test_any_literal_gets_a_typed_answer(lit):
    bad = out_of_range(lit)
    raw = lit.encode()
    bare = verify_document(raw)
    assert bare.status is Status.MALFORMED
    assert bare.reason is (R.NUMBER_OUT_OF_RANGE if bad else R.NOT_AN_OBJECT)
    inside = b'{"spec_version":"ario.agent/v1","payload_hash":"' + b"0" * 64 + b'","n":' + raw + b"}"
    for result in (verify_document(inside), verify_envelope_bytes(inside)):
        assert result.status is Status.MALFORMED
        assert result.reason is (R.NUMBER_OUT_OF_RANGE if bad else R.MISSING_FIELD)
    for reader in (parse, load):
        try:
            reader(b"[" + raw + b"]")
            assert not bad
        except Malformed as exc:
            assert bad and exc.reason is R.NUMBER_OUT_OF_RANGE
            assert "set_int_max_str_digits" not in exc.detail and len(exc.detail) < 120


def test_the_issue_examples():
    big = "1" + "0" * 5000
    for text in (big, "-" + big, '{"spec_version":"ario.agent/v1","x":' + big + "}"):
        r = verify_document(text.encode())
        assert (r.status, r.reason) == (Status.MALFORMED, R.NUMBER_OUT_OF_RANGE)
    # the boundary: 2^53-1 is in range with either sign, 2^53 and 17 digits are not
    assert parse(b"[9007199254740991,-9007199254740991]").value == [2**53 - 1, -(2**53 - 1)]
    for text in (b"[9007199254740992]", b"[-9007199254740992]", b"[10000000000000000]"):
        try:
            parse(text)
            raise AssertionError(text)
        except Malformed as exc:
            assert exc.reason is R.NUMBER_OUT_OF_RANGE


JSON_VALUES = st.recursive(
    st.none() | st.integers(-9, 9) | st.text(alphabet='[]{}"\\ab', max_size=6),
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(
        st.text(alphabet='[]{}"\\k', max_size=4), kids, max_size=3),
    max_leaves=60)


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES, st.integers(1, 6), st.sampled_from([None, 1]))
def test_text_depth_bound_equals_the_parsed_depth(value, bound, indent):
    """The byte-level nesting bound (run before any decoder recursion) agrees with the
    depth of the decoded value, whatever quotes, brackets and backslashes strings hold."""
    text = json.dumps(value, indent=indent).encode()
    assert text_nests_deeper(text, bound) == (depth_of(value, bound) > bound)

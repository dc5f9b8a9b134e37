"""The audit-bundle reader reads its JSON members through the kernel's intake: a number
literal of any length in the manifest, a surface or a receipt is a BundleError naming
`number_out_of_range` (never a ValueError, never Python's int-limit advice)."""

from __future__ import annotations

import hashlib
import io
import json
import math
import zipfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from test_sources_bundle import sample
from verifier.core.reasons import ReasonCode
from verifier.sources.bundle import read_bundle, write_bundle
from verifier.sources.errors import BundleError

SURFACE = "surfaces/" + "T" * 43 + ".json"
RECEIPT = "receipts/" + "T" * 43 + ".json"


@pytest.fixture(scope="module")
def members(tmp_path_factory) -> dict[str, bytes]:
    path = write_bundle(sample(), tmp_path_factory.mktemp("b") / "b.zip").path
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def rebuilt(members: dict[str, bytes], name: str, data: bytes) -> bytes:
    """The bundle with member `name` replaced by `data` (manifest digest kept consistent)."""
    ms = dict(members)
    ms[name] = data
    if name != "manifest.json":
        manifest = json.loads(ms["manifest.json"])
        for m in manifest["members"]:
            if m["path"] == name:
                m["sha256"], m["size"] = hashlib.sha256(data).hexdigest(), len(data)
        ms["manifest.json"] = json.dumps(manifest).encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for n, d in ms.items():
            zf.writestr(n, d)
    return buf.getvalue()


def with_number(doc: bytes, lit: bytes) -> bytes:
    assert doc.rstrip().endswith(b"}")
    return doc.rstrip()[:-1] + b', "n": ' + lit + b"}"


DIGITS = st.one_of(st.integers(1, 20), st.integers(1, 100_000))
LITERALS = st.builds(
    lambda neg, n, frac, exp: ("-" if neg else "") + "7" * n + frac + exp,
    st.booleans(), DIGITS,
    st.one_of(st.just(""), DIGITS.map(lambda k: "." + "1" * k)),
    st.one_of(st.just(""), st.integers(-10**6, 10**6).map(lambda e: f"e{e}"),
              DIGITS.map(lambda k: "e" + "9" * k)))


def out_of_range(lit: str) -> bool:
    if "." in lit or "e" in lit:
        return math.isinf(float(lit))
    return len(lit.lstrip("-")) > 16 or int(lit.lstrip("-")) > 2**53 - 1


@settings(max_examples=60, deadline=None)
@given(LITERALS, st.sampled_from(["manifest.json", SURFACE, RECEIPT]))
def test_any_number_in_a_json_member_gets_a_typed_answer(members, lit, name):
    data = rebuilt(members, name, with_number(members[name], lit.encode()))
    if not out_of_range(lit):
        read_bundle(data)
        return
    with pytest.raises(BundleError) as info:
        read_bundle(data)
    assert info.value.reason is ReasonCode.BUNDLE_MALFORMED
    assert "number_out_of_range" in info.value.message and name in info.value.message
    assert "set_int_max_str_digits" not in info.value.message


def test_deep_member_is_refused_before_decoding(members):
    data = rebuilt(members, SURFACE, b'{"x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}")
    with pytest.raises(BundleError, match="nesting_too_deep"):
        read_bundle(data)


@pytest.fixture(scope="module")
def members_v2(tmp_path_factory) -> dict[str, bytes]:
    from verifier.sources.bundle_v2_write import write_bundle_v2

    path = tmp_path_factory.mktemp("b2") / "b2.zip"
    write_bundle_v2(sample(), path)
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def rebuilt_v2(members: dict[str, bytes], name: str, data: bytes) -> bytes:
    """The v2 bundle with member `name` replaced (its manifest digest and size kept right)."""
    ms = dict(members)
    ms[name] = data
    if name != "manifest.json":
        manifest = json.loads(ms["manifest.json"])
        refs = list(manifest.get("shards", [])) + [manifest.get("model_files"), manifest.get("gaps")]
        for ref in refs:
            if isinstance(ref, dict) and ref.get("name") == name:
                ref["sha256"], ref["size"] = hashlib.sha256(data).hexdigest(), len(data)
        ms["manifest.json"] = json.dumps(manifest).encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for n, d in ms.items():
            zf.writestr(n, d)
    return buf.getvalue()


@settings(max_examples=60, deadline=None)
@given(LITERALS, st.sampled_from(["manifest.json", "events/000000.jsonl", "model-files.json"]))
def test_v2_any_number_in_a_json_member_gets_a_typed_answer(members_v2, lit, name):
    data = members_v2[name]
    if name.endswith(".jsonl"):  # the first record line gets the number
        first, rest = data.split(b"\n", 1)
        data = with_number(first, lit.encode()) + b"\n" + rest
    else:
        data = with_number(data, lit.encode())
    bundle = rebuilt_v2(members_v2, name, data)
    with pytest.raises(BundleError) as info:  # v2 refuses unknown keys: always an error here
        read_bundle(bundle)
    if not out_of_range(lit):  # ... but never a number error for a number in range
        assert "number_out_of_range" not in info.value.message
        return
    assert info.value.reason is ReasonCode.BUNDLE_MALFORMED
    assert "number_out_of_range" in info.value.message and name in info.value.message
    assert "set_int_max_str_digits" not in info.value.message

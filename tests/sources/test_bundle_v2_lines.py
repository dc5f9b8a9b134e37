"""The v2 shard reader's two paths agree: `shard_records` decoding a shard's lines in one
go (`intake.load_lines`, the default) and line by line (``fast=False``, the reference)
give equal records and, for every bad line, the same error (reason and message) after
the same records."""

from __future__ import annotations

import json

import pytest

from jsonl_cases import BAD, GOOD, SLOW_GOOD, SPACED
from test_bundle_v2 import _line, build, random_collection
from verifier.core.reasons import ReasonCode
from verifier.sources.bundle_source import open_bundle
from verifier.sources.bundle_v2 import BundleLimits, shard_records
from verifier.sources.bundle_v2_write import write_bundle_v2
from verifier.sources.errors import BundleError
from verifier.sources.zipguard import SafeZip


def outcome(data: bytes, fast: bool, limits: BundleLimits | None = None) -> list:
    """Every shard's records, then the error that stopped the reader (if any)."""
    out: list = []
    lim = limits or BundleLimits()
    with open_bundle(data, lim) as src:
        entries = src.shard_entries()
    with SafeZip(data, lim.zip) as zf:
        for shard in entries:
            try:
                for record in shard_records(zf, shard, lim, fast=fast):
                    out.append(record)
            except BundleError as exc:
                out.append((exc.reason, exc.message))
                return out
    return out


def agree(data: bytes, limits: BundleLimits | None = None) -> list:
    got = outcome(data, True, limits)
    assert got == outcome(data, False, limits)
    return got


def test_written_bundle_reads_the_same(tmp_path):
    path = tmp_path / "b.zip"
    write_bundle_v2(random_collection(300), path, shard_events=64)
    got = agree(path.read_bytes())
    assert len(got) == 300 and all(r.__class__.__name__ == "EventRecord" for r in got)


def _raw(text: bytes) -> bytes:
    """A line with `text` spliced in as the value of "surface"."""
    return _line()[:-1].replace(b'"surface":{"a":1}', b'"surface":' + text) + b"\n"


SHAPES = [
    _line(extra=1), _line(envelope={"base64": "not base64!"}), _line(envelope=1),
    _line(payload=["p"]), _line(data_item={"base64": "AA=="[:3]}), _line(tx_id="../x"),
    _line(tx_id=7), _line(hints={"a": 1}), _line(hints=[]), _line(origins={"envelope": None}),
    _line(surface=[1]), _line(receipt="r"), _line(fetch={"status": "great"}),
    _line(fetch={"status": "ok", "per_gateway": [["g", "200"]], "origin": "g"}),
    _line(origins={"envelope": "gateway:x", "payload": "mlflow:y"}, payload="p"),
    _line(envelope="é\u2028\x00"), _line()[:-2] + b',"tx_id":"y"}\n', b"[]\n", b"\n",
] + [_raw(line) for line in GOOD + SLOW_GOOD + BAD + SPACED if line.strip().startswith(b"{")]


@pytest.mark.parametrize("line", SHAPES)
def test_each_line_shape_gives_the_same_records_or_error(line):
    got = agree(build([_line() + line + _line(tx_id="tx3"), _line(tx_id="tx4")]))
    assert got[0].tx_id == "tx1"
    if got[-1].__class__ is tuple:
        assert got[-1][0] is ReasonCode.BUNDLE_MALFORMED and "events/000000.jsonl line 2" in got[-1][1]


def test_line_count_and_line_limit_errors_are_the_same():
    long = _line(envelope="x" * 200)
    for data, limits, text in [
            (build([_line() + _line()[:-1]]), None, "V5"),
            (build([_line() + b"{]\n"]), None, "line 2: not strict JSON"),
            (build([_line(), _line() + long]), BundleLimits(max_line_bytes=150), "V8"),
            (build([_line(envelope="x" * 90)]), BundleLimits(max_line_bytes=250,
             zip=BundleLimits().zip.__class__(max_evidence_bytes=50)), "document limit")]:
        got = agree(data, limits)
        assert got[-1].__class__ is tuple and text in got[-1][1], got[-1]


def test_a_line_with_json_whitespace_is_read(tmp_path):
    line = json.dumps(json.loads(_line()), indent=None, separators=(", ", " : ")).encode()
    got = agree(build([_line(tx_id="tx0") + b" " + line + b"\r\n"]))
    assert [r.tx_id for r in got] == ["tx0", "tx1"]

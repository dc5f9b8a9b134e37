"""The audit path's fast paths decide exactly as the general code they shortcut.

Each fast path (bulk ZIP directory scan, bulk manifest index, C-level nesting bound,
envelope_checks, canonical-text tests) is compared with the
code it stands in for on generated inputs; no timing is asserted anywhere.
"""

from __future__ import annotations

import gc
import io
import json
import random

import pytest

from audit_factory import build_lineage
from verifier.audit import AuditPolicy, audit_collection
from verifier.audit import event as event_mod
from verifier.core import jcs
from verifier.core.envelope import envelope_checks, verify_envelope_doc
from verifier.core.intake import Doc, depth_of, depth_within, parse
from verifier.core.profiles import Profile
from verifier.sources import bundle as bundle_mod
from verifier.sources import zipguard
from verifier.sources.bundle import read_bundle, write_bundle
from verifier.sources.errors import BundleError
from verifier.sources.zipwrite import write_zip


def _checked_directory(buf: bytes):
    """SafeZip's entry-by-entry directory loop, with the bulk scan switched off."""
    return zipguard.SafeZip(buf, bulk=False)._entries


def _outcome(fn):
    try:
        return "ok", fn()
    except BundleError as exc:
        return "error", exc.reason, exc.message


def test_directory_scan_matches_checked_loop():
    rng = random.Random(7)
    alphabet = "ab./-_\n\\ .é/0"
    seen = set()
    for _ in range(1500):
        names = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6)))
                 for _ in range(rng.randint(1, 4))]
        if rng.random() < 0.5:
            names = ["a/b", "c.json", "d/e/f"][:rng.randint(1, 3)] + names[:rng.randint(0, 1)]
        out = io.BytesIO()
        try:
            write_zip(out, [(n, b"x" * rng.randint(0, 5)) for n in names], 6)
        except (UnicodeEncodeError, ValueError):
            continue
        buf = out.getvalue()
        # one parser, one type: both paths give the same `Entry` values
        slow = _outcome(lambda: [(k, type(v), v) for k, v in _checked_directory(buf).items()])
        fast = _outcome(lambda: [(k, type(v), v)
                                 for k, v in zipguard.SafeZip(buf)._entries.items()])
        assert fast == slow, names
        seen.add(slow[0])
    assert seen == {"ok", "error"}


def test_member_index_in_bulk_matches_entry_loop():
    out = io.BytesIO()
    write_zip(out, [("manifest.json", b"{}"), ("a/x.json", b"1"), ("a/y.json", b"2")], 6)
    zf = zipguard.SafeZip(out.getvalue())
    good = [{"path": "a/x.json", "sha256": "0" * 64, "size": 1},
            {"path": "a/y.json", "sha256": "1" * 64, "size": 1}]
    variants = [good, good[:1], good + [good[0]], [dict(good[0], size=True), good[1]],
                [dict(good[0], size=-1), good[1]], [dict(good[0], sha256="A" * 64), good[1]],
                [{"path": "a/x.json", "sha256": "0" * 64}, good[1]], [good[0], "x"],
                [dict(good[0], path="manifest.json"), good[1]], [dict(good[0], extra=1), good[1]],
                [good[0], dict(good[1], path="a/z.json")]]
    outcomes = set()
    for members in variants:
        reader = bundle_mod._Reader.__new__(bundle_mod._Reader)
        reader.zf = zf
        slow = _outcome(lambda: reader._listed(json.loads(json.dumps(members)), bulk=False))
        fast = _outcome(lambda: reader._listed(json.loads(json.dumps(members)), bulk=True))
        assert fast == slow, members
        outcomes.add(slow[0])
    assert outcomes == {"ok", "error"}
    assert bundle_mod._listed_in_bulk(good, zf) is not None  # the bulk pass itself answered


def test_depth_within_agrees_with_depth_of():
    rng = random.Random(3)

    def gen(d):
        if d == 0 or rng.random() < 0.2:
            return rng.choice([1, "s", None, True, 1.5])
        if rng.random() < 0.5:
            return {str(i): gen(d - 1) for i in range(rng.randint(0, 3))}
        return [gen(d - 1) for _ in range(rng.randint(0, 3))]

    for _ in range(3000):
        value, bound = gen(rng.randint(0, 8)), rng.randint(0, 7)
        assert depth_within(value, bound) == (depth_of(value, bound) <= bound)


def test_parse_builds_a_frozen_doc():
    doc = parse(b'{"a":[1,{"b":2}]}')
    assert doc == Doc({"a": [1, {"b": 2}]}, True, b'{"a":[1,{"b":2}]}', True)
    assert not parse(b'{"a": [1, {"b": 2}]}').canonical  # whitespace
    with pytest.raises(AttributeError):
        doc.fast = False  # still frozen


def test_envelope_checks_is_verify_envelope_doc_without_the_result():
    lin = build_lineage(predictions=2, data_items=False)
    col = lin.collection()
    envelopes = [r.envelope for r in col.records]
    envelopes.append(envelopes[0].replace(b'"spec_version":"ario.mlflow/v1"', b'"spec_version":"x/v9"'))
    at = envelopes[1].index(b'"signature":"') + 13
    flipped = b"1" if envelopes[1][at:at + 1] == b"0" else b"0"
    envelopes.append(envelopes[1][:at] + flipped + envelopes[1][at + 1:])  # bad signature
    for env in envelopes:
        doc = parse(env)
        checks, subject, clean = envelope_checks(doc)
        result = verify_envelope_doc(doc)
        assert tuple(checks) == result.checks and subject == result.subject
        assert clean == result.ok


def test_canonical_text_and_underscore_tests():
    assert parse(b'{"a":1,"b":{"c":[{"d":1}]}}').canonical
    assert not parse(b'{"b":1,"a":1}').canonical
    assert not parse(b'{"a":[{"d":1,"c":1}]}').canonical
    assert parse(b'"x"').canonical and parse(b"1").canonical
    assert not parse(b'{"a":1.5}').canonical and not parse(b'{"a":"\\u0041"}').canonical
    assert jcs._underscored({"_x": 1}) and jcs._underscored({"a": 1, "_b": 2})
    assert not jcs._underscored({"a_": 1, "b": 2}) and not jcs._underscored({})
    env = {"_note": "x", "payload_hash": "0", "signature": "ab"}
    raw = json.dumps(env, separators=(",", ":"), sort_keys=True).encode()
    assert b"_note" not in jcs.scope_bytes(env, Profile.MLFLOW, True, canonical_raw=raw)


def test_proof_found_cache_is_bounded():
    before = dict(event_mod._FOUND)
    try:
        for i in range(event_mod._FOUND_MAX * 3):
            check = event_mod._found(f"bundle:envelopes/{i}.json")
            assert check.detail == f"envelope bytes from bundle:envelopes/{i}.json"
        assert len(event_mod._FOUND) <= event_mod._FOUND_MAX
    finally:
        event_mod._FOUND.clear()
        event_mod._FOUND.update(before)


@pytest.mark.parametrize("enabled", [True, False])
def test_collector_state_is_restored(tmp_path, enabled):
    lin = build_lineage(predictions=2, data_items=False)
    path = tmp_path / "b.zip"
    write_bundle(lin.collection(), path, created_at="2026-01-01T00:00:00Z")
    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        col = read_bundle(path)
        assert gc.isenabled() is enabled
        assert audit_collection(col, AuditPolicy()).ok
        assert gc.isenabled() is enabled
        with pytest.raises(BundleError):
            read_bundle(b"not a zip")
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()

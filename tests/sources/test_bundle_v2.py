"""Audit bundle v2 (spec/audit-bundle.md §7): writer/reader round trip to the byte, the
streaming source (`open_bundle`, `read_shard`, `record`), v1 still read, and every
must-reject rule on hand-built archives."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import random
import zipfile
from pathlib import Path

import pytest

from test_sources_bundle import sample
from verifier.core.reasons import ReasonCode
from verifier.sources.bundle import read_bundle, write_bundle
from verifier.sources.bundle_source import V1_SHARD, open_bundle, read_shard
from verifier.sources.bundle_v2 import FORMAT_V2, BundleLimits
from verifier.sources.bundle_v2_write import BundleWriter, lineage_order, record_line, write_bundle_v2
from verifier.sources.errors import BundleError
from verifier.sources.model import Collection, EventRecord, FetchResult, FetchStatus
from verifier.sources.zipguard import ZipLimits
from verifier.sources.zipwrite import write_zip

M, L, U = ReasonCode.BUNDLE_MALFORMED, ReasonCode.BUNDLE_LIMIT_EXCEEDED, ReasonCode.BUNDLE_UNSAFE_PATH
TYPES = ["prediction", "stage_transition", "model_registered", "training_complete", "dataset"]


def random_collection(n: int, seed: int = 5) -> Collection:
    """Records with arbitrary bytes (not UTF-8, NUL, CR/LF), some slots missing."""
    rng = random.Random(seed)
    col = Collection(target="models:/m/1")
    for i in range(n):
        blob = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 300)))
        col.records.append(EventRecord(
            tx_id=f"tx{i:05d}" if i % 7 else None,
            envelope=blob if i % 5 else None, envelope_origin="gateway:https://g" if i % 5 else None,
            payload=b"\r\n\x00" + blob[::-1], payload_origin=f"mlflow-artifact:r/ario/{i}",
            data_item=blob[:17] if i % 3 == 0 else None,
            receipt={"id": f"tx{i:05d}", "timestamp": 1700000000000 + i} if i % 2 else None,
            surface={"k": "é\u2028", "n": [i, -0.5, None, True], "d": {"x": {}}},
            hints={"event_type": TYPES[i % 5], "seq": str(i)},
            fetch=FetchResult(f"tx{i:05d}" if i % 7 else "", FetchStatus.NOT_FOUND, None, None,
                              (("https://g", "404"),)) if i % 4 == 0 else None))
    col.model_files = {"run1": {"MLmodel": "a" * 64}}
    col.gaps = [("x", "y")]
    return col


def test_round_trip_is_byte_exact(tmp_path):
    col = random_collection(60)
    out = write_bundle_v2(col, tmp_path / "b.zip", created_at="t", shard_events=7)
    assert out.events == 60 and out.members == 9 + 3
    assert out.sha256 == hashlib.sha256(out.path.read_bytes()).hexdigest()
    back = read_bundle(out.path)
    ordered = lineage_order(col.records)
    assert [r.hints["event_type"] for r in ordered][:12] == ["dataset"] * 12
    assert len(back.records) == 60
    for want, got in zip(ordered, back.records):
        assert (got.tx_id, got.envelope, got.payload, got.data_item, got.receipt, got.surface) == (
            want.tx_id, want.envelope, want.payload, want.data_item, want.receipt, want.surface)
        assert got.fetch == (None if want.fetch is None else
                             FetchResult(want.fetch.tx_id, want.fetch.status, None, None,
                                         want.fetch.per_gateway))
        if want.envelope is not None:
            assert got.envelope_origin.startswith("bundle:events/")
            assert got.hints["exported_envelope_origin"] == "gateway:https://g"
        assert got.hints["exported_payload_origin"] == want.payload_origin
    assert (back.target, back.model_files, back.gaps) == ("models:/m/1", col.model_files, col.gaps)


def test_same_collection_same_bytes_and_v1_agrees(tmp_path):
    a = write_bundle_v2(sample(), tmp_path / "a.zip", created_at="t")
    b = write_bundle_v2(sample(), tmp_path / "b.zip", created_at="t")
    assert a.path.read_bytes() == b.path.read_bytes()
    names = zipfile.ZipFile(a.path).namelist()
    assert names == ["events/000000.jsonl", "model-files.json", "gaps.json", "manifest.json"]
    v1 = read_bundle(write_bundle(sample(), tmp_path / "v1.zip").path)
    v2 = read_bundle(a.path)
    key = lambda r: r.hints["event_type"]  # noqa: E731
    for x, y in zip(sorted(v1.records, key=key), sorted(v2.records, key=key)):
        assert (x.tx_id, x.envelope, x.payload, x.data_item, x.receipt, x.surface, x.fetch) == (
            y.tx_id, y.envelope, y.payload, y.data_item, y.receipt, y.surface, y.fetch)
        assert {k: v for k, v in x.hints.items()} == y.hints


def test_source_streams_shards_and_finds_records(tmp_path):
    col = random_collection(25)
    path = write_bundle_v2(col, tmp_path / "b.zip", created_at="t", shard_events=10).path
    with open_bundle(path) as src:
        assert (src.format, src.total, src.target) == ("v2", 25, "models:/m/1")
        assert src.shards() == ["events/000000.jsonl", "events/000001.jsonl", "events/000002.jsonl"]
        assert src.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
        streamed = list(src.records())
        assert [r.payload for r in streamed] == [r.payload for r in lineage_order(col.records)]
        assert [src.record(i).payload for i in range(25)] == [r.payload for r in streamed]
        assert src.record(25) is None and src.record(-1) is None
    parts = [read_shard(path, name) for name in ["events/000000.jsonl", "events/000001.jsonl",
                                                 "events/000002.jsonl"]]
    assert [len(p) for p in parts] == [10, 10, 5]
    assert [r.payload for p in parts for r in p] == [r.payload for r in streamed]
    with pytest.raises(BundleError) as e:
        read_shard(path, "events/000003.jsonl")
    assert e.value.reason is M


def test_v1_bundle_opens_as_one_shard(tmp_path):
    path = write_bundle(sample(), tmp_path / "v1.zip").path
    with open_bundle(path, ZipLimits()) as src:
        assert (src.format, src.total, src.shards()) == ("v1", 3, [V1_SHARD])
        assert [r.tx_id for r in src.records()] == [r.tx_id for r in sample().records]
        assert src.record(2).tx_id is None and src.record(3) is None
    assert len(read_shard(path, V1_SHARD)) == 3
    with pytest.raises(BundleError):
        read_shard(path, "events/000000.jsonl")


def test_writer_is_atomic_and_needs_finish(tmp_path):
    target = tmp_path / "b.zip"
    with pytest.raises(ValueError):
        write_bundle_v2(Collection("t", [EventRecord(tx_id="bad id!")]), target)
    with pytest.raises(RuntimeError):
        with BundleWriter(target, "t") as w:
            w.add(EventRecord(tx_id="a"))
    with pytest.raises(ValueError):
        with BundleWriter(target, "t") as w:
            w.finish({"../run": {}})
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError):
        record_line(EventRecord(tx_id=None, surface={"x": float("nan")}))


# -- must-reject: hand-built archives --------------------------------------------------------

def _line(**over) -> bytes:
    ev = {"tx_id": "tx1", "envelope": '{"e":1}', "payload": None,
          "data_item": {"base64": base64.b64encode(b"\x02\xff").decode()}, "receipt": None, "surface": {"a": 1}, "hints": {}, "origins": {},
          "fetch": None}
    ev.update(over)
    return json.dumps(ev, separators=(",", ":")).encode() + b"\n"


def _ref(name: str, data: bytes) -> dict:
    return {"name": name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def build(shards: list[bytes] | None = None, edit=None, extra=(), drop=()) -> bytes:
    """A v2 archive from shard bytes; `edit(manifest, members)` changes it consistently or
    not; `extra` adds members; `drop` removes members after the manifest is built."""
    shards = [_line() + _line(tx_id="tx2")] if shards is None else shards
    members = {f"events/{i:06d}.jsonl": s for i, s in enumerate(shards)}
    members["model-files.json"], members["gaps.json"] = b"{}", b"[]"
    manifest = {"format": FORMAT_V2, "target": "models:/m/1", "created_at": "t", "tool": {},
                "events": sum(s.count(b"\n") for s in shards),
                "shards": [dict(_ref(n, d), events=d.count(b"\n")) for n, d in members.items()
                           if n.startswith("events/")],
                "model_files": _ref("model-files.json", b"{}"), "gaps": _ref("gaps.json", b"[]")}
    if edit:
        edit(manifest, members)
    for name in drop:
        members.pop(name)
    out = io.BytesIO()
    write_zip(out, list(members.items()) + list(extra)
              + [("manifest.json", json.dumps(manifest).encode())])
    return out.getvalue()


def rejected(data: bytes, limits: BundleLimits | None = None) -> BundleError:
    with pytest.raises(BundleError) as e:
        with open_bundle(data, limits) as src:
            list(src.records())
    return e.value


def test_clean_hand_built_bundle_reads():
    with open_bundle(build()) as src:
        records = list(src.records())
    assert [r.tx_id for r in records] == ["tx1", "tx2"]
    assert (records[0].envelope, records[0].data_item) == (b'{"e":1}', b"\x02\xff")


def test_bytes_slots_are_text_when_utf8_else_base64():
    line = json.loads(record_line(EventRecord(
        tx_id=None, envelope='{"é":"\u2028\n\\"}'.encode(), payload=b"\xff\x00",
        data_item=b"\xed\xa0\x80")))  # an encoded surrogate is not UTF-8
    assert line["envelope"] == '{"é":"\u2028\n\\"}'
    assert line["payload"] == {"base64": "/wA="} and line["data_item"] == {"base64": "7aCA"}


def _set(path, value):
    def edit(m, mem):
        target = m
        for k in path[:-1]:
            target = target[k]
        target[path[-1]] = value
    return edit


def _tamper_shard(m, mem):
    mem["events/000000.jsonl"] = mem["events/000000.jsonl"].replace(b"tx2", b"tx3")


@pytest.mark.parametrize("data, reason, rule", [
    (build(edit=_tamper_shard), M, "V6"),                                        # digest mismatch
    (build(drop=["events/000000.jsonl"]), M, "V4"),                              # listed, missing
    (build(extra=[("events/000001.jsonl", _line())]), M, "V4"),                  # unlisted
    (build(extra=[("notes.txt", b"x")]), M, "V4"),
    (build(edit=_set(["shards", 0, "events"], 3)), M, "V3"),                     # count mismatch
    (build(edit=_set(["events"], 3)), M, "V3"),
    (build(edit=_set(["shards", 0, "name"], "events/0.jsonl")), M, "V3"),
    (build(edit=_set(["shards", 0, "sha256"], "A" * 64)), M, "sha256"),
    (build(edit=_set(["shards", 0, "size"], 5)), M, "V4"),
    (build(edit=_set(["extra"], 1)), M, "V2"),
    (build(edit=_set(["target"], 5)), M, "V2"),
    (build(edit=_set(["gaps", "name"], "other.json")), M, "V2"),
    (build(edit=_set(["gaps", "events"], 1)), M, "exactly name, sha256, size"),
    (build(edit=_set(["shards", 0, "first"], 0)), M, "exactly events, name, sha256, size"),
    (build([b'{"tx_id":\n']), M, "not strict JSON"),                            # malformed line
    (build([_line() + b"\n"]), M, "not strict JSON"),                            # empty line
    (build([_line() + _line()[:-1]]), M, "V5"),                                  # no final newline
    (build([_line(extra=1)]), M, "V5"),
    (build([_line(envelope={"base64": "not base64!"})]), M, "V5"),
    (build([_line(data_item={"base64": "AA=="[:3]})]), M, "V5"),
    (build([_line(envelope={"base64": "AA==", "x": 1})]), M, "V5"),
    (build([_line(envelope={"b64": "AA=="})]), M, "V5"),
    (build([_line(envelope=1)]), M, "V5"),
    (build([_line(envelope=["e"])]), M, "V5"),
    (build([_line(tx_id="../x")]), M, "V5"),
    (build([_line(hints={"a": 1})]), M, "hints"),
    (build([_line(surface=[1])]), M, "V5"),
    (build([_line(surface={"n": 2**53})]), M, "number_out_of_range"),
    (build([_line()[:-2] + b',"tx_id":"y"}\n']), M, "duplicate_key"),
    (build([_line(fetch={"status": "great"})]), M, "fetch"),
])
def test_must_reject(data, reason, rule):
    err = rejected(data)
    assert err.reason is reason and rule in err.message, err.message


@pytest.mark.parametrize("limits, rule", [
    (BundleLimits(max_shards=0), "shard limit"),
    (BundleLimits(max_shard_events=1), "event shard limit"),
    (BundleLimits(max_events=1), "event limit"),
    (BundleLimits(max_shard_bytes=10), "byte shard limit"),
    (BundleLimits(max_line_bytes=10), "line limit"),
    (BundleLimits(zip=ZipLimits(max_evidence_bytes=3)), "document limit"),
    (BundleLimits(max_manifest_bytes=10), "manifest limit"),
    (BundleLimits(zip=ZipLimits(max_members=3)), "member limit"),
    (BundleLimits(zip=ZipLimits(max_member_bytes=100)), "byte member limit"),
    (BundleLimits(zip=ZipLimits(max_total_bytes=100)), "uncompressed bytes"),
])
def test_limits(limits, rule):
    err = rejected(build(), limits)
    assert err.reason is L and rule in err.message, err.message


@pytest.mark.parametrize("name, reason", [
    ("../escape.json", U), ("/etc/x", U), ("events\\000001.jsonl", U), ("a\0b", U),
    ("events/000000.jsonl", M),  # a second member of the same name
    ("MANIFEST.JSON", M), ("events/000000.JSONL", M), ("Gaps.json", M),  # case variants: unlisted
])
def test_unsafe_and_duplicate_names(name, reason):
    assert rejected(build(extra=[(name, b"{}")])).reason is reason


def test_shard_checked_when_reached():
    """The index is fine, the second shard is tampered: the first shard's records come out,
    then the stream stops with the error (consumers must not treat a prefix as the bundle)."""
    def tamper(m, mem):
        mem["events/000001.jsonl"] = _line(tx_id="tx9")
    data = build([_line(), _line(tx_id="tx2")], edit=tamper)
    with open_bundle(data) as src:
        it = src.records()
        assert next(it).tx_id == "tx1"
        with pytest.raises(BundleError) as e:
            next(it)
        assert "V6" in e.value.message


def test_streaming_reader_memory_is_bounded(tmp_path):
    """Peak RSS of a child reading 8,000 events of ~6 KB: v2 streams one shard, v1 holds all."""
    import subprocess
    import sys

    col = Collection("t", [EventRecord(tx_id=f"t{i}", envelope=random.Random(i).randbytes(4096),
                                       payload=bytes(2048), hints={"event_type": "prediction"})
                           for i in range(8000)])
    v1 = write_bundle(col, tmp_path / "v1.zip").path
    v2 = write_bundle_v2(col, tmp_path / "v2.zip").path
    del col
    code = ("import sys\nfrom verifier.sources.bundle_source import open_bundle\n"
            "def hwm():\n    return int(next(l for l in open('/proc/self/status') "
            "if l.startswith('VmHWM')).split()[1])\n"
            "base = hwm()\nsrc = open_bundle(sys.argv[1])\nn = 0\n"
            "for r in src.records():\n    n += len(r.envelope)\n"
            "print(n, hwm() - base)\n")
    out = {}
    for name, path in (("v1", v1), ("v2", v2)):
        proc = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                              text=True, check=True)
        n, growth_kib = map(int, proc.stdout.split())
        assert n == 8000 * 4096
        out[name] = growth_kib
    assert out["v1"] > 40 * 1024  # the v1 reader holds the collection (~50 MB of evidence)
    assert out["v2"] < out["v1"] / 6, out


def test_read_shard_with_the_entry_rechecks_the_digest(tmp_path):
    path = write_bundle_v2(random_collection(30), tmp_path / "b.zip", shard_events=10).path
    with open_bundle(path) as src:
        entries = src.shard_entries()
        by_name = [read_shard(path, e.name) for e in entries]
    by_entry = [read_shard(path, e) for e in entries]
    assert [[r.payload for r in p] for p in by_entry] == [[r.payload for r in p] for p in by_name]
    assert [e.first for e in entries] == [0, 10, 20]
    other = write_bundle_v2(random_collection(30, seed=6), tmp_path / "c.zip", shard_events=10).path
    with pytest.raises(BundleError) as e:  # same name, other bytes: the digest catches it
        read_shard(other, entries[1])
    assert e.value.reason is M and "V6" in e.value.message


def test_source_of_bytes_and_file_objects(tmp_path):
    path = write_bundle_v2(sample(), tmp_path / "b.zip").path
    data = path.read_bytes()
    with open_bundle(data) as a, open(path, "rb") as fh, open_bundle(fh) as b:
        assert a.sha256 == b.sha256 == hashlib.sha256(data).hexdigest()
        assert [r.tx_id for r in a.records()] == [r.tx_id for r in b.records()]


def test_read_shard_keeps_one_archive_per_thread_and_notices_a_replaced_file(tmp_path):
    """Workers read many shards of one bundle: the archive is opened once (per thread),
    and a different file at the same path (another bundle exported there) is reopened,
    not read through the old directory."""
    from verifier.sources import bundle_source

    path = tmp_path / "b.zip"
    first = random_collection(25)
    write_bundle_v2(first, path, created_at="t", shard_events=10)
    with open_bundle(path) as src:
        entries = src.shard_entries()
    a = read_shard(path, entries[0])
    held = bundle_source._OPENED.archive[1]
    b = read_shard(path, entries[1])
    assert bundle_source._OPENED.archive[1] is held  # the same open archive
    assert [len(a), len(b)] == [10, 10]
    path.unlink()
    second = random_collection(12)
    write_bundle_v2(second, path, created_at="u", shard_events=10)
    with open_bundle(path) as src:
        entries2 = src.shard_entries()
        expected = [r.payload for r in src.records()][:10]
    again = read_shard(path, entries2[0])
    assert bundle_source._OPENED.archive[1] is not held
    assert [r.payload for r in again] == expected

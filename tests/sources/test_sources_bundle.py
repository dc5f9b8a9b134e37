"""Audit bundle: deterministic atomic writer, round trip, and every hostile archive."""

from __future__ import annotations

import hashlib
import io
import json
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from verifier.core.reasons import ReasonCode
from verifier.sources.bundle import FORMAT, looks_like_bundle, read_bundle, write_bundle
from verifier.sources.errors import BundleError
from verifier.sources.model import Collection, EventRecord, FetchResult, FetchStatus
from verifier.sources.zipguard import ZipLimits

TX1, TX2 = "T" * 43, "U" * 43
ROOT = Path(__file__).resolve().parents[2]
M, L, U = ReasonCode.BUNDLE_MALFORMED, ReasonCode.BUNDLE_LIMIT_EXCEEDED, ReasonCode.BUNDLE_UNSAFE_PATH


def sample() -> Collection:
    c = Collection(target="models:/fraud/3")
    c.records.append(EventRecord(
        tx_id=TX1, envelope=b'{"event_type":"training_complete"}', envelope_origin="gateway:http://g",
        payload=b'{"run_id":"r1"}', payload_origin="mlflow-artifact:r1/ario/payload.json",
        data_item=b"\x02\x00signed", receipt={"id": TX1, "timestamp": 1700000000000},
        surface={"run_id": "r1", "metrics": {"acc": 0.91}, "params": {"lr": "0.1"}},
        hints={"event_type": "training_complete", "run_id": "r1"},
        fetch=FetchResult(TX1, FetchStatus.OK, b"x", "http://g", (("http://g", "ok"),))))
    c.records.append(EventRecord(tx_id=TX2, hints={"event_type": "dataset"},
                                 surface={"name": "train", "digest": "abc"},
                                 fetch=FetchResult(TX2, FetchStatus.UNAVAILABLE, None, None,
                                                   (("http://g", "timeout"),))))
    c.records.append(EventRecord(tx_id=None, envelope=b'{"e":1}',
                                 envelope_origin="mlflow-artifact:r1/ario/promotions/e/proof.json",
                                 hints={"event_type": "stage_transition", "event_id": "e"}))
    c.model_files["r1"] = {"MLmodel": "a" * 64, "sub/w.bin": "b" * 64}
    c.gaps.append(("prediction d1", "payload artifact missing"))
    return c


def test_round_trip(tmp_path):
    out = write_bundle(sample(), tmp_path / "b.zip", created_at="2026-01-01T00:00:00Z")
    assert out.events == 3 and out.path.exists()
    assert out.sha256 == hashlib.sha256(out.path.read_bytes()).hexdigest()
    assert looks_like_bundle(out.path.read_bytes()[:4])
    col = read_bundle(out.path)
    assert col.target == "models:/fraud/3"
    r1, r2, r3 = col.records
    assert r1.tx_id == TX1 and r1.envelope == b'{"event_type":"training_complete"}'
    assert r1.payload == b'{"run_id":"r1"}' and r1.data_item == b"\x02\x00signed"
    assert r1.receipt == {"id": TX1, "timestamp": 1700000000000}
    assert r1.surface["metrics"]["acc"] == 0.91
    assert r1.envelope_origin == f"bundle:envelopes/{TX1}.json"
    assert r1.hints["exported_envelope_origin"] == "gateway:http://g"
    assert r1.hints["event_type"] == "training_complete"
    assert r1.fetch.status is FetchStatus.OK and r1.fetch.data == r1.envelope
    assert r2.envelope is None and r2.fetch.status is FetchStatus.UNAVAILABLE
    assert r2.fetch.per_gateway == (("http://g", "timeout"),)
    assert r3.tx_id is None and r3.envelope == b'{"e":1}'
    assert col.model_files == {"r1": {"MLmodel": "a" * 64, "sub/w.bin": "b" * 64}}
    assert col.gaps == [("prediction d1", "payload artifact missing")]
    # readable from bytes and file objects as well
    assert len(read_bundle(out.path.read_bytes()).records) == 3
    with open(out.path, "rb") as fh:
        assert len(read_bundle(fh).records) == 3


def test_deterministic_and_layout(tmp_path):
    a = write_bundle(sample(), tmp_path / "a.zip", created_at="2026-01-01T00:00:00Z")
    b = write_bundle(sample(), tmp_path / "b.zip", created_at="2026-01-01T00:00:00Z")
    assert a.path.read_bytes() == b.path.read_bytes()
    with zipfile.ZipFile(a.path) as zf:
        names = zf.namelist()
        assert names[0] == "manifest.json" and names[1:] == sorted(names[1:])
        assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in zf.infolist())
        assert all(stat.S_ISREG(i.external_attr >> 16) for i in zf.infolist())
        manifest = json.loads(zf.read("manifest.json"))
    assert manifest["format"] == FORMAT
    assert manifest["tool"]["name"] == "ario-verifier"
    ev = manifest["events"][0]
    assert ev["envelope"] == f"envelopes/{TX1}.json" and ev["surface"] == f"surfaces/{TX1}.json"
    assert ev["data_item"] == f"dataitems/{TX1}.bin" and ev["receipt"] == f"receipts/{TX1}.json"
    assert {m["path"] for m in manifest["members"]} == set(names[1:])


def test_writer_is_atomic(tmp_path):
    target = tmp_path / "b.zip"
    write_bundle(sample(), target, created_at="x")
    before = target.read_bytes()
    bad = sample()
    bad.records[0].surface = {"metric": float("nan")}
    with pytest.raises(ValueError):
        write_bundle(bad, target)
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.zip"]  # no temp file left


def test_duplicate_keys_refused(tmp_path):
    c = Collection(target="t", records=[EventRecord(TX1, envelope=b"1"), EventRecord(TX1, envelope=b"2")])
    with pytest.raises(ValueError):
        write_bundle(c, tmp_path / "b.zip")


def test_reader_imports_no_network_or_mlflow():
    code = ("import sys, verifier.sources.bundle, verifier.sources.model, verifier.sources.files;"
            "print(sorted(m for m in ('httpx', 'mlflow', 'httpcore') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.strip() == "[]", out.stderr


# -- hostile archives -----------------------------------------------------------------------

def members_of(path: Path) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(path) as zf:
        return [(n, zf.read(n)) for n in zf.namelist()]


def rezip(path: Path, members, *, attrs: dict[str, int] | None = None,
          method=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = method
            info.create_system = 3
            info.external_attr = (attrs or {}).get(name, 0o100644 << 16)
            zf.writestr(info, data)
    return buf.getvalue()


def with_listed(members, extra_name: str, extra: bytes):
    """Add a member and list it in the manifest with a correct digest."""
    out = []
    for name, data in members:
        if name == "manifest.json":
            m = json.loads(data)
            m["members"].append({"path": extra_name, "sha256": hashlib.sha256(extra).hexdigest(),
                                 "size": len(extra)})
            data = json.dumps(m).encode()
        out.append((name, data))
    return out + [(extra_name, extra)]


@pytest.fixture
def good(tmp_path) -> Path:
    return write_bundle(sample(), tmp_path / "good.zip", created_at="x").path


def expect(reason, source, limits=None, match=None):
    with pytest.raises(BundleError) as ei:
        read_bundle(source, limits) if limits else read_bundle(source)
    assert ei.value.reason is reason, str(ei.value)
    if match:
        assert match in ei.value.message
    return ei.value


@pytest.mark.parametrize("name", ["../x", "envelopes/../../x", "a/./b", "a//b"])
def test_zip_slip_dotdot(good, name):
    expect(U, rezip(good, members_of(good) + [(name, b"1")]))


@pytest.mark.parametrize("name", ["/etc/passwd", "C:/x", "c:x"])
def test_absolute_path(good, name):
    expect(U, rezip(good, members_of(good) + [(name, b"1")]), match="absolute")


def test_backslash_and_odd_characters(good):
    expect(U, rezip(good, members_of(good) + [("envelopes\\x.json", b"1")]), match="backslash")
    expect(U, rezip(good, members_of(good) + [("envelopes/x y.json", b"1")]))
    expect(U, rezip(good, members_of(good) + [("envelopes/\u00e9.json", b"1")]))


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_duplicate_member(good):
    ms = members_of(good)
    expect(M, rezip(good, ms + [ms[1]]), match="duplicate member")


def test_symlink_entry(good):
    ms = members_of(good) + [("link", b"/etc/passwd")]
    expect(U, rezip(good, ms, attrs={"link": (stat.S_IFLNK | 0o777) << 16}), match="symlink")


def test_special_file_and_directory_entries(good):
    ms = members_of(good) + [("fifo", b"")]
    expect(U, rezip(good, ms, attrs={"fifo": (stat.S_IFIFO | 0o644) << 16}), match="special")
    expect(M, rezip(good, members_of(good) + [("envelopes/", b"")]), match="directory")


def test_oversize_member(good):
    expect(L, good, ZipLimits(max_member_bytes=100), match="member limit")


def test_total_size_limit(good):
    expect(L, good, ZipLimits(max_total_bytes=200))


def test_archive_size_limit(good):
    expect(L, good, ZipLimits(max_archive_bytes=100))


def test_zip_bomb_ratio(good):
    bomb = b"\0" * (5 * 1024 * 1024)
    data = rezip(good, with_listed(members_of(good), "payloads/bomb.bin", bomb))
    expect(L, data, match="compression ratio")


def test_too_many_members(good):
    expect(L, good, ZipLimits(max_members=3), match="member limit")


def test_manifest_digest_mismatch(good):
    ms = [(n, b'{"event_type":"tampered"}' if n.startswith("envelopes/" + TX1) else d)
          for n, d in members_of(good)]
    expect(M, rezip(good, ms), match="digest mismatch")


def test_unlisted_member(good):
    expect(M, rezip(good, members_of(good) + [("envelopes/extra.json", b"{}")]), match="not listed")


def test_listed_but_unreferenced_member(good):
    expect(M, rezip(good, with_listed(members_of(good), "envelopes/extra.json", b"{}")),
           match="not referenced")


def test_listed_member_missing(good):
    ms = [(n, d) for n, d in members_of(good) if not n.startswith("surfaces/" + TX2)]
    expect(M, rezip(good, ms), match="archive lacks")


def test_missing_or_bad_manifest(good):
    ms = [(n, d) for n, d in members_of(good) if n != "manifest.json"]
    expect(M, rezip(good, ms), match="manifest.json is missing")
    expect(M, rezip(good, [("manifest.json", b'{"format": "other/v9"}')] + ms), match="unsupported")
    expect(M, rezip(good, [("manifest.json", b'{"a":1,"a":2}')] + ms), match="duplicate_key")
    expect(M, rezip(good, [("manifest.json", b"[]")]), match="not a JSON object")


def test_bad_surface_json(good):
    ms = members_of(good)
    swapped = [(n, d) for n, d in ms if n != "manifest.json" and not n.startswith(f"surfaces/{TX2}")]
    manifest = json.loads(dict(ms)["manifest.json"])
    bad = b"[1, 2]"
    for m in manifest["members"]:
        if m["path"] == f"surfaces/{TX2}.json":
            m["sha256"], m["size"] = hashlib.sha256(bad).hexdigest(), len(bad)
    data = rezip(good, [("manifest.json", json.dumps(manifest).encode())] + swapped
                 + [(f"surfaces/{TX2}.json", bad)])
    expect(M, data, match="not a JSON object")


def test_truncated_zip(good):
    raw = good.read_bytes()
    for cut in (len(raw) - 10, len(raw) // 2, 30):
        expect(M, raw[:cut])


def test_corrupted_member_bytes(good):
    raw = bytearray(good.read_bytes())
    with zipfile.ZipFile(good) as zf:
        info = zf.getinfo(f"payloads/{TX1}.bin")
    pos = info.header_offset + 30 + len(info.filename) + 2
    raw[pos] ^= 0xFF
    expect(M, bytes(raw))


def test_not_a_zip(tmp_path):
    expect(M, b"this is not a zip file at all", match="not a readable ZIP")
    expect(M, b"")
    expect(M, tmp_path / "missing.zip")
    assert not looks_like_bundle(b'{"spec_version": 1}')


def test_encrypted_and_unsupported_method(good):
    raw = bytearray(rezip(good, members_of(good)))
    # set the encryption flag in every central directory header
    i = raw.find(b"PK\x01\x02")
    while i != -1:
        raw[i + 8] |= 0x1
        i = raw.find(b"PK\x01\x02", i + 4)
    expect(M, bytes(raw), match="encrypted")
    raw = bytearray(rezip(good, members_of(good), method=zipfile.ZIP_STORED))
    i = raw.find(b"PK\x01\x02")
    raw[i + 10:i + 12] = (14).to_bytes(2, "little")  # LZMA
    expect(M, bytes(raw), match="compression")


def test_event_slot_must_use_conventional_name(good):
    ms = members_of(good)
    manifest = json.loads(dict(ms)["manifest.json"])
    manifest["events"][0]["payload"] = f"envelopes/{TX1}.json"
    data = rezip(good, [("manifest.json", json.dumps(manifest).encode())]
                 + [(n, d) for n, d in ms if n != "manifest.json"])
    expect(M, data)


def test_never_a_traceback_on_random_mutations(good):
    raw = good.read_bytes()
    import random
    rnd = random.Random(7)
    for _ in range(300):
        b = bytearray(raw)
        for _ in range(rnd.randint(1, 8)):
            b[rnd.randrange(len(b))] = rnd.randrange(256)
        try:
            read_bundle(bytes(b))
        except BundleError:
            pass


# -- the ZIP layer itself -------------------------------------------------------------------

def test_zip64_entry_count_round_trip_and_interop(tmp_path):
    from verifier.sources.zipguard import SafeZip
    from verifier.sources.zipwrite import write_zip

    n = 70_000  # more than 65,535 entries needs the zip64 end record
    members = [(f"m/{i:06d}", str(i).encode()) for i in range(n)]
    path = tmp_path / "many.zip"
    with open(path, "wb") as fh:
        write_zip(fh, members)
    with SafeZip(path) as zf:
        assert len(zf.names) == n and zf.read("m/069999") == b"69999"
    with zipfile.ZipFile(path) as zf:  # the standard library agrees
        assert len(zf.infolist()) == n and zf.read("m/000007") == b"7"
    # and we read what the standard library writes (zip64 there too)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for i in range(66_000):
            zf.writestr(f"x/{i}", b"")
    with SafeZip(buf.getvalue()) as z2:
        assert len(z2.names) == 66_000


def test_local_header_must_match_central_directory(good):
    raw = bytearray(good.read_bytes())
    pos = raw.find(b"PK\x03\x04", 1)  # second member's local header
    name_at = pos + 30
    raw[name_at] = ord("X") if raw[name_at] != ord("X") else ord("Y")
    expect(M, bytes(raw), match="local header")


def test_stored_member_crc_checked(good):
    data = bytearray(rezip(good, members_of(good), method=zipfile.ZIP_STORED))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
        info = zf.getinfo(f"payloads/{TX1}.bin")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    data[start] ^= 0x01
    expect(M, bytes(data), match="CRC")


def test_member_inflating_past_declared_size(good):
    # declare a smaller uncompressed size in both headers than the deflate stream yields
    raw = bytearray(good.read_bytes())
    with zipfile.ZipFile(io.BytesIO(bytes(raw))) as zf:
        info = zf.getinfo("manifest.json")
    smaller = (info.file_size - 5).to_bytes(4, "little")
    raw[info.header_offset + 22:info.header_offset + 26] = smaller
    assert info.compress_type == zipfile.ZIP_DEFLATED
    cd = raw.find(b"PK\x01\x02")
    while cd != -1:
        name_len = int.from_bytes(raw[cd + 28:cd + 30], "little")
        if raw[cd + 46:cd + 46 + name_len] == info.filename.encode():
            raw[cd + 24:cd + 28] = smaller
            break
        cd = raw.find(b"PK\x01\x02", cd + 4)
    expect(M, bytes(raw), match="inflates past")


def _with_manifest(good: Path, edit) -> bytes:
    ms = members_of(good)
    manifest = json.loads(dict(ms)["manifest.json"])
    raw = edit(manifest)
    return rezip(good, [("manifest.json", raw)] + [(n, d) for n, d in ms if n != "manifest.json"])


def test_manifest_intake_rules(good):
    def deep(n):
        def edit(m):
            text = json.dumps(m)
            nest = "[" * (n - 1) + "]" * (n - 1)  # the manifest object itself is depth 1
            return (text[:-1] + ', "x": ' + nest + "}").encode()
        return edit
    read_bundle(_with_manifest(good, deep(128)))
    expect(M, _with_manifest(good, deep(129)), match="nesting")

    def deep_in_event(n):  # manifest > events > event > "x" (depth 4) > ...
        def edit(m):
            m["events"][0]["x"] = 0
            text = json.dumps(m).replace('"x": 0', '"x": ' + "[" * (n - 3) + "]" * (n - 3))
            return text.encode()
        return edit
    read_bundle(_with_manifest(good, deep_in_event(128)))
    expect(M, _with_manifest(good, deep_in_event(129)), match="nesting")
    expect(M, _with_manifest(good, lambda m: json.dumps(dict(m, x=2**53)).encode()), match="2^53")
    expect(M, _with_manifest(good, lambda m: (json.dumps(m)[:-1] + ', "x": "\\ud800"}').encode()),
           match="surrogate")
    expect(M, _with_manifest(good, lambda m: json.dumps(m).encode()[:-1] + b', "x": NaN}'),
           match="not strict JSON")
    expect(M, _with_manifest(good, lambda m: json.dumps(m).encode()[:-1] + b', "x": 1e999}'),
           match="overflows")
    expect(M, _with_manifest(good, lambda m: b"\xff" + json.dumps(m).encode()), match="UTF-8")


def test_dot_prefixed_segment_is_a_safe_name(good):
    # ".meta/x" is a safe name; it only fails for not being listed
    expect(M, rezip(good, members_of(good) + [(".meta/notes.json", b"{}")]), match="not listed")

"""`--scheduler tcp://HOST:PORT`: the per-event checks run on a real Dask distributed
cluster (a LocalCluster: scheduler and worker processes on loopback); the lineage fold and
the verdict stay on the client, and the JSON verdict is byte-identical to the local run.
Also: the audit's shard tasks on a local pool, `verify --jsonl` and `verify_many` on the
cluster, and a shard that turns bad mid-stream."""

from __future__ import annotations

import contextlib
import io
import json
import zipfile

import pytest

from audit_factory import build_lineage
from verifier.batch import verify_many
from verifier.cli.main import main
from verifier.sources.bundle_v2_write import write_bundle_v2



@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      scheduler_port=0, dashboard_address=None) as lc:
        yield lc.scheduler_address


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    lin = build_lineage(predictions=30, data_items=True)
    col = lin.collection()
    col.records[7].payload = b'{"tampered": true}'  # one failing event, so the verdict has texture
    path = tmp_path_factory.mktemp("cluster") / "lineage.zip"
    write_bundle_v2(col, path, created_at="2026-06-15T13:00:00Z", shard_events=4)
    return path


def _audit(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["audit", *argv])
    return code, out.getvalue()


def test_audit_on_the_cluster_is_byte_identical(cluster, bundle, tmp_path):
    local = _audit(str(bundle), "--offline", "--json", "-q", "--workers", "1",
                   "--events-out", str(tmp_path / "local.jsonl"))
    remote = _audit(str(bundle), "--offline", "--json", "-q", "--scheduler", cluster,
                    "--events-out", str(tmp_path / "remote.jsonl"))
    assert remote == local
    assert local[0] == 1 and json.loads(local[1])["status"] == "failed"
    lines = (tmp_path / "remote.jsonl").read_text().splitlines()
    assert lines == (tmp_path / "local.jsonl").read_text().splitlines()
    assert sorted(json.loads(x)["seq"] for x in lines) == list(range(34))


def test_shards_on_a_local_pool_match_serial(bundle):
    from verifier.audit.engine import stream_bundle
    from verifier.audit.stream import SourceInfo
    from verifier.sources.bundle_source import open_bundle

    def run(**kw):
        r = stream_bundle(open_bundle(str(bundle)), str(bundle), SourceInfo("bundle", "b", True), **kw)
        with r:
            events = [e.to_json() for e in r]
        return json.dumps(r.summary.result.to_json()), events

    assert run(workers=2, min_parallel=1) == run(workers=1)


def test_a_bad_shard_makes_the_audit_malformed(tmp_path, bundle):
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bundle) as src, zipfile.ZipFile(bad, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "events/000002.jsonl":
                data = data.replace(b'"tx_id"', b'"tx_iD"', 1)  # digest no longer matches
            dst.writestr(info, data)
    for extra in ([], ["--workers", "2"]):
        code, out = _audit(str(bad), "--offline", "--json", "-q", *extra)
        doc = json.loads(out)
        assert code == 2 and doc["status"] == "malformed"
        assert doc["checks"][0]["id"] == "bundle" and doc["reason"].startswith("bundle_")


def test_verify_many_and_jsonl_on_the_cluster(cluster, tmp_path):
    lin = build_lineage(predictions=5, data_items=False)
    items = [(r.envelope, r.payload) for r in lin.collection().records]
    local = list(verify_many(items, workers=1, chunk_size=3))
    assert list(verify_many(items, scheduler=cluster, chunk_size=3)) == local
    path = tmp_path / "e.jsonl"
    path.write_bytes(b"".join(e + b"\n" for e, _ in items) + b"not json\n")
    outs = []
    for extra in ([], ["--scheduler", cluster]):
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            code = main(["verify", str(path), "--jsonl", "--workers", "1", *extra])
        outs.append((code, buf.getvalue()))
    assert outs[0] == outs[1] and outs[0][0] == 2

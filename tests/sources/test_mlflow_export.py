"""`export_mlflow` (predictions streamed a chunk at a time) writes the very bytes that
``write_bundle_v2(read_mlflow(...))`` (everything in memory) writes, on real MLflow stores:
offline, gateway-filled, a lost tx id found by search, gaps and overwritten artifacts."""

from __future__ import annotations

import httpx
import pytest
from sources_mlstore import build_in_child

from verifier.gateway.server import GatewayServer
from verifier.sources.bundle_v2_write import write_bundle_v2
from verifier.sources.gateway import GatewayClient
from verifier.sources.mlflow_export import BundleWriteError, export_mlflow
from verifier.sources.mlflow_reader import LineageReader, parse_target, read_mlflow
from verifier.sources.mlflow_store import MlflowStore, ReaderLimits

WHEN = "2026-12-05T00:00:00Z"


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    base = tmp_path_factory.mktemp("exportstores")
    specs = [("sqlite", base / "sq", "full"), ("file", base / "fs", "full"),
             ("file", base / "lost", "losttag"), ("file", base / "mut", "noitems"),
             ("file", base / "legacy", "legacy")]
    return dict(zip(["sqlite", "file", "lost", "mut", "legacy"], build_in_child(specs)))


def both(tmp_path, uri, target, gateway=None, *, chunk=1, shard_events=3, limits=ReaderLimits()):
    """(bytes of the in-memory path's bundle, bytes of the streamed one, streamed result)."""
    col = read_mlflow(uri, target, gateway=gateway, limits=limits)
    want = write_bundle_v2(col, tmp_path / "memory.zip", created_at=WHEN, shard_events=shard_events)
    summary, lineage = export_mlflow(uri, target, tmp_path / "stream.zip", gateway=gateway,
                                     limits=limits, chunk=chunk, created_at=WHEN,
                                     shard_events=shard_events)
    assert (summary.events, summary.members) == (want.events, want.members)
    assert lineage.gaps == col.gaps and lineage.model_files == col.model_files
    assert lineage.source == col.source
    return want.path.read_bytes(), summary.path.read_bytes(), (summary, lineage)


@pytest.mark.parametrize("kind", ["sqlite", "file"])
@pytest.mark.parametrize("chunk", [1, 2, 512])
def test_offline_model_export_is_byte_identical(stores, tmp_path, kind, chunk):
    b = stores[kind]
    want, got, (summary, _) = both(tmp_path, b.uri, "models:/fraud/1",
                                   GatewayClient([], offline=True), chunk=chunk)
    assert got == want
    assert summary.events == 9  # 2 trainings, dataset, registration, 2 promotions, 3 predictions


def test_no_gateway_run_and_trace_targets(stores, tmp_path):
    b = stores["file"]
    for target in ("models:/fraud/1", f"runs:/{b.run_id}", f"traces:/{next(iter(b.traces.values()))}",
                   "models:/fraud/99"):
        want, got, _ = both(tmp_path, b.uri, target)
        assert got == want, target


def test_gateway_filled_and_lost_tx_found_by_search(stores, tmp_path):
    b = stores["lost"]
    with GatewayServer("127.0.0.1", 0, str(tmp_path / "gw.sqlite3")) as gw:
        gw.start()
        for raw in b.items.values():
            assert httpx.post(f"{gw.url}/tx/solana", content=raw).status_code == 200
        with GatewayClient([gw.url], retries=0) as client:
            want, got, _ = both(tmp_path, b.uri, "models:/fraud/1", client, chunk=2)
    assert got == want
    lines = b"".join(read_bundle_v2_lines(tmp_path / "stream.zip"))
    assert b"search:graphql Event-Id" in lines and f"gateway:{gw.url}".encode() in lines


def read_bundle_v2_lines(path):
    import zipfile

    with zipfile.ZipFile(path) as z:
        return [z.read(n) for n in sorted(z.namelist()) if n.startswith("events/")]


def test_gaps_overwritten_registration_and_prediction_limit(stores, tmp_path):
    b = stores["mut"]
    want, got, _ = both(tmp_path, b.uri, "models:/fraud/1", GatewayClient([], offline=True))
    assert got == want
    few = ReaderLimits(max_predictions=1, max_traces=2)
    want, got, (summary, lineage) = both(tmp_path, b.uri, "models:/fraud/1", limits=few,
                                         chunk=1)
    assert got == want
    gaps = dict(lineage.gaps)
    assert gaps["traces of fraud"] == "more than 2 traces"
    assert gaps["predictions of fraud/1"] == "only the first 1 of 3 read"
    assert summary.events == 7  # the lineage's six and one prediction


def test_legacy_store(stores, tmp_path):
    b = stores["legacy"]
    for target in (f"runs:/{b.run_id}", f"traces:/{b.traces['dec-1']}"):
        want, got, _ = both(tmp_path, b.uri, target)
        assert got == want


def test_sink_gets_bounded_chunks_and_the_collection_keeps_only_the_lineage(stores):
    b = stores["sqlite"]
    chunks = []
    with MlflowStore(b.uri) as store:
        reader = LineageReader(store, GatewayClient([], offline=True), sink=chunks.append, chunk=2)
        col = reader.read(parse_target("models:/fraud/1"), "models:/fraud/1")
    assert [len(c) for c in chunks] == [2, 1]
    assert all(r.hints["event_type"] == "prediction" for c in chunks for r in c)
    assert all(r.fetch is not None for c in chunks for r in c)  # filled before handed on
    assert "prediction" not in {r.hints["event_type"] for r in col.records}
    assert len(col.records) == 6


def test_unrepresentable_record_is_a_write_error_and_leaves_no_file(stores, tmp_path):
    from mlflow import MlflowClient

    b = stores["mut"]
    tid = next(iter(b.traces.values()))
    MlflowClient(tracking_uri=b.uri).set_trace_tag(tid, "ario.prediction_tx", "not a tx id!")
    out = tmp_path / "bad.zip"
    with pytest.raises(BundleWriteError) as err:
        export_mlflow(b.uri, "models:/fraud/1", out, created_at=WHEN)
    assert isinstance(err.value.args[0], ValueError) and "tx id" in str(err.value.args[0])
    assert list(tmp_path.iterdir()) == []


def test_ario_listing_keeps_pathlib_order_and_skips_links(tmp_path):
    import os
    from pathlib import Path

    from verifier.sources.mlflow_runfiles import copy_tree, files_under, remove_tree

    src = tmp_path / "src"
    for rel in ("a/b.json", "a-c.json", "a.b/x/y.bin", "A/z", "b", "predictions/p-1/proof.json",
                "predictions/p/payload.json", ".hidden"):
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_bytes(rel.encode())
    os.symlink(src / "b", src / "link-to-file")
    os.symlink(src / "a", src / "link-to-dir")
    old = [p.relative_to(src).as_posix() for p in sorted(src.rglob("*"))
           if p.is_file() and not p.is_symlink()]
    assert files_under(str(src)) == old and "a-c.json" in old and "link-to-file" not in old
    dst = tmp_path / "dst"
    copy_tree(str(src), str(dst))  # links followed, as MLflow's copy does
    assert (dst / "link-to-file").read_bytes() == b"b" and (dst / "link-to-dir/b.json").is_file()
    assert not any(p.is_symlink() for p in dst.rglob("*"))
    assert Path(dst, "a.b/x/y.bin").read_bytes() == b"a.b/x/y.bin"
    remove_tree(str(src))  # the links go, not what they point to
    assert not src.exists() and (dst / "a/b.json").is_file()
    os.symlink(dst / "a", tmp_path / "outside")
    remove_tree(str(tmp_path / "outside"))  # a link given as root: only the link goes
    assert (dst / "a/b.json").is_file() and not (tmp_path / "outside").exists()

"""MLflow reader on real sqlite and file stores written in the plugin's layout."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import httpx
import pytest
from sources_mlstore import build_in_child, h

from verifier.core.jcs import canonical
from verifier.sources.bundle import read_bundle, write_bundle
from verifier.sources.errors import MlflowUnavailable
from verifier.sources.gateway import GatewayClient
from verifier.sources.mlflow_reader import parse_target, read_mlflow
from verifier.sources.model import FetchStatus


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    base = tmp_path_factory.mktemp("mlstores")
    specs = [("sqlite", base / "sq", "full"), ("file", base / "fs", "full"),
             ("file", base / "legacy", "legacy"), ("file", base / "mut", "noitems"),
             ("file", base / "logged", "logged")]
    built = build_in_child(specs)
    return dict(zip(["sqlite", "file", "legacy", "mut", "logged"], built))


def by_tx(col):
    return {r.tx_id: r for r in col.records if r.tx_id}


def test_parse_target():
    assert parse_target("models:/fraud/3").version == "3"
    assert parse_target("models:/a/b/7").name == "a/b"
    assert parse_target("models:/fraud@champion").version == "@champion"
    assert parse_target("runs:/abc123").run_id == "abc123"
    assert parse_target("traces:/tr-1").trace_id == "tr-1"
    for bad in ("models:/fraud", "models:/fraud/latest", "runs:/", "runs:/../x", "x:/1", ""):
        with pytest.raises(ValueError):
            parse_target(bad)


def test_missing_store_is_not_created(tmp_path):
    db = tmp_path / "nope.db"
    with pytest.raises(MlflowUnavailable):
        read_mlflow(f"sqlite:///{db}", "runs:/abc")
    assert not db.exists()
    with pytest.raises(MlflowUnavailable):
        read_mlflow((tmp_path / "no-mlruns").as_uri(), "runs:/abc")


@pytest.mark.parametrize("kind", ["sqlite", "file"])
def test_model_lineage(stores, kind):
    b = stores[kind]
    col = read_mlflow(b.uri, "models:/fraud/1")
    assert col.target == "models:/fraud/1"
    recs = by_tx(col)
    assert set(recs) == set(b.tx.values())
    types = sorted(r.hints["event_type"] for r in col.records)
    assert types == sorted(["training_complete"] * 2 + ["dataset", "model_registered"]
                           + ["stage_transition"] * 2 + ["prediction"] * 3)
    assert all(r.fetch is None for r in col.records)  # no gateway given

    tr = recs[b.tx["training"]]
    # with a data item at hand, its data (the uploaded JCS bytes) beats the indented proof.json
    assert tr.envelope == canonical(b.envelopes[tr.tx_id])
    item_origin = f"mlflow-artifact:{b.run_id}/ario/dataitem/{tr.tx_id}.bin"
    assert tr.envelope_origin == f"dataitem:{item_origin}"
    assert tr.hints["data_item_origin"] == item_origin
    assert tr.hints["local_envelope_origin"] == f"mlflow-artifact:{b.run_id}/ario/proof.json"
    assert tr.payload == b.payloads[tr.tx_id]
    assert tr.payload_origin == f"mlflow-artifact:{b.run_id}/ario/payload.json"
    assert tr.data_item == b.items[tr.tx_id]
    assert tr.receipt == {"id": tr.tx_id, "timestamp": 1}
    assert tr.hints["tx_source"] == "tag:ario.training_tx"
    assert tr.hints["payload_hash"] == h(tr.payload)
    s = tr.surface
    assert s["run_id"] == b.run_id and s["params"] == {"lr": "0.1"}
    assert s["metrics"]["acc"] == 0.91234567
    assert s["tags"]["mlflow.source.name"] == "train.py"
    assert s["dataset_inputs"] == [{"name": "train", "digest": "d1g3st",
                                    "source": '{"uri": "train.csv"}', "source_type": "local",
                                    "schema": s["dataset_inputs"][0]["schema"],
                                    "context": "training"}]
    assert "amount" in s["dataset_inputs"][0]["schema"]
    assert s["artifact_path"] == "model" and s["artifact_checksums"] == b.model_files
    assert col.model_files[b.run_id] == b.model_files  # registered_model_meta excluded

    t0 = recs[b.tx["training0"]]  # found by following previous_hash
    assert t0.hints["run_id"] == b.prev_run_id
    assert json.loads(tr.envelope)["previous_hash"] == h(t0.payload)

    ds = recs[b.tx["dataset"]]
    assert ds.payload is None and ds.data_item == b.items[ds.tx_id]
    assert ds.envelope == canonical(b.envelopes[ds.tx_id])  # no proof artifact, item only
    assert ds.surface["name"] == "train" and ds.surface["digest"] == "d1g3st"
    assert ds.surface["source_type"] == "local" and "amount" in ds.surface["schema"]

    reg = recs[b.tx["registration"]]
    assert reg.payload == b.payloads[reg.tx_id]
    assert json.loads(reg.envelope) == b.envelopes[reg.tx_id]  # plugin layout: proof.json only
    assert reg.envelope_origin == f"mlflow-artifact:{b.run_id}/ario/registration_proof.json"
    assert reg.receipt == {"id": reg.tx_id}
    assert reg.surface["model_name"] == "fraud" and reg.surface["model_version"] == "1"
    assert reg.surface["source"] == f"runs:/{b.run_id}/model"
    assert reg.surface["artifact_checksums"] == b.model_files
    assert reg.surface["run_tags"]["ario.training_tx"] == b.tx["training"]
    assert reg.surface["tags"]["ario.registration_tx"] == reg.tx_id

    p0, p1 = recs[b.tx["promotion0"]], recs[b.tx["promotion1"]]
    assert p0.hints["tx_source"] == "dataitem:Event-Id"
    assert p1.hints["tx_source"] == "tag:ario.promotion_tx"
    assert p0.payload == b.payloads[p0.tx_id] and p1.payload == b.payloads[p1.tx_id]

    for i in range(3):
        pr = recs[b.tx[f"prediction{i}"]]
        did = pr.hints["decision_id"]
        assert pr.surface["trace_id"] == b.traces[did]
        assert pr.surface["trace_tags"]["ario.payload_json"].encode() == b.payloads[pr.tx_id]
        assert pr.hints["tx_source"] == "trace-tag:ario.prediction_tx"
        if i < 2:
            assert pr.payload == b.payloads[pr.tx_id]
        else:
            assert pr.payload is None and pr.envelope is None
    missing = [d for d, t in b.traces.items() if recs[b.tx["prediction2"]].hints["decision_id"] == d]
    assert col.gaps == [(f"prediction {missing[0]}",
                         f"payload artifact ario/predictions/{missing[0]}/payload.json is missing")]


def test_run_target(stores):
    b = stores["file"]
    col = read_mlflow(b.uri, f"runs:/{b.run_id}")
    assert set(by_tx(col)) == {b.tx["training"], b.tx["dataset"], b.tx["training0"]}
    assert set(col.model_files) == {b.run_id, b.prev_run_id}


def test_trace_target(stores):
    b = stores["file"]
    col = read_mlflow(b.uri, f"traces:/{b.traces[next(iter(b.traces))]}")
    preds = [r for r in col.records if r.hints["event_type"] == "prediction"]
    assert len(preds) == 1 and preds[0].tx_id == b.tx["prediction0"]
    assert {b.tx["training"], b.tx["registration"], b.tx["promotion1"]} <= set(by_tx(col))


def test_gateway_bytes_preferred(stores, tmp_path):
    from verifier.gateway.server import GatewayServer

    b = stores["file"]
    with GatewayServer("127.0.0.1", 0, str(tmp_path / "gw.sqlite3")) as gw:
        gw.start()
        for tx, raw in b.items.items():
            r = httpx.post(f"{gw.url}/tx/solana", content=raw,
                           headers={"Content-Type": "application/octet-stream"})
            assert r.status_code == 200 and r.json()["id"] == tx
        with GatewayClient([gw.url], retries=0) as client:
            col = read_mlflow(b.uri, "models:/fraud/1", gateway=client)
    recs = by_tx(col)
    tr = recs[b.tx["training"]]
    assert tr.fetch.status is FetchStatus.OK
    assert tr.envelope == canonical(b.envelopes[tr.tx_id])  # the bytes on chain
    assert tr.envelope_origin == f"gateway:{gw.url}"
    assert tr.hints["local_envelope_origin"].endswith("/ario/proof.json")
    reg = recs[b.tx["registration"]]  # never uploaded
    assert reg.fetch.status is FetchStatus.NOT_FOUND
    assert reg.envelope_origin.startswith("mlflow-artifact:")
    assert reg.data_item is None


def test_offline_gateway_marks_records_offline(stores):
    b = stores["file"]
    col = read_mlflow(b.uri, f"runs:/{b.run_id}", gateway=GatewayClient([], offline=True))
    assert {r.fetch.status for r in col.records} == {FetchStatus.OFFLINE}
    assert all(r.envelope_origin.startswith(("mlflow-artifact:", "dataitem:"))
               for r in col.records)


def test_bundle_round_trip_from_store(stores, tmp_path):
    b = stores["sqlite"]
    col = read_mlflow(b.uri, "models:/fraud/1")
    out = write_bundle(col, tmp_path / "audit.zip", created_at="2026-11-26T00:00:00Z")
    back = read_bundle(out.path)
    assert back.model_files == col.model_files and back.gaps == col.gaps
    a, z = by_tx(col), by_tx(back)
    assert set(a) == set(z)
    for tx, r in a.items():
        assert (z[tx].envelope, z[tx].payload, z[tx].data_item) == (r.envelope, r.payload, r.data_item)
        assert z[tx].surface == r.surface and z[tx].receipt == r.receipt
        assert z[tx].hints["exported_envelope_origin" if r.envelope else "event_type"]


def test_legacy_010_layout(stores, tmp_path):
    b = stores["legacy"]
    col = read_mlflow(b.uri, f"runs:/{b.run_id}")
    (tr,) = col.records
    assert tr.tx_id == b.tx["training"] and tr.hints["tx_source"] == "proof:_tx_id"
    env = json.loads(tr.envelope)
    assert "spec_version" not in env and env["_tx_id"] == tr.tx_id
    assert tr.surface["metrics"] == {"score": "NaN"} and tr.surface["dataset_inputs"] == []
    assert tr.surface["artifact_checksums"] is None and "artifact_error" in tr.surface
    write_bundle(col, tmp_path / "legacy.zip")  # surfaces stay strict JSON
    tid = b.traces["dec-1"]
    col = read_mlflow(b.uri, f"traces:/{tid}")
    (pr,) = col.records
    assert pr.tx_id == b.tx["prediction"] and pr.hints["tx_source"] == "trace-tag:ario.arweave_tx"
    assert pr.surface == {"trace_id": tid, "trace_tags": pr.surface["trace_tags"]}
    assert any("could not be resolved" in why for _, why in col.gaps)


def test_overwritten_registration_and_missing_pieces(stores):
    from mlflow import MlflowClient

    b = stores["mut"]
    c = MlflowClient(tracking_uri=b.uri, registry_uri=b.uri)
    # a second registration of the same run overwrites the fixed-name artifacts
    mv2 = c.create_model_version("fraud", f"runs:/{b.run_id}/model", run_id=b.run_id)
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "registration_payload.json").write_bytes(
            canonical({"event_type": "model_registered", "model_name": "fraud",
                       "model_version": str(mv2.version)}))
        c.log_artifacts(b.run_id, tmp, "ario")
    c.set_tag(b.run_id, "ario.dataset_anchor_tx.holdout", "H" * 43)
    col = read_mlflow(b.uri, "models:/fraud/1")
    reg = by_tx(col)[b.tx["registration"]]
    assert reg.payload is None and reg.envelope is None
    gaps = dict(col.gaps)
    assert "belong to another model version" in gaps["registration fraud/1"]
    assert "no dataset input named 'holdout'" in gaps["dataset holdout"]
    assert by_tx(col)["H" * 43].surface is None
    col2 = read_mlflow(b.uri, f"models:/fraud/{mv2.version}")
    assert any("not anchored" in why for what, why in col2.gaps if what.startswith("registration"))
    col3 = read_mlflow(b.uri, "models:/fraud/99")
    assert col3.records == [] and col3.gaps[0][0] == "model version fraud/99"


def test_mlflow3_logged_model_files(stores):
    b = stores["logged"]
    col = read_mlflow(b.uri, f"runs:/{b.run_id}")
    files = col.model_files[b.run_id]
    assert "MLmodel" in files and "python_model.pkl" in files
    assert not any(k.endswith("registered_model_meta") for k in files)
    assert all("\\" not in k and not k.startswith("/") for k in files)
    assert col.gaps == [(f"training run {b.run_id}",
                         "not anchored: no ario.training_tx tag and no ario/proof.json")]
    col = read_mlflow(b.uri, "models:/echo/1")
    (reg,) = [r for r in col.records if r.hints["event_type"] == "model_registered"]
    assert reg.surface["source"].startswith("models:/m-")  # MLflow 3 logged-model source
    assert reg.surface["artifact_path"] == "clf"
    assert reg.surface["artifact_checksums"] == files

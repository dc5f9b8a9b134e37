"""End to end on a real sqlite MLflow store and the local gateway on loopback: training
run with datasets, registration, promotion, verified predictions, the publisher pattern.

Every envelope verifies in verifier.core and in ar-io-proof, every data item verifies and
binds its tx id to JCS(envelope), and each event's payload bytes equal bytes built by hand
from the documented ar-io-mlflow 0.3.0 schema and the MLflow state."""

from __future__ import annotations

import json
from pathlib import Path

import ario_proof
import httpx
import mlflow
import pytest
import rfc8785

import anchor_helpers as AH
from verifier.anchor import mlflow_integration as mi
from verifier.core.ans104 import verify_data_item
from verifier.core.envelope import verify_envelope_bytes
from verifier.core.reasons import Status
from verifier.gateway.server import GatewayServer


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("anchor-sqlite")
    with pytest.MonkeyPatch.context() as mp, AH.mlflow_store(mp, root / "store") as (uri, exp):
        gw = GatewayServer(db_path=str(root / "gateway.db")).start()
        try:
            an = AH.anchorer_for(root / "home", gw.url)
            client = mlflow.tracking.MlflowClient(uri)
            train, val = AH.numpy_dataset("train"), AH.numpy_dataset("val", 2)
            with mlflow.start_run(experiment_id=exp) as run:  # the in-process integration point
                mlflow.log_params({"lr": "0.1", "depth": "3"})
                mlflow.log_metrics({"acc": 0.123456789, "loss": 1.0 / 3.0})
                mlflow.log_input(train, context="training")
                mlflow.log_input(val, context="validation")
                mlflow.pyfunc.log_model(name="model", python_model=AH.SumModel(), pip_requirements=["mlflow"])
                anchored = mi.anchor_run(anchorer=an)
            ac = mi.AnchoringClient(uri, anchorer=an)
            ac.create_registered_model("fraud")
            mv = ac.create_model_version("fraud", f"runs:/{run.info.run_id}/model",
                                         run_id=run.info.run_id, metadata={"team": "risk"})
            ac.transition_model_version_stage("fraud", mv.version, "Staging")
            assert ac.wait(60)
            yield {"uri": uri, "exp": exp, "gw": gw, "an": an, "client": client, "ac": ac,
                   "run_id": run.info.run_id, "anchored": anchored, "mv": mv, "root": root,
                   "train": train, "mp": mp}
        finally:
            gw.stop()


def _check_event(world: dict, run_id: str, proof_path: str, payload_path: str | None,
                 tx_id: str, tmp: Path, payload: bytes | None = None) -> dict:
    """proof.json verifies in both kernels; the data item binds tx id and envelope bytes."""
    client = world["client"]
    env = json.loads(AH.read_artifact(client, run_id, proof_path, tmp / "p"))
    if payload is None and payload_path:
        payload = AH.read_artifact(client, run_id, payload_path, tmp / "b")
    data = rfc8785.dumps(env)
    assert verify_envelope_bytes(data, payload).status is Status.VERIFIED
    assert ario_proof.verify_envelope(env, payload_bytes=payload).ok
    assert env["public_key"] == AH.PUBLIC_KEY and env["signed_at"].endswith("Z")
    item = AH.read_artifact(client, run_id, f"ario/dataitem/{tx_id}.bin", tmp / "d")
    assert verify_data_item(item, tx_id, data).status is Status.VERIFIED
    receipt = json.loads(AH.read_artifact(client, run_id, f"ario/receipts/{tx_id}.json", tmp / "r"))
    assert receipt["id"] == tx_id
    assert httpx.get(f"{world['gw'].url}/raw/{tx_id}").content == data
    return env


def test_training_run_tags_artifacts_and_bytes(world, tmp_path):
    client, run_id, res = world["client"], world["run_id"], world["anchored"]
    assert res.status == "anchored" and res.artifact_status == "hashed"
    tags = client.get_run(run_id).data.tags
    training = res.training
    assert tags["ario.verify_status"] == "anchored"
    assert tags["ario.public_key"] == AH.PUBLIC_KEY
    assert tags["ario.training_tx"] == training.tx_id
    assert tags["ario.arweave_url"] == f"{world['gw'].url}/{training.tx_id}"
    assert tags["ario.wallet_mode"] == "persistent" and tags["ario.wallet_type"] == "solana"
    expected = AH.training_bytes_by_hand(client, run_id)
    payload = AH.read_artifact(client, run_id, "ario/payload.json", tmp_path / "pl")
    assert payload == expected
    assert tags["ario.payload_hash"] == AH.H(expected)
    checks, _ = AH.model_files_by_hand(client, run_id)
    assert tags["ario.artifact_hash"] == AH.H(rfc8785.dumps(checks))
    env = _check_event(world, run_id, "ario/proof.json", None, training.tx_id, tmp_path, payload)
    assert env["previous_hash"] == "GENESIS" and env["event_type"] == "training_complete"
    assert env["subject"] == {"type": "mlflow_run", "run_id": run_id}
    proof_text = AH.read_artifact(client, run_id, "ario/proof.json", tmp_path / "pj")
    assert proof_text == json.dumps(env, indent=2).encode()  # the plugin's indent=2 form
    receipt = json.loads(AH.read_artifact(client, run_id, "ario/receipt.json", tmp_path / "rc"))
    assert receipt["id"] == training.tx_id


def test_datasets_are_anchored_first_as_genesis_events(world, tmp_path):
    client, run_id, res = world["client"], world["run_id"], world["anchored"]
    tags = client.get_run(run_id).data.tags
    names = [d.extra["dataset_name"] for d in res.datasets]
    assert sorted(names) == ["train", "val"]
    run = client.get_run(run_id)
    by_hand = {d["name"]: d for d in AH.dataset_inputs_by_hand(run)}
    for d in res.datasets:
        name = d.extra["dataset_name"]
        assert d.anchored and tags[f"ario.dataset_anchor_tx.{name}"] == d.tx_id
        assert d.envelope["previous_hash"] == "GENESIS"
        assert d.envelope["signed_at"] <= res.training.envelope["signed_at"]
        entry = dict(by_hand[name])
        entry.pop("context")
        expected = rfc8785.dumps({"event_type": "dataset", **entry})
        assert d.payload.data == expected and d.envelope["payload_hash"] == AH.H(expected)
        data = rfc8785.dumps(d.envelope)
        assert ario_proof.verify_envelope(d.envelope, payload_bytes=expected).ok
        assert verify_envelope_bytes(data, expected).status is Status.VERIFIED
        item = AH.read_artifact(client, run_id, f"ario/dataitem/{d.tx_id}.bin", tmp_path / name)
        assert verify_data_item(item, d.tx_id, data).status is Status.VERIFIED


def test_publisher_pattern_anchors_a_dataset_without_a_run(world):
    res = mi.anchor_dataset(world["train"], anchorer=world["an"])
    assert res.anchored and len(res.tx_id) == 43
    in_run = next(d for d in world["anchored"].datasets if d.extra["dataset_name"] == "train")
    assert res.payload.data == in_run.payload.data  # same identity, same committed bytes
    body = httpx.get(f"{world['gw'].url}/raw/{res.tx_id}").content
    assert verify_envelope_bytes(body, res.payload.data).status is Status.VERIFIED


def test_registration_and_promotion(world, tmp_path):
    client, ac, run_id, mv = world["client"], world["ac"], world["run_id"], world["mv"]
    reg = ac.status(("registration", "fraud", mv.version))
    promo = ac.status(ac.last_handle)
    assert reg["status"] == "anchored" and reg["done"] and promo["status"] == "anchored"
    tags = client.get_model_version("fraud", mv.version).tags
    assert tags["ario.registration_tx"] == reg["tx_id"]
    assert tags["ario.verify_status"] == "anchored" and tags["ario.artifact_verified"] == "true"
    assert tags["ario.promotion_tx"] == promo["tx_id"]
    run_tags = client.get_run(run_id).data.tags
    expected = rfc8785.dumps({
        "event_type": "model_registered", "model_name": "fraud", "model_version": "1",
        "source_run_id": run_id, "source": f"runs:/{run_id}/model", "artifact_verified": True,
        "artifact_hash": run_tags["ario.artifact_hash"], "team": "risk"})
    payload = AH.read_artifact(client, run_id, "ario/registration_payload.json", tmp_path / "a")
    assert payload == expected and tags["ario.payload_hash"] == AH.H(expected)
    env = _check_event(world, run_id, "ario/registration_proof.json", None, reg["tx_id"],
                       tmp_path, payload)
    assert env["previous_hash"] == run_tags["ario.training_tx"]
    assert env["subject"] == {"type": "mlflow_model_version", "name": "fraud", "version": "1"}
    eid = promo["event_id"]
    p_expected = rfc8785.dumps({"event_type": "stage_transition", "model_name": "fraud",
                                "model_version": "1", "from_stage": "None", "to_stage": "Staging"})
    p_payload = AH.read_artifact(client, run_id, f"ario/promotions/{eid}/payload.json", tmp_path / "b")
    assert p_payload == p_expected and tags["ario.promotion_payload_hash"] == AH.H(p_expected)
    p_env = _check_event(world, run_id, f"ario/promotions/{eid}/proof.json", None,
                         promo["tx_id"], tmp_path, p_payload)
    assert p_env["previous_hash"] == reg["tx_id"]
    assert ac.status(("registration", "nope", "9"))["status"] == "unknown"


def test_verified_model_anchors_predictions_in_the_background(world, tmp_path):
    client, run_id = world["client"], world["run_id"]
    reg_tx = client.get_model_version("fraud", "1").tags["ario.registration_tx"]
    with mi.VerifiedModel("models:/fraud/1", anchorer=world["an"], tracking_uri=world["uri"]) as vm:
        assert vm.artifact_verified is True and vm.previous_hash == reg_tx
        first = vm.predict({"a": 1.0, "b": 2.0, "c": 3.5})
        assert first.prediction.tolist() == [6.5]  # returned before anchoring finished
        second = vm.predict([1.0, 2.0, 3.0], metadata={"service": "api"})
        assert vm.wait(60)
    for pred, features in ((first, {"a": 1.0, "b": 2.0, "c": 3.5}),
                           (second, {"features": [1.0, 2.0, 3.0]})):
        assert pred.proof_status == "anchored" and pred.tx_id
        rec = pred.record
        assert rec["input_hash"] == AH.H(rfc8785.dumps(features))
        expected = {
            "event_type": "prediction", "decision_id": pred.decision_id, "model_name": "fraud",
            "model_version": "1", "run_id": run_id, "model_uri": "models:/fraud/1",
            "input_hash": AH.H(rfc8785.dumps(features)),
            "output_hash": AH.H(rfc8785.dumps({"prediction": pred.prediction.tolist()})),
            "latency_ms": rec["latency_ms"], "artifact_verified": True,
            "mlflow_trace_id": pred.trace_id}
        if pred is second:
            expected["service"] = "api"
        base = f"ario/predictions/{pred.decision_id}/"
        payload = AH.read_artifact(client, run_id, base + "payload.json", tmp_path / pred.decision_id)
        assert payload == rfc8785.dumps(expected)
        assert rec["latency_ms"] == round(rec["latency_ms"], 2)
        env = _check_event(world, run_id, base + "proof.json", None, pred.tx_id,
                           tmp_path / ("e" + pred.decision_id), payload)
        assert env["previous_hash"] == reg_tx
        assert env["subject"] == {"type": "mlflow_prediction", "decision_id": pred.decision_id,
                                  "model_run_id": run_id, "trace_id": pred.trace_id}
        trace_tags = client.get_trace(pred.trace_id).info.tags
        assert trace_tags["ario.payload_json"].encode() == payload
        assert trace_tags["ario.prediction_tx"] == pred.tx_id
        assert trace_tags["ario.proof_status"] == "anchored"
        assert trace_tags["ario.decision_id"] == pred.decision_id


def test_tampered_model_is_refused_before_any_model_code_runs(world, tmp_path):
    client, exp, an = world["client"], world["exp"], world["an"]
    marker = tmp_path / "ran.txt"
    run_id = AH.train_run(exp, datasets=[(AH.numpy_dataset("t2"), "training")], marker=str(marker))
    assert mi.anchor_run(run_id, anchorer=an, tracking_uri=world["uri"]).status == "anchored"
    client.create_registered_model("tampered")
    client.create_model_version("tampered", f"runs:/{run_id}/model", run_id=run_id)
    with mi.VerifiedModel("models:/tampered/1", anchorer=an) as ok:  # untouched: loads
        assert ok.artifact_verified is True
    assert marker.exists()
    marker.unlink()
    _, model_dir = AH.model_files_by_hand(client, run_id)
    (model_dir / "conda.yaml").write_text((model_dir / "conda.yaml").read_text() + "\n# x")
    (model_dir / "extra.py").write_text("print('injected')")
    with pytest.raises(mi.ArtifactIntegrityError) as err:
        mi.VerifiedModel("models:/tampered/1", anchorer=an)
    assert err.value.changed == ["conda.yaml"] and err.value.added == ["extra.py"]
    assert "not loaded" in str(err.value)
    assert not marker.exists()  # load_context never ran


def test_unanchored_model_is_refused_when_an_anchor_is_required(world, tmp_path):
    client, exp = world["client"], world["exp"]
    run_id = AH.train_run(exp, datasets=[])
    client.create_registered_model("plain")
    client.create_model_version("plain", f"runs:/{run_id}/model", run_id=run_id)
    with pytest.raises(mi.ArtifactIntegrityError, match="never anchored"):
        mi.VerifiedModel("models:/plain/1", anchorer=world["an"], require_anchor=True)
    with mi.VerifiedModel("models:/plain/1", anchorer=world["an"]) as vm:  # plugin default
        assert vm.artifact_verified is None


def test_training_chain_follows_the_registered_model(world):
    client, exp, an, uri = world["client"], world["exp"], world["an"], world["uri"]
    ds = AH.numpy_dataset("chain")
    run_id = AH.train_run(exp, datasets=[(ds, "training")])
    with pytest.raises(ValueError, match="no logged dataset inputs"):
        mi.anchor_run(AH.train_run(exp, datasets=[]), anchorer=an, tracking_uri=uri)
    client.create_registered_model("chained")
    client.create_model_version("chained", f"runs:/{run_id}/model", run_id=run_id)
    first = mi.anchor_run(run_id, anchorer=an, tracking_uri=uri)
    assert first.registered_model == "chained"
    assert first.training.previous_hash == "GENESIS"
    head = client.get_registered_model("chained").tags["ario.last_training_hash"]
    assert head == first.training.envelope["payload_hash"]
    second = mi.anchor_run(run_id, anchorer=an, tracking_uri=uri)
    assert second.training.previous_hash == head


def test_one_byte_change_anywhere_in_a_stored_data_item_is_caught(world, tmp_path):
    client, run_id = world["client"], world["run_id"]
    tx = world["anchored"].training.tx_id
    item = AH.read_artifact(client, run_id, f"ario/dataitem/{tx}.bin", tmp_path)
    data = rfc8785.dumps(world["anchored"].training.envelope)
    assert verify_data_item(item, tx, data).status is Status.VERIFIED
    for i in range(len(item)):
        mutated = bytearray(item)
        mutated[i] ^= 0x01
        assert verify_data_item(bytes(mutated), tx, data).status is not Status.VERIFIED, i

"""Upload failures never lose an event: gateway down, 429 then success, 4xx, timeout — on a
real file store and the local gateway. Each leaves a signed, tagged, retryable record with
a precise status; `retry_pending` later uploads the very same data item and applies the
MLflow updates that were waiting."""

from __future__ import annotations

import json

import mlflow
import pytest
import rfc8785

import anchor_helpers as AH
from verifier.anchor import mlflow_integration as mi
from verifier.anchor.outbox import Outbox
from verifier.core.ans104 import data_item_id, verify_data_item
from verifier.core.envelope import verify_envelope_bytes
from verifier.core.reasons import Status
from verifier.gateway.server import Fault, GatewayServer


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("anchor-failures")
    with pytest.MonkeyPatch.context() as mp, AH.mlflow_store(mp, root / "store", "file") as (uri, exp):
        gw = GatewayServer(db_path=str(root / "gateway.db")).start()
        try:
            yield {"uri": uri, "exp": exp, "gw": gw, "root": root,
                   "client": mlflow.tracking.MlflowClient(uri)}
        finally:
            gw.stop()


def test_gateway_down_leaves_a_signed_run_that_retry_anchors(world, tmp_path):
    client, uri, home = world["client"], world["uri"], tmp_path / "home"
    run_id = AH.train_run(world["exp"], datasets=[(AH.numpy_dataset("d1"), "training")])
    down = AH.anchorer_for(home, AH.dead_url(), retries=1)
    res = mi.anchor_run(run_id, anchorer=down, tracking_uri=uri)
    assert res.status == "signed"
    training = res.training
    assert training.status == "signed" and training.error_kind == "unreachable"
    assert training.tx_id is None and training.attempts == 2
    tags = client.get_run(run_id).data.tags
    assert tags["ario.verify_status"] == "signed" and "ario.training_tx" not in tags
    assert "ario.dataset_anchor_tx.d1" not in tags
    payload = AH.read_artifact(client, run_id, "ario/payload.json", tmp_path / "p")
    env = json.loads(AH.read_artifact(client, run_id, "ario/proof.json", tmp_path / "e"))
    assert verify_envelope_bytes(rfc8785.dumps(env), payload).status is Status.VERIFIED
    item = AH.read_artifact(client, run_id, f"ario/dataitem/{training.item_id}.bin", tmp_path / "i")
    assert data_item_id(item) == training.item_id  # the item is kept in MLflow too
    outbox = Outbox(home / "outbox")
    pending = {r.event_id: r for r in outbox.pending()}
    assert set(pending) == {training.event_id, res.datasets[0].event_id}
    rec = pending[training.event_id]
    assert rec.data_item == item and rec.last_error_kind == "unreachable" and rec.attempts == 2

    up = AH.anchorer_for(home, world["gw"].url)  # same home: same wallet, same outbox
    done = mi.retry_pending(anchorer=up)
    assert sorted(r.status for r in done) == ["anchored", "anchored"]
    by_id = {r.event_id: r for r in done}
    assert by_id[training.event_id].tx_id == training.item_id  # the same signed item
    tags = client.get_run(run_id).data.tags
    assert tags["ario.verify_status"] == "anchored"
    assert tags["ario.training_tx"] == training.item_id
    assert tags["ario.arweave_url"] == f"{world['gw'].url}/{training.item_id}"
    assert tags["ario.dataset_anchor_tx.d1"] == by_id[res.datasets[0].event_id].tx_id
    receipt = json.loads(AH.read_artifact(client, run_id, "ario/receipt.json", tmp_path / "r"))
    assert receipt["id"] == training.item_id
    assert list(outbox.pending()) == []
    assert (home / "outbox" / "done" / f"{training.event_id}.json").is_file()
    data = rfc8785.dumps(env)
    assert verify_data_item(item, training.item_id, data).status is Status.VERIFIED
    assert mi.retry_pending(anchorer=up) == []


def test_rate_limited_then_accepted(world, tmp_path):
    gw = world["gw"]
    gw.inject_faults(Fault(status=429, retry_after="0"), Fault(status=503))
    an = AH.anchorer_for(tmp_path / "home", gw.url, retries=2)
    res = mi.anchor_dataset(AH.numpy_dataset("rl"), anchorer=an)
    assert res.anchored and res.attempts == 3 and res.tx_id == res.item_id
    assert list(an.outbox.pending()) == []


def test_client_error_is_not_retried_and_stays_pending(world, tmp_path):
    gw = world["gw"]
    gw.inject_faults(Fault(status=400))
    an = AH.anchorer_for(tmp_path / "home", gw.url, retries=3)
    res = mi.anchor_dataset(AH.numpy_dataset("bad"), anchorer=an)
    assert res.status == "signed" and res.error_kind == "http_4xx" and res.attempts == 1
    assert "400" in res.error and res.pending_path is not None and res.pending_path.is_file()
    assert [r.status for r in an.retry_pending()] == ["anchored"]


def test_timeout_is_reported_as_timeout(world, tmp_path):
    gw = world["gw"]
    gw.inject_faults(Fault(delay=1.5))
    an = AH.anchorer_for(tmp_path / "home", gw.url, retries=0, timeout=0.3)
    res = mi.anchor_dataset(AH.numpy_dataset("slow"), anchorer=an)
    assert res.status == "signed" and res.error_kind == "timeout"
    assert len(list(an.outbox.pending())) == 1


def test_offline_signs_and_defers_everything(world, tmp_path):
    an = AH.anchorer_for(tmp_path / "home", None)
    res = mi.anchor_dataset(AH.numpy_dataset("off"), anchorer=an)
    assert res.status == "signed" and res.error_kind == "offline" and res.data_item is not None
    an.upload_url = world["gw"].url
    assert [r.tx_id for r in an.retry_pending()] == [res.item_id]


def test_registration_and_prediction_survive_a_dead_gateway(world, tmp_path):
    client, uri, exp, home = world["client"], world["uri"], world["exp"], tmp_path / "home"
    run_id = AH.train_run(exp, datasets=[(AH.numpy_dataset("d2"), "training")])
    up = AH.anchorer_for(home, world["gw"].url)
    assert mi.anchor_run(run_id, anchorer=up, tracking_uri=uri).status == "anchored"
    down = AH.anchorer_for(home, AH.dead_url(), retries=0)
    with mi.AnchoringClient(uri, anchorer=down) as ac:
        ac.create_registered_model("flaky")
        mv = ac.create_model_version("flaky", f"runs:/{run_id}/model", run_id=run_id)
        assert ac.wait(60)
        st = ac.status(ac.last_handle)
    assert st["status"] == "signed" and st["error_kind"] == "unreachable" and st["done"]
    tags = client.get_model_version("flaky", mv.version).tags
    assert tags["ario.verify_status"] == "signed" and "ario.registration_tx" not in tags
    with mi.VerifiedModel("models:/flaky/1", anchorer=down, tracking_uri=uri) as vm:
        pred = vm.predict([1.0, 2.0, 3.0])
        assert pred.prediction.tolist() == [6.0]
        assert vm.wait(60)
    assert pred.proof_status == "signed" and pred.error_kind == "unreachable"
    mlflow.flush_trace_async_logging()
    assert client.get_trace(pred.trace_id).info.tags["ario.proof_status"] == "signed"
    done = {r.event_type: r for r in mi.retry_pending(anchorer=up)}
    assert set(done) == {"model_registered", "prediction"}
    assert all(r.anchored for r in done.values())
    tags = client.get_model_version("flaky", mv.version).tags
    assert tags["ario.registration_tx"] == done["model_registered"].tx_id
    assert tags["ario.verify_status"] == "anchored"
    trace = client.get_trace(pred.trace_id).info.tags
    assert trace["ario.prediction_tx"] == done["prediction"].tx_id
    assert trace["ario.proof_status"] == "anchored"


def test_retry_reports_mlflow_updates_it_could_not_apply(world, tmp_path):
    client, uri, home = world["client"], world["uri"], tmp_path / "home"
    run_id = AH.train_run(world["exp"], datasets=[], model=False)
    offline = AH.anchorer_for(home, None)
    res = mi.anchor_run(run_id, anchorer=offline, tracking_uri=uri, allow_empty_dataset_inputs=True)
    assert res.training.error_kind == "offline"
    client.delete_run(run_id)  # MLflow refuses tag writes on a deleted run
    done = mi.retry_pending(anchorer=AH.anchorer_for(home, world["gw"].url))
    assert len(done) == 1 and done[0].anchored and done[0].extra["apply_errors"]
    record = json.loads((home / "outbox" / "done" / f"{res.training.event_id}.json").read_text())
    assert record["tx_id"] == done[0].tx_id and record["apply_errors"]


def test_an_arweave_jwk_wallet_anchors_type_1_items(world, tmp_path):
    from verifier.anchor.dataitem import create_arweave_wallet
    from verifier.anchor.wallets import MODE_USER, resolve_wallet

    path = tmp_path / "arweave.json"
    create_arweave_wallet(path)
    wallet = resolve_wallet(path, environ={"ARIO_VERIFIER_HOME": str(tmp_path / "h")})
    assert wallet.mode == MODE_USER and wallet.wallet_type == "arweave" and wallet.token == "arweave"
    an = AH.anchorer_for(tmp_path / "home", world["gw"].url)
    an.wallet = wallet
    res = mi.anchor_dataset(AH.numpy_dataset("rsa"), anchorer=an)
    assert res.anchored
    result = verify_data_item(res.data_item, res.tx_id, res.envelope_bytes)
    assert result.status is Status.VERIFIED and res.data_item[:2] == b"\x01\x00"

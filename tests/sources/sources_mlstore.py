"""Populate real MLflow stores with ar-io-mlflow's documented layout, by hand.

Tags and artifacts follow formats.md §3 (plugin 0.1.0-0.3.0) plus our anchoring module's
``ario/dataitem/<tx>.bin`` and ``ario/receipts/<tx>.json``. Envelopes are really signed
(Ed25519 over JCS of the scope) and data items are real ANS-104 items, so the same store
serves audit tests too.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nacl.signing import SigningKey

from verifier.anchor.dataitem import Ed25519Signer, build_event_item
from verifier.core.ans104 import parse_data_item
from verifier.core.jcs import canonical
from verifier.core.mlflow_payloads import (
    artifact_hash, build_prediction_payload, build_promotion_payload,
    build_registration_payload, build_training_payload, dataset_input,
)

KEY = SigningKey(bytes.fromhex("0123456789abcdef" * 4))
ITEM_SIGNER = Ed25519Signer(bytes(range(32)))
SCHEMA = '{"mlflow_colspec": [{"name": "amount", "type": "double"}]}'


def fake_tx() -> str:
    return secrets.token_urlsafe(32)[:43]


def h(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def envelope(event_type: str, subject: dict, payload: bytes, prev: str, *,
             legacy: bool = False, event_id: str | None = None) -> dict[str, Any]:
    env: dict[str, Any] = {
        "event_id": event_id or str(uuid.uuid4()), "event_type": event_type,
        "subject": subject, "payload_hash": h(payload), "previous_hash": prev,
        "signed_at": "2026-11-26T08:00:00.000000+00:00",
        "public_key": bytes(KEY.verify_key).hex(),
    }
    if not legacy:
        env["spec_version"] = "ario.mlflow/v1"
    env["signature"] = KEY.sign(canonical(env)).signature.hex()
    return env


def proof_json(env: dict) -> bytes:
    return json.dumps(env, indent=2).encode()


@dataclass
class Built:
    uri: str
    run_id: str = ""
    prev_run_id: str = ""
    model: str = "fraud"
    tx: dict[str, str] = field(default_factory=dict)          # role -> tx id
    envelopes: dict[str, dict] = field(default_factory=dict)  # tx -> envelope
    payloads: dict[str, bytes] = field(default_factory=dict)  # tx or role -> payload bytes
    items: dict[str, bytes] = field(default_factory=dict)     # tx -> data item bytes
    traces: dict[str, str] = field(default_factory=dict)      # decision id -> trace id
    model_files: dict[str, str] = field(default_factory=dict)


class Writer:
    """Thin helper over MlflowClient for writing ario/ artifacts."""

    def __init__(self, uri: str) -> None:
        from mlflow import MlflowClient

        self.uri = uri
        self.c = MlflowClient(tracking_uri=uri, registry_uri=uri)

    def files(self, run_id: str, files: dict[str, bytes]) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            for rel, data in files.items():
                p = Path(tmp, rel)
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_bytes(data)
            self.c.log_artifacts(run_id, str(Path(tmp, "ario")), "ario")

    def item(self, env: dict) -> tuple[str, bytes]:
        raw = build_event_item(canonical(env), ITEM_SIGNER, event_type=env["event_type"],
                               event_id=env["event_id"], chain_prev=env["previous_hash"])
        return parse_data_item(raw).id, raw


def make_run(w: Writer, exp: str, *, lr: str, acc: float, model_bytes: bytes) -> tuple[str, dict]:
    from mlflow.entities import Dataset, DatasetInput, InputTag

    run = w.c.create_run(exp, tags={"mlflow.source.name": "train.py"})
    rid = run.info.run_id
    w.c.log_param(rid, "lr", lr)
    w.c.log_metric(rid, "acc", acc)
    w.c.log_metric(rid, "loss", 0.1234567891)
    ds = Dataset(name="train", digest="d1g3st", source_type="local",
                 source='{"uri": "train.csv"}', schema=SCHEMA)
    w.c.log_inputs(rid, datasets=[DatasetInput(ds, tags=[InputTag("mlflow.data.context", "training")])])
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "model", "sub").mkdir(parents=True)
        Path(tmp, "model", "MLmodel").write_bytes(b"flavors: {}\n")
        Path(tmp, "model", "sub", "weights.bin").write_bytes(model_bytes)
        Path(tmp, "model", "registered_model_meta").write_bytes(b"model_name: fraud\n")
        w.c.log_artifacts(rid, str(Path(tmp, "model")), "model")
    checks = {"MLmodel": h(b"flavors: {}\n"), "sub/weights.bin": h(model_bytes)}
    w.c.set_terminated(rid)
    return rid, checks


def anchor_training(w: Writer, b: Built, rid: str, checks: dict, prev: str, *,
                    with_items: bool) -> str:
    run = w.c.get_run(rid)
    di = [dataset_input(d.dataset.name, d.dataset.source, d.dataset.source_type,
                        d.dataset.digest, d.dataset.schema, "training")
          for d in run.inputs.dataset_inputs]
    payload = canonical(build_training_payload(
        run_id=rid, params=run.data.params, metrics=run.data.metrics, artifact_checksums=checks,
        source_name="train.py", git_commit="", dataset_inputs=di))
    env = envelope("training_complete", {"type": "mlflow_run", "run_id": rid}, payload, prev)
    files = {"ario/payload.json": payload, "ario/proof.json": proof_json(env)}
    if with_items:
        tx, raw = w.item(env)
        files[f"ario/dataitem/{tx}.bin"] = raw
        files[f"ario/receipts/{tx}.json"] = json.dumps({"id": tx, "timestamp": 1}).encode()
        b.items[tx] = raw
    else:
        tx = fake_tx()
        files["ario/receipt.json"] = json.dumps({"id": tx, "timestamp": 1}).encode()
    w.files(rid, files)
    for k, v in {"ario.training_tx": tx, "ario.payload_hash": h(payload),
                 "ario.artifact_hash": artifact_hash(checks), "ario.public_key":
                 bytes(KEY.verify_key).hex()}.items():
        w.c.set_tag(rid, k, v)
    b.envelopes[tx], b.payloads[tx] = env, payload
    return tx


def build_store(uri: str, *, with_items: bool = True, lose_tag: bool = False) -> Built:
    """Two training runs (chained), a dataset, registration, two promotions, predictions.
    `lose_tag`: prediction 0 is a real data item whose ``ario.prediction_tx`` trace tag was
    lost (as the plugin's background thread sometimes does); its local proof.json stays."""
    import mlflow

    w = Writer(uri)
    b = Built(uri)
    exp = w.c.create_experiment(f"exp-{uuid.uuid4().hex[:6]}")
    # an earlier training run of the same model (the chain predecessor)
    r0, c0 = make_run(w, exp, lr="0.2", acc=0.8, model_bytes=b"old weights")
    t0 = anchor_training(w, b, r0, c0, "GENESIS", with_items=with_items)
    b.prev_run_id, b.tx["training0"] = r0, t0
    rid, checks = make_run(w, exp, lr="0.1", acc=0.91234567, model_bytes=b"weights v1")
    b.run_id, b.model_files = rid, checks
    # dataset event (no artifacts; tag on the run)
    ds_payload = canonical({"event_type": "dataset", "name": "train", "source": '{"uri": "train.csv"}',
                            "source_type": "local", "digest": "d1g3st"})
    ds_env = envelope("dataset", {"type": "mlflow_dataset", "name": "train", "digest": "d1g3st"},
                      ds_payload, "GENESIS")
    ds_tx, ds_raw = w.item(ds_env) if with_items else (fake_tx(), b"")
    if with_items:
        w.files(rid, {f"ario/dataitem/{ds_tx}.bin": ds_raw})
        b.items[ds_tx] = ds_raw
    w.c.set_tag(rid, "ario.dataset_anchor_tx.train", ds_tx)
    b.tx["dataset"], b.envelopes[ds_tx] = ds_tx, ds_env
    b.tx["training"] = anchor_training(w, b, rid, checks, b.payloads[t0] and h(b.payloads[t0]),
                                       with_items=with_items)
    # registration
    w.c.create_registered_model(b.model)
    mv = w.c.create_model_version(b.model, f"runs:/{rid}/model", run_id=rid)
    reg_payload = canonical(build_registration_payload(
        model_name=b.model, model_version=str(mv.version), source_run_id=rid,
        source=f"runs:/{rid}/model", artifact_verified=True, artifact_hash=artifact_hash(checks)))
    reg_env = envelope("model_registered", {"type": "mlflow_model_version", "name": b.model,
                                            "version": str(mv.version)}, reg_payload, b.tx["training"])
    reg_tx = fake_tx()
    w.files(rid, {"ario/registration_payload.json": reg_payload,
                  "ario/registration_proof.json": proof_json(reg_env),
                  "ario/registration_receipt.json": json.dumps({"id": reg_tx}).encode()})
    w.c.set_model_version_tag(b.model, mv.version, "ario.registration_tx", reg_tx)
    w.c.set_model_version_tag(b.model, mv.version, "ario.payload_hash", h(reg_payload))
    b.tx["registration"], b.envelopes[reg_tx], b.payloads[reg_tx] = reg_tx, reg_env, reg_payload
    # two promotions: the first found through our data item, the latest through tags
    for i, (frm, to) in enumerate([("None", "Staging"), ("Staging", "Production")]):
        p = canonical(build_promotion_payload(model_name=b.model, model_version="1",
                                              from_stage=frm, to_stage=to))
        env = envelope("stage_transition", {"type": "mlflow_model_version", "name": b.model,
                                            "version": "1"}, p, reg_tx)
        base = f"ario/promotions/{env['event_id']}/"
        files = {base + "payload.json": p, base + "proof.json": proof_json(env)}
        if i == 0 and with_items:
            tx, raw = w.item(env)
            files[f"ario/dataitem/{tx}.bin"] = raw
            b.items[tx] = raw
        else:
            tx = fake_tx()
        w.files(rid, files)
        b.tx[f"promotion{i}"], b.envelopes[tx], b.payloads[tx] = tx, env, p
        w.c.set_model_version_tag(b.model, "1", "ario.promotion_payload_hash", h(p))
    w.c.set_model_version_tag(b.model, "1", "ario.promotion_tx", b.tx["promotion1"])
    # predictions: two with artifacts + trace, one trace-only
    mlflow.set_experiment(experiment_id=exp)
    for i in range(3):
        with mlflow.start_span("VerifiedModel.predict") as span:
            tid = span.trace_id
        mlflow.flush_trace_async_logging()
        did = str(uuid.uuid4())
        p = canonical(build_prediction_payload(
            decision_id=did, model_name=b.model, model_version="1", run_id=rid,
            model_uri="models:/fraud/1", input_hash="a" * 64, output_hash="b" * 64,
            latency_ms=1.234, artifact_verified=True, mlflow_trace_id=tid))
        env = envelope("prediction", {"type": "mlflow_prediction", "decision_id": did,
                                      "model_run_id": rid, "trace_id": tid}, p, reg_tx)
        lost = lose_tag and i == 0
        if lost:
            tx, raw = w.item(env)
            b.items[tx] = raw
        else:
            tx = fake_tx()
        if i < 2:
            w.files(rid, {f"ario/predictions/{did}/payload.json": p,
                          f"ario/predictions/{did}/proof.json": proof_json(env)})
        for k, v in {"ario.payload_json": p.decode(), "ario.decision_id": did,
                     "ario.model_name": b.model, "ario.model_version": "1",
                     "ario.payload_hash": h(p), "ario.proof_status": "anchored",
                     "ario.prediction_tx": tx}.items():
            if not (lost and k == "ario.prediction_tx"):
                w.c.set_trace_tag(tid, k, v)
        b.tx[f"prediction{i}"], b.envelopes[tx], b.payloads[tx] = tx, env, p
        b.traces[did] = tid
    return b


def build_legacy_store(uri: str) -> Built:
    """ar-io-mlflow 0.1.0: no spec_version, `_tx_id` in proof.json, no dataset_inputs,
    legacy trace tag ario.arweave_tx."""
    import mlflow

    w = Writer(uri)
    b = Built(uri)
    exp = w.c.create_experiment(f"legacy-{uuid.uuid4().hex[:6]}")
    run = w.c.create_run(exp)
    rid = run.info.run_id
    w.c.log_param(rid, "n", "5")
    w.c.log_metric(rid, "score", float("nan"))
    payload = canonical({"event_type": "training_complete", "run_id": rid, "params": {"n": "5"},
                         "metrics": {}, "artifact_checksums": {}, "source_name": "",
                         "git_commit": ""})
    env = envelope("training_complete", {"type": "mlflow_run", "run_id": rid}, payload,
                   "GENESIS", legacy=True)
    tx = fake_tx()
    env_with_tx = dict(env, _tx_id=tx)
    w.files(rid, {"ario/payload.json": payload, "ario/proof.json": proof_json(env_with_tx)})
    w.c.set_tag(rid, "ario.payload_hash", h(payload))  # no ario.training_tx (0.1.0 signed-only)
    mlflow.set_experiment(experiment_id=exp)
    b.run_id, b.tx["training"], b.envelopes[tx], b.payloads[tx] = rid, tx, env, payload
    with mlflow.start_span("predict") as span:
        tid = span.trace_id
    mlflow.flush_trace_async_logging()
    ptx = fake_tx()
    w.c.set_trace_tag(tid, "ario.arweave_tx", ptx)
    w.c.set_trace_tag(tid, "ario.decision_id", "dec-1")
    b.tx["prediction"], b.traces["dec-1"] = ptx, tid
    return b


def build_logged_model_store(uri: str) -> Built:
    """MLflow 3: a pyfunc model logged as a first-class LoggedModel named "clf" (no
    mlflow.log-model.history tag; the run's artifacts do not list it), then registered."""
    import mlflow

    class Echo(mlflow.pyfunc.PythonModel):
        def predict(self, context, model_input):  # noqa: ARG002
            return model_input

    b = Built(uri, model="echo")
    exp = mlflow.create_experiment(f"logged-{uuid.uuid4().hex[:6]}")
    with mlflow.start_run(experiment_id=exp) as run:
        mlflow.pyfunc.log_model(name="clf", python_model=Echo())
    b.run_id = run.info.run_id
    mv = mlflow.register_model(f"runs:/{b.run_id}/clf", b.model)
    b.tx["registration"] = fake_tx()
    mlflow.MlflowClient().set_model_version_tag(b.model, mv.version, "ario.registration_tx",
                                                b.tx["registration"])
    return b


def store_uri(kind: str, dirpath: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{dirpath / 'mlflow.db'}"
    (dirpath / "mlruns").mkdir(parents=True, exist_ok=True)
    return (dirpath / "mlruns").as_uri()


def to_json(b: Built) -> str:
    return json.dumps({
        "uri": b.uri, "run_id": b.run_id, "prev_run_id": b.prev_run_id, "model": b.model,
        "tx": b.tx, "envelopes": b.envelopes, "traces": b.traces, "model_files": b.model_files,
        "payloads": {k: v.hex() for k, v in b.payloads.items()},
        "items": {k: v.hex() for k, v in b.items.items()},
    })


def from_json(text: str) -> Built:
    d = json.loads(text)
    d["payloads"] = {k: bytes.fromhex(v) for k, v in d["payloads"].items()}
    d["items"] = {k: bytes.fromhex(v) for k, v in d["items"].items()}
    return Built(**d)


def build_in_child(specs: list[tuple[str, Path, str]]) -> list[Built]:
    """Build stores (kind, directory, variant) in one child process, so MLflow's
    process-global tracing state (traces go to the global tracking URI) never touches
    the test process, and MLflow is imported once for all of them."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, MLFLOW_ALLOW_FILE_STORE="true",
               PYTHONPATH=os.pathsep.join([str(root), str(Path(__file__).parent)]))
    args = [f"{kind}|{d}|{variant}" for kind, d, variant in specs]
    proc = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True,
                          env=env, cwd=specs[0][1].parent, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-4000:])
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    return [from_json(ln) for ln in lines[-len(specs):]]


if __name__ == "__main__":
    import sys

    import mlflow

    for arg in sys.argv[1:]:
        kind, where, variant = arg.split("|")
        Path(where).mkdir(parents=True, exist_ok=True)
        uri = store_uri(kind, Path(where))
        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(uri)
        if variant == "legacy":
            built = build_legacy_store(uri)
        elif variant == "logged":
            built = build_logged_model_store(uri)
        else:
            built = build_store(uri, with_items=(variant in ("full", "losttag")),
                                lose_tag=(variant == "losttag"))
        print(to_json(built), flush=True)

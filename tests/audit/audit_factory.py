"""Hand-built, fully signed model lineages for audit tests (no MLflow needed).

Envelopes are signed here with PyNaCl over rfc8785 bytes; data items are real ANS-104
items (type 2); receipts are signed by a real local gateway's receipt key.
"""

from __future__ import annotations

import base64
import io
import zipfile
import copy
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import rfc8785
from nacl.signing import SigningKey

from verifier.anchor.dataitem import Ed25519Signer, build_event_item
from verifier.core import mlflow_profile as mp
from verifier.sources.model import Collection, EventRecord

SEED = bytes(range(32))
ITEM_SEED = bytes(range(32, 64))
RUN = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
MODEL = "iris-classifier"
SIGNED_AT = "2026-06-15T12:00:00.123456+00:00"
SCHEMA = json.dumps({"mlflow_colspec": [{"type": "double", "name": "sepal_length"}]})
MODEL_FILES = {
    "MLmodel": hashlib.sha256(b"artifact_path: model\n").hexdigest(),
    "python_model.pkl": hashlib.sha256(b"pickled model v1").hexdigest(),
    "requirements.txt": hashlib.sha256(b"numpy\n").hexdigest(),
}


def jcs(value: Any) -> bytes:
    return rfc8785.dumps(value)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sign(key: SigningKey, event_type: str, subject: dict, payload: bytes, previous: str,
         event_id: str, *, legacy: bool = False) -> bytes:
    env: dict[str, Any] = {
        "event_id": event_id, "event_type": event_type, "subject": subject,
        "payload_hash": sha(payload), "previous_hash": previous, "signed_at": SIGNED_AT,
        "public_key": key.verify_key.encode().hex(),
    }
    if not legacy:
        env["spec_version"] = "ario.mlflow/v1"
    env["signature"] = key.sign(jcs(env)).signature.hex()
    return jcs(env)


@dataclass
class Lineage:
    """A lineage and the keys that made it; `collection()` returns a fresh deep copy."""

    base: Collection
    key: SigningKey
    item_signer: Ed25519Signer
    receipt_signer: str | None
    tx: dict[str, str] = field(default_factory=dict)  # role -> tx id

    def collection(self) -> Collection:
        return copy.deepcopy(self.base)

    def record(self, col: Collection, role: str) -> EventRecord:
        return next(r for r in col.records if r.hints.get("role") == role)


def build_lineage(*, predictions: int = 2, gateway: Any = None, data_items: bool = True,
                  legacy: bool = False, seed: bytes = SEED) -> Lineage:
    """dataset -> training -> registration -> promotion + predictions, all anchored."""
    key = SigningKey(seed)
    item_signer = Ed25519Signer(ITEM_SEED)
    col = Collection(target=f"models:/{MODEL}/1")
    col.model_files[RUN] = dict(MODEL_FILES)
    lineage = Lineage(col, key, item_signer, gateway.signer_address if gateway else None)
    n = 0

    def add(role: str, event_type: str, subject: dict, payload: bytes, previous: str,
            surface: dict, store_payload: bool = True) -> str:
        nonlocal n
        n += 1
        event_id = f"00000000-0000-4000-8000-{n:012d}"
        envelope = sign(key, event_type, subject, payload, previous, event_id, legacy=legacy)
        if data_items:
            item = build_event_item(envelope, item_signer, event_type=event_type,
                                    event_id=event_id, chain_prev=previous,
                                    random_bytes=lambda k: bytes([n % 256]) * k)
            tx_id = b64u(hashlib.sha256(item[2:66]).digest())
        else:  # a tx-id-shaped name; nothing binds it to the bytes
            item, tx_id = None, b64u(hashlib.sha256(envelope).digest())
        rec = EventRecord(tx_id=tx_id, envelope=envelope, envelope_origin="test",
                          payload=payload if store_payload else None,
                          data_item=item, surface=surface,
                          hints={"role": role, "event_type": event_type})
        if gateway is not None:
            rec.receipt = gateway.sign_receipt(tx_id, b64u(hashlib.sha256(item_signer.owner).digest()))
        col.records.append(rec)
        lineage.tx[role] = tx_id
        return tx_id

    ds = {"name": "iris", "digest": "d1g3st00", "source": json.dumps({"uri": "file:///data/iris.csv"}),
          "source_type": "local", "schema": SCHEMA}
    ds_payload = jcs(mp.build_dataset_payload(**ds))
    add("dataset", mp.DATASET, {"type": "mlflow_dataset", "name": "iris", "digest": "d1g3st00"},
        ds_payload, "GENESIS", dict(ds), store_payload=False)

    params, metrics = {"lr": "0.1", "epochs": "20"}, {"accuracy": 0.9533333333, "loss": 0.125}
    tags = {"mlflow.source.name": "train.py", "mlflow.source.git.commit": "abc123"}
    inputs = [dict(ds, context="training")]
    training = mp.build_training_payload(
        run_id=RUN, params=params, metrics=metrics, artifact_checksums=MODEL_FILES,
        source_name="train.py", git_commit="abc123",
        dataset_inputs=[mp.dataset_input(i["name"], i["source"], i["source_type"], i["digest"],
                                         i["schema"], i["context"]) for i in inputs])
    training_tx = add("training", mp.TRAINING, {"type": "mlflow_run", "run_id": RUN}, jcs(training),
                      "GENESIS", {"run_id": RUN, "params": params, "metrics": metrics, "tags": tags,
                                  "dataset_inputs": inputs,
                                  "artifact_checksums": dict(MODEL_FILES)})

    ahash = mp.artifact_hash(MODEL_FILES)
    subject_mv = {"type": "mlflow_model_version", "name": MODEL, "version": "1"}
    reg = mp.build_registration_payload(model_name=MODEL, model_version="1", source_run_id=RUN,
                                        source=f"runs:/{RUN}/model", artifact_verified=True,
                                        artifact_hash=ahash)
    mv_surface = {"model_name": MODEL, "model_version": "1", "source": f"runs:/{RUN}/model",
                  "run_id": RUN, "tags": {}, "run_tags": {mp.TAG_ARTIFACT_HASH: ahash}}
    reg_tx = add("registration", mp.REGISTRATION, subject_mv, jcs(reg), training_tx, mv_surface)

    promo = mp.build_promotion_payload(model_name=MODEL, model_version="1", from_stage="None",
                                       to_stage="Production")
    add("promotion", mp.PROMOTION, subject_mv, jcs(promo), reg_tx,
        {"model_name": MODEL, "model_version": "1"})

    for i in range(predictions):
        decision = f"dec-{i:06d}"
        pred = mp.build_prediction_payload(
            decision_id=decision, model_name=MODEL, model_version="1", run_id=RUN,
            model_uri=f"models:/{MODEL}/1", input_hash=sha(b"in%d" % i), output_hash=sha(b"out%d" % i),
            latency_ms=1.25, artifact_verified=True, mlflow_trace_id=f"tr-{i:06d}")
        data = jcs(pred)
        add(f"prediction{i}", mp.PREDICTION,
            {"type": "mlflow_prediction", "decision_id": decision, "model_run_id": RUN,
             "trace_id": f"tr-{i:06d}"}, data, reg_tx,
            {"trace_id": f"tr-{i:06d}", "trace_tags": {mp.TAG_PAYLOAD_JSON: data.decode()}})
    return lineage


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def rewrite_bundle(data: bytes, edit) -> bytes:
    """The bundle with its manifest passed through `edit(manifest, members)`."""
    src = zipfile.ZipFile(io.BytesIO(data))
    members = {n: src.read(n) for n in src.namelist()}
    manifest = json.loads(members.pop("manifest.json"))
    edit(manifest, members)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("manifest.json", json.dumps(manifest))
        for name, body in sorted(members.items()):
            zf.writestr(name, body)
    return out.getvalue()

"""Sample ario.mlflow/v1 payloads and envelopes shaped exactly like ar-io-mlflow 0.3.0 emits
them (spec/mlflow-profile.md), for one small lineage:
dataset -> training_complete -> model_registered -> stage_transition, prediction."""

from __future__ import annotations

import json
from typing import Any

from .common import FAMILY_KEY, GENESIS, h, jcs, sign

RUN_ID = "4f1c2a9be0d34b7c8e21f0a9d3c6b5e7"
MODEL = "credit-scorer"
SIGNED_AT = "2026-06-15T12:00:00.123456+00:00"  # the plugin's isoformat(), no Z


def fake_tx(n: int) -> str:
    """A deterministic 43-character base64url Arweave-style tx id."""
    import base64

    return base64.urlsafe_b64encode(h(f"tx-{n}".encode()).encode()[:32]).decode().rstrip("=")


TX_DATASET, TX_TRAINING, TX_REGISTRATION, TX_PROMOTION, TX_PREDICTION = (fake_tx(i) for i in range(1, 6))
TX_TRAINING_2 = fake_tx(6)

SCHEMA = {"mlflow_colspec": [{"name": "income", "type": "double"}, {"name": "age", "type": "long"}]}
DATASET = {
    "name": "credit-train",
    "source": json.dumps({"uri": "s3://risk-data/credit/train.csv"}),
    "source_type": "s3",
    "digest": "a1b2c3d4",
    "schema_hash": h(jcs(SCHEMA)),
}


def payloads() -> dict[str, dict[str, Any]]:
    """One payload per event type."""
    training = {
        "event_type": "training_complete",
        "run_id": RUN_ID,
        "params": {"max_depth": "6", "learning_rate": "0.1"},
        "metrics": {"accuracy": 0.912346, "auc": 0.95},
        "artifact_checksums": {"MLmodel": h(b"mlmodel"), "model.pkl": h(b"weights"),
                               "conda.yaml": h(b"conda")},
        "source_name": "train.py",
        "git_commit": "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432",
        "dataset_inputs": [dict(DATASET, context="training")],
    }
    return {
        "dataset": {"event_type": "dataset", **DATASET},
        "training_complete": training,
        "model_registered": {
            "event_type": "model_registered",
            "model_name": MODEL,
            "model_version": "1",
            "source_run_id": RUN_ID,
            "source": f"runs:/{RUN_ID}/model",
            "artifact_verified": True,
            "artifact_hash": h(jcs(training["artifact_checksums"])),
        },
        "stage_transition": {
            "event_type": "stage_transition",
            "model_name": MODEL,
            "model_version": "1",
            "from_stage": "None",
            "to_stage": "Production",
        },
        "prediction": {
            "event_type": "prediction",
            "decision_id": "7d3f1e2a-4b5c-4d6e-8f70-1a2b3c4d5e6f",
            "model_name": MODEL,
            "model_version": "1",
            "run_id": RUN_ID,
            "model_uri": f"models:/{MODEL}/1",
            "input_hash": h(jcs({"features": [52000.0, 41]})),
            "output_hash": h(jcs({"prediction": [1]})),
            "latency_ms": 3.14,
            "artifact_verified": True,
        },
    }


SUBJECTS = {
    "dataset": {"type": "mlflow_dataset", "name": DATASET["name"], "digest": DATASET["digest"]},
    "training_complete": {"type": "mlflow_run", "run_id": RUN_ID},
    "model_registered": {"type": "mlflow_model_version", "name": MODEL, "version": "1"},
    "stage_transition": {"type": "mlflow_model_version", "name": MODEL, "version": "1"},
    "prediction": {"type": "mlflow_prediction", "decision_id": "7d3f1e2a-4b5c-4d6e-8f70-1a2b3c4d5e6f",
                   "model_run_id": RUN_ID},
}
PREVIOUS = {
    "dataset": GENESIS,
    "training_complete": GENESIS,
    "model_registered": TX_TRAINING,
    "stage_transition": TX_REGISTRATION,
    "prediction": TX_REGISTRATION,
}
EVENT_IDS = {
    "dataset": "0b6c1f0e-7a1d-4c3e-9b2a-000000000001",
    "training_complete": "0b6c1f0e-7a1d-4c3e-9b2a-000000000002",
    "model_registered": "0b6c1f0e-7a1d-4c3e-9b2a-000000000003",
    "stage_transition": "0b6c1f0e-7a1d-4c3e-9b2a-000000000004",
    "prediction": "0b6c1f0e-7a1d-4c3e-9b2a-000000000005",
}
TXS = {
    "dataset": TX_DATASET,
    "training_complete": TX_TRAINING,
    "model_registered": TX_REGISTRATION,
    "stage_transition": TX_PROMOTION,
    "prediction": TX_PREDICTION,
}


def envelope_fields(event_type: str, payload_bytes: bytes, *, spec_version: str | None = "ario.mlflow/v1",
                    previous: str | None = None) -> dict[str, Any]:
    """Unsigned envelope fields for one event, as the plugin lays them out."""
    fields: dict[str, Any] = {
        "event_id": EVENT_IDS[event_type],
        "event_type": event_type,
        "subject": SUBJECTS[event_type],
        "payload_hash": h(payload_bytes),
        "previous_hash": PREVIOUS[event_type] if previous is None else previous,
        "signed_at": SIGNED_AT,
    }
    if spec_version is not None:
        fields["spec_version"] = spec_version
    return fields


def lineage(key=FAMILY_KEY) -> list[tuple[str, dict[str, Any], bytes]]:
    """(tx_id, signed envelope, payload bytes) for the whole sample lineage."""
    out = []
    for event_type, payload in payloads().items():
        pb = jcs(payload)
        out.append((TXS[event_type], sign(envelope_fields(event_type, pb), key), pb))
    return out

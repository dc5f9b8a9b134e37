"""Payloads, subjects and chain links of the five ``ario.mlflow/v1`` event types.

Pure functions over plain values (no MLflow import): the integration modules read MLflow
state and pass it in. The produced ``payload_bytes = JCS(payload)`` equal what
ar-io-mlflow 0.3.0 writes for the same state (spec/anchoring.md §4 and
../shared/reference/formats.md §3.2-§3.4), with two deliberate differences documented in
spec/anchoring.md: artifact paths always use ``/`` and numpy values in a prediction input
are turned into plain JSON values (the plugin cannot hash them at all).

Caller metadata is merged after the structural keys and never replaces one; the
``include_tracking_uri`` control key is consumed, not committed.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from .envelopes import GENESIS, canonical, payload_hash_of

logger = logging.getLogger(__name__)

TRAINING = "training_complete"
DATASET = "dataset"
REGISTRATION = "model_registered"
PROMOTION = "stage_transition"
PREDICTION = "prediction"
EVENT_TYPES = (TRAINING, DATASET, REGISTRATION, PROMOTION, PREDICTION)

TAG_LAST_TRAINING_HASH = "ario.last_training_hash"
TAG_TRAINING_TX = "ario.training_tx"
TAG_REGISTRATION_TX = "ario.registration_tx"
TAG_ARTIFACT_HASH = "ario.artifact_hash"
TAG_DATASET_ANCHOR_TX_PREFIX = "ario.dataset_anchor_tx."
CONTEXT_TAG = "mlflow.data.context"
#: Files MLflow adds to a model directory when it is registered; never part of the hash.
REGISTRATION_BOOKKEEPING = frozenset({"registered_model_meta"})


@dataclass(frozen=True)
class Payload:
    """A payload dict, its exact committed bytes ``JCS(value)`` and ``H(bytes)``."""

    value: dict[str, Any]
    data: bytes
    hash: str

    @classmethod
    def of(cls, value: dict[str, Any]) -> "Payload":
        data = canonical(value)
        return cls(value, data, payload_hash_of(data))


# -- normalisation rules ------------------------------------------------------------------


def normalize_floats(obj: Any, precision: int = 6) -> Any:
    """Python ``round(x, precision)`` on every float, recursively; tuples become lists."""
    if isinstance(obj, float):
        return round(obj, precision)
    if isinstance(obj, dict):
        return {k: normalize_floats(v, precision) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [normalize_floats(v, precision) for v in obj]
    return obj


def artifact_hash(checksums: Mapping[str, str]) -> str | None:
    """``H(JCS(artifact_checksums))``, or None for an empty map (the plugin writes no tag)."""
    if not checksums:
        return None
    return payload_hash_of(canonical(dict(checksums)))


def schema_hash(schema: str | None) -> str:
    """``H(JCS(json.loads(schema)))``; ``H(utf-8 schema)`` if not JSON; ``""`` if none."""
    if not schema:
        return ""
    try:
        data = canonical(json.loads(schema))
    except (ValueError, TypeError, RecursionError):  # EnvelopeError is a ValueError
        data = schema.encode("utf-8")
    return payload_hash_of(data)


def dataset_input_entry(
    *, name: Any, source: Any, source_type: Any, digest: Any, schema: str | None, context: Any
) -> dict[str, Any]:
    """One ``dataset_inputs[i]`` element of a training payload."""
    return {
        "name": name, "source": source, "source_type": source_type, "digest": digest,
        "schema_hash": schema_hash(schema), "context": context,
    }


def sort_dataset_inputs(entries: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Order by ``(name, source, context, digest)``, None as ``""`` (stable)."""
    return sorted(entries, key=lambda d: (
        d.get("name") or "", d.get("source") or "", d.get("context") or "", d.get("digest") or "",
    ))


def merge_metadata(structural: dict[str, Any], metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    """Append caller metadata; a key that collides with a structural key is dropped."""
    out = dict(structural)
    for key, value in (metadata or {}).items():
        if key in out:
            logger.debug("metadata key %r collides with a structural field; ignored", key)
            continue
        out[key] = value
    return out


def combine_metadata(auto: Mapping[str, Any] | None, caller: Mapping[str, Any] | None) -> dict[str, Any]:
    """Auto-captured context (OTel ids) first, caller metadata wins on collision."""
    return {**(auto or {}), **(caller or {})}


def jsonable(value: Any) -> Any:
    """numpy arrays/scalars (anything with ``tolist``/``item``) to plain JSON values."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (str, bool, int, float)) or value is None:
        return value
    if hasattr(value, "tolist"):
        return jsonable(value.tolist())
    if hasattr(value, "item"):
        return value.item()
    return value


def input_hash(input_data: Any) -> str:
    """``H(JCS(input))`` for a dict, else ``H(JCS({"features": list(input)}))``."""
    if isinstance(input_data, dict):
        value: Any = input_data
    elif hasattr(input_data, "__iter__"):
        value = {"features": list(input_data)}
    else:
        value = {"features": input_data}
    return payload_hash_of(canonical(jsonable(value)))


def output_hash(prediction: Any) -> str:
    """``H(JCS({"prediction": prediction.tolist() or prediction}))`` (no rounding)."""
    pred = prediction.tolist() if hasattr(prediction, "tolist") else prediction
    return payload_hash_of(canonical({"prediction": jsonable(pred)}))


# -- payloads -----------------------------------------------------------------------------


def training_payload(
    *,
    run_id: str,
    params: Mapping[str, str],
    metrics: Mapping[str, float],
    artifact_checksums: Mapping[str, str],
    source_name: str,
    git_commit: str,
    dataset_inputs: list[dict[str, Any]],
    mlflow_trace_id: str | None = None,
    tracking_uri: str | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """``training_complete``; `metrics` are rounded here, `dataset_inputs` sorted here."""
    meta = dict(metadata or {})
    include_uri = bool(meta.pop("include_tracking_uri", False))
    payload: dict[str, Any] = {
        "event_type": TRAINING,
        "run_id": run_id,
        "params": dict(params),
        "metrics": normalize_floats(dict(metrics), 6),
        "artifact_checksums": dict(artifact_checksums),
        "source_name": source_name,
        "git_commit": git_commit,
        "dataset_inputs": sort_dataset_inputs(dataset_inputs),
    }
    if mlflow_trace_id:
        payload["mlflow_trace_id"] = mlflow_trace_id
    if include_uri and tracking_uri:
        payload["mlflow_tracking_uri"] = tracking_uri
    return merge_metadata(payload, meta)


def wants_tracking_uri(metadata: Mapping[str, Any] | None) -> bool:
    """The plugin's opt-in: ``metadata={"include_tracking_uri": True}``."""
    return bool(metadata and metadata.get("include_tracking_uri", False))


def dataset_payload(
    *, name: Any, source: Any, source_type: Any, digest: Any, schema: str | None
) -> dict[str, Any]:
    """``dataset``: identity fields and the schema fingerprint; no context, no metadata."""
    return {
        "event_type": DATASET, "name": name, "source": source, "source_type": source_type,
        "digest": digest, "schema_hash": schema_hash(schema),
    }


def registration_payload(
    *,
    model_name: str,
    model_version: str,
    source_run_id: str | None,
    source: str | None,
    artifact_verified: bool | None,
    artifact_hash: str | None,
    metadata: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """``model_registered``; `model_version` is a string."""
    return merge_metadata({
        "event_type": REGISTRATION, "model_name": model_name, "model_version": str(model_version),
        "source_run_id": source_run_id, "source": source,
        "artifact_verified": artifact_verified, "artifact_hash": artifact_hash,
    }, metadata)


def promotion_payload(
    *, model_name: str, model_version: str, from_stage: str, to_stage: str,
    metadata: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """``stage_transition``."""
    return merge_metadata({
        "event_type": PROMOTION, "model_name": model_name, "model_version": str(model_version),
        "from_stage": from_stage, "to_stage": to_stage,
    }, metadata)


def prediction_payload(
    *,
    decision_id: str,
    model_name: str,
    model_version: str,
    run_id: str,
    model_uri: str,
    input_hash: str,
    output_hash: str,
    latency_ms: float,
    artifact_verified: bool | None,
    mlflow_trace_id: str | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """``prediction``; latency is ``round(latency_ms, 2)``."""
    payload: dict[str, Any] = {
        "event_type": PREDICTION, "decision_id": decision_id, "model_name": model_name,
        "model_version": model_version, "run_id": run_id, "model_uri": model_uri,
        "input_hash": input_hash, "output_hash": output_hash,
        "latency_ms": round(float(latency_ms), 2), "artifact_verified": artifact_verified,
    }
    if mlflow_trace_id:
        payload["mlflow_trace_id"] = mlflow_trace_id
    return merge_metadata(payload, metadata)


# -- subjects -----------------------------------------------------------------------------


def run_subject(run_id: str, *, include_tracking_uri: bool = False,
                tracking_uri: str | None = None) -> dict[str, Any]:
    subject: dict[str, Any] = {"type": "mlflow_run", "run_id": run_id}
    if include_tracking_uri:
        subject["tracking_uri"] = tracking_uri
    return subject


def model_version_subject(name: str, version: str) -> dict[str, Any]:
    return {"type": "mlflow_model_version", "name": name, "version": str(version)}


def prediction_subject(decision_id: str, model_run_id: str, trace_id: str | None = None) -> dict[str, Any]:
    subject: dict[str, Any] = {"type": "mlflow_prediction", "decision_id": decision_id,
                               "model_run_id": model_run_id}
    if trace_id:
        subject["trace_id"] = trace_id
    return subject


def dataset_subject(name: Any, digest: Any) -> dict[str, Any]:
    return {"type": "mlflow_dataset", "name": name, "digest": digest}


# -- chain links (formats.md §3.4) --------------------------------------------------------


def _tag_or_genesis(tags: Mapping[str, str] | None, key: str) -> str:
    value = (tags or {}).get(key)
    return value if value else GENESIS


def training_previous_hash(registered_model_tags: Mapping[str, str] | None) -> str:
    """The registered model's ``ario.last_training_hash`` (a payload hash) or GENESIS."""
    return _tag_or_genesis(registered_model_tags, TAG_LAST_TRAINING_HASH)


def registration_previous_hash(source_run_tags: Mapping[str, str] | None) -> str:
    """The source run's ``ario.training_tx`` (an Arweave tx id) or GENESIS."""
    return _tag_or_genesis(source_run_tags, TAG_TRAINING_TX)


def promotion_previous_hash(model_version_tags: Mapping[str, str] | None) -> str:
    """The model version's ``ario.registration_tx`` or GENESIS."""
    return _tag_or_genesis(model_version_tags, TAG_REGISTRATION_TX)


def prediction_previous_hash(model_version_tags: Mapping[str, str] | None) -> str:
    """``ario.registration_tx`` read once when the model is loaded, or GENESIS."""
    return _tag_or_genesis(model_version_tags, TAG_REGISTRATION_TX)


def parse_runs_uri(source: str | None) -> tuple[str | None, str | None]:
    """``runs:/<run_id>/<path>`` to ``(run_id, path)``; Nones when not a runs:/ URI."""
    if not source or not source.startswith("runs:/"):
        return None, None
    rest = source[len("runs:/"):].lstrip("/")
    if "/" not in rest:
        return (rest or None), None
    run_id, path = rest.split("/", 1)
    return (run_id or None), (path or None)

"""Payloads, subjects and chain links of the five ``ario.mlflow/v1`` event types.

Pure functions over plain values (no MLflow import): the integration modules read MLflow
state and pass it in. The normalisation and hashing rules themselves live once, in
`verifier.core.mlflow_profile`; this module adds the producer's side (subjects, chain
links, committed bytes). The produced ``payload_bytes = JCS(payload)`` equal what
ar-io-mlflow 0.3.0 writes for the same state (spec/anchoring.md §4 and
../shared/reference/formats.md §3.2-§3.4), with two deliberate differences documented in
spec/anchoring.md: artifact paths always use ``/`` and numpy values in a prediction input
are turned into plain JSON values (the plugin cannot hash them at all).

Caller metadata is merged after the structural keys and never replaces one; the
``include_tracking_uri`` control key is consumed, not committed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from verifier.core import mlflow_profile as mp

from .envelopes import GENESIS, canonical, payload_hash_of

TRAINING = mp.TRAINING
DATASET = mp.DATASET
REGISTRATION = mp.REGISTRATION
PROMOTION = mp.PROMOTION
PREDICTION = mp.PREDICTION
EVENT_TYPES = mp.EVENT_TYPES

TAG_LAST_TRAINING_HASH = mp.TAG_LAST_TRAINING_HASH
TAG_TRAINING_TX = mp.TAG_TRAINING_TX
TAG_REGISTRATION_TX = mp.TAG_REGISTRATION_TX
TAG_ARTIFACT_HASH = mp.TAG_ARTIFACT_HASH
TAG_DATASET_ANCHOR_TX_PREFIX = mp.TAG_DATASET_ANCHOR_TX_PREFIX
CONTEXT_TAG = "mlflow.data.context"
#: Files MLflow adds to a model directory when it is registered; never part of the hash.
REGISTRATION_BOOKKEEPING = mp.EXCLUDED_ARTIFACT_FILES


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


# -- rules: delegated to the profile kernel (verifier.core.mlflow_profile) ---------------

normalize_floats = mp.normalize_floats
artifact_hash = mp.artifact_hash
schema_hash = mp.schema_hash
sort_dataset_inputs = mp.sort_dataset_inputs


class PayloadError(ValueError):
    """A value the producer rules cannot hash (e.g. a prediction that is not JSON data)."""


def dataset_input_entry(
    *, name: Any, source: Any, source_type: Any, digest: Any, schema: str | None, context: Any
) -> dict[str, Any]:
    """One ``dataset_inputs[i]`` element of a training payload."""
    return mp.dataset_input(name, source, source_type, digest, schema, context)


def merge_metadata(structural: dict[str, Any], metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    """Append caller metadata; a key that collides with a structural key is dropped."""
    return mp.merge_metadata(dict(structural), metadata)


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
    """``H(JCS(input))`` for a dict, else ``H(JCS({"features": list(input)}))``; numpy
    values are first turned into JSON values. `PayloadError` if still not JSON data."""
    digest = mp.input_hash(jsonable(input_data))
    if digest is None:
        raise PayloadError(f"prediction input of type {type(input_data).__name__} is not JSON data")
    return digest


def output_hash(prediction: Any) -> str:
    """``H(JCS({"prediction": prediction.tolist() or prediction}))`` (no rounding)."""
    pred = prediction.tolist() if hasattr(prediction, "tolist") else prediction
    digest = mp.output_hash(jsonable(pred))
    if digest is None:
        raise PayloadError(f"prediction of type {type(prediction).__name__} is not JSON data")
    return digest


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
    """``training_complete``; metrics rounded, inputs sorted; `tracking_uri` is committed
    only under the plugin's ``metadata={"include_tracking_uri": True}`` opt-in."""
    return mp.build_training_payload(
        run_id=run_id, params=params, metrics=metrics, artifact_checksums=artifact_checksums,
        source_name=source_name, git_commit=git_commit, dataset_inputs=dataset_inputs,
        mlflow_trace_id=mlflow_trace_id,
        tracking_uri=tracking_uri if wants_tracking_uri(metadata) else None, metadata=metadata)


def wants_tracking_uri(metadata: Mapping[str, Any] | None) -> bool:
    """The plugin's opt-in: ``metadata={"include_tracking_uri": True}``."""
    return bool(metadata and metadata.get("include_tracking_uri", False))


def dataset_payload(
    *, name: Any, source: Any, source_type: Any, digest: Any, schema: str | None
) -> dict[str, Any]:
    """``dataset``: identity fields and the schema fingerprint; no context, no metadata."""
    return mp.build_dataset_payload(name=name, source=source, source_type=source_type,
                                    digest=digest, schema=schema)


def registration_payload(
    *, model_name: str, model_version: str, source_run_id: str | None, source: str | None,
    artifact_verified: bool | None, artifact_hash: str | None,
    metadata: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """``model_registered``; `model_version` is a string."""
    return mp.build_registration_payload(
        model_name=model_name, model_version=model_version, source_run_id=source_run_id,
        source=source, artifact_verified=artifact_verified, artifact_hash=artifact_hash,
        metadata=metadata)


def promotion_payload(
    *, model_name: str, model_version: str, from_stage: str, to_stage: str,
    metadata: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """``stage_transition``."""
    return mp.build_promotion_payload(model_name=model_name, model_version=model_version,
                                      from_stage=from_stage, to_stage=to_stage, metadata=metadata)


def prediction_payload(
    *, decision_id: str, model_name: str, model_version: str, run_id: str, model_uri: str,
    input_hash: str, output_hash: str, latency_ms: float, artifact_verified: bool | None,
    mlflow_trace_id: str | None = None, metadata: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """``prediction``; latency is ``round(latency_ms, 2)``."""
    return mp.build_prediction_payload(
        decision_id=decision_id, model_name=model_name, model_version=model_version,
        run_id=run_id, model_uri=model_uri, input_hash=input_hash, output_hash=output_hash,
        latency_ms=float(latency_ms), artifact_verified=artifact_verified,
        mlflow_trace_id=mlflow_trace_id, metadata=metadata)


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

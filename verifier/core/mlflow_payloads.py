"""ario.mlflow/v1 payload construction and hashing rules (spec/mlflow-profile.md §3).

Mirrors, value for value, what ar-io-mlflow 0.1.0-0.3.0 computes, so that a payload can be
re-derived from live MLflow state and compared byte for byte. Re-exported by
`mlflow_profile`, which is the module other code imports. Hash helpers return None where
the producer itself could not have produced a value (non-canonicalizable input).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Iterable, Mapping

from .errors import Malformed
from .intake import text_nests_deeper
from .jcs import canonical
from .limits import MAX_CANONICAL_DEPTH
from .reasons import ReasonCode

_METRIC_PRECISION = 6
_LATENCY_PRECISION = 2


def normalize_floats(obj: Any, precision: int = _METRIC_PRECISION) -> Any:
    """Python ``round(x, precision)`` on every float, recursing into dicts, lists and
    tuples (tuples become lists); every other value is returned unchanged (bools too)."""
    if isinstance(obj, float):
        return round(obj, precision)
    if isinstance(obj, dict):
        return {k: normalize_floats(v, precision) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [normalize_floats(v, precision) for v in obj]
    return obj


def payload_bytes(payload: Any) -> bytes | None:
    """The committed bytes of a payload value: JCS, or None if not canonicalizable."""
    try:
        return canonical(payload)
    except Malformed:
        return None


def _h(value: Any) -> str | None:
    data = payload_bytes(value)
    return None if data is None else hashlib.sha256(data).hexdigest()


def artifact_hash(checksums: Mapping[str, str]) -> str | None:
    """``H(JCS(artifact_checksums))``: the run tag ``ario.artifact_hash``.

    None for an empty mapping: the producer writes no tag when it hashed no files.
    """
    if not isinstance(checksums, Mapping) or not checksums:
        return None
    return _h(dict(checksums))


def artifact_path_separator(checksums: Mapping[str, str]) -> str:
    """The path separator the producer's OS used for ``artifact_checksums`` keys
    (``os.path.relpath``): "\\" when some key holds one and none holds "/", else "/"."""
    keys = [k for k in checksums if isinstance(k, str)] if isinstance(checksums, Mapping) else []
    if any("\\" in k for k in keys) and not any("/" in k for k in keys):
        return "\\"
    return "/"


def artifact_verified(checksums: Mapping[str, str], expected: str | None) -> bool | None:
    """A registration's ``artifact_verified``: None unless both the current checksums
    (non-empty) and the run's ``ario.artifact_hash`` are known, else equality."""
    current = artifact_hash(checksums)
    if current is None or expected is None:
        return None
    return current == expected


def schema_hash(schema: str | None) -> str:
    """``schema_hash`` of an MLflow dataset schema string.

    "" for no schema; ``H(JCS(json.loads(schema)))`` when the text parses (Python json
    semantics, as the producer: last duplicate key wins); otherwise ``H(utf-8 bytes)``.
    A schema that is not a string (a hostile surface) gets a value no hash can equal.
    """
    if schema is None or schema == "":
        return ""
    if not isinstance(schema, str):
        return f"invalid-schema:{type(schema).__name__}"
    raw = schema.encode("utf-8", "surrogatepass")
    try:
        if text_nests_deeper(raw, MAX_CANONICAL_DEPTH):  # never hand deep text to json
            raise Malformed(ReasonCode.NESTING_TOO_DEEP)
        data = canonical(json.loads(schema))
    except (ValueError, TypeError, RecursionError, Malformed):
        data = raw
    return hashlib.sha256(data).hexdigest()


def dataset_input(name: str | None, source: str | None, source_type: str | None,
                  digest: str | None, schema: str | None, context: str | None) -> dict[str, Any]:
    """One ``dataset_inputs`` entry from an MLflow dataset input (`context` is the input
    tag ``mlflow.data.context``, or None)."""
    return {"name": name, "source": source, "source_type": source_type, "digest": digest,
            "schema_hash": schema_hash(schema), "context": context}


def dataset_input_sort_key(item: Mapping[str, Any]) -> tuple[str, str, str, str]:
    """The producer's order: ``(name, source, context, digest)``, None as "", by code point."""
    return tuple(  # type: ignore[return-value]
        v if isinstance(v := item.get(k), str) else ""
        for k in ("name", "source", "context", "digest")
    )


def sort_dataset_inputs(items: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Entries in the producer's (stable) order."""
    return sorted((dict(i) for i in items), key=dataset_input_sort_key)


def dataset_inputs_ordered(items: Any) -> bool:
    """True iff a list of entry objects is already in the producer's order."""
    if not isinstance(items, list) or not all(isinstance(i, Mapping) for i in items):
        return False
    keys = [dataset_input_sort_key(i) for i in items]
    return all(a <= b for a, b in zip(keys, keys[1:]))


def input_hash(input_data: Any) -> str | None:
    """A prediction's ``input_hash``: ``H(JCS(input))`` for a dict, else
    ``H(JCS({"features": list(input)}))`` (``{"features": input}`` if not iterable)."""
    if isinstance(input_data, dict):
        value: Any = input_data
    else:
        iterable = hasattr(input_data, "__iter__")
        try:
            value = {"features": list(input_data) if iterable else input_data}
        except Exception:  # noqa: BLE001 - a caller's iterable may fail any way; no hash then
            return None
    return _h(value)


def output_hash(prediction: Any) -> str | None:
    """A prediction's ``output_hash``: ``H(JCS({"prediction": p.tolist() or p}))``, raw
    values (no float rounding)."""
    if hasattr(prediction, "tolist"):
        try:
            prediction = prediction.tolist()
        except Exception:  # noqa: BLE001 - foreign array types; no hash then
            return None
    return _h({"prediction": prediction})


def merge_metadata(payload: dict[str, Any], metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    """Caller metadata merged after the structural keys; a colliding key keeps the
    structural value. Returns `payload` (modified in place)."""
    for key, value in (metadata or {}).items():
        payload.setdefault(key, value)
    return payload


def build_training_payload(
    *, run_id: str, params: Mapping[str, str], metrics: Mapping[str, float],
    artifact_checksums: Mapping[str, str], source_name: str, git_commit: str,
    dataset_inputs: Iterable[Mapping[str, Any]] | None, mlflow_trace_id: str | None = None,
    tracking_uri: str | None = None, metadata: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A ``training_complete`` payload. Metrics are normalised (idempotent), dataset
    inputs sorted; ``dataset_inputs=None`` omits the key (pre-input-anchoring proofs).
    `tracking_uri` is included only when given (the producer's opt-in); the control key
    ``include_tracking_uri`` is dropped from `metadata`."""
    payload: dict[str, Any] = {
        "event_type": "training_complete", "run_id": run_id, "params": dict(params),
        "metrics": normalize_floats(dict(metrics), _METRIC_PRECISION),
        "artifact_checksums": dict(artifact_checksums), "source_name": source_name,
        "git_commit": git_commit,
    }
    if dataset_inputs is not None:
        payload["dataset_inputs"] = sort_dataset_inputs(dataset_inputs)
    if mlflow_trace_id:
        payload["mlflow_trace_id"] = mlflow_trace_id
    if tracking_uri:
        payload["mlflow_tracking_uri"] = tracking_uri
    meta = {k: v for k, v in (metadata or {}).items() if k != "include_tracking_uri"}
    return merge_metadata(payload, meta)


def build_registration_payload(
    *, model_name: str, model_version: str, source_run_id: str | None, source: str | None,
    artifact_verified: bool | None, artifact_hash: str | None,
    metadata: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A ``model_registered`` payload (`model_version` is a string)."""
    return merge_metadata({
        "event_type": "model_registered", "model_name": model_name,
        "model_version": str(model_version), "source_run_id": source_run_id, "source": source,
        "artifact_verified": artifact_verified, "artifact_hash": artifact_hash,
    }, metadata)


def build_promotion_payload(
    *, model_name: str, model_version: str, from_stage: str, to_stage: str,
    metadata: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A ``stage_transition`` payload."""
    return merge_metadata({
        "event_type": "stage_transition", "model_name": model_name,
        "model_version": str(model_version), "from_stage": from_stage, "to_stage": to_stage,
    }, metadata)


def build_prediction_payload(
    *, decision_id: str, model_name: str, model_version: str, run_id: str, model_uri: str,
    input_hash: str, output_hash: str, latency_ms: float, artifact_verified: bool | None,
    mlflow_trace_id: str | None = None, metadata: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A ``prediction`` payload; ``latency_ms`` is rounded to 2 places as the producer does."""
    payload: dict[str, Any] = {
        "event_type": "prediction", "decision_id": decision_id, "model_name": model_name,
        "model_version": model_version, "run_id": run_id, "model_uri": model_uri,
        "input_hash": input_hash, "output_hash": output_hash,
        "latency_ms": round(latency_ms, _LATENCY_PRECISION),
        "artifact_verified": artifact_verified,
    }
    if mlflow_trace_id:
        payload["mlflow_trace_id"] = mlflow_trace_id
    return merge_metadata(payload, metadata)


def dataset_payload_from_input(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The ``dataset`` payload the producer auto-anchored for one training
    ``dataset_inputs`` entry: the same identity fields without ``context``."""
    out: dict[str, Any] = {"event_type": "dataset"}
    for key in ("name", "source", "source_type", "digest", "schema_hash"):
        out[key] = entry.get(key)
    return out


def build_dataset_payload(
    *, name: str | None, source: str | None, source_type: str | None, digest: str | None,
    schema: str | None,
) -> dict[str, Any]:
    """A ``dataset`` payload (no ``context``, no metadata)."""
    return {"event_type": "dataset", "name": name, "source": source,
            "source_type": source_type, "digest": digest, "schema_hash": schema_hash(schema)}

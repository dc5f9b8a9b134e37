"""The ario.mlflow/v1 profile as ar-io-mlflow 0.1.0-0.3.0 emits it (spec/mlflow-profile.md).

Pure knowledge, stated once for the chain rules, the audit layer and the anchoring module:
the five event types, their payload key sets, subject shapes, where the payload bytes live
in MLflow, the chain rule per event type, and the producer's normalisation and hashing rules
(`normalize_floats`, `artifact_hash`, `schema_hash`, `dataset_inputs` order, `input_hash`,
`output_hash`). Validators return problems; they never raise on hostile values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from .encoding import is_lower_hex
from .mlflow_payloads import (
    artifact_hash, artifact_path_separator, artifact_verified, build_dataset_payload,
    build_prediction_payload, build_promotion_payload, build_registration_payload,
    build_training_payload, dataset_input, dataset_input_sort_key, dataset_inputs_ordered,
    dataset_payload_from_input, input_hash, merge_metadata, normalize_floats, output_hash,
    payload_bytes, schema_hash, sort_dataset_inputs,
)

PROFILE = "ario.mlflow/v1"
GENESIS = "GENESIS"

# -- event types (§2) ---------------------------------------------------------------------
DATASET = "dataset"
TRAINING = "training_complete"
REGISTRATION = "model_registered"
PROMOTION = "stage_transition"
PREDICTION = "prediction"
EVENT_TYPES: tuple[str, ...] = (DATASET, TRAINING, REGISTRATION, PROMOTION, PREDICTION)
#: Event types the family registry lists for this profile; the producer emits two more.
REGISTRY_EVENT_TYPES = frozenset({TRAINING, REGISTRATION, PREDICTION})

# -- subjects (§4) --------------------------------------------------------------------------
SUBJECT_RUN = "mlflow_run"
SUBJECT_MODEL_VERSION = "mlflow_model_version"
SUBJECT_PREDICTION = "mlflow_prediction"
SUBJECT_DATASET = "mlflow_dataset"
#: Pre-0.1.0 demo subject types: recognised, but no payload artifact ever existed for them.
LEGACY_SUBJECT_TYPES = frozenset({"mlflow_trace", "mlflow_decision"})
SUBJECT_TYPE = {
    DATASET: SUBJECT_DATASET, TRAINING: SUBJECT_RUN, REGISTRATION: SUBJECT_MODEL_VERSION,
    PROMOTION: SUBJECT_MODEL_VERSION, PREDICTION: SUBJECT_PREDICTION,
}
#: subject type -> (required string keys, optional string keys), "type" included.
SUBJECT_KEYS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    SUBJECT_RUN: (frozenset({"type", "run_id"}), frozenset({"tracking_uri"})),
    SUBJECT_MODEL_VERSION: (frozenset({"type", "name", "version"}), frozenset()),
    SUBJECT_PREDICTION: (frozenset({"type", "decision_id", "model_run_id"}),
                         frozenset({"trace_id"})),
    SUBJECT_DATASET: (frozenset({"type", "name", "digest"}), frozenset()),
}

# -- chain rules (§6; applied by chain_rules.py, spec/chain.md L2) --------------------------


@dataclass(frozen=True, slots=True)
class LinkRule:
    """How an event's `previous_hash` names its predecessor.

    `via` is "payload_hash" or "tx_id" (None: the event must be GENESIS); `predecessors`
    are the allowed predecessor event types; `linear` forbids two events naming one
    predecessor (a fork).
    """

    via: str | None
    predecessors: frozenset[str]
    linear: bool


LINK_RULES: dict[str, LinkRule] = {
    DATASET: LinkRule(None, frozenset(), False),
    TRAINING: LinkRule("payload_hash", frozenset({TRAINING}), True),
    REGISTRATION: LinkRule("tx_id", frozenset({TRAINING}), False),
    PROMOTION: LinkRule("tx_id", frozenset({REGISTRATION}), False),
    PREDICTION: LinkRule("tx_id", frozenset({REGISTRATION}), False),
}

# -- MLflow tags (§5) -------------------------------------------------------------------------
TAG_PUBLIC_KEY = "ario.public_key"
TAG_VERIFY_STATUS = "ario.verify_status"
TAG_PAYLOAD_HASH = "ario.payload_hash"
TAG_ARTIFACT_HASH = "ario.artifact_hash"
TAG_TRAINING_TX = "ario.training_tx"
TAG_ARWEAVE_URL = "ario.arweave_url"
TAG_WALLET_MODE = "ario.wallet_mode"
TAG_WALLET_TYPE = "ario.wallet_type"
TAG_DATASET_ANCHOR_TX_PREFIX = "ario.dataset_anchor_tx."
TAG_LAST_TRAINING_HASH = "ario.last_training_hash"
TAG_ARTIFACT_VERIFIED = "ario.artifact_verified"
TAG_REGISTRATION_TX = "ario.registration_tx"
TAG_PROMOTION_PAYLOAD_HASH = "ario.promotion_payload_hash"
TAG_PROMOTION_TX = "ario.promotion_tx"
TAG_PREDICTION_TX = "ario.prediction_tx"
TAG_PAYLOAD_JSON = "ario.payload_json"
TAG_DECISION_ID = "ario.decision_id"
TAG_INPUT_HASH = "ario.input_hash"
TAG_OUTPUT_HASH = "ario.output_hash"
TAG_PROOF_STATUS = "ario.proof_status"
#: Files under the model artifact directory that artifact_checksums never hashes.
EXCLUDED_ARTIFACT_FILES = frozenset({"registered_model_meta"})

#: Payload fields a verifier can re-derive from live MLflow state (source-of-truth check).
LIVE_FIELDS: dict[str, tuple[str, ...]] = {
    TRAINING: ("params", "metrics", "source_name", "git_commit", "artifact_checksums",
               "dataset_inputs"),
    REGISTRATION: ("artifact_hash", "artifact_verified"),
    PREDICTION: ("*",),  # the whole payload, from the trace tag ario.payload_json
    PROMOTION: (),
    DATASET: (),
}

# -- payload schemas (§3) ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PayloadProblem:
    """One way a payload (or subject) departs from the profile; `path` is a JSON path."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


_Check = Callable[[Any], "str | None"]


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _str(v: Any) -> str | None:
    return None if isinstance(v, str) else "must be a string"


def _opt_str(v: Any) -> str | None:
    return None if v is None or isinstance(v, str) else "must be a string or null"


def _hex64(v: Any) -> str | None:
    return None if is_lower_hex(v, 32) else "must be 64 lowercase hex characters"


def _opt_hex64(v: Any) -> str | None:
    return None if v is None else _hex64(v)


def _schema_hash(v: Any) -> str | None:
    if v == "" or is_lower_hex(v, 32):
        return None
    return 'must be "" or 64 lowercase hex characters'


def _opt_bool(v: Any) -> str | None:
    return None if v is None or isinstance(v, bool) else "must be true, false or null"


def _true_or_null(v: Any) -> str | None:
    return None if v is None or v is True else "must be true or null"


def _number(v: Any) -> str | None:
    return None if _is_num(v) else "must be a number"


def _map(value_check: _Check, what: str) -> _Check:
    def check(v: Any) -> str | None:
        if not isinstance(v, dict):
            return "must be an object"
        bad = next((k for k, x in v.items() if value_check(x) is not None), None)
        return None if bad is None else f"value of {bad!r} must be {what}"
    return check


_DATASET_KEYS = {"name": _opt_str, "source": _opt_str, "source_type": _opt_str,
                 "digest": _opt_str, "schema_hash": _schema_hash}
_DATASET_INPUT_KEYS = dict(_DATASET_KEYS, context=_opt_str)


@dataclass(frozen=True, slots=True)
class PayloadSchema:
    """Required and optional keys of one event type's payload; `closed` forbids others."""

    required: Mapping[str, _Check]
    optional: Mapping[str, _Check]
    closed: bool = False


PAYLOAD_SCHEMAS: dict[str, PayloadSchema] = {
    DATASET: PayloadSchema(dict(_DATASET_KEYS), {}, closed=True),
    TRAINING: PayloadSchema(
        {"run_id": _str, "params": _map(_str, "a string"),
         "metrics": _map(_number, "a number"),
         "artifact_checksums": _map(_hex64, "64 lowercase hex"),
         "source_name": _str, "git_commit": _str},
        {"dataset_inputs": lambda v: None, "mlflow_trace_id": _str,
         "mlflow_tracking_uri": _str}),
    REGISTRATION: PayloadSchema(
        {"model_name": _str, "model_version": _str, "source_run_id": _opt_str,
         "source": _opt_str, "artifact_verified": _opt_bool, "artifact_hash": _opt_hex64}, {}),
    PROMOTION: PayloadSchema(
        {"model_name": _str, "model_version": _str, "from_stage": _str, "to_stage": _str}, {}),
    PREDICTION: PayloadSchema(
        {"decision_id": _str, "model_name": _str, "model_version": _str, "run_id": _str,
         "model_uri": _str, "input_hash": _hex64, "output_hash": _hex64,
         "latency_ms": _number, "artifact_verified": _true_or_null},
        {"mlflow_trace_id": _str}),
}
REQUIRED_KEYS = {t: frozenset(s.required) | {"event_type"} for t, s in PAYLOAD_SCHEMAS.items()}
OPTIONAL_KEYS = {t: frozenset(s.optional) for t, s in PAYLOAD_SCHEMAS.items()}


def check_payload(event_type: str, payload: Any) -> list[PayloadProblem]:
    """Problems with a parsed payload's shape for `event_type`; [] when it conforms.

    Keys beyond the schema are caller metadata (allowed) except for `dataset`, whose
    payload the producer never merges metadata into.
    """
    if not isinstance(payload, dict):
        return [PayloadProblem("$", "payload must be a JSON object")]
    schema = PAYLOAD_SCHEMAS.get(event_type) if isinstance(event_type, str) else None
    if schema is None:
        return [PayloadProblem("$", f"unknown event type {event_type!r} for {PROFILE}")]
    out: list[PayloadProblem] = []
    if payload.get("event_type") != event_type:
        out.append(PayloadProblem("$.event_type", f"must equal the envelope's {event_type!r}"))
    for key, check in schema.required.items():
        if key not in payload:
            out.append(PayloadProblem(f"$.{key}", "required key is missing"))
        elif (msg := check(payload[key])) is not None:
            out.append(PayloadProblem(f"$.{key}", msg))
    for key, check in schema.optional.items():
        if key in payload and (msg := check(payload[key])) is not None:
            out.append(PayloadProblem(f"$.{key}", msg))
    if schema.closed:
        extra = sorted(set(payload) - set(schema.required) - {"event_type"})
        out.extend(PayloadProblem(f"$.{k}", "key is not part of this payload") for k in extra)
    if event_type == TRAINING and "dataset_inputs" in payload:
        out.extend(_check_dataset_inputs(payload["dataset_inputs"]))
    return out


def _check_dataset_inputs(value: Any) -> list[PayloadProblem]:
    if not isinstance(value, list):
        return [PayloadProblem("$.dataset_inputs", "must be an array")]
    out: list[PayloadProblem] = []
    for i, item in enumerate(value):
        path = f"$.dataset_inputs[{i}]"
        if not isinstance(item, dict):
            out.append(PayloadProblem(path, "must be an object"))
            continue
        if set(item) != set(_DATASET_INPUT_KEYS):
            out.append(PayloadProblem(path, "keys must be exactly "
                                      + ", ".join(_DATASET_INPUT_KEYS)))
        for key, check in _DATASET_INPUT_KEYS.items():
            if key in item and (msg := check(item[key])) is not None:
                out.append(PayloadProblem(f"{path}.{key}", msg))
    if not out and not dataset_inputs_ordered(value):
        out.append(PayloadProblem("$.dataset_inputs",
                                  "not sorted by (name, source, context, digest)"))
    return out


def check_subject(event_type: str, subject: Any) -> list[PayloadProblem]:
    """Problems with an envelope subject for `event_type`; [] when it conforms.

    Charset and length (family spec: <=128 chars of [A-Za-z0-9_.:-]) are deliberately
    not enforced: the real producer puts tracking URIs and free model names here.
    """
    if not isinstance(subject, dict):
        return [PayloadProblem("$.subject", "must be an object")]
    want = SUBJECT_TYPE.get(event_type) if isinstance(event_type, str) else None
    if want is None:
        return [PayloadProblem("$.subject", f"unknown event type {event_type!r} for {PROFILE}")]
    if subject.get("type") != want:
        return [PayloadProblem("$.subject.type", f"must be {want!r} for {event_type}")]
    required, optional = SUBJECT_KEYS[want]
    out = [PayloadProblem(f"$.subject.{k}", "required key is missing")
           for k in sorted(required - set(subject))]
    out += [PayloadProblem(f"$.subject.{k}", "must be a string")
            for k in sorted((required | optional) & set(subject))
            if not isinstance(subject[k], str)]
    out += [PayloadProblem(f"$.subject.{k}", "key is not part of this subject")
            for k in sorted(set(subject) - required - optional)]
    return out


# -- where payload bytes live in MLflow (§5) -------------------------------------------------

_SEGMENT = re.compile(r"[A-Za-z0-9_.:-]{1,128}")


@dataclass(frozen=True, slots=True)
class PayloadLocation:
    """Where the producer wrote an event's payload bytes and envelope in MLflow.

    `run_id` names the run holding the artifacts; when it is None the run is the source
    run of the model version `model` = (name, version), found through the registry.
    `trace_tag` names the trace tag that mirrors the payload (predictions only).
    """

    run_id: str | None
    model: tuple[str, str] | None
    payload_path: str
    proof_path: str
    trace_tag: str | None = None


def _segment(value: Any) -> str | None:
    if isinstance(value, str) and _SEGMENT.fullmatch(value) and value not in (".", ".."):
        return value
    return None


def payload_location(event_type: Any, subject: Any, event_id: Any) -> PayloadLocation | None:
    """The MLflow location of an event's payload, or None (dataset events, unusable or
    path-unsafe identifiers: an id that is not one safe path segment is never used)."""
    if not isinstance(subject, dict):
        return None
    if event_type == TRAINING and isinstance(subject.get("run_id"), str):
        return PayloadLocation(subject["run_id"], None, "ario/payload.json", "ario/proof.json")
    if event_type in (REGISTRATION, PROMOTION):
        name, version = subject.get("name"), subject.get("version")
        if not (isinstance(name, str) and isinstance(version, str)):
            return None
        if event_type == REGISTRATION:
            return PayloadLocation(None, (name, version), "ario/registration_payload.json",
                                   "ario/registration_proof.json")
        eid = _segment(event_id)
        if eid is None:
            return None
        base = f"ario/promotions/{eid}/"
        return PayloadLocation(None, (name, version), base + "payload.json", base + "proof.json")
    if event_type == PREDICTION:
        decision, run = _segment(subject.get("decision_id")), subject.get("model_run_id")
        if decision is None or not isinstance(run, str):
            return None
        base = f"ario/predictions/{decision}/"
        return PayloadLocation(run, None, base + "payload.json", base + "proof.json",
                               TAG_PAYLOAD_JSON)
    return None


__all__ = [
    "DATASET", "EVENT_TYPES", "GENESIS", "LEGACY_SUBJECT_TYPES", "LINK_RULES", "LIVE_FIELDS",
    "LinkRule", "OPTIONAL_KEYS", "PAYLOAD_SCHEMAS", "PREDICTION", "PROFILE", "PROMOTION",
    "PayloadLocation", "PayloadProblem", "REGISTRATION", "REQUIRED_KEYS", "SUBJECT_KEYS",
    "SUBJECT_TYPE", "TRAINING", "artifact_hash", "artifact_path_separator", "artifact_verified",
    "build_dataset_payload",
    "build_prediction_payload", "build_promotion_payload", "build_registration_payload",
    "build_training_payload", "check_payload", "check_subject", "dataset_input",
    "dataset_input_sort_key", "dataset_payload_from_input",
    "dataset_inputs_ordered", "input_hash", "merge_metadata", "normalize_floats",
    "output_hash", "payload_bytes", "payload_location", "schema_hash", "sort_dataset_inputs",
]

"""ario.mlflow/v1 profile knowledge (spec/mlflow-profile.md): schemas, subjects, locations
and the producer's normalisation and hashing rules."""

from __future__ import annotations

import copy
import hashlib
import json
import math
import random
from typing import Any

import pytest
import rfc8785

from verifier.core import mlflow_profile as mp


def h(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


RUN = "4f1c2a9be0d34b7c8e21f0a9d3c6b5e7"
CHECKSUMS = {"MLmodel": h(b"m"), "model.pkl": h(b"w"), "conda.yaml": h(b"c")}
DS_INPUT = {"name": "train", "source": '{"uri": "s3://b/train.csv"}', "source_type": "s3",
            "digest": "a1b2c3d4", "schema_hash": "", "context": "training"}


def samples() -> dict[str, dict[str, Any]]:
    return {
        "dataset": {"event_type": "dataset", "name": "train", "source": DS_INPUT["source"],
                    "source_type": "s3", "digest": "a1b2c3d4", "schema_hash": h(b"s")},
        "training_complete": {
            "event_type": "training_complete", "run_id": RUN, "params": {"depth": "6"},
            "metrics": {"acc": 0.912346, "n": 3}, "artifact_checksums": CHECKSUMS,
            "source_name": "train.py", "git_commit": "", "dataset_inputs": [DS_INPUT],
            "otel_trace_id": "0" * 32, "service_name": "trainer"},
        "model_registered": {
            "event_type": "model_registered", "model_name": "m", "model_version": "1",
            "source_run_id": RUN, "source": f"runs:/{RUN}/model", "artifact_verified": None,
            "artifact_hash": None},
        "stage_transition": {"event_type": "stage_transition", "model_name": "m",
                             "model_version": "1", "from_stage": "None", "to_stage": "Production"},
        "prediction": {
            "event_type": "prediction", "decision_id": "7d3f1e2a-4b5c-4d6e-8f70-1a2b3c4d5e6f",
            "model_name": "m", "model_version": "1", "run_id": RUN, "model_uri": "models:/m/1",
            "input_hash": h(b"i"), "output_hash": h(b"o"), "latency_ms": 3.14,
            "artifact_verified": True, "mlflow_trace_id": "tr-1"},
    }


# -- normalize_floats -------------------------------------------------------------------------


def _reference_round(obj: Any, p: int) -> Any:
    if isinstance(obj, float):
        return round(obj, p)
    if isinstance(obj, dict):
        return {k: _reference_round(v, p) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_reference_round(v, p) for v in obj]
    return obj


def test_normalize_floats_is_python_round_recursively():
    rng = random.Random(7)
    values = [rng.uniform(-1e6, 1e6) for _ in range(2000)] + [rng.random() * 1e-5 for _ in range(200)]
    values += [0.5e-6, 1.5e-6, 2.5e-6, 0.1234565, 1e21, -0.0, 123456.7890125]
    for v in values:
        assert mp.normalize_floats(v) == round(v, 6)
    nested = {"a": [1.23456789, (2.0000004, {"b": 3.9999995})], "c": True, "d": 7, "e": "1.5"}
    out = mp.normalize_floats(nested)
    assert out == _reference_round(nested, 6)
    # 3.9999995 is stored just below the tie, so Python rounds it down: no decimal shortcut.
    assert out == {"a": [1.234568, [2.0, {"b": 3.999999}]], "c": True, "d": 7, "e": "1.5"}
    assert isinstance(out["a"][1], list) and out["c"] is True
    assert mp.normalize_floats((0.1234567,), 2) == [0.12]


def test_normalize_floats_passes_non_finite_and_other_types_through():
    assert math.isinf(mp.normalize_floats(float("inf")))
    assert math.isnan(mp.normalize_floats(float("nan")))
    assert mp.normalize_floats(None) is None
    assert mp.normalize_floats({1.5: 2.25}) == {1.5: 2.25}  # keys untouched
    s = {0.1234567}
    assert mp.normalize_floats(s) is s


# -- hashes -------------------------------------------------------------------------------


def test_artifact_hash_and_verified():
    assert mp.artifact_hash(CHECKSUMS) == h(rfc8785.dumps(CHECKSUMS))
    assert mp.artifact_hash({}) is None
    assert mp.artifact_verified(CHECKSUMS, h(rfc8785.dumps(CHECKSUMS))) is True
    assert mp.artifact_verified(CHECKSUMS, "0" * 64) is False
    assert mp.artifact_verified({}, "0" * 64) is None
    assert mp.artifact_verified(CHECKSUMS, None) is None


def test_schema_hash_rules():
    schema = {"mlflow_colspec": [{"name": "age", "type": "long"}]}
    assert mp.schema_hash(None) == "" and mp.schema_hash("") == ""
    assert mp.schema_hash(json.dumps(schema, indent=4)) == h(rfc8785.dumps(schema))
    assert mp.schema_hash('{"b": 1, "a": 2}') == mp.schema_hash('{"a":2,"b":1}')
    assert mp.schema_hash("not json") == h(b"not json")
    assert mp.schema_hash("NaN") == h(b"NaN")  # parses, but cannot be canonicalized
    assert mp.schema_hash("[" * 100_000) == h(b"[" * 100_000)


def test_dataset_input_order():
    a = dict(DS_INPUT, name="b")
    b = dict(DS_INPUT, name=None, context=None)
    c = dict(DS_INPUT, name="b", context="eval")
    ordered = mp.sort_dataset_inputs([a, b, c])
    assert [(x["name"], x["context"]) for x in ordered] == [(None, None), ("b", "eval"),
                                                            ("b", "training")]
    assert mp.dataset_inputs_ordered(ordered) and not mp.dataset_inputs_ordered([a, b])
    assert mp.dataset_inputs_ordered([]) and not mp.dataset_inputs_ordered("x")
    assert mp.dataset_input_sort_key({"name": 5, "source": "s"}) == ("", "s", "", "")
    entry = mp.dataset_input("n", "s", "t", "d", '{"x": 1}', None)
    assert entry["schema_hash"] == h(b'{"x":1}') and set(entry) == set(DS_INPUT)


class _Array:
    def __init__(self, values: list[Any]) -> None:
        self.values = values

    def tolist(self) -> list[Any]:
        return self.values


def test_input_and_output_hash():
    assert mp.input_hash({"age": 41, "income": 52000.0}) == h(rfc8785.dumps({"age": 41, "income": 52000.0}))
    assert mp.input_hash([52000.0, 41]) == h(rfc8785.dumps({"features": [52000.0, 41]}))
    assert mp.input_hash((1, 2)) == mp.input_hash([1, 2])
    assert mp.input_hash(7) == h(rfc8785.dumps({"features": 7}))
    assert mp.input_hash("ab") == h(rfc8785.dumps({"features": ["a", "b"]}))  # str iterates
    assert mp.input_hash([float("nan")]) is None
    assert mp.output_hash(_Array([1, 0.30000000000000004])) == h(
        rfc8785.dumps({"prediction": [1, 0.30000000000000004]}))  # no rounding
    assert mp.output_hash(3) == h(rfc8785.dumps({"prediction": 3}))
    assert mp.output_hash(_Array([float("inf")])) is None


# -- builders ---------------------------------------------------------------------------------


def test_build_training_payload_matches_producer_shape():
    meta = {"run_id": "hijack", "service_name": "trainer", "include_tracking_uri": True}
    payload = mp.build_training_payload(
        run_id=RUN, params={"depth": "6"}, metrics={"acc": 0.91234567, "n": 3},
        artifact_checksums=CHECKSUMS, source_name="train.py", git_commit="",
        dataset_inputs=[dict(DS_INPUT, name="z"), DS_INPUT], mlflow_trace_id=None,
        tracking_uri="http://mlflow:5000", metadata=meta)
    assert payload["run_id"] == RUN and payload["metrics"] == {"acc": 0.912346, "n": 3}
    assert payload["service_name"] == "trainer" and "include_tracking_uri" not in payload
    assert payload["mlflow_tracking_uri"] == "http://mlflow:5000"
    assert [d["name"] for d in payload["dataset_inputs"]] == ["train", "z"]
    assert "mlflow_trace_id" not in payload
    assert mp.check_payload("training_complete", payload) == []
    legacy = mp.build_training_payload(
        run_id=RUN, params={}, metrics={}, artifact_checksums={}, source_name="",
        git_commit="", dataset_inputs=None)
    assert "dataset_inputs" not in legacy and mp.check_payload("training_complete", legacy) == []


def test_other_builders():
    s = samples()
    reg = mp.build_registration_payload(model_name="m", model_version="1", source_run_id=RUN,
                                        source=f"runs:/{RUN}/model", artifact_verified=None,
                                        artifact_hash=None, metadata={"model_name": "x"})
    assert reg == s["model_registered"]
    promo = mp.build_promotion_payload(model_name="m", model_version="1", from_stage="None",
                                       to_stage="Production")
    assert promo == s["stage_transition"]
    pred = mp.build_prediction_payload(
        decision_id=s["prediction"]["decision_id"], model_name="m", model_version="1",
        run_id=RUN, model_uri="models:/m/1", input_hash=h(b"i"), output_hash=h(b"o"),
        latency_ms=3.1415926, artifact_verified=True, mlflow_trace_id="tr-1")
    assert pred == s["prediction"]
    ds = mp.build_dataset_payload(name="train", source=DS_INPUT["source"], source_type="s3",
                                  digest="a1b2c3d4", schema=None)
    assert ds == dict(s["dataset"], schema_hash="")
    assert mp.payload_bytes(ds) == rfc8785.dumps(ds)
    assert mp.payload_bytes({"x": float("nan")}) is None


# -- check_payload ------------------------------------------------------------------------------


@pytest.mark.parametrize("event_type", mp.EVENT_TYPES)
def test_samples_conform(event_type):
    assert mp.check_payload(event_type, samples()[event_type]) == []
    assert mp.REQUIRED_KEYS[event_type] <= set(samples()[event_type])


@pytest.mark.parametrize("event_type, edit, path", [
    ("training_complete", {"metrics": {"acc": "0.9"}}, "$.metrics"),
    ("training_complete", {"metrics": {"acc": True}}, "$.metrics"),
    ("training_complete", {"params": {"depth": 6}}, "$.params"),
    ("training_complete", {"artifact_checksums": {"a": "AB" * 32}}, "$.artifact_checksums"),
    ("training_complete", {"dataset_inputs": {}}, "$.dataset_inputs"),
    ("training_complete", {"dataset_inputs": [dict(DS_INPUT, extra=1)]}, "$.dataset_inputs[0]"),
    ("training_complete", {"dataset_inputs": [dict(DS_INPUT, schema_hash="x")]},
     "$.dataset_inputs[0].schema_hash"),
    ("training_complete", {"dataset_inputs": [dict(DS_INPUT, name="z"), DS_INPUT]},
     "$.dataset_inputs"),
    ("model_registered", {"artifact_verified": "true"}, "$.artifact_verified"),
    ("model_registered", {"artifact_hash": "abc"}, "$.artifact_hash"),
    ("model_registered", {"model_version": 1}, "$.model_version"),
    ("stage_transition", {"to_stage": None}, "$.to_stage"),
    ("prediction", {"artifact_verified": False}, "$.artifact_verified"),
    ("prediction", {"latency_ms": "3"}, "$.latency_ms"),
    ("prediction", {"input_hash": None}, "$.input_hash"),
    ("dataset", {"context": "training"}, "$.context"),
    ("dataset", {"event_type": "training_complete"}, "$.event_type"),
])
def test_payload_problems(event_type, edit, path):
    payload = dict(samples()[event_type], **edit)
    problems = mp.check_payload(event_type, payload)
    assert path in [p.path for p in problems], problems
    assert all(str(p).startswith("$") for p in problems)


def test_missing_keys_and_bad_inputs():
    payload = samples()["prediction"]
    del payload["output_hash"]
    assert [str(p) for p in mp.check_payload("prediction", payload)] == [
        "$.output_hash: required key is missing"]
    assert mp.check_payload("prediction", [1])[0].path == "$"
    assert "unknown event type" in mp.check_payload("asset_registered", {})[0].message
    assert mp.check_payload(None, {})[0].path == "$"  # type: ignore[arg-type]


def test_check_payload_never_raises_on_junk():
    junk: list[Any] = [None, 1, "x", [], {}, {"metrics": None}, {"dataset_inputs": [None, 1]},
                       {"params": [1]}, {"event_type": {"a": 1}}]
    rng = random.Random(3)
    for event_type in mp.EVENT_TYPES:
        base = samples()[event_type]
        for _ in range(200):
            payload = copy.deepcopy(base)
            key = rng.choice(sorted(payload))
            payload[key] = rng.choice(junk)
            mp.check_payload(event_type, payload)
        for j in junk:
            mp.check_payload(event_type, j)


# -- subjects, locations, rules ---------------------------------------------------------------


def test_subjects():
    assert mp.check_subject("training_complete", {"type": "mlflow_run", "run_id": RUN,
                                                  "tracking_uri": "http://x:5000/"}) == []
    assert mp.check_subject("prediction", {"type": "mlflow_prediction", "decision_id": "d",
                                           "model_run_id": RUN, "trace_id": "tr"}) == []
    bad = mp.check_subject("stage_transition", {"type": "mlflow_model_version", "name": "m",
                                                "version": 1, "event_id": "e"})
    assert [p.path for p in bad] == ["$.subject.version", "$.subject.event_id"]
    assert mp.check_subject("dataset", {"type": "mlflow_run"})[0].path == "$.subject.type"
    assert mp.check_subject("dataset", None)[0].path == "$.subject"
    assert mp.check_subject("model_registered", {"type": "mlflow_model_version"})[0].message == (
        "required key is missing")


def test_payload_locations():
    loc = mp.payload_location("training_complete", {"type": "mlflow_run", "run_id": RUN}, "e")
    assert (loc.run_id, loc.payload_path, loc.proof_path) == (RUN, "ario/payload.json", "ario/proof.json")
    reg = mp.payload_location("model_registered", {"name": "m", "version": "2"}, "e")
    assert reg.run_id is None and reg.model == ("m", "2")
    assert reg.payload_path == "ario/registration_payload.json"
    promo = mp.payload_location("stage_transition", {"name": "m", "version": "2"}, "e-1")
    assert promo.payload_path == "ario/promotions/e-1/payload.json"
    pred = mp.payload_location("prediction", {"decision_id": "d-1", "model_run_id": RUN}, "e")
    assert (pred.run_id, pred.payload_path, pred.trace_tag) == (
        RUN, "ario/predictions/d-1/payload.json", "ario.payload_json")
    assert mp.payload_location("dataset", {"name": "x"}, "e") is None
    for unsafe in ("../x", "..", "a/b", "", None, "a" * 200):
        assert mp.payload_location("prediction", {"decision_id": unsafe, "model_run_id": RUN}, "e") is None
        assert mp.payload_location("stage_transition", {"name": "m", "version": "1"}, unsafe) is None
    assert mp.payload_location("training_complete", "x", "e") is None


def test_link_rules():
    rules = mp.LINK_RULES
    assert set(rules) == set(mp.EVENT_TYPES)
    assert rules["training_complete"] == mp.LinkRule("payload_hash", frozenset({"training_complete"}), True)
    assert rules["model_registered"].via == "tx_id" and not rules["model_registered"].linear
    assert rules["stage_transition"].predecessors == frozenset({"model_registered"})
    assert rules["prediction"].predecessors == frozenset({"model_registered"})
    assert rules["dataset"].via is None
    assert mp.REGISTRY_EVENT_TYPES < set(mp.EVENT_TYPES)


def test_artifact_path_separator_and_dataset_payload_from_input():
    assert mp.artifact_path_separator({"model\\MLmodel": "x", "conda.yaml": "y"}) == "\\"
    assert mp.artifact_path_separator({"model/MLmodel": "x"}) == "/"
    assert mp.artifact_path_separator({"a\\b": "x", "c/d": "y"}) == "/"
    assert mp.artifact_path_separator({}) == "/" and mp.artifact_path_separator(None) == "/"
    derived = mp.dataset_payload_from_input(dict(DS_INPUT, schema_hash=h(b"s")))
    assert derived == samples()["dataset"]
    assert mp.check_payload("dataset", derived) == []

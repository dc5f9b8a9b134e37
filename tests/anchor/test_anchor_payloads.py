"""Payload builders, subjects and chain links against bytes built by hand from the
documented ar-io-mlflow 0.3.0 schema (formats.md §3.2-§3.4), with json/rfc8785/hashlib
only — never with the builders under test."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import rfc8785

from verifier.anchor import payloads as P


def H(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


SCHEMA = '{"mlflow_colspec": [{"type": "double", "name": "x"}, {"type": "long", "name": "y"}]}'


def test_training_payload_bytes():
    checks = {"MLmodel": "aa" * 32, "sub/model.pkl": "bb" * 32}
    inputs = [
        P.dataset_input_entry(name="val", source='{"uri": "s3://b/v"}', source_type="s3",
                              digest="d2", schema=None, context="validation"),
        P.dataset_input_entry(name="train", source='{"uri": "s3://b/t"}', source_type="s3",
                              digest="d1", schema=SCHEMA, context="training"),
    ]
    got = P.training_payload(
        run_id="r1", params={"lr": "0.1"}, metrics={"acc": 0.123456789, "loss": 2.0, "n": 3},
        artifact_checksums=checks, source_name="train.py", git_commit="", dataset_inputs=inputs,
        mlflow_trace_id="tr-1", tracking_uri="sqlite:///x.db",
        metadata={"include_tracking_uri": True, "service": "s", "run_id": "evil",
                  "otel_trace_id": "ab" * 16})
    schema_hash = H(rfc8785.dumps(json.loads(SCHEMA)))
    expected = {
        "event_type": "training_complete", "run_id": "r1", "params": {"lr": "0.1"},
        "metrics": {"acc": 0.123457, "loss": 2.0, "n": 3}, "artifact_checksums": checks,
        "source_name": "train.py", "git_commit": "",
        "dataset_inputs": [
            {"name": "train", "source": '{"uri": "s3://b/t"}', "source_type": "s3",
             "digest": "d1", "schema_hash": schema_hash, "context": "training"},
            {"name": "val", "source": '{"uri": "s3://b/v"}', "source_type": "s3",
             "digest": "d2", "schema_hash": "", "context": "validation"},
        ],
        "mlflow_trace_id": "tr-1", "mlflow_tracking_uri": "sqlite:///x.db",
        "service": "s", "otel_trace_id": "ab" * 16,
    }
    assert rfc8785.dumps(got) == rfc8785.dumps(expected)
    assert P.Payload.of(got).hash == H(rfc8785.dumps(expected))
    # without the opt-in neither the URI nor the control key is committed
    plain = P.training_payload(run_id="r1", params={}, metrics={}, artifact_checksums={},
                               source_name="", git_commit="", dataset_inputs=[],
                               tracking_uri="sqlite:///x.db")
    assert "mlflow_tracking_uri" not in plain and "include_tracking_uri" not in plain


def test_dataset_payload_bytes_and_schema_fallbacks():
    got = P.dataset_payload(name="train", source='{"uri": "s3://b/t"}', source_type="s3",
                            digest="d1", schema=SCHEMA)
    expected = {"event_type": "dataset", "name": "train", "source": '{"uri": "s3://b/t"}',
                "source_type": "s3", "digest": "d1",
                "schema_hash": H(rfc8785.dumps(json.loads(SCHEMA)))}
    assert rfc8785.dumps(got) == rfc8785.dumps(expected)
    assert P.schema_hash("not json {") == H(b"not json {")
    assert P.schema_hash("") == "" and P.schema_hash(None) == ""


def test_registration_and_promotion_payload_bytes():
    reg = P.registration_payload(model_name="m", model_version=3, source_run_id="r1",
                                 source="runs:/r1/model", artifact_verified=True,
                                 artifact_hash="cc" * 32, metadata={"source": "x", "team": "t"})
    assert rfc8785.dumps(reg) == rfc8785.dumps({
        "event_type": "model_registered", "model_name": "m", "model_version": "3",
        "source_run_id": "r1", "source": "runs:/r1/model", "artifact_verified": True,
        "artifact_hash": "cc" * 32, "team": "t"})
    promo = P.promotion_payload(model_name="m", model_version="3", from_stage="None",
                                to_stage="Production")
    assert rfc8785.dumps(promo) == rfc8785.dumps({
        "event_type": "stage_transition", "model_name": "m", "model_version": "3",
        "from_stage": "None", "to_stage": "Production"})


def test_prediction_payload_bytes_and_hashes():
    features = {"a": 1.5, "b": 2}
    in_hash = H(rfc8785.dumps(features))
    out_hash = H(rfc8785.dumps({"prediction": [3.5]}))
    assert P.input_hash(features) == in_hash
    assert P.input_hash([1.5, 2]) == H(rfc8785.dumps({"features": [1.5, 2]}))
    assert P.input_hash((1.5, 2)) == H(rfc8785.dumps({"features": [1.5, 2]}))
    assert P.output_hash(np.array([3.5])) == out_hash
    assert P.output_hash([3.5]) == out_hash
    # numpy rows become plain lists (the plugin cannot hash them at all)
    assert P.input_hash(np.array([[1.0, 2.0]])) == H(rfc8785.dumps({"features": [[1.0, 2.0]]}))
    got = P.prediction_payload(decision_id="d", model_name="m", model_version="1", run_id="r",
                               model_uri="models:/m/1", input_hash=in_hash, output_hash=out_hash,
                               latency_ms=12.34567, artifact_verified=None,
                               mlflow_trace_id="tr-9", metadata={"latency_ms": 0, "svc": "x"})
    assert rfc8785.dumps(got) == rfc8785.dumps({
        "event_type": "prediction", "decision_id": "d", "model_name": "m", "model_version": "1",
        "run_id": "r", "model_uri": "models:/m/1", "input_hash": in_hash, "output_hash": out_hash,
        "latency_ms": 12.35, "artifact_verified": None, "mlflow_trace_id": "tr-9", "svc": "x"})
    with pytest.raises(P.PayloadError):
        P.output_hash(object())


def test_dataset_inputs_are_sorted_with_none_as_empty():
    items = [{"name": "b", "source": None, "context": None, "digest": "1"},
             {"name": None, "source": "s", "context": "c", "digest": "2"},
             {"name": "a", "source": "z", "context": None, "digest": "3"}]
    assert [i["digest"] for i in P.sort_dataset_inputs(items)] == ["2", "3", "1"]


def test_normalize_floats_is_python_round():
    assert P.normalize_floats({"x": [0.1234565, (2.5e-7,)], "b": True}) == \
        {"x": [round(0.1234565, 6), [round(2.5e-7, 6)]], "b": True}


def test_artifact_hash_and_subjects():
    checks = {"MLmodel": "aa" * 32}
    assert P.artifact_hash(checks) == H(rfc8785.dumps(checks))
    assert P.artifact_hash({}) is None
    assert P.run_subject("r") == {"type": "mlflow_run", "run_id": "r"}
    assert P.run_subject("r", include_tracking_uri=True, tracking_uri="u")["tracking_uri"] == "u"
    assert P.model_version_subject("m", 2) == {"type": "mlflow_model_version", "name": "m",
                                               "version": "2"}
    assert P.prediction_subject("d", "r") == {"type": "mlflow_prediction", "decision_id": "d",
                                              "model_run_id": "r"}
    assert P.prediction_subject("d", "r", "tr")["trace_id"] == "tr"
    assert P.dataset_subject("n", "g") == {"type": "mlflow_dataset", "name": "n", "digest": "g"}


def test_chain_links():
    assert P.training_previous_hash(None) == "GENESIS"
    assert P.training_previous_hash({"ario.last_training_hash": "ab" * 32}) == "ab" * 32
    assert P.registration_previous_hash({"ario.training_tx": "T" * 43}) == "T" * 43
    assert P.registration_previous_hash({}) == "GENESIS"
    assert P.promotion_previous_hash({"ario.registration_tx": "R" * 43}) == "R" * 43
    assert P.prediction_previous_hash({"ario.registration_tx": ""}) == "GENESIS"
    assert P.parse_runs_uri("runs:/abc/model/sub") == ("abc", "model/sub")
    assert P.parse_runs_uri("runs:/abc") == ("abc", None)
    assert P.parse_runs_uri("models:/m/1") == (None, None)

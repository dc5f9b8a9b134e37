"""End to end on a real MLflow sqlite store anchored through `verifier.anchor` against a
real local gateway: the `demo` command builds it (in a subprocess); then the same store is
audited live, exported and audited offline, checked with the seed forms, tagged, and
tampered with in MLflow itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from verifier.cli.main import main

pytestmark = pytest.mark.slow
MODEL = "models:/ario-demo-model/1"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    work = tmp_path_factory.mktemp("demo") / "work"
    env = dict(os.environ, NO_COLOR="1")
    env.pop("MLFLOW_TRACKING_URI", None)
    proc = subprocess.run([sys.executable, "-m", "verifier", "demo", "--workdir", str(work)],
                          capture_output=True, text=True, env=env, timeout=240,
                          cwd=tmp_path_factory.mktemp("cwd"))
    return work, proc


def audit_json(capsys, *argv):
    code = main(["audit", *argv, "--json", "-q"])
    captured = capsys.readouterr()
    return code, json.loads(captured.out)


def test_demo_runs_and_catches_every_tamper(demo):
    work, proc = demo
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "VERIFIED: 7 events, 7 bound" in out
    assert out.count("caught: FAILED") == 3 and "NOT CAUGHT" not in out
    for reason in ("record_mismatch", "artifact_hash_mismatch", "payload_hash_mismatch"):
        assert f"[{reason}]" in out
    for name in ("mlflow.db", "audit-bundle.zip", "gateway.sqlite3", "trusted-keys.txt",
                 "reports/clean.json", "tampered/metric.zip", "tampered/model-file.zip",
                 "tampered/payload.zip"):
        assert (work / name).exists(), name
        assert str(work / name.split("/")[0]) in out
    assert json.loads((work / "reports" / "clean.json").read_text())["status"] == "verified"


def test_demo_refuses_a_non_empty_workdir(demo, capsys):
    work, _ = demo
    assert main(["demo", "--workdir", str(work)]) == 2
    assert "not empty" in capsys.readouterr().err


def test_live_audit_offline_from_mlflow(demo, capsys):
    work, _ = demo
    uri = f"sqlite:///{work / 'mlflow.db'}"
    code, doc = audit_json(capsys, "--tracking-uri", uri, MODEL, "--offline",
                           "--trusted-keys", str(work / "trusted-keys.txt"), "--require-binding")
    assert (code, doc["status"]) == (0, "verified"), doc["reason"]
    assert doc["source"] == "mlflow" and len(doc["events"]) == 7
    types = sorted(e["subject"]["event_type"] for e in doc["events"])
    assert types == ["dataset", "model_registered", "prediction", "prediction", "prediction",
                     "stage_transition", "training_complete"]


def test_export_offline_then_audit_the_bundle(demo, capsys, tmp_path):
    work, _ = demo
    out = tmp_path / "exported.zip"
    code = main(["export", "--tracking-uri", f"sqlite:///{work / 'mlflow.db'}", MODEL,
                 "-o", str(out), "--offline", "--json"])
    info = json.loads(capsys.readouterr().out)
    assert code == 0 and info["events"] == 7 and out.exists()
    code, doc = audit_json(capsys, str(out), "--trusted-keys", str(work / "trusted-keys.txt"))
    assert (code, doc["status"]) == (0, "verified")


def test_seed_forms_against_mlflow_tracking_uri(demo, capsys, monkeypatch):
    work, _ = demo
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{work / 'mlflow.db'}")
    code, doc = audit_json(capsys, "ario-demo-model/1", "--offline")
    assert (code, doc["status"]) == (0, "verified")
    training = next(e for e in doc["events"] if e["subject"]["event_type"] == "training_complete")
    run_id = training["subject"]["entity"]["run_id"]
    # the ar-io-mlflow CLI's forms, parsed once by the verify parser
    assert main(["verify", "run", run_id, "--offline", "--json", "-q"]) == 0
    run_doc = json.loads(capsys.readouterr().out)
    assert {e["subject"]["event_type"] for e in run_doc["events"]} == {"training_complete", "dataset"}
    assert main(["verify", "model", "ario-demo-model/1", "--offline", "-q"]) == 0
    capsys.readouterr()
    prediction = next(e for e in doc["events"] if e["subject"]["event_type"] == "prediction")
    trace_id = prediction["subject"]["entity"].get("trace_id")
    assert trace_id
    events = work / "trace-events.jsonl"
    assert main(["verify", "--offline", "trace", trace_id, "--json", "-q",
                 "--events-out", str(events)]) == 0
    trace_doc = json.loads(capsys.readouterr().out)
    lines = [json.loads(x) for x in events.read_text().splitlines()]
    key = lambda e: json.dumps(e["subject"], sort_keys=True)  # noqa: E731
    assert lines and sorted(map(key, lines)) == sorted(map(key, trace_doc["events"]))
    assert any(e["subject"]["event_type"] == "prediction" for e in trace_doc["events"])
    with pytest.raises(SystemExit) as exc:
        main(["verify", "model", "ario-demo-model/1", "--no-such-flag"])
    assert exc.value.code == 2


def test_write_tags_back_to_mlflow(demo, capsys):
    from mlflow import MlflowClient

    work, _ = demo
    uri = f"sqlite:///{work / 'mlflow.db'}"
    code = main(["audit", "--tracking-uri", uri, MODEL, "--offline", "--write-tags", "-q"])
    capsys.readouterr()
    assert code == 0
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    mv = client.get_model_version("ario-demo-model", "1")
    assert mv.tags["ario.verify_status"] == "verified"
    assert client.get_run(mv.run_id).data.tags["ario.verify_status"] == "verified"


def test_metric_changed_in_the_live_store_is_caught(demo, capsys, tmp_path):
    """Copy the store, change the run's metric in MLflow, audit the copy live."""
    import shutil

    from mlflow import MlflowClient

    work, _ = demo
    db = tmp_path / "mlflow.db"
    shutil.copy(work / "mlflow.db", db)  # artifacts stay where the copy's rows point
    uri = f"sqlite:///{db}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    run_id = client.get_model_version("ario-demo-model", "1").run_id
    client.log_metric(run_id, "accuracy", 0.999)
    code, doc = audit_json(capsys, "--tracking-uri", uri, MODEL, "--offline")
    assert (code, doc["reason"]) == (1, "record_mismatch")


def test_stage_changed_outside_the_plugin_is_missing_evidence(demo, capsys, tmp_path):
    """Issue 8, defect 7, on a real store: the registry moves the version to Staging with no
    anchored stage_transition (MLflow's client, not the plugin); the live audit is
    incomplete (event_omitted), never verified."""
    import shutil

    from mlflow import MlflowClient

    work, _ = demo
    db = tmp_path / "mlflow.db"
    shutil.copy(work / "mlflow.db", db)
    uri = f"sqlite:///{db}"
    MlflowClient(tracking_uri=uri, registry_uri=uri).transition_model_version_stage(
        "ario-demo-model", "1", "Staging")
    code, doc = audit_json(capsys, "--tracking-uri", uri, MODEL, "--offline",
                           "--trusted-keys", str(work / "trusted-keys.txt"))
    check = next(c for c in doc["checks"] if c["id"] == "completeness")
    assert (code, doc["status"], check["reason"]) == (3, "incomplete", "event_omitted")
    assert "'Staging'" in check["detail"]
    assert all(e["status"] == "verified" for e in doc["events"])

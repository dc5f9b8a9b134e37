"""`ario-verifier audit FILE.zip` and `verify FILE.zip`: exit codes, JSON shape, output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile

import pytest

from audit_factory import RUN
from verifier.cli.main import main
from verifier.sources.bundle import write_bundle

CLI = [sys.executable, "-m", "verifier"]


@pytest.fixture()
def bundle(tmp_path, lineage):
    path = tmp_path / "audit.zip"
    write_bundle(lineage.collection(), path)
    return path


def run_json(capsys, *argv):
    code = main(["audit", *argv, "--json", "-q"])
    out, err = capsys.readouterr()
    return code, json.loads(out), err


def test_verified_bundle_json_shape(capsys, bundle, gateway):
    code, doc, _ = run_json(capsys, str(bundle), "--receipt-signer", gateway.signer_address)
    assert code == 0
    assert {"kind", "status", "reason", "checks", "subject", "events"} <= set(doc)
    assert (doc["kind"], doc["status"], doc["reason"]) == ("audit", "verified", None)
    assert len(doc["events"]) == 7
    ev = doc["events"][1]
    assert ev["kind"] == "event" and ev["subject"]["event_type"] == "training_complete"
    assert {c["id"] for c in ev["checks"]} >= {"proof_found", "binding", "receipt", "signature",
                                                "payload_hash", "record", "chain", "datasets",
                                                "artifacts"}
    graph = doc["subject"]["graph"]
    assert {"nodes", "edges", "roots", "dangling"} <= set(graph)
    assert doc["subject"]["policy"]["trusted_receipt_signers"] == [gateway.signer_address]


def test_failed_bundle_exits_1(capsys, tmp_path, lineage):
    col = lineage.collection()
    col.model_files[RUN]["MLmodel"] = "f" * 64
    path = tmp_path / "swapped.zip"
    write_bundle(col, path)
    code, doc, _ = run_json(capsys, str(path))
    assert (code, doc["status"], doc["reason"]) == (1, "failed", "artifact_hash_mismatch")


def test_incomplete_bundle_exits_3(capsys, tmp_path, lineage):
    col = lineage.collection()
    col.records = [r for r in col.records if r.hints["role"] != "dataset"]
    path = tmp_path / "nodataset.zip"
    write_bundle(col, path)
    code, doc, _ = run_json(capsys, str(path))
    assert (code, doc["status"], doc["reason"]) == (3, "incomplete", "dataset_unresolved")


def test_malformed_bundle_exits_2(capsys, tmp_path, bundle):
    broken = tmp_path / "broken.zip"
    with zipfile.ZipFile(bundle) as src, zipfile.ZipFile(broken, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.startswith("payloads/"):
                data = data + b" "  # the manifest digest no longer matches
            dst.writestr(info, data)
    code, doc, _ = run_json(capsys, str(broken))
    assert (code, doc["status"], doc["reason"]) == (2, "malformed", "bundle_malformed")
    garbage = tmp_path / "garbage.zip"
    garbage.write_bytes(b"PK\x03\x04 this is not a zip")
    code, doc, _ = run_json(capsys, str(garbage))
    assert code == 2 and doc["status"] == "malformed"


def test_missing_file_and_bad_target_are_usage_errors(capsys, tmp_path, monkeypatch):
    code, doc, _ = run_json(capsys, str(tmp_path / "nope.zip"))
    assert code == 2 and doc["reason"] == "input_unreadable"
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert main(["audit", "some-model/3"]) == 2
    assert "MLFLOW_TRACKING_URI" in capsys.readouterr().err
    assert main(["audit", "not a target"]) == 2


def test_verify_accepts_an_audit_bundle(capsys, bundle):
    code = main(["verify", str(bundle), "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0 and doc["kind"] == "audit" and len(doc["events"]) == 7


def test_human_output_names_events_and_checks(capsys, bundle, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    assert main(["audit", str(bundle), "-q"]) == 0
    out = capsys.readouterr().out
    assert "\033[" not in out
    for text in ("training run", "registration of model", "promotion of model", "prediction dec-",
                 "dataset iris", "proof_found", "binding", "record", "artifacts", "VERIFIED"):
        assert text in out, text


def test_human_output_for_a_failure_explains(capsys, tmp_path, lineage):
    col = lineage.collection()
    lineage.record(col, "training").surface["metrics"]["loss"] = 9.0
    path = tmp_path / "metric.zip"
    write_bundle(col, path)
    assert main(["audit", str(path), "-q"]) == 1
    out = capsys.readouterr().out
    assert "[record_mismatch]" in out and "metrics" in out and "FAILED" in out


def test_trusted_keys_file(capsys, tmp_path, bundle, lineage):
    keys = tmp_path / "keys.txt"
    keys.write_text("# producer\n" + lineage.key.verify_key.encode().hex() + "\n")
    code, doc, _ = run_json(capsys, str(bundle), "--trusted-keys", str(keys))
    assert code == 0
    keys.write_text("00" * 32 + "\n")
    code, doc, _ = run_json(capsys, str(bundle), "--trusted-keys", str(keys))
    assert (code, doc["reason"]) == (1, "untrusted_signer")


@pytest.mark.slow
def test_large_bundle_parallel_in_a_fresh_process(tmp_path, big_lineage):
    """The CLI process has no other threads, so the engine forks workers; the JSON must be
    identical to the serial audit, progress goes to stderr and stdout stays clean."""
    lin = big_lineage
    path = tmp_path / "big.zip"
    write_bundle(lin.collection(), path)
    env = dict(os.environ, NO_COLOR="1")
    one = subprocess.run(CLI + ["audit", str(path), "--json", "--workers", "1"],
                         capture_output=True, env=env, timeout=300)
    two = subprocess.run(CLI + ["audit", str(path), "--json", "--workers", "2"],
                         capture_output=True, env=env, timeout=300)
    assert one.returncode == two.returncode == 0, two.stderr.decode()
    assert json.loads(one.stdout) == json.loads(two.stdout)
    assert b"auditing events" in two.stderr


def test_option_errors_are_usage_errors(capsys, bundle, tmp_path, monkeypatch):
    assert main(["audit", str(bundle), "--gateway", "http://127.0.0.1:9", "--quorum", "2"]) == 2
    assert "quorum" in capsys.readouterr().err
    assert main(["audit", str(bundle), "--gateway", "ftp://example"]) == 2
    assert main(["audit", str(bundle), "--write-tags"]) == 2
    assert "--write-tags" in capsys.readouterr().err
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert main(["export", "models:/m/1", "-o", str(tmp_path / "x.zip")]) == 2
    assert main(["export", "--tracking-uri", f"sqlite:///{tmp_path / 'none.db'}", "what?",
                 "-o", str(tmp_path / "x.zip"), "--offline"]) == 2


def test_unreadable_store_is_reported_not_raised(capsys, tmp_path):
    missing = f"sqlite:///{tmp_path / 'missing.db'}"
    code = main(["audit", "--tracking-uri", missing, "models:/m/1", "--offline", "--json", "-q"])
    doc = json.loads(capsys.readouterr().out)
    assert code in (2, 3) and doc["status"] in ("malformed", "incomplete")
    assert main(["export", "--tracking-uri", missing, "models:/m/1", "-o",
                 str(tmp_path / "x.zip"), "--offline"]) == 2
    assert not (tmp_path / "missing.db").exists()

"""Issue 8, defect 12: `audit --claims FILE` compares the plugin's own `ario.mlflow.audit/v1`
report with the audit of the evidence, per stage and check (spec/audit.md A14)."""

from __future__ import annotations

import copy
import json

import pytest

from vectors_util import load_vectors
from verifier.cli.main import main

VECTORS = {v["id"]: v for v in load_vectors("audit_bundle")}
OK = VECTORS["audit-bundle-ok-stored-unpinned"]
METRIC = VECTORS["audit-bundle-record-mismatch-metric"]
STAGES = {"training": "training_complete", "registration": "model_registered",
          "promotion": "stage_transition"}


def _write(tmp_path, vector) -> str:
    path = tmp_path / "b.zip"
    path.write_bytes(bytes.fromhex(vector["input"]["document_hex"]))
    return str(path)


def _audit(capsys, *argv: str) -> tuple[int, dict]:
    code = main(["audit", *argv, "--offline", "--json", "-q", "--workers", "1"])
    return code, json.loads(capsys.readouterr().out)


def _report(capsys, bundle: str) -> dict:
    """A report as the plugin writes it (shape of ../shared/reference/ar-io-mlflow-audit-
    example.json), naming this bundle's model version and tx ids, every check passing."""
    _, doc = _audit(capsys, bundle)
    tx = {e["subject"]["event_type"]: e["subject"]["tx_id"] for e in doc["events"]}
    subject = doc["subject"]["subject"]

    def ok(v, reason=""):
        return {"ok": v, "reason": reason}

    stages = [{"stage": stage, "tx_id": tx[etype], "anchored": True, "ok": True,
               "checks": {"signature": ok(True), "anchored_bytes": ok(True),
                          "source_of_truth": ok(None, "no_live_fields_for_event_type")
                          if stage == "promotion" else ok(True),
                          "ario_attestation": ok(None, "ario_verify_not_enabled")}}
              for stage, etype in STAGES.items()]
    return {"schema": "ario.mlflow.audit/v1", "model": subject["model"], "version": subject["version"],
            "generated_at": "2026-12-05T15:55:15.539515Z", "tracking_uri": "sqlite:///mlflow.db",
            "run_id": subject["run_id"], "current_stage": "Production", "stages": stages,
            "overall_ok": True}


def _claims(tmp_path, report: dict | str | bytes) -> str:
    path = tmp_path / "claims.json"
    if isinstance(report, dict):
        report = json.dumps(report)
    path.write_bytes(report if isinstance(report, bytes) else report.encode())
    return str(path)


def test_agreeing_claims_keep_the_verdict(tmp_path, capsys):
    bundle = _write(tmp_path, OK)
    claims = _claims(tmp_path, _report(capsys, bundle))
    code, doc = _audit(capsys, bundle, "--claims", claims)
    check = next(c for c in doc["checks"] if c["id"] == "claims")
    assert (code, doc["status"], check["outcome"]) == (0, "verified", "passed")
    rows = doc["subject"]["claims"]["stages"]
    assert [r["agreement"] for r in rows] == ["agree"] * 3
    assert rows[2]["checks"]["source_of_truth"]["agreement"] == "not_claimed"
    assert rows[0]["checks"]["ario_attestation"]["agreement"] == "not_claimed"
    main(["audit", bundle, "--offline", "-q", "--claims", claims])
    text = capsys.readouterr().out
    assert "Plugin's own audit report (untrusted claims" in text and "promotion" in text


def test_claimed_pass_that_fails_here(tmp_path, capsys):
    report = _report(capsys, _write(tmp_path, OK))  # same model and tx ids as METRIC's bundle
    bundle = _write(tmp_path, METRIC)
    code, doc = _audit(capsys, bundle, "--claims", _claims(tmp_path, report))
    check = next(c for c in doc["checks"] if c["id"] == "claims")
    assert (code, doc["status"], check["reason"]) == (1, "failed", "claim_contradicted")
    training = doc["subject"]["claims"]["stages"][0]
    assert training["checks"]["source_of_truth"] == {
        "claimed": True, "claimed_reason": "", "ours": "failed", "our_reason": "record_mismatch",
        "agreement": "contradicted"}
    assert "training" in check["detail"] and "source_of_truth" in check["detail"]


def test_claimed_failure_that_verifies_here(tmp_path, capsys):
    bundle = _write(tmp_path, OK)
    report = _report(capsys, bundle)
    report["stages"][1]["checks"]["signature"] = {"ok": False, "reason": "signature_invalid"}
    report["stages"][1]["ok"] = False
    code, doc = _audit(capsys, bundle, "--claims", _claims(tmp_path, report))
    assert (code, doc["status"], doc["reason"]) == (3, "incomplete", "claim_disagreement")
    row = doc["subject"]["claims"]["stages"][1]
    assert (row["agreement"], row["checks"]["signature"]["agreement"]) == ("disagreement", "disagreement")


def test_claimed_stage_missing_from_the_evidence_and_other_model(tmp_path, capsys):
    bundle = _write(tmp_path, OK)
    report = _report(capsys, bundle)
    extra = copy.deepcopy(report)
    extra["stages"].append(dict(report["stages"][0], stage="training", tx_id="A" * 43))
    code, doc = _audit(capsys, bundle, "--claims", _claims(tmp_path, extra))
    assert (code, doc["reason"]) == (3, "event_omitted")
    assert doc["subject"]["claims"]["stages"][3]["agreement"] == "missing"
    other = dict(report, model="fraud-prod", version="42")
    code, doc = _audit(capsys, bundle, "--claims", _claims(tmp_path, other))
    assert (code, doc["reason"]) == (1, "claim_contradicted")
    other_run = dict(report, run_id="f" * 32)
    code, doc = _audit(capsys, bundle, "--claims", _claims(tmp_path, other_run))
    assert (code, doc["reason"]) == (1, "claim_contradicted")


@pytest.mark.parametrize("content, reason", [
    (b'{"schema": "ario.mlflow.audit/v1", "version": 1' + b"0" * 5000 + b"}", "number_out_of_range"),
    (b'{"schema": "ario.mlflow.audit/v1", "schema": "x"}', "duplicate_key"),
    (b"[" * 100_000, "nesting_too_deep"),
    (b"\xff\xfe", "invalid_utf8"),
    (b"[]", "claims_malformed"),
    (b'{"schema": "ario.mlflow.audit/v0", "stages": []}', "claims_malformed"),
    (b'{"schema": "ario.mlflow.audit/v1", "stages": [{"stage": "t", "tx_id": "../x"}]}',
     "claims_malformed"),
    (b'{"schema": "ario.mlflow.audit/v1", "stages": [{"stage": "t", "checks": {"signature": {"ok": 1}}}]}',
     "claims_malformed"),
    (b'{"schema": "ario.mlflow.audit/v1", "stages": {}}', "claims_malformed"),
])
def test_hostile_claims_files_are_typed_errors(tmp_path, capsys, content, reason):
    bundle = _write(tmp_path, OK)
    code, doc = _audit(capsys, bundle, "--claims", _claims(tmp_path, content))
    assert (code, doc["status"], doc["reason"]) == (2, "malformed", reason)
    assert doc["checks"][0]["id"] == "claims"


def test_unreadable_claims_file(tmp_path, capsys):
    code, doc = _audit(capsys, _write(tmp_path, OK), "--claims", str(tmp_path / "nope.json"))
    assert (code, doc["reason"]) == (2, "input_unreadable")


def test_the_reference_example_parses():
    from pathlib import Path

    from verifier.audit.claims import parse_claims

    example = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / \
        "ar-io-mlflow-audit-example.json"
    claims = parse_claims(example.read_bytes())
    assert (claims.model, claims.version, [s.stage for s in claims.stages]) == (
        "credit-scorer", "2", ["training", "registration", "promotion"])
    assert dict((n, ok) for n, ok, _ in claims.stages[2].checks)["source_of_truth"] is None


def test_parse_claims_raises_only_claims_errors():
    """Any bytes, and any JSON shaped roughly like a report, give Claims or ClaimsError."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from verifier.audit.claims import Claims, ClaimsError, parse_claims

    scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=6)
    values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                          | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=8)
    stage = st.fixed_dictionaries({}, optional={"stage": values, "tx_id": values, "ok": values,
                                                "checks": st.dictionaries(st.text(max_size=5), values | st.fixed_dictionaries(
                                                    {}, optional={"ok": values, "reason": values}), max_size=3)})
    report = st.fixed_dictionaries({"schema": st.just("ario.mlflow.audit/v1")},
                                   optional={"model": values, "version": values, "run_id": values,
                                             "overall_ok": values, "stages": st.lists(stage, max_size=3) | values})

    @settings(max_examples=60, deadline=None, database=None)
    @given(st.binary(max_size=64) | report.map(lambda r: json.dumps(r).encode()))
    def run(data):
        try:
            assert isinstance(parse_claims(data), Claims)
        except ClaimsError as exc:
            assert exc.reason.value and exc.detail

    run()

"""Issue 8, smaller problems: an unpinned signer is named beside the verdict,
`--require-receipts`, `--summary` (the default above FULL_LISTING events) and aligned
check names."""

from __future__ import annotations

import io
import json

from audit_factory import build_lineage, rewrite_bundle
from vectors_util import load_vectors
from verifier.cli.audit_render import FULL_LISTING, render_audit_human
from verifier.cli.main import main
from verifier.core.reasons import ReasonCode, Status
from verifier.core.result import Result, passed, problem
from verifier.sources.bundle import write_bundle

BASE = next(v for v in load_vectors("audit_bundle") if v["id"] == "audit-bundle-ok-stored-unpinned")


def _bundle(tmp_path, data: bytes | None = None):
    path = tmp_path / "b.zip"
    path.write_bytes(data if data is not None else bytes.fromhex(BASE["input"]["document_hex"]))
    return path


def _run(capsys, *argv: str) -> tuple[int, str]:
    code = main(["audit", *argv, "--offline", "-q", "--workers", "1"])
    return code, capsys.readouterr().out


def test_unpinned_signer_is_named_beside_the_verdict(tmp_path, capsys):
    path = _bundle(tmp_path)
    code, doc_text = _run(capsys, str(path), "--json")
    doc = json.loads(doc_text)
    signer = doc["subject"]["signers"][0]
    assert (code, doc["status"], doc["subject"]["signer_pinned"]) == (0, "verified", False)
    code, text = _run(capsys, str(path))
    lines = text.rstrip("\n").splitlines()
    verdict = next(i for i, line in enumerate(lines) if line.startswith("VERIFIED"))
    assert "SIGNER NOT PINNED" in lines[verdict + 1] and signer in lines[verdict + 1]
    keys = tmp_path / "keys.txt"
    keys.write_text(signer + "\n")
    code, text = _run(capsys, str(path), "--trusted-keys", str(keys))
    assert code == 0 and "NOT PINNED" not in text and "pinned by --trusted-keys" in text


def test_require_receipts_makes_unreceipted_events_incomplete(tmp_path, capsys):
    def drop_promotion_receipt(manifest, members):
        ev = next(e for e in manifest["events"] if e["event_type"] == "stage_transition")
        name, ev["receipt"] = ev["receipt"], None
        del members[name]
        manifest["members"] = [m for m in manifest["members"] if m["path"] != name]

    path = _bundle(tmp_path, rewrite_bundle(bytes.fromhex(BASE["input"]["document_hex"]),
                                            drop_promotion_receipt))
    code, out = _run(capsys, str(path), "--json")
    assert (code, json.loads(out)["status"]) == (0, "verified")
    code, out = _run(capsys, str(path), "--json", "--require-receipts")
    doc = json.loads(out)
    assert (code, doc["status"], doc["reason"]) == (3, "incomplete", "receipt_missing")
    assert doc["subject"]["policy"]["require_receipts"] is True
    bad = [e for e in doc["events"] if e["status"] != "verified"]
    assert [e["subject"]["event_type"] for e in bad] == ["stage_transition"]


def test_summary_is_the_default_above_the_threshold(tmp_path, capsys):
    lin = build_lineage(predictions=FULL_LISTING, data_items=False)
    col = lin.collection()
    lin.record(col, "prediction3").payload = b'{"tampered": true}'
    path = tmp_path / "big.zip"
    write_bundle(col, path, created_at="2026-01-01T00:00:00Z")
    code, text = _run(capsys, str(path))
    assert code == 1 and len(col.records) > FULL_LISTING
    assert len(text.splitlines()) < 25 and "  status: " in text
    failures = [line for line in text.splitlines() if line.startswith("  [") and "[payload_hash_mismatch]" in line]
    assert len(failures) == 1 and "prediction dec-000003" in failures[0]
    code, full = _run(capsys, str(path), "--full")
    assert code == 1 and full.count("\n[") == len(col.records)
    code, small = _run(capsys, str(path), "--summary")
    assert small == text


def test_long_check_names_stay_aligned():
    long_id = "a_check_with_a_rather_long_name"
    ev = Result("event", Status.FAILED, ReasonCode.SIGNATURE_INVALID,
                (passed("proof_found"), problem(long_id, ReasonCode.SIGNATURE_INVALID, "bad")),
                {"label": "x", "tx_id": "t"})
    audit = Result("audit", Status.FAILED, ReasonCode.SIGNATURE_INVALID,
                   (problem("events", ReasonCode.SIGNATURE_INVALID, "1 failed"),), {}, (ev,))
    out = io.StringIO()
    render_audit_human(audit, "x.zip", out, summary=False)
    rows = [line for line in out.getvalue().splitlines() if line.startswith("    ") and line[4] in "✓✗"]
    columns = {line.index(" passed") if " passed" in line else line.index(" failed") for line in rows}
    assert len(rows) == 2 and len(columns) == 1, rows

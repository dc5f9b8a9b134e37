"""The spec, the reason-code list and the vectors stay one contract."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import jsonschema
import pytest

from vectors_util import ROOT, VECTORS
from verifier.core.reasons import REASONS, ReasonCode

#: Reason codes no vector can express; each is covered by the named tests instead.
NOT_VECTORIZABLE = {
    "input_unreadable": "an I/O condition of the CLI (tests/cli/test_cli_verify.py)",
    "usage_error": "a command line, not a document (tests/cli/test_cli_usage.py)",
    "input_too_large": "needs an input beyond the caller's limit (tests/cli/test_cli_verify.py)",
    "unknown_document": "reserved for document detection in audit inputs",
    # A10 needs an ar.io Verify service; audit_bundle vectors are audited with no network.
    "attestation_level_low": "tests/audit/test_audit_attestation.py::"
                             "test_level_below_minimum_is_incomplete (loopback Verify service)",
    "attestation_unavailable": "tests/audit/test_audit_attestation.py::"
                               "test_service_errors_are_unavailable (loopback Verify service)",
    # A policy switch outside the vector policy vocabulary (spec/conformance.md).
    "receipt_missing": "tests/audit/test_audit_policy_output.py::"
                       "test_require_receipts_makes_unreceipted_events_incomplete",
    # A14 compares a separate input (the plugin's audit report), not part of a vector.
    "claim_contradicted": "tests/audit/test_audit_claims.py::test_claimed_pass_that_fails_here",
    "claim_disagreement": "tests/audit/test_audit_claims.py::test_claimed_failure_that_verifies_here",
    "claims_malformed": "tests/audit/test_audit_claims.py::test_hostile_claims_files_are_typed_errors",
}


def _all_vectors():
    return [json.loads(p.read_text()) for p in sorted(VECTORS.glob("*/*.json"))]


def test_reason_doc_is_generated_from_the_enum():
    rc = subprocess.run([sys.executable, str(ROOT / "tools/gen_reason_doc.py"), "--check"],
                        capture_output=True, text=True)
    assert rc.returncode == 0, rc.stdout + rc.stderr


def test_every_reason_has_a_bucket_and_meaning():
    assert set(REASONS) == set(ReasonCode)
    assert len({c.value for c in ReasonCode}) == len(ReasonCode)


def test_vectors_validate_against_schema():
    schema = json.loads((ROOT / "spec/vector.schema.json").read_text())
    validator = jsonschema.Draft202012Validator(schema)
    vectors = _all_vectors()
    assert len(vectors) > 50
    for v in vectors:
        errors = sorted(validator.iter_errors(v), key=str)
        assert not errors, f"{v.get('id')}: {errors[0].message}"


def test_vector_reasons_are_known_codes_and_ids_match_files():
    known = {c.value for c in ReasonCode}
    for path in sorted(VECTORS.glob("*/*.json")):
        v = json.loads(path.read_text())
        assert path.stem == v["id"] and path.parent.name == v["family"]
        assert v["expected"]["reason"] is None or v["expected"]["reason"] in known, v["id"]


def test_manifest_pins_every_file():
    manifest = json.loads((VECTORS / "MANIFEST.json").read_text())
    on_disk = {p.relative_to(VECTORS).as_posix() for p in VECTORS.glob("*/*.json")}
    assert set(manifest["files"]) == on_disk
    for rel, meta in manifest["files"].items():
        data = (VECTORS / rel).read_bytes()
        assert hashlib.sha256(data).hexdigest() == meta["sha256"], rel
        assert len(data) == meta["bytes"]


def test_regeneration_is_byte_identical():
    rc = subprocess.run([sys.executable, str(ROOT / "tools/gen_vectors.py"), "--check"],
                        capture_output=True, text=True)
    assert rc.returncode == 0, rc.stdout + rc.stderr


@pytest.mark.parametrize("code", [c.value for c in ReasonCode])
def test_every_reason_code_has_a_must_reject_vector(code):
    if code in NOT_VECTORIZABLE:
        return
    covered = {v["expected"]["reason"] for v in _all_vectors()}
    if code not in covered:
        pytest.fail(f"no must-reject vector with reason {code!r}")

"""Every `audit_bundle` vector (test-vectors/audit_bundle, spec/vectors.md §3) through the real
reader and engine, and through `ario-verifier audit FILE.zip --offline`.

The vectors are the spec's executable form: a disagreement is a bug in the reader or the
engine, never a reason to edit a vector.
"""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from vectors_util import load_vectors
from verifier.audit import AuditPolicy, audit_collection
from verifier.cli.main import main
from verifier.sources.bundle import read_bundle
from verifier.sources.errors import BundleError

VECTORS = load_vectors("audit_bundle")
EXIT = {"verified": 0, "failed": 1, "malformed": 2, "incomplete": 3}
#: The audit-level reason codes this family must cover (spec/reason-codes.md, audit.md,
#: audit-bundle.md); the attestation codes need an ar.io Verify service (A10).
AUDIT_CODES = {
    "binding_unchecked", "envelope_not_found", "gateway_unavailable", "gateway_disagreement",
    "record_mismatch", "surface_unavailable", "artifact_hash_mismatch", "dataset_unresolved",
    "bundle_malformed", "bundle_limit_exceeded", "bundle_unsafe_path", "target_mismatch",
    "event_omitted", "target_unconfirmed",
}


def policy_of(vector: dict) -> AuditPolicy:
    p = vector["input"].get("policy") or {}
    keys, signers = p.get("trusted_keys"), p.get("trusted_receipt_signers")
    return AuditPolicy(
        trusted_keys=frozenset(bytes.fromhex(k) for k in keys) if keys is not None else None,
        allow_legacy=p.get("allow_legacy", False),
        require_binding=p.get("require_binding", False),
        trusted_receipt_signers=frozenset(signers) if signers is not None else None,
    )


def audit(vector: dict) -> tuple[str, str | None]:
    data = bytes.fromhex(vector["input"]["document_hex"])
    try:
        collection = read_bundle(data)
    except BundleError as exc:
        return "malformed", exc.reason.value
    result = audit_collection(collection, policy_of(vector))
    return result.status.value, result.reason.value if result.reason is not None else None


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v["id"])
def test_engine_matches_vector(vector):
    expected = (vector["expected"]["status"], vector["expected"]["reason"])
    assert audit(vector) == expected, vector["description"]


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v["id"])
def test_cli_matches_vector(vector, tmp_path, capsys):
    path = tmp_path / "bundle.zip"
    path.write_bytes(bytes.fromhex(vector["input"]["document_hex"]))
    argv = ["audit", str(path), "--offline", "--json", "-q", "--workers", "1"]
    p = vector["input"].get("policy") or {}
    if "trusted_keys" in p:
        keys = tmp_path / "keys.txt"
        keys.write_text("".join(k + "\n" for k in p["trusted_keys"]))
        argv += ["--trusted-keys", str(keys)]
    if p.get("allow_legacy"):
        argv.append("--allow-legacy")
    if p.get("require_binding"):
        argv.append("--require-binding")
    for signer in p.get("trusted_receipt_signers", []):
        argv += ["--receipt-signer", signer]
    code = main(argv)
    doc = json.loads(capsys.readouterr().out)
    expected = vector["expected"]
    assert (code, doc["status"], doc["reason"]) == (EXIT[expected["status"]], expected["status"],
                                                   expected["reason"])


def test_family_covers_every_offline_audit_code():
    reasons = {v["expected"]["reason"] for v in VECTORS}
    assert AUDIT_CODES <= reasons, sorted(AUDIT_CODES - reasons)
    assert any(v["expected"]["status"] == "verified" for v in VECTORS)


def test_vector_files_stay_small():
    from vectors_util import VECTORS as ROOT

    for v in VECTORS:
        assert (ROOT / "audit_bundle" / f"{v['id']}.json").stat().st_size < 200_000, v["id"]


@pytest.mark.parametrize("vector", [v for v in VECTORS if v["expected"]["status"] == "verified"],
                         ids=lambda v: v["id"])
def test_clean_bundles_follow_the_writer_rules(vector):
    """spec/audit-bundle.md §2 and V1: v1 has the manifest first, then members sorted; v2 the
    shards in order, model-files.json, gaps.json, the manifest last; 1980-01-01; mode 0100644."""
    with zipfile.ZipFile(io.BytesIO(bytes.fromhex(vector["input"]["document_hex"]))) as zf:
        infos = zf.infolist()
        names = [i.filename for i in infos]
        if vector["id"].startswith("audit-bundle-v2-"):
            shards = [f"events/{i:06d}.jsonl" for i in range(len(names) - 3)]
            assert names == shards + ["model-files.json", "gaps.json", "manifest.json"]
        else:
            assert names[0] == "manifest.json" and names[1:] == sorted(names[1:])
        assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in infos)
        assert all(i.external_attr >> 16 == 0o100644 for i in infos)
        assert all(i.compress_type in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) for i in infos)
        assert zf.testzip() is None

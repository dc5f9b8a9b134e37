"""The audit engine on hand-built lineages: the clean lineage verifies, every tamper gives
its exact reason, missing pieces give `incomplete` (spec/audit.md A1-A11)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from nacl.signing import SigningKey

from audit_factory import MODEL, RUN, build_lineage, jcs
from verifier.audit import AuditPolicy, audit_collection
from verifier.core import mlflow_profile as mp
from verifier.core.reasons import ReasonCode as R
from verifier.core.reasons import Status
from verifier.core.result import Outcome
from verifier.gateway.server import GatewayServer


def child(result, label_part):
    return next(c for c in result.children if label_part in c.subject.get("label", ""))


def check(result_child, check_id):
    return result_child.check(check_id)


def test_clean_lineage_verifies(lineage, policy):
    result = audit_collection(lineage.collection(), policy)
    assert (result.kind, result.status, result.reason) == ("audit", Status.VERIFIED, None)
    assert len(result.children) == 7
    assert all(c.kind == "event" and c.status is Status.VERIFIED for c in result.children)
    s = result.subject
    assert s["events"] == 7 and s["bound"] == 7
    assert s["by_event_type"] == {"dataset": 1, "training_complete": 1, "model_registered": 1,
                                  "stage_transition": 1, "prediction": 3}
    assert len(s["graph"]["edges"]) == 5 and len(s["graph"]["roots"]) == 2
    assert s["witnessed_at"]["earliest"] <= s["witnessed_at"]["latest"]
    training = child(result, "training run")
    assert training.subject["tx_id"] == lineage.tx["training"]
    assert training.subject["bound"] is True and training.subject["receipt_signer_pinned"] is True
    for cid in ("proof_found", "binding", "receipt", "signature", "payload_hash", "record",
                "chain", "datasets", "artifacts"):
        assert check(training, cid).outcome is Outcome.PASSED, cid
    json.dumps(result.to_json())  # the whole result is JSON-serialisable


def test_metric_changed_in_mlflow_is_record_mismatch(lineage, policy):
    col = lineage.collection()
    lineage.record(col, "training").surface["metrics"]["accuracy"] = 0.99
    result = audit_collection(col, policy)
    assert (result.status, result.reason) == (Status.FAILED, R.RECORD_MISMATCH)
    rec = check(child(result, "training run"), "record")
    assert rec.reason is R.RECORD_MISMATCH and "metrics" in rec.detail


def test_param_and_source_changes_are_named(lineage, policy):
    col = lineage.collection()
    surface = lineage.record(col, "training").surface
    surface["params"]["lr"] = "0.2"
    surface["tags"]["mlflow.source.git.commit"] = "fffff"
    rec = check(child(audit_collection(col, policy), "training run"), "record")
    assert rec.reason is R.RECORD_MISMATCH
    assert "params" in rec.detail and "git_commit" in rec.detail and "metrics" not in rec.detail


def test_model_file_swapped_is_artifact_hash_mismatch(lineage, policy):
    col = lineage.collection()
    col.model_files[RUN]["python_model.pkl"] = "0" * 64
    result = audit_collection(col, policy)
    assert (result.status, result.reason) == (Status.FAILED, R.ARTIFACT_HASH_MISMATCH)
    art = check(child(result, "training run"), "artifacts")
    assert art.reason is R.ARTIFACT_HASH_MISMATCH and "python_model.pkl" in art.detail
    assert check(child(result, "registration"), "artifacts").reason is R.ARTIFACT_HASH_MISMATCH


def test_model_files_unavailable_is_incomplete(lineage, policy):
    col = lineage.collection()
    del col.model_files[RUN]
    result = audit_collection(col, policy)
    assert (result.status, result.reason) == (Status.INCOMPLETE, R.SURFACE_UNAVAILABLE)


def test_payload_edited_is_payload_hash_mismatch(lineage, policy):
    col = lineage.collection()
    rec = lineage.record(col, "training")
    rec.payload = rec.payload.replace(b'"lr":"0.1"', b'"lr":"0.5"')
    result = audit_collection(col, policy)
    assert (result.status, result.reason) == (Status.FAILED, R.PAYLOAD_HASH_MISMATCH)
    training = child(result, "training run")
    assert check(training, "payload_hash").reason is R.PAYLOAD_HASH_MISMATCH
    assert "params" in check(training, "record").detail


def test_prediction_trace_tag_edited_names_the_field(lineage, policy):
    col = lineage.collection()
    rec = lineage.record(col, "prediction1")
    tag = json.loads(rec.surface["trace_tags"][mp.TAG_PAYLOAD_JSON])
    tag["output_hash"] = "1" * 64
    rec.surface["trace_tags"][mp.TAG_PAYLOAD_JSON] = jcs(tag).decode()
    result = audit_collection(col, policy)
    assert (result.status, result.reason) == (Status.FAILED, R.RECORD_MISMATCH)
    assert "output_hash" in check(child(result, "dec-000001"), "record").detail


def test_prediction_without_stored_payload_binds_through_the_trace_tag(lineage, policy):
    col = lineage.collection()
    for r in col.records:
        if r.hints["role"].startswith("prediction"):
            r.payload = None
    assert audit_collection(col, policy).status is Status.VERIFIED


def _flip(envelope: bytes) -> bytes:
    i = envelope.index(b'"signed_at":"') + len(b'"signed_at":"')
    return envelope[:i] + (b"3" if envelope[i:i + 1] != b"3" else b"4") + envelope[i + 1:]


def test_envelope_byte_flipped(lineage, policy):
    col = lineage.collection()
    rec = lineage.record(col, "registration")
    rec.envelope = _flip(rec.envelope)
    result = audit_collection(col, policy)
    reg = child(result, "registration")
    # the data item no longer carries these bytes, and the signature fails as well
    assert reg.reason is R.DATA_ITEM_DATA_MISMATCH
    assert check(reg, "signature").reason is R.SIGNATURE_INVALID
    assert result.status is Status.FAILED


def test_envelope_byte_flipped_without_data_item_is_signature_invalid(gateway, policy):
    lin = build_lineage(predictions=1, gateway=gateway, data_items=False)
    col = lin.collection()
    rec = lin.record(col, "training")
    rec.envelope = _flip(rec.envelope)
    result = audit_collection(col, replace(policy, trusted_receipt_signers=None))
    assert (result.status, result.reason) == (Status.FAILED, R.SIGNATURE_INVALID)


def test_data_item_of_another_tx(lineage, policy):
    col = lineage.collection()
    a, b = lineage.record(col, "promotion"), lineage.record(col, "registration")
    a.data_item = b.data_item
    result = audit_collection(col, policy)
    assert (result.status, result.reason) == (Status.FAILED, R.DATA_ITEM_ID_MISMATCH)
    assert child(result, "promotion").reason is R.DATA_ITEM_ID_MISMATCH


def test_receipt_forged(lineage, policy):
    col = lineage.collection()
    rec = lineage.record(col, "training")
    rec.receipt = dict(rec.receipt, timestamp=rec.receipt["timestamp"] - 86_400_000)
    result = audit_collection(col, policy)
    assert (result.status, result.reason) == (Status.FAILED, R.RECEIPT_INVALID)


def test_receipt_for_another_tx(lineage, policy):
    col = lineage.collection()
    a, b = lineage.record(col, "training"), lineage.record(col, "dataset")
    a.receipt = b.receipt
    assert audit_collection(col, policy).reason is R.RECEIPT_INVALID


def test_receipt_from_an_untrusted_signer(lineage, policy):
    other = GatewayServer()
    try:
        col = lineage.collection()
        rec = lineage.record(col, "training")
        rec.receipt = other.sign_receipt(rec.tx_id, rec.receipt["owner"])
    finally:
        other.stop()
    result = audit_collection(col, policy)
    assert (result.status, result.reason) == (Status.FAILED, R.RECEIPT_UNTRUSTED)
    # unpinned: the signature verifies, the signer is shown as not pinned
    loose = audit_collection(col, replace(policy, trusted_receipt_signers=None))
    assert loose.status is Status.VERIFIED
    assert child(loose, "training run").subject["receipt_signer_pinned"] is False


def test_dataset_proof_missing_is_incomplete(lineage, policy):
    col = lineage.collection()
    col.records = [r for r in col.records if r.hints["role"] != "dataset"]
    result = audit_collection(col, policy)
    assert (result.status, result.reason) == (Status.INCOMPLETE, R.DATASET_UNRESOLVED)
    assert "iris" in check(child(result, "training run"), "datasets").detail


def test_dataset_surface_changed_is_record_mismatch(lineage, policy):
    col = lineage.collection()
    lineage.record(col, "dataset").surface["digest"] = "other"
    result = audit_collection(col, policy)
    assert result.status is Status.FAILED
    assert child(result, "dataset").reason is R.RECORD_MISMATCH


def test_binding_is_only_required_by_policy(gateway, policy):
    lin = build_lineage(predictions=1, gateway=gateway, data_items=False)
    loose = AuditPolicy()
    result = audit_collection(lin.collection(), loose)
    assert result.status is Status.VERIFIED and result.subject["bound"] == 0
    assert check(child(result, "training run"), "binding").outcome is Outcome.SKIPPED
    strict = audit_collection(lin.collection(), replace(loose, require_binding=True))
    assert (strict.status, strict.reason) == (Status.INCOMPLETE, R.BINDING_UNCHECKED)


def test_trusted_keys(lineage, policy):
    pinned = replace(policy, trusted_keys=frozenset({lineage.key.verify_key.encode()}))
    assert audit_collection(lineage.collection(), pinned).status is Status.VERIFIED
    other = replace(policy, trusted_keys=frozenset({SigningKey(b"\x09" * 32).verify_key.encode()}))
    result = audit_collection(lineage.collection(), other)
    assert (result.status, result.reason) == (Status.FAILED, R.UNTRUSTED_SIGNER)


def test_legacy_envelopes_need_allow_legacy(gateway, policy):
    lin = build_lineage(predictions=1, gateway=gateway, legacy=True)
    result = audit_collection(lin.collection(), policy)
    assert (result.status, result.reason) == (Status.FAILED, R.LEGACY_NOT_ALLOWED)
    assert audit_collection(lin.collection(), replace(policy, allow_legacy=True)).ok


def test_missing_registration_leaves_dangling_links(lineage, policy):
    col = lineage.collection()
    col.records = [r for r in col.records if r.hints["role"] != "registration"]
    result = audit_collection(col, policy)
    assert (result.status, result.reason) == (Status.INCOMPLETE, R.CHAIN_LINK_UNRESOLVED)
    assert check(child(result, "dec-000000"), "chain").reason is R.CHAIN_LINK_UNRESOLVED
    assert len(result.subject["graph"]["dangling"]) == 4


def test_duplicate_tx_with_other_bytes(lineage, policy):
    col = lineage.collection()
    twin = replace(lineage.record(col, "promotion"))
    twin.envelope = lineage.record(col, "prediction0").envelope
    twin.data_item = None
    col.records.append(twin)
    result = audit_collection(col, policy)
    assert result.status is Status.FAILED
    assert any(c.reason is R.DUPLICATE_EVENT for c in result.checks)


def test_no_events_is_incomplete(lineage, policy):
    col = lineage.collection()
    col.records = []
    result = audit_collection(col, policy)
    assert (result.status, result.reason) == (Status.INCOMPLETE, R.ENVELOPE_NOT_FOUND)


def test_collector_gaps_are_incomplete(lineage, policy):
    col = lineage.collection()
    col.gaps.append(("trace tr-9", "cannot read trace"))
    result = audit_collection(col, policy)
    assert (result.status, result.reason) == (Status.INCOMPLETE, R.SURFACE_UNAVAILABLE)


def test_local_copy_only_is_not_found(lineage, policy):
    col = lineage.collection()
    rec = lineage.record(col, "promotion")
    rec.envelope_origin = f"mlflow-artifact:{RUN}/ario/promotions/x/proof.json"
    result = audit_collection(col, policy)
    assert (result.status, result.reason) == (Status.INCOMPLETE, R.ENVELOPE_NOT_FOUND)
    assert "local copy" in check(child(result, "promotion"), "proof_found").detail


def test_event_never_anchored(lineage, policy):
    col = lineage.collection()
    rec = lineage.record(col, "promotion")
    rec.tx_id, rec.data_item, rec.receipt = None, None, None
    result = audit_collection(col, policy)
    assert result.status is Status.INCOMPLETE
    assert child(result, "promotion").reason is R.ENVELOPE_NOT_FOUND


def test_registration_subject_contradicting_payload(gateway, policy):
    lin = build_lineage(predictions=0, gateway=gateway)
    col = lin.collection()
    surface = lin.record(col, "registration").surface
    surface["model_name"] = MODEL + "-other"
    result = audit_collection(col, policy)
    assert "model_name" in check(child(result, "registration"), "record").detail


@pytest.mark.slow
def test_parallel_equals_serial(gateway, big_lineage):
    lin = big_lineage
    policy = AuditPolicy()
    serial = audit_collection(lin.collection(), policy, workers=1)
    seen = []
    parallel = audit_collection(lin.collection(), policy, workers=2,
                                progress=lambda d, t: seen.append((d, t)))
    assert serial.status is Status.VERIFIED
    assert parallel.to_json() == serial.to_json()
    assert seen[-1] == (4204, 4204) and len(seen) > 1


def test_unsigned_receipt_is_ignored_not_fatal(lineage, policy):
    col = lineage.collection()
    rec = lineage.record(col, "training")
    rec.receipt = {"id": rec.tx_id, "timestamp": 1}
    result = audit_collection(col, policy)
    assert result.status is Status.VERIFIED
    training = child(result, "training run")
    assert training.check("receipt").outcome is Outcome.SKIPPED
    assert "witnessed_at" not in training.subject


def test_garbage_envelope_is_malformed(lineage, policy):
    col = lineage.collection()
    rec = lineage.record(col, "promotion")
    rec.envelope, rec.data_item = b"\xff not json", None
    result = audit_collection(col, policy)
    assert (result.status, result.reason) == (Status.MALFORMED, R.INVALID_UTF8)

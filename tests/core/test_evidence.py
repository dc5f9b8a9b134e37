"""ario.evidence/v1 verification (spec/evidence.md) against the ar-io-proof export corpus.

Pins: every evidence-export vector (status, wrapper flags, linkage, agreement, source status,
the six attestation flags, the recomputed verdict's JCS SHA-256 byte-exact); the RSA-PSS
golden (salt 32 verifies, max salt fails, operator address); the withheld must-reject
classes built here from the positive vector (RSA exponent forgery, depth > 128); anchor
traces verified standalone and tampered part by part with the exact reason; and the
stricter rules of spec/evidence.md §7.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import random
from pathlib import Path

import pytest
import rfc8785
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from nacl.signing import SigningKey

from verifier.core.evidence import (attestation_flags, export_summary, operator_address,
                                    parse_jwk, verdict_jcs_sha256, verdict_of,
                                    verify_evidence_bytes, verify_evidence_doc, verify_pss)
from verifier.core.errors import Malformed
from verifier.core.intake import Doc, parse_value
from verifier.core.policy import Policy
from verifier.core.reasons import ReasonCode as R
from verifier.core.reasons import Status
from verifier.core.result import Outcome

CORPUS = Path(__file__).resolve().parents[2].parent / "shared/peer-corpus/ar-io-proof"
EXPORTS = CORPUS / "evidence-export"
FAMILY = {"verified": Status.VERIFIED, "partial": Status.INCOMPLETE,
          "failed": Status.FAILED, "malformed": Status.MALFORMED}

#: Our primary reason for each corpus vector (spec/evidence.md §5 check order).
VECTOR_REASONS = {
    "evidence-export-positive-01": None,
    "evidence-export-tamper-wrapper-signature": R.SIGNATURE_INVALID,
    "evidence-export-tamper-body-hash": R.BODY_HASH_MISMATCH,
    "evidence-export-tamper-source-linkage": R.SOURCE_LINKAGE_MISMATCH,
    "evidence-export-tamper-verdict-disagreement": R.VERDICT_DISAGREEMENT,
    "evidence-export-tamper-attestation-signature": R.ATTESTATION_SIGNATURE_INVALID,
    "evidence-export-tamper-mis-salt": R.ATTESTATION_SIGNATURE_INVALID,
    "evidence-export-tamper-subject-ref": R.ATTESTATION_SIGNATURE_INVALID,
    "evidence-export-tamper-operator-binding": R.OPERATOR_NOT_BOUND,
    "evidence-export-tamper-data-hash-binding": R.DATA_HASH_NOT_BOUND,
    "evidence-export-tamper-disclosed-content": R.SOURCE_BUNDLE_FAILED,
    "evidence-export-malformed-rsa-key": R.BAD_RSA_KEY,
    "evidence-export-malformed-signature-alg": R.UNSUPPORTED_ALGORITHM,
    "evidence-export-source-bundle-ref": R.SOURCE_BUNDLE_UNAVAILABLE,
}


def corpus_file(path: Path) -> dict:
    """Load one peer-corpus file; a missing corpus is a failure, never a skip."""
    if not path.is_file():
        pytest.fail(f"peer corpus file missing: {path} (CI={os.environ.get('CI')!r}); the "
                    "ar-io-proof corpus must sit at ../shared/peer-corpus/ar-io-proof")
    return json.loads(path.read_text())


def test_corpus_is_complete():
    names = sorted(p.stem for p in EXPORTS.glob("evidence-export-*.json")) if EXPORTS.is_dir() else []
    assert set(VECTOR_REASONS) <= set(names), f"missing vectors under {EXPORTS}"


GOLDEN = corpus_file(EXPORTS / "evidence-export-bundle.golden.json")
SEED = bytes.fromhex(GOLDEN["seed_hex"])
POSITIVE = GOLDEN["export"]
SOURCE = POSITIVE["body"]["source_bundle"]
TX = GOLDEN["checkpoint_tx_id"]
EV0 = "00000000-0000-4000-8000-000000000000"


# -- helpers ------------------------------------------------------------------------------


def jcs(value) -> bytes:
    return rfc8785.dumps(value)


def resign(bundle: dict, seed: bytes = SEED) -> dict:
    """Recompute body_hash and the wrapper Ed25519 signature (the corpus generator's way)."""
    b = copy.deepcopy(bundle)
    b["body_hash"] = hashlib.sha256(jcs(b["body"])).hexdigest()
    key = SigningKey(seed)
    b["public_key"] = key.verify_key.encode().hex()
    scope = {k: v for k, v in b.items() if k not in ("signature", "co_signatures")}
    b["signature"] = key.sign(jcs(scope)).signature.hex()
    return b


def resign_export(export: dict) -> dict:
    """Re-sign an export whose inline source changed: source, linkage hash, then wrapper."""
    e = copy.deepcopy(export)
    e["body"]["source_bundle"] = resign(e["body"]["source_bundle"])
    e["body"]["source_bundle_hash"] = hashlib.sha256(jcs(e["body"]["source_bundle"])).hexdigest()
    return resign(e)


def run(bundle, **kw):
    return verify_evidence_bytes(json.dumps(bundle).encode(), **kw)


def outcome(result, check_id):
    check = result.check(check_id)
    assert check is not None, f"no check {check_id}: {[c.id for c in result.checks]}"
    return check.outcome


def expect(result, status, reason):
    detail = [(c.id, c.reason, c.detail) for c in result.checks if c.reason]
    assert (result.status, result.reason) == (status, reason), detail


def check_ok(result, check_id):
    check = result.check(check_id)
    return check is not None and check.outcome is Outcome.PASSED


def trace_of(result):
    return result.subject["trace"]


# -- 1. the corpus vectors ------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(VECTOR_REASONS))
def test_export_vector(name):
    vector = corpus_file(EXPORTS / f"{name}.json")
    exp = vector["expected"]
    bundle = vector["bundle"]
    fast = verify_evidence_bytes(json.dumps(bundle).encode())
    slow = verify_evidence_doc(parse_value(bundle))  # the rfc8785 path
    for result in (fast, slow):
        assert result.kind == "evidence"
        expect(result, FAMILY[exp["status"]], VECTOR_REASONS[name])
        assert check_ok(result, "signature") is exp["signature_ok"]
        assert check_ok(result, "body_hash") is exp["body_hash_ok"]
        summary = export_summary(result)
        if "source_linkage_ok" in exp:
            assert summary["source_linkage_ok"] is exp["source_linkage_ok"]
            assert summary["verdict_agreement_ok"] is exp["verdict_agreement_ok"]
            assert summary["source_status"] == exp["source_status"]
            flags = [{k: a[k] for k in exp["attestations"][0]} for a in attestation_flags(result)]
            assert flags == exp["attestations"]
        if "verdict_jcs_sha256" in exp:
            assert verdict_jcs_sha256(result) == exp["verdict_jcs_sha256"]
            verdict = verdict_of(result)
            assert hashlib.sha256(jcs(verdict)).hexdigest() == exp["verdict_jcs_sha256"]
            assert verdict["status"] == exp["status"]
        else:
            assert verdict_of(result) is None
    assert fast.to_json() == slow.to_json()


def test_positive_verdict_object_shape():
    result = run(POSITIVE)
    verdict = verdict_of(result)
    assert verdict["summary"] == ("Export verified: source bundle verified (3 event(s) across "
                                  "1 checkpoint(s)); 2/2 operator attestation(s) valid.")
    assert verdict["counts"] == {"verified": 5, "failed": 0, "undetermined": 0}
    assert verdict["as_of"] == POSITIVE["generated_at"]
    assert verdict["custody_chain"] is None
    assert verdict["checkpoints"][0]["on_chain"] is None  # offline
    assert [e["content_ok"] for e in verdict["events"]] == [True, None, None]
    assert [a["level"] for a in verdict["checkpoints"][0]["attestations"]] == [3, 2]
    assert result.children and result.children[0].status is Status.VERIFIED


def test_corpus_tamper_classes_rebuild_from_golden():
    """Our re-signing helper reproduces the corpus's own tamper vectors byte for byte."""
    tamper = GOLDEN["_tamper"]
    cases = {
        "evidence-export-tamper-mis-salt": ("signature", tamper["att0_mis_salt_sig"]),
        "evidence-export-tamper-operator-binding": (None, tamper["wrong_operator_attestation"]),
        "evidence-export-tamper-data-hash-binding": (None, tamper["wrong_data_hash_attestation"]),
    }
    for name, (key, value) in cases.items():
        e = copy.deepcopy(POSITIVE)
        if key is None:
            e["body"]["attestations"][0] = value
        else:
            e["body"]["attestations"][0][key] = value
        assert resign(e) == corpus_file(EXPORTS / f"{name}.json")["bundle"], name


# -- 2. RSA-PSS golden -----------------------------------------------------------------------


RSA_GOLDEN = corpus_file(EXPORTS / "rsa-pss-attestation.golden.json")


def test_rsa_pss_golden_salt32_verifies_and_wrong_salt_fails():
    key = parse_jwk(RSA_GOLDEN["public_key"], "public_key")
    message = jcs(RSA_GOLDEN["payload"])
    assert RSA_GOLDEN["salt_length"] == 32
    assert verify_pss(key, message, bytes.fromhex(RSA_GOLDEN["signature_hex"])) is True
    assert verify_pss(key, message, bytes.fromhex(RSA_GOLDEN["signature_wrong_salt_hex"])) is False
    assert verify_pss(key, message + b" ", bytes.fromhex(RSA_GOLDEN["signature_hex"])) is False
    assert operator_address(key) == RSA_GOLDEN["operator_address"]
    assert RSA_GOLDEN["payload"]["operator"] == RSA_GOLDEN["operator_address"]


@pytest.mark.parametrize("e, exponent", [("AQAB", 65537), ("AAEAAQ", 65537), ("AQ", 1), ("Ag", 2)])
def test_jwk_exponent_decoding(e, exponent):
    jwk = dict(RSA_GOLDEN["public_key"], e=e)
    key = parse_jwk(jwk, "k")
    assert key.e == exponent
    ok = verify_pss(key, jcs(RSA_GOLDEN["payload"]), bytes.fromhex(RSA_GOLDEN["signature_hex"]))
    assert ok is (exponent == 65537)  # leading-zero 65537 is the same key


@pytest.mark.parametrize("jwk", [
    {"kty": "oct", "n": "AQAB", "e": "AQAB"}, {"kty": "RSA", "e": "AQAB"}, {"kty": "RSA", "n": 5, "e": "AQAB"},
    {"kty": "RSA", "n": "AQAB", "e": ""}, {"kty": "RSA", "n": "", "e": "AQAB"},
    {"kty": "RSA", "n": "AQAB=", "e": "AQAB"}, {"kty": "RSA", "n": "A+AB", "e": "AQAB"},
    {"kty": "RSA", "n": "AQB", "e": "AQAB"}, {"kty": "RSA", "n": "AQABx", "e": "AQAB"}, "RSA",
])
def test_bad_jwk_is_malformed(jwk):
    with pytest.raises(Malformed) as info:
        parse_jwk(jwk, "k")
    assert info.value.reason is R.BAD_RSA_KEY


# -- 3. withheld must-reject classes ---------------------------------------------------------


def _mgf1(seed: bytes, length: int) -> bytes:
    out = b""
    for counter in range((length + 31) // 32):
        out += hashlib.sha256(seed + counter.to_bytes(4, "big")).digest()
    return out[:length]


def pss_encode(message: bytes, mod_bits: int, salt: bytes) -> bytes:
    """EMSA-PSS-ENCODE (RFC 8017 §9.1.1), SHA-256: with e = 1 this *is* the signature."""
    em_bits = mod_bits - 1
    em_len = (em_bits + 7) // 8
    m_hash = hashlib.sha256(message).digest()
    h = hashlib.sha256(b"\x00" * 8 + m_hash + salt).digest()
    db = b"\x00" * (em_len - len(salt) - 32 - 2) + b"\x01" + salt
    masked = bytes(a ^ b for a, b in zip(db, _mgf1(h, em_len - 33)))
    masked = bytes([masked[0] & (0xFF >> (8 * em_len - em_bits))]) + masked[1:]
    return masked + h + b"\xbc"


def _with_att0(export: dict, **changes) -> dict:
    e = copy.deepcopy(export)
    e["body"]["attestations"][0].update(changes)
    return resign(e)


def test_exponent_one_forgery_fails():
    """e = 1 makes RSA the identity: the PSS encoding of the payload is a 'valid' signature
    for the victim's real modulus, and the operator address (modulus only) still binds."""
    att = POSITIVE["body"]["attestations"][0]
    n = int.from_bytes(parse_jwk(att["public_key"], "k").n, "big")
    forged = pss_encode(jcs(att["payload"]), n.bit_length(), b"\x42" * 32)
    forged = forged.rjust((n.bit_length() + 7) // 8, b"\x00")
    assert pow(int.from_bytes(forged, "big"), 1, n) == int.from_bytes(forged, "big")
    bundle = _with_att0(POSITIVE, public_key=dict(att["public_key"], e="AQ"), signature=forged.hex())
    result = run(bundle)
    expect(result, Status.FAILED, R.ATTESTATION_SIGNATURE_INVALID)
    flags = attestation_flags(result)[0]
    assert flags["signature_ok"] is False and flags["operator_address_bound"] is True
    assert "65537" in result.check("attestation[0].signature").detail
    assert verdict_of(result)["status"] == "failed"


@pytest.mark.parametrize("e", ["Ag", "Aw", "AQAA", "AQAC", "AQABAA"])
def test_other_exponents_fail(e):
    att = POSITIVE["body"]["attestations"][0]
    result = run(_with_att0(POSITIVE, public_key=dict(att["public_key"], e=e)))
    expect(result, Status.FAILED, R.ATTESTATION_SIGNATURE_INVALID)
    assert attestation_flags(result)[0]["signature_ok"] is False


def test_leading_zero_65537_verifies():
    att = POSITIVE["body"]["attestations"][0]
    result = run(_with_att0(POSITIVE, public_key=dict(att["public_key"], e="AAEAAQ")))
    expect(result, Status.VERIFIED, None)


@pytest.mark.parametrize("change, reason", [
    ({"public_key": {"kty": "RSA", "n": "AQAB", "e": ""}}, R.BAD_RSA_KEY),
    ({"e": ""}, R.BAD_RSA_KEY),
    ({"n": "AQ"}, R.BAD_RSA_KEY),  # modulus 1: no RSA key can be built
])
def test_empty_exponent_and_unusable_modulus_are_malformed(change, reason):
    att = POSITIVE["body"]["attestations"][0]
    jwk = change.get("public_key") or dict(att["public_key"], **change)
    result = run(_with_att0(POSITIVE, public_key=jwk))
    expect(result, Status.MALFORMED, reason)
    assert verdict_of(result) is None


def _nest(depth: int):
    value: object = []
    for _ in range(depth - 1):
        value = [value]
    return value


@pytest.mark.parametrize("where", ["wrapper", "body", "source_body", "attestation_payload"])
def test_depth_over_128_anywhere_is_malformed(where):
    e = copy.deepcopy(POSITIVE)
    target = {"wrapper": e, "body": e["body"], "source_body": e["body"]["source_bundle"]["body"],
              "attestation_payload": e["body"]["attestations"][0]["payload"]}[where]
    target["deep"] = _nest(130)
    result = run(e)
    expect(result, Status.MALFORMED, R.NESTING_TOO_DEEP)
    # A Doc built without intake (no depth check) is refused by the verifier itself.
    direct = verify_evidence_doc(Doc(e, False))
    expect(direct, Status.MALFORMED, R.NESTING_TOO_DEEP)


def test_depth_exactly_128_is_accepted():
    e = copy.deepcopy(POSITIVE)
    e["body"]["deep"] = _nest(126)  # root 1 + body 2 + 126 = 128
    expect(run(resign(e)), Status.VERIFIED, None)
    e["body"]["deep"] = _nest(127)
    expect(run(resign(e)), Status.MALFORMED, R.NESTING_TOO_DEEP)


# -- 4. anchor traces ---------------------------------------------------------------------


def _trace(mutate=None, sign=True) -> dict:
    b = copy.deepcopy(SOURCE)
    if mutate is not None:
        mutate(b["body"])
    return resign(b) if sign else b


def test_source_trace_verifies_standalone():
    result = run(SOURCE)
    expect(result, Status.VERIFIED, None)
    trace = trace_of(result)
    assert [c["ok"] for c in trace["checkpoints"]] == [True]
    assert [e["ok"] for e in trace["events"]] == [True, True, True]
    assert [e["content_ok"] for e in trace["events"]] == [True, None, None]
    assert verdict_of(result) is None and export_summary(result) is None
    assert outcome(result, "trace.on_chain") is Outcome.SKIPPED


def _flip(hex_text: str, at: int = -1) -> str:
    chars = list(hex_text)
    chars[at] = "0" if chars[at] != "0" else "1"
    return "".join(chars)


def _set(path, value):
    def mutate(body):
        node = body
        for key in path[:-1]:
            node = node[key]
        if value is _DELETE:
            del node[path[-1]]
        else:
            node[path[-1]] = value(node[path[-1]]) if callable(value) else value
    return mutate


_DELETE = object()
_OTHER_ROOT = "ab" * 32

TRACE_TAMPERS = {
    "checkpoint envelope signature": (_set(["checkpoints", 0, "envelope", "signature"], _flip),
                                      Status.FAILED, R.CHECKPOINT_INVALID),
    "checkpoint record withheld": (_set(["checkpoints", 0, "record_bytes"], _DELETE),
                                   Status.FAILED, R.CHECKPOINT_INVALID),
    "checkpoint record altered": (_set(["checkpoints", 0, "record_bytes"], lambda h: h + "20"),
                                  Status.FAILED, R.CHECKPOINT_INVALID),
    "checkpoint merkle_root": (_set(["checkpoints", 0, "merkle_root"], _OTHER_ROOT),
                               Status.FAILED, R.MERKLE_ROOT_MISMATCH),
    "event envelope signature": (_set(["events", 1, "envelope", "signature"], _flip),
                                 Status.FAILED, R.EVENT_INVALID),
    "event envelope payload_hash": (_set(["events", 1, "envelope", "payload_hash"], _flip),
                                    Status.FAILED, R.EVENT_INVALID),
    "event record altered": (_set(["events", 1, "record_bytes"], lambda h: h + "20"),
                             Status.FAILED, R.EVENT_INVALID),
    "event record withheld": (_set(["events", 1, "record_bytes"], _DELETE),
                              Status.INCOMPLETE, R.RECORD_WITHHELD),
    "audit path entry": (_set(["events", 1, "inclusion", "audit_path", 0], _flip),
                         Status.FAILED, R.INCLUSION_INVALID),
    "leaf index": (_set(["events", 1, "inclusion", "leaf_index"], 2),
                   Status.FAILED, R.INCLUSION_INVALID),
    # For index 1, sizes 3 and 4 walk the same path: only the record's leaf_count (3) tells.
    "leaf count": (_set(["events", 1, "inclusion", "leaf_count"], 4),
                   Status.FAILED, R.INCLUSION_INVALID),
    "leaf count wrong path": (_set(["events", 2, "inclusion", "leaf_count"], 4),
                              Status.FAILED, R.INCLUSION_INVALID),
    "unknown checkpoint": (_set(["events", 1, "inclusion", "checkpoint_tx_id"], "nope"),
                           Status.FAILED, R.INCLUSION_INVALID),
    "disclosed content": (_set(["events", 0, "content"], _flip),
                          Status.FAILED, R.CONTENT_MISMATCH),
    "duplicate checkpoint": (lambda body: body["checkpoints"].append(copy.deepcopy(body["checkpoints"][0])),
                             Status.FAILED, R.DUPLICATE_EVENT),
    "empty trace": (lambda body: (body["checkpoints"].clear(), body["events"].clear()),
                    Status.INCOMPLETE, R.EMPTY_TRACE),
    "missing tx_id": (_set(["checkpoints", 0, "tx_id"], _DELETE), Status.MALFORMED, R.MISSING_FIELD),
    "empty tx_id": (_set(["checkpoints", 0, "tx_id"], ""), Status.MALFORMED, R.BAD_FIELD_TYPE),
    "bool leaf_index": (_set(["events", 0, "inclusion", "leaf_index"], False),
                        Status.MALFORMED, R.BAD_FIELD_TYPE),
    "float leaf_count": (_set(["events", 0, "inclusion", "leaf_count"], 3.0),
                         Status.MALFORMED, R.BAD_FIELD_TYPE),
    "uppercase record hex": (_set(["events", 1, "record_bytes"], str.upper), Status.MALFORMED, R.BAD_HEX),
    "short merkle_root": (_set(["checkpoints", 0, "merkle_root"], "ab"), Status.MALFORMED, R.BAD_HEX),
    "missing inclusion": (_set(["events", 2, "inclusion"], _DELETE), Status.MALFORMED, R.MISSING_FIELD),
    "checkpoints not a list": (_set(["checkpoints"], {}), Status.MALFORMED, R.BAD_FIELD_TYPE),
    "checkpoint not an object": (_set(["checkpoints", 0], 1), Status.MALFORMED, R.BAD_FIELD_TYPE),
    "event not an object": (_set(["events", 0], "x"), Status.MALFORMED, R.BAD_FIELD_TYPE),
    "envelope not an object": (_set(["events", 0, "envelope"], []), Status.MALFORMED, R.BAD_FIELD_TYPE),
}


@pytest.mark.parametrize("name", sorted(TRACE_TAMPERS))
def test_trace_tamper_gives_exact_reason(name):
    mutate, status, reason = TRACE_TAMPERS[name]
    result = run(_trace(mutate))
    expect(result, status, reason)
    assert check_ok(result, "signature") and check_ok(result, "body_hash")


def test_smuggled_inclusion_proof_for_another_leaf_fails():
    def mutate(body):
        body["events"][0]["inclusion"] = copy.deepcopy(body["events"][1]["inclusion"])
    result = run(_trace(mutate))
    expect(result, Status.FAILED, R.INCLUSION_INVALID)
    assert "leaf_hash" in result.check("trace.events.inclusion").detail
    assert [e["inclusion_ok"] for e in trace_of(result)["events"]] == [False, True, True]


def test_withheld_record_marks_binding_undetermined():
    result = run(_trace(_set(["events", 1, "record_bytes"], _DELETE)))
    event = trace_of(result)["events"][1]
    assert event["payload_bound"] is None and event["ok"] is True


def test_content_side_input():
    content = bytes.fromhex(SOURCE["body"]["events"][0]["content"])
    without = _trace(_set(["events", 0, "content"], _DELETE))
    assert trace_of(run(without))["events"][0]["content_ok"] is None
    result = run(without, content={EV0: content})
    expect(result, Status.VERIFIED, None)
    assert trace_of(result)["events"][0]["content_ok"] is True
    expect(run(without, content={EV0: content + b"!"}), Status.FAILED, R.CONTENT_MISMATCH)
    # In-body and side input disagreeing is a failure even if one of them matches.
    expect(run(SOURCE, content={EV0: b"other"}), Status.FAILED, R.CONTENT_MISMATCH)
    expect(run(SOURCE, content={EV0: content}), Status.VERIFIED, None)


def test_on_chain_bytes_supplied_by_caller():
    cp_env = SOURCE["body"]["checkpoints"][0]["envelope"]
    exact = jcs(cp_env)
    pretty = json.dumps(cp_env, indent=2).encode()
    result = run(SOURCE, on_chain={TX: [("https://g1", exact), ("https://g2", None)]})
    expect(result, Status.VERIFIED, None)
    oc = trace_of(result)["checkpoints"][0]["on_chain"]
    assert oc == {"rollup": "confirm", "on_chain_ok": True, "per_gateway": [
        {"gateway": "https://g1", "outcome": "confirm"}, {"gateway": "https://g2", "outcome": "unreachable"}]}
    expect(run(SOURCE, on_chain={TX: [("g", pretty)]}), Status.VERIFIED, None)
    expect(run(SOURCE, on_chain={TX: [("g", None)]}), Status.INCOMPLETE, R.GATEWAY_UNAVAILABLE)
    expect(run(SOURCE, on_chain={}), Status.INCOMPLETE, R.GATEWAY_UNAVAILABLE)
    mismatch = run(SOURCE, on_chain={TX: [("g1", exact), ("g2", exact + b" x")]})
    expect(mismatch, Status.FAILED, R.GATEWAY_DISAGREEMENT)
    assert trace_of(mismatch)["checkpoints"][0]["on_chain"]["on_chain_ok"] is False


# -- 5. the wrapper ------------------------------------------------------------------------


WRAPPER_CASES = {
    "unknown major": (lambda b: b.update(spec_version="ario.evidence/v2"), Status.MALFORMED,
                      R.UNSUPPORTED_SPEC_VERSION),
    "non-numeric minor": (lambda b: b.update(spec_version="ario.evidence/v1.x"), Status.MALFORMED,
                          R.UNSUPPORTED_SPEC_VERSION),
    "numeric minor": (lambda b: b.update(spec_version="ario.evidence/v1.3"), Status.VERIFIED, None),
    "rsa wrapper": (lambda b: b.update(signature_alg="rsa-pss-sha256"), Status.MALFORMED,
                    R.UNSUPPORTED_ALGORITHM),
    "no signature_alg": (lambda b: b.pop("signature_alg"), Status.VERIFIED, None),
    "body_ref": (lambda b: b.update(body_ref="ar://x"), Status.MALFORMED, R.BODY_REF_UNSUPPORTED),
    "no body": (lambda b: b.pop("body"), Status.MALFORMED, R.MISSING_FIELD),
    "body not an object": (lambda b: b.update(body=[1]), Status.MALFORMED, R.BAD_FIELD_TYPE),
    "no body_type": (lambda b: b.pop("body_type"), Status.MALFORMED, R.MISSING_FIELD),
    "unknown body_type": (lambda b: b.update(body_type="ario.mlflow.audit/v1"), Status.INCOMPLETE,
                          R.UNKNOWN_BODY_TYPE),
    "asserted verdict ignored": (lambda b: b.update(verdict={"status": "failed"}), Status.VERIFIED, None),
}


@pytest.mark.parametrize("name", sorted(WRAPPER_CASES))
def test_wrapper_rules(name):
    mutate, status, reason = WRAPPER_CASES[name]
    b = copy.deepcopy(SOURCE)
    mutate(b)
    if "body" in b and "body_type" in b and isinstance(b["body"], dict):
        b = resign(b)
    expect(run(b), status, reason)


@pytest.mark.parametrize("field, value, reason", [
    ("signature", lambda s: s.upper(), R.BAD_HEX), ("signature", lambda s: s[:-2], R.BAD_HEX),
    ("public_key", lambda s: s + "00", R.BAD_HEX), ("public_key", None, R.MISSING_FIELD),
    ("body_hash", lambda s: s.upper(), R.BAD_HEX), ("body_hash", lambda s: 7, R.BAD_FIELD_TYPE),
])
def test_wrapper_field_encodings(field, value, reason):
    b = copy.deepcopy(SOURCE)
    if value is None:
        del b[field]
    else:
        b[field] = value(b[field])
    result = run(b)
    expect(result, Status.MALFORMED, reason)
    assert result.check("fields").reason is reason


def test_wrapper_tamper_stops_before_body():
    b = copy.deepcopy(SOURCE)
    b["generated_at"] = "2030-01-01T00:00:00Z"
    result = run(b)
    expect(result, Status.FAILED, R.SIGNATURE_INVALID)
    assert check_ok(result, "body_hash") and result.check("trace.shape") is None
    b = copy.deepcopy(SOURCE)
    b["body"]["events"].pop()
    result = run(b)
    expect(result, Status.FAILED, R.BODY_HASH_MISMATCH)
    assert result.check("signature").reason is R.SIGNATURE_INVALID  # the body is signed too
    assert result.check("trace.shape") is None


def test_trusted_signer_policy():
    key = bytes.fromhex(SOURCE["public_key"])
    expect(run(SOURCE, policy=Policy(trusted_keys=frozenset({key}))), Status.VERIFIED, None)
    other = SigningKey(hashlib.sha256(b"other").digest()).verify_key.encode()
    result = run(POSITIVE, policy=Policy(trusted_keys=frozenset({other})))
    expect(result, Status.FAILED, R.UNTRUSTED_SIGNER)
    assert verdict_of(result)["status"] == "failed"  # never claims more than our status
    assert verdict_jcs_sha256(result) != corpus_file(
        EXPORTS / "evidence-export-positive-01.json")["expected"]["verdict_jcs_sha256"]


@pytest.mark.parametrize("data, reason", [
    (b"[]", R.NOT_AN_OBJECT), (b"{", R.INVALID_JSON), (b"\xff", R.INVALID_UTF8),
    (b'{"a":1,"a":2}', R.DUPLICATE_KEY), (b"[" * 200 + b"]" * 200, R.NESTING_TOO_DEEP),
    (b"{}", R.UNSUPPORTED_SPEC_VERSION),
])
def test_intake(data, reason):
    expect(verify_evidence_bytes(data), Status.MALFORMED, reason)


# -- 6. exports: structure, stricter rules, fresh attestations --------------------------------


def _export(mutate) -> dict:
    e = copy.deepcopy(POSITIVE)
    mutate(e["body"])
    return resign(e)


EXPORT_SHAPES = {
    "neither source nor ref": (lambda body: body.pop("source_bundle"), R.MISSING_FIELD),
    "both source and ref": (lambda body: body.update(source_bundle_ref="ar://x"), R.BAD_FIELD_TYPE),
    "empty ref": (lambda body: (body.pop("source_bundle"), body.update(source_bundle_ref="")),
                  R.BAD_FIELD_TYPE),
    "no kernel_verdict": (lambda body: body.pop("kernel_verdict"), R.MISSING_FIELD),
    "attestations not a list": (lambda body: body.update(attestations={}), R.BAD_FIELD_TYPE),
    "uppercase source_bundle_hash": (lambda body: body.update(
        source_bundle_hash=body["source_bundle_hash"].upper()), R.BAD_HEX),
    "record not an object": (lambda body: body["attestations"].append([]), R.BAD_FIELD_TYPE),
    "record without checkpoint_tx_id": (lambda body: body["attestations"][1].pop("checkpoint_tx_id"),
                                        R.MISSING_FIELD),
    "record without payload": (lambda body: body["attestations"][1].pop("payload"), R.MISSING_FIELD),
    "record without public_key": (lambda body: body["attestations"][1].pop("public_key"), R.BAD_RSA_KEY),
    "record without signature": (lambda body: body["attestations"][1].pop("signature"), R.MISSING_FIELD),
    "uppercase RSA signature": (lambda body: body["attestations"][1].update(
        signature=body["attestations"][1]["signature"].upper()), R.BAD_HEX),
    "odd RSA signature": (lambda body: body["attestations"][1].update(
        signature=body["attestations"][1]["signature"][:-1]), R.BAD_HEX),
    "padded modulus": (lambda body: body["attestations"][1]["public_key"].update(
        n=body["attestations"][1]["public_key"]["n"] + "="), R.BAD_RSA_KEY),
}


@pytest.mark.parametrize("name", sorted(EXPORT_SHAPES))
def test_export_structure_is_malformed(name):
    mutate, reason = EXPORT_SHAPES[name]
    result = run(_export(mutate))
    expect(result, Status.MALFORMED, reason)
    assert verdict_of(result) is None


def _ref_only(body):
    body.pop("source_bundle")
    body["source_bundle_ref"] = "ar://some-large-source-bundle-txid"


def test_reference_only_export_still_checks_attestation_signatures():
    result = run(_export(_ref_only))
    expect(result, Status.INCOMPLETE, R.SOURCE_BUNDLE_UNAVAILABLE)
    flags = attestation_flags(result)
    assert [f["signature_ok"] for f in flags] == [True, True]
    assert [f["binding_checked"] for f in flags] == [False, False]
    assert outcome(result, "attestation[0].data_hash") is Outcome.SKIPPED

    def forged(body):
        _ref_only(body)
        body["attestations"][0]["signature"] = _flip(body["attestations"][0]["signature"], 10)
    expect(run(_export(forged)), Status.FAILED, R.ATTESTATION_SIGNATURE_INVALID)


def test_unresolved_attestation_checkpoint():
    # checkpoint_tx_id sits outside the RSA-signed payload: the signature still verifies.
    result = run(_export(lambda body: body["attestations"][1].update(checkpoint_tx_id="elsewhere")))
    expect(result, Status.FAILED, R.CHECKPOINT_UNRESOLVED)
    flags = attestation_flags(result)[1]
    assert (flags["signature_ok"], flags["checkpoint_resolved"], flags["data_hash_bound"]) == (True, False, False)
    verdict = verdict_of(result)
    assert len(verdict["checkpoints"][0]["attestations"]) == 1  # unresolved ones vanish...
    assert verdict["counts"] == {"verified": 4, "failed": 1, "undetermined": 0}  # ...but count
    assert export_summary(result)["verdict_agreement_ok"] is False


def test_source_failing_its_own_wrapper():
    def mutate(body):
        body["source_bundle"]["generated_at"] = "2030-01-01T00:00:00Z"  # no source re-sign
        body["source_bundle_hash"] = hashlib.sha256(jcs(body["source_bundle"])).hexdigest()
    result = run(_export(mutate))
    expect(result, Status.FAILED, R.SOURCE_BUNDLE_FAILED)
    assert result.children[0].reason is R.SIGNATURE_INVALID
    verdict = verdict_of(result)
    assert verdict["events"] == [] and verdict["checkpoints"] == []
    assert "source bundle failed (0 event(s) across 0 checkpoint(s))" in verdict["summary"]


def test_source_not_an_object():
    def mutate(body):
        body["source_bundle"] = 5
        body["source_bundle_hash"] = hashlib.sha256(b"5").hexdigest()
    result = run(_export(mutate))
    expect(result, Status.FAILED, R.SOURCE_BUNDLE_FAILED)
    assert export_summary(result)["source_status"] == "malformed"


def test_export_over_partial_source_is_incomplete():
    e = copy.deepcopy(POSITIVE)
    del e["body"]["source_bundle"]["body"]["events"][1]["record_bytes"]
    e["body"]["kernel_verdict"]["events"][1]["payload_bound"] = None
    result = run(resign_export(e))
    expect(result, Status.INCOMPLETE, R.SOURCE_BUNDLE_INCOMPLETE)
    assert result.children[0].reason is R.RECORD_WITHHELD
    verdict = verdict_of(result)
    assert verdict["status"] == "partial"
    assert verdict["counts"] == {"verified": 4, "failed": 0, "undetermined": 1}
    assert verdict["summary"].startswith("Export partial: source bundle partial (3 event(s)")


def test_as_of_only_for_string_generated_at():
    e = copy.deepcopy(POSITIVE)
    e["generated_at"] = 17
    verdict = verdict_of(run(resign(e)))
    assert "as_of" not in verdict and verdict["status"] == "verified"


# A fresh operator key of our own: exercises signing-side compatibility and the tx-id rule.
_OP_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _b64u(data: bytes) -> str:
    import base64
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _fresh_attestation(tx_id: str = TX, salt=32, level=1) -> tuple[dict, dict]:
    numbers = _OP_KEY.public_key().public_numbers()
    n = numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")
    address = _b64u(hashlib.sha256(n).digest())
    payload = dict(POSITIVE["body"]["attestations"][1]["payload"], operator=address, tx_id=tx_id,
                   gateway="https://g3.example", level=level)
    sig = _OP_KEY.sign(jcs(payload), padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=salt),
                       hashes.SHA256())
    record = {"checkpoint_tx_id": TX, "payload": payload, "signature_alg": "rsa-pss-sha256",
              "public_key": {"kty": "RSA", "n": _b64u(n), "e": "AQAB"}, "signature": sig.hex()}
    cached = {"operator": address, "gateway": "https://g3.example", "signature_ok": True,
              "operator_address_bound": True, "data_hash_bound": tx_id == TX, "level": level,
              "subject_ref_ok": None}
    return record, cached


def _with_fresh(record: dict, cached: dict) -> dict:
    e = copy.deepcopy(POSITIVE)
    e["body"]["attestations"].append(record)
    e["body"]["kernel_verdict"]["checkpoints"][0]["attestations"].append(cached)
    return resign(e)


def test_fresh_operator_attestation_verifies():
    result = run(_with_fresh(*_fresh_attestation()))
    expect(result, Status.VERIFIED, None)
    assert verdict_of(result)["counts"]["verified"] == 6
    assert verdict_of(result)["summary"].endswith("3/3 operator attestation(s) valid.")


def test_attested_tx_id_must_name_the_checkpoint():
    result = run(_with_fresh(*_fresh_attestation(tx_id="some-other-transaction")))
    expect(result, Status.FAILED, R.DATA_HASH_NOT_BOUND)
    assert "tx_id" in result.check("attestation[2].data_hash").detail
    assert attestation_flags(result)[2]["data_hash_bound"] is False
    assert export_summary(result)["verdict_agreement_ok"] is True


def test_max_salt_signature_from_fresh_key_fails():
    record, cached = _fresh_attestation(salt=padding.PSS.MAX_LENGTH)
    cached["signature_ok"] = False
    result = run(_with_fresh(record, cached))
    expect(result, Status.FAILED, R.ATTESTATION_SIGNATURE_INVALID)
    assert export_summary(result)["verdict_agreement_ok"] is True


def test_non_integer_level_is_omitted_from_the_verdict():
    record, cached = _fresh_attestation(level=2.5)
    del cached["level"]
    result = run(_with_fresh(record, cached))
    expect(result, Status.VERIFIED, None)
    assert "level" not in verdict_of(result)["checkpoints"][0]["attestations"][2]


# -- 7. hostile input never raises -------------------------------------------------------------


_JUNK = [None, 0, -1, 1.5, "", "x", "ZZ", [], {}, True, [None], {"a": []}, "00" * 32]


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, prefix + (i,))


def _mutated(rng: random.Random, base: dict) -> dict:
    doc = copy.deepcopy(base)
    paths = [p for p in _paths(doc) if p]
    path = rng.choice(paths)
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    if rng.random() < 0.3 and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = copy.deepcopy(rng.choice(_JUNK))
    return doc


@pytest.mark.parametrize("base_name", ["export", "trace"])
def test_random_mutations_never_raise(base_name):
    base = POSITIVE if base_name == "export" else SOURCE
    rng = random.Random(20260715)
    seen = set()
    for i in range(300):
        doc = _mutated(rng, base)
        if i % 2 and isinstance(doc.get("body"), dict):
            if base_name == "export" and isinstance(doc["body"].get("source_bundle"), dict) \
                    and isinstance(doc["body"]["source_bundle"].get("body"), dict):
                doc = resign_export(doc)
            else:
                doc = resign(doc)
        result = run(doc)
        assert result.status in set(Status)
        assert (result.status is Status.VERIFIED) == (result.reason is None)
        json.dumps(result.to_json())
        seen.add(result.status)
    assert {Status.FAILED, Status.MALFORMED} <= seen

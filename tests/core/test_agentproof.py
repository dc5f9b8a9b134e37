"""`ario.agent.proof/v1` bundles built from the peer corpus (spec/merkle.md M1-M6).

Checkpoints are the corpus `envelope-verification-checkpoint-01` envelope, re-signed with
the corpus seed after pointing its payload at a corpus Merkle tree; leaves and audit paths
come from the merkle-tree-* vectors. Covers verified bundles, tampered leaves and paths
(inclusion_invalid), tampered checkpoints (checkpoint_invalid) and every shape rule
(malformed with its exact reason).
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
from pathlib import Path

import pytest
import rfc8785
from nacl.signing import SigningKey

from verifier.core.agentproof import KIND, verify_agent_proof_bytes, verify_agent_proof_doc
from verifier.core.detect import verify_document
from verifier.core.envelope import verify_envelope_doc
from verifier.core.intake import Doc, parse
from verifier.core.limits import Limits
from verifier.core.policy import Policy
from verifier.core.reasons import Status

CORPUS = Path(__file__).resolve().parents[2].parent / "shared/peer-corpus/ar-io-proof"
SEED = bytes.fromhex("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
KEY = SigningKey(SEED)
OTHER = SigningKey(hashlib.sha256(b"test_agentproof: another signer").digest())
TX_ID = "Wk3JYQm6x3f0pIaSgO1n6Bq0vQf8f2W5hS3r7cT1uZc"


def corpus_file(rel: str) -> dict:
    """Load one peer-corpus file; a missing corpus is a failure, never a skip."""
    path = CORPUS / rel
    if not path.is_file():
        pytest.fail(f"peer corpus file missing: {path} (CI={os.environ.get('CI')!r}); "
                    "the ar-io-proof corpus must sit at ../shared/peer-corpus/ar-io-proof "
                    "beside the repository")
    return json.loads(path.read_text())


def sign(fields: dict, key: SigningKey = KEY, legacy: bool = False) -> dict:
    """Complete an agent envelope: payload_hash, public_key, then Ed25519 over JCS(scope)."""
    env = {k: v for k, v in fields.items() if k not in ("signature", "payload_hash", "public_key")}
    if "payload" in env:
        env["payload_hash"] = hashlib.sha256(rfc8785.dumps(env["payload"])).hexdigest()
    env["public_key"] = key.verify_key.encode().hex()
    scope = {k: v for k, v in env.items() if not (legacy and k.startswith("_"))}
    env["signature"] = key.sign(rfc8785.dumps(scope)).signature.hex()
    return env


def checkpoint(tree: dict, **payload_changes) -> dict:
    """The corpus checkpoint envelope, committing to `tree`'s root and leaf count, re-signed."""
    pre = copy.deepcopy(corpus_file("envelope-verification-checkpoint-01.json")
                        ["inputs"]["envelope_pre_signature"])
    pre["payload"]["merkle_root"] = tree["expected_root_hex"]
    pre["payload"]["leaf_count"] = tree["leaf_count"]
    pre["payload"].update(payload_changes)
    return sign(pre)


def bundle(tree: dict, proof: int = 0, envelope: dict | None = None) -> dict:
    """A bundle for the `proof`-th inclusion proof of a corpus tree."""
    p = tree["inclusion_proofs"][proof]
    return {
        "spec_version": "ario.agent.proof/v1",
        "checkpoint_tx_id": TX_ID,
        "checkpoint_envelope": envelope if envelope is not None else checkpoint(tree),
        "leaf": copy.deepcopy(tree["leaves"][p["leaf_index"]]["leaf_object"]),
        "leaf_index": p["leaf_index"],
        "audit_path": list(p["audit_path_hex"]),
    }


def run(b: object, **kw):
    result = verify_agent_proof_bytes(json.dumps(b).encode(), **kw)
    assert result.kind == KIND
    return result


def outcome(result, check_id: str) -> str | None:
    c = result.check(check_id)
    return c.outcome.value if c is not None else None


def expect(result, status: str, reason: str | None):
    got = (result.status.value, result.reason.value if result.reason else None)
    assert got == (status, reason), [c.to_json() for c in result.checks]


@pytest.fixture(scope="module")
def tree3() -> dict:
    return corpus_file("merkle-tree-03-leaves.json")


@pytest.fixture(scope="module")
def good(tree3) -> dict:
    return bundle(tree3, proof=1)


# -- the signing helper reproduces the corpus checkpoint byte for byte --------------------

def test_corpus_checkpoint_reproduces():
    vec = corpus_file("envelope-verification-checkpoint-01.json")
    env = sign(vec["inputs"]["envelope_pre_signature"])
    out = vec["expected_outputs"]
    assert env["payload_hash"] == out["payload_hash_hex"]
    assert env["signature"] == out["signature_hex"]
    assert env["public_key"] == vec["fixed_keypair"]["ed25519_public_hex"]
    assert verify_envelope_doc(Doc(env, False)).ok


# -- verified --------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["merkle-tree-01-leaves.json", "merkle-tree-02-leaves.json",
                                  "merkle-tree-03-leaves.json", "merkle-tree-07-leaves.json",
                                  "merkle-tree-16-leaves.json", "merkle-tree-1024-leaves.json"])
def test_every_corpus_proof_verifies(name):
    tree = corpus_file(name)
    env = checkpoint(tree)
    for k, p in enumerate(tree["inclusion_proofs"]):
        result = run(bundle(tree, k, env))
        expect(result, "verified", None)
        assert result.subject == {
            "checkpoint_tx_id": TX_ID, "leaf_index": p["leaf_index"],
            "leaf_count": tree["leaf_count"], "merkle_root": tree["expected_root_hex"],
        }
        leaf_hex = tree["leaves"][p["leaf_index"]]["leaf_hash_hex"]
        assert result.check("leaf").detail == f"leaf hash {leaf_hex}"


def test_verified_result_shape(good):
    result = run(good)
    expect(result, "verified", None)
    assert [c.id for c in result.checks] == [
        "intake", "spec_version", "fields", "checkpoint_envelope", "checkpoint_payload",
        "leaf", "inclusion", "on_chain",
    ]
    assert outcome(result, "on_chain") == "skipped"
    (child,) = result.children
    assert child.kind == "envelope" and child.ok
    json.dumps(result.to_json())  # serialisable, children included


def test_doc_entry_point_and_detect_routing(good):
    data = json.dumps(good).encode()
    expect(verify_agent_proof_doc(parse(data)), "verified", None)
    routed = verify_document(data)
    assert routed.kind == KIND
    expect(routed, "verified", None)


@pytest.mark.parametrize("sv", ["ario.agent.proof/v1.0", "ario.agent.proof/v1.2",
                                "ario.agent.proof/v1.10"])
def test_numeric_minor_accepted(good, sv):
    expect(run({**good, "spec_version": sv}), "verified", None)


def test_trusted_keys_policy(good):
    mine = frozenset({KEY.verify_key.encode()})
    result = run(good, policy=Policy(trusted_keys=mine))
    expect(result, "verified", None)
    assert result.children[0].check("trusted_signer").outcome.value == "passed"
    other = frozenset({OTHER.verify_key.encode()})
    result = run(good, policy=Policy(trusted_keys=other))
    expect(result, "failed", "checkpoint_invalid")
    assert result.children[0].reason.value == "untrusted_signer"
    assert outcome(result, "inclusion") == "passed"


def test_legacy_checkpoint_follows_policy(tree3):
    pre = dict(checkpoint(tree3))
    del pre["spec_version"]
    env = sign(pre, legacy=True)
    b = bundle(tree3, 0, env)
    expect(run(b), "failed", "checkpoint_invalid")
    assert run(b).children[0].reason.value == "legacy_not_allowed"
    expect(run(b, policy=Policy(allow_legacy=True)), "verified", None)


# -- failed: inclusion ---------------------------------------------------------------------------

def test_corpus_checkpoint_root_is_not_this_tree(tree3):
    # The corpus checkpoint vector signs a placeholder root: the envelope verifies, the
    # inclusion proof of a real tree does not.
    env = corpus_file("envelope-verification-checkpoint-01.json")
    signed = sign(env["inputs"]["envelope_pre_signature"])
    result = run(bundle(tree3, 0, signed))
    expect(result, "failed", "inclusion_invalid")
    assert outcome(result, "checkpoint_envelope") == "passed"
    assert "does not reconstruct" in result.check("inclusion").detail


def test_tampered_leaf(good):
    b = copy.deepcopy(good)
    b["leaf"]["outcome"] = "tampered"
    result = run(b)
    expect(result, "failed", "inclusion_invalid")
    assert outcome(result, "checkpoint_envelope") == "passed"
    assert outcome(result, "leaf") == "passed"


def test_leaf_key_order_does_not_matter(good):
    b = copy.deepcopy(good)
    b["leaf"] = dict(reversed(list(b["leaf"].items())))
    expect(run(b), "verified", None)


@pytest.mark.parametrize("index", [0, 2, 3, -1, 2**53 - 1])
def test_wrong_leaf_index(good, index):
    result = run({**good, "leaf_index": index})
    expect(result, "failed", "inclusion_invalid")


def test_out_of_range_index_detail(good):
    result = run({**good, "leaf_index": 3})
    assert "not a leaf" in result.check("inclusion").detail


@pytest.mark.parametrize("entry", [0, 1])
def test_flipped_path_byte(good, entry):
    path = list(good["audit_path"])
    path[entry] = ("0" if path[entry][0] != "0" else "1") + path[entry][1:]
    expect(run({**good, "audit_path": path}), "failed", "inclusion_invalid")


def test_path_too_long_or_short(good):
    longer = run({**good, "audit_path": good["audit_path"] + ["00" * 32]})
    expect(longer, "failed", "inclusion_invalid")
    assert "needs 2" in longer.check("inclusion").detail
    expect(run({**good, "audit_path": good["audit_path"][:1]}), "failed", "inclusion_invalid")
    expect(run({**good, "audit_path": []}), "failed", "inclusion_invalid")


def test_signed_wrong_leaf_count(tree3):
    # leaf_count comes from the signed payload; a checkpoint honestly signing 4 refuses the
    # 3-leaf proof of the last leaf (its path would need 2 entries, it has 1).
    env = checkpoint(tree3, leaf_count=4)
    expect(run(bundle(tree3, 2, env)), "failed", "inclusion_invalid")
    env = checkpoint(tree3, leaf_count=0)
    expect(run(bundle(tree3, 0, env)), "failed", "inclusion_invalid")


# -- failed: checkpoint --------------------------------------------------------------------------

def test_checkpoint_root_edited_without_resigning(good):
    b = copy.deepcopy(good)
    b["checkpoint_envelope"]["payload"]["merkle_root"] = "ab" * 32
    result = run(b)
    expect(result, "failed", "checkpoint_invalid")
    child = result.children[0]  # the payload is signed too: both checks fail
    assert child.reason.value == "signature_invalid"
    assert child.check("payload_hash").reason.value == "payload_hash_mismatch"
    assert outcome(result, "inclusion") == "failed"


def test_checkpoint_leaf_count_edited_without_resigning(good):
    b = copy.deepcopy(good)
    b["checkpoint_envelope"]["payload"]["leaf_count"] = 4
    expect(run(b), "failed", "checkpoint_invalid")


def test_checkpoint_signature_flipped(good):
    b = copy.deepcopy(good)
    sig = b["checkpoint_envelope"]["signature"]
    b["checkpoint_envelope"]["signature"] = ("1" if sig[0] == "0" else "0") + sig[1:]
    result = run(b)
    expect(result, "failed", "checkpoint_invalid")
    assert result.children[0].reason.value == "signature_invalid"
    assert outcome(result, "inclusion") == "passed"


def test_checkpoint_signed_by_another_key_but_claims_ours(good):
    b = copy.deepcopy(good)
    forged = sign(b["checkpoint_envelope"], OTHER)
    forged["public_key"] = b["checkpoint_envelope"]["public_key"]
    b["checkpoint_envelope"] = forged
    expect(run(b), "failed", "checkpoint_invalid")


def test_checkpoint_without_inline_payload(good):
    b = copy.deepcopy(good)
    env = dict(b["checkpoint_envelope"])
    del env["payload"]
    b["checkpoint_envelope"] = sign_keep_hash(env)
    result = run(b)
    expect(result, "failed", "checkpoint_invalid")
    assert result.children[0].reason.value == "payload_unavailable"
    for check_id in ("checkpoint_payload", "leaf", "inclusion"):
        assert outcome(result, check_id) == "skipped"


def sign_keep_hash(env: dict) -> dict:
    """Re-sign an envelope that has no inline payload, keeping its payload_hash."""
    env = {k: v for k, v in env.items() if k != "signature"}
    env["signature"] = KEY.sign(rfc8785.dumps(env)).signature.hex()
    return env


# -- malformed: the bundle ---------------------------------------------------------------------

@pytest.mark.parametrize("data, reason", [
    (b"[]", "not_an_object"),
    (b"{", "invalid_json"),
    (b'{"spec_version":"ario.agent.proof/v1","spec_version":"x"}', "duplicate_key"),
    (b"\xff", "invalid_utf8"),
    (b'{"leaf":' + b"[" * 200 + b"]" * 200 + b"}", "nesting_too_deep"),
])
def test_intake(data, reason):
    result = verify_agent_proof_bytes(data)
    expect(result, "malformed", reason)
    assert result.checks[0].id == "intake"


def test_doc_not_an_object():
    expect(verify_agent_proof_doc(Doc(["x"], False)), "malformed", "not_an_object")


@pytest.mark.parametrize("sv, reason", [
    (None, "unsupported_spec_version"), (1, "unsupported_spec_version"),
    ("ario.agent.proof/v1.x", "unsupported_spec_version"),
    ("ario.agent.proof/v1.", "unsupported_spec_version"),
    ("ario.agent.proof/v1.3abc", "unsupported_spec_version"),
    ("ario.agent.proof/v1.2.3", "unsupported_spec_version"),
    ("ario.agent.proof/v10", "unsupported_spec_version"),
    ("ario.agent.proof/v2", "unsupported_spec_version"),
    ("ario.agent/v1", "unsupported_spec_version"),
    ("", "unsupported_spec_version"),
])
def test_bad_spec_version(good, sv, reason):
    result = run({**good, "spec_version": sv})
    expect(result, "malformed", reason)
    assert outcome(result, "spec_version") == "malformed"


def test_missing_spec_version(good):
    b = dict(good)
    del b["spec_version"]
    expect(run(b), "malformed", "missing_field")


@pytest.mark.parametrize("name", ["checkpoint_tx_id", "checkpoint_envelope", "leaf",
                                  "leaf_index", "audit_path"])
def test_missing_bundle_field(good, name):
    b = dict(good)
    del b[name]
    result = run(b)
    expect(result, "malformed", "missing_field")
    assert name in result.check("fields").detail


@pytest.mark.parametrize("name, value, reason", [
    ("checkpoint_tx_id", "", "bad_field_type"),
    ("checkpoint_tx_id", 7, "bad_field_type"),
    ("checkpoint_tx_id", None, "bad_field_type"),
    ("checkpoint_envelope", "envelope", "bad_field_type"),
    ("checkpoint_envelope", [], "bad_field_type"),
    ("leaf", [1, 2], "bad_field_type"),
    ("leaf", "leaf", "bad_field_type"),
    ("leaf_index", True, "bad_field_type"),
    ("leaf_index", 1.5, "bad_field_type"),
    ("leaf_index", "1", "bad_field_type"),
    ("leaf_index", None, "bad_field_type"),
    ("audit_path", "ab" * 32, "bad_field_type"),
    ("audit_path", {}, "bad_field_type"),
    ("audit_path", [1], "bad_field_type"),
    ("audit_path", ["AB" * 32], "bad_hex"),
    ("audit_path", ["ab" * 31], "bad_hex"),
    ("audit_path", ["ab" * 33], "bad_hex"),
    ("audit_path", ["0x" + "ab" * 31], "bad_hex"),
    ("audit_path", [" " + "ab" * 31 + "a"], "bad_hex"),
    ("audit_path", ["00" * 32] * 65, "bad_field_type"),
])
def test_bad_bundle_field(good, name, value, reason):
    result = run({**good, name: value})
    expect(result, "malformed", reason)
    assert outcome(result, "fields") == "malformed"
    assert result.children == ()


def test_integral_float_leaf_index_is_refused(good):
    # JSON text `1.0`: TS accepts it (Number.isInteger), we follow the Python kernel.
    text = json.dumps(good).replace('"leaf_index": 1', '"leaf_index": 1.0').encode()
    expect(verify_agent_proof_bytes(text), "malformed", "bad_field_type")


def test_audit_path_limit_is_the_callers(good):
    expect(run(good, limits=Limits(max_audit_path=1)), "malformed", "bad_field_type")
    expect(run(good, limits=Limits(max_audit_path=2)), "verified", None)


# -- malformed: the checkpoint payload and envelope ----------------------------------------------

@pytest.mark.parametrize("changes, reason", [
    ({"leaf_count": True}, "bad_field_type"),
    ({"leaf_count": "3"}, "bad_field_type"),
    ({"leaf_count": None}, "bad_field_type"),
    ({"leaf_count": 3.5}, "bad_field_type"),
    ({"merkle_root": 12}, "bad_field_type"),
    ({"merkle_root": "69A0C347383197E96682AC6D00EF4099B46352D41221E7186757E7723DA42E12"},
     "bad_hex"),
    ({"merkle_root": "69a0c347"}, "bad_hex"),
])
def test_bad_signed_payload_field(tree3, changes, reason):
    # Signed correctly, so only the shape rule speaks.
    result = run(bundle(tree3, 0, checkpoint(tree3, **changes)))
    expect(result, "malformed", reason)
    assert outcome(result, "checkpoint_envelope") == "passed"
    assert outcome(result, "checkpoint_payload") == "malformed"


@pytest.mark.parametrize("name", ["leaf_count", "merkle_root"])
def test_missing_signed_payload_field(tree3, name):
    pre = dict(checkpoint(tree3))
    pre["payload"] = {k: v for k, v in pre["payload"].items() if k != name}
    result = run(bundle(tree3, 0, sign(pre)))
    expect(result, "malformed", "missing_field")
    assert name in result.check("checkpoint_payload").detail


def test_payload_not_an_object(tree3):
    pre = dict(checkpoint(tree3))
    pre["payload"] = [1, 2, 3]
    result = run(bundle(tree3, 0, sign(pre)))
    expect(result, "malformed", "bad_field_type")
    assert outcome(result, "checkpoint_envelope") == "passed"


def test_integral_float_leaf_count_is_refused(good):
    # `3.0` canonicalises to `3`, so the signature still holds; the type rule refuses it.
    text = json.dumps(good).replace('"leaf_count": 3', '"leaf_count": 3.0').encode()
    assert b"3.0" in text
    result = verify_agent_proof_bytes(text)
    expect(result, "malformed", "bad_field_type")
    assert outcome(result, "checkpoint_envelope") == "passed"


@pytest.mark.parametrize("field, value, reason", [
    ("signature", "zz" * 64, "bad_hex"),
    ("public_key", 5, "bad_field_type"),
    ("spec_version", "ario.agent/v99", "unsupported_spec_version"),
    ("payload_hash", None, "missing_payload_hash"),
])
def test_malformed_checkpoint_envelope_keeps_its_reason(good, field, value, reason):
    b = copy.deepcopy(good)
    b["checkpoint_envelope"][field] = value
    result = run(b)
    expect(result, "malformed", reason)
    assert outcome(result, "checkpoint_envelope") == "malformed"
    assert result.children[0].reason.value == reason


def test_leaf_that_cannot_be_canonicalised(good):
    b = copy.deepcopy(good)
    b["leaf"]["bad"] = float("nan")
    result = verify_agent_proof_doc(Doc(b, False))
    expect(result, "malformed", "non_finite_number")
    assert outcome(result, "leaf") == "malformed"


# -- nothing raises ------------------------------------------------------------------------------

HOSTILE = [None, True, 0, -1, 1.5, "", "x", [], {}, [None], {"a": None}, "00" * 32, 2**53 - 1]


def test_never_raises_on_field_substitution(good):
    seen = set()
    targets = [("",), ("checkpoint_envelope",), ("checkpoint_envelope", "payload")]
    for target in targets:
        parent = good
        for key in target:
            parent = parent[key] if key else parent
        for key in list(parent):
            for value in HOSTILE + ["<delete>"]:
                b = copy.deepcopy(good)
                node = b
                for k in target:
                    node = node[k] if k else node
                if value == "<delete>":
                    del node[key]
                else:
                    node[key] = value
                result = verify_agent_proof_doc(Doc(b, False))
                assert isinstance(result.status, Status)
                assert (result.reason is None) == result.ok
                seen.add(result.status)
    assert seen >= {Status.MALFORMED, Status.FAILED}

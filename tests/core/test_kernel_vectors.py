"""Our merkle, agent_proof, data_item and chain vectors, run against the kernel."""

from __future__ import annotations

import pytest

from vectors_util import load_vectors
from verifier.core import merkle
from verifier.core.agentproof import verify_agent_proof_bytes
from verifier.core.ans104 import verify_data_item
from verifier.core.chain import LineageInput, verify_lineage
from verifier.core.policy import Policy


def _policy(inp: dict) -> Policy:
    p = inp.get("policy", {})
    keys = p.get("trusted_keys")
    return Policy(allow_legacy=p.get("allow_legacy", False),
                  trusted_keys=frozenset(bytes.fromhex(k) for k in keys) if keys is not None else None)


def _assert_outcome(result, vec):
    exp = vec["expected"]
    got = (result.status.value, result.reason.value if result.reason else None)
    assert got == (exp["status"], exp["reason"]), [c for c in result.checks if c.reason]


@pytest.mark.parametrize("vec", load_vectors("merkle"), ids=lambda v: v["id"])
def test_merkle_vector(vec):
    inp, exp = vec["input"], vec["expected"]
    leaves = [bytes.fromhex(x) for x in inp["leaves_hex"]]
    if "root_hex" not in inp:  # generation case
        hashes = [merkle.leaf_hash(x) for x in leaves]
        out = exp["outputs"]
        assert [x.hex() for x in hashes] == out["leaf_hashes_hex"]
        assert merkle.root(hashes).hex() == out["root_hex"]
        if "leaf_index" in inp:
            assert [p.hex() for p in merkle.audit_path(inp["leaf_index"], hashes)] == out["audit_path_hex"]
        return
    path_hex = inp["audit_path_hex"]
    if any(p != p.lower() or len(p) != 64 for p in path_hex):
        assert (exp["status"], exp["reason"]) == ("malformed", "bad_hex")
        return
    ok = merkle.verify_inclusion(merkle.leaf_hash(leaves[0]), inp["leaf_index"], inp["tree_size"],
                                 [bytes.fromhex(p) for p in path_hex], bytes.fromhex(inp["root_hex"]))
    assert (exp["status"] == "verified") == ok
    if not ok:
        assert exp["reason"] == "inclusion_invalid"


@pytest.mark.parametrize("vec", load_vectors("agent_proof"), ids=lambda v: v["id"])
def test_agent_proof_vector(vec):
    inp = vec["input"]
    _assert_outcome(verify_agent_proof_bytes(bytes.fromhex(inp["document_hex"]), policy=_policy(inp)), vec)


@pytest.mark.parametrize("vec", load_vectors("data_item"), ids=lambda v: v["id"])
def test_data_item_vector(vec):
    inp = vec["input"]
    expected_data = bytes.fromhex(inp["expected_data_hex"]) if "expected_data_hex" in inp else None
    result = verify_data_item(bytes.fromhex(inp["document_hex"]), inp.get("expected_id"), expected_data)
    _assert_outcome(result, vec)
    want_id = vec["expected"].get("outputs", {}).get("data_item_id")
    if want_id:
        assert result.subject["id"] == want_id


@pytest.mark.parametrize("vec", load_vectors("chain"), ids=lambda v: v["id"])
def test_chain_vector(vec):
    inp = vec["input"]
    events = [LineageInput(e.get("tx_id"), bytes.fromhex(e["document_hex"]),
                           bytes.fromhex(e["payload_hex"]) if "payload_hex" in e else None)
              for e in inp["events"]]
    _assert_outcome(verify_lineage(events, policy=_policy(inp)), vec)


@pytest.mark.parametrize("vec", load_vectors("evidence"), ids=lambda v: v["id"])
def test_evidence_vector(vec):
    from verifier.core.evidence import verify_evidence_bytes

    _assert_outcome(verify_evidence_bytes(bytes.fromhex(vec["input"]["document_hex"])), vec)


@pytest.mark.parametrize("vec", load_vectors("receipt"), ids=lambda v: v["id"])
def test_receipt_vector(vec):
    from verifier.core.intake import parse
    from verifier.core.receipt import verify_receipt

    inp = vec["input"]
    trusted = frozenset(inp["trusted_signers"]) if "trusted_signers" in inp else None
    receipt = parse(bytes.fromhex(inp["document_hex"])).value
    _assert_outcome(verify_receipt(receipt, inp.get("expected_id"), trusted), vec)

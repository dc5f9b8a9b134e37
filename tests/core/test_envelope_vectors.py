"""Our envelope and JCS vectors, run against the kernel: status, reason, pinned checks, outputs."""

from __future__ import annotations

import hashlib

import pytest

from vectors_util import load_vectors
from verifier.core.envelope import verify_envelope_bytes
from verifier.core.errors import Malformed
from verifier.core.intake import parse
from verifier.core.jcs import canonical
from verifier.core.policy import Policy
from verifier.core.profiles import Profile, profile_of, signed_scope


def _policy(inp: dict) -> Policy:
    p = inp.get("policy", {})
    keys = p.get("trusted_keys")
    return Policy(allow_legacy=p.get("allow_legacy", False),
                  trusted_keys=frozenset(bytes.fromhex(k) for k in keys) if keys is not None else None)


@pytest.mark.parametrize("vec", load_vectors("envelope"), ids=lambda v: v["id"])
def test_envelope_vector(vec):
    inp, exp = vec["input"], vec["expected"]
    payload = bytes.fromhex(inp["payload_hex"]) if "payload_hex" in inp else None
    result = verify_envelope_bytes(bytes.fromhex(inp["document_hex"]), payload, policy=_policy(inp))
    assert result.status.value == exp["status"], result.checks
    assert (result.reason.value if result.reason else None) == exp["reason"], result.checks
    for check_id, outcome in exp.get("checks", {}).items():
        assert result.check(check_id).outcome.value == outcome
    outputs = exp.get("outputs", {})
    if outputs:
        env = parse(bytes.fromhex(inp["document_hex"])).value
        profile = profile_of(env.get("spec_version")) or Profile.LEGACY
        assert canonical(signed_scope(env, profile)).hex() == outputs["signed_scope_hex"]
        assert env["signature"] == outputs["signature_hex"]
        committed = payload if payload is not None else canonical(env["payload"])
        assert hashlib.sha256(committed).hexdigest() == outputs["payload_hash_hex"]


@pytest.mark.parametrize("vec", load_vectors("jcs"), ids=lambda v: v["id"])
def test_jcs_vector(vec):
    data, exp = bytes.fromhex(vec["input"]["document_hex"]), vec["expected"]
    try:
        doc = parse(data)
        out = canonical(doc.value, doc.fast)
    except Malformed as exc:
        assert exp["status"] == "malformed"
        assert exc.reason.value == exp["reason"]
        return
    assert exp["status"] == "verified", f"accepted a must-reject input: {exp['reason']}"
    assert out.hex() == exp["outputs"]["canonical_hex"]
    # The fast and slow canonical paths must agree wherever the fast path is allowed.
    assert canonical(doc.value, False) == out

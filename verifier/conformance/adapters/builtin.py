"""The built-in verifier as a conformance implementation.

Run as ``python -m verifier.conformance.adapters.builtin``; it speaks spec/conformance.md
on stdin/stdout and answers every family with the `verifier.core` kernel (`audit_bundle`
with the bundle reader and the audit engine, offline). Outputs are
computed, never echoed from the input, except where the output *is* an input property
(nothing here is). ``signature_hex`` is produced by re-signing the envelope's signed
scope with the fixed test identity whose public key the envelope names
(spec/vectors.md §6) and is omitted for any other key.
"""

from __future__ import annotations

import hashlib
from typing import Any, Callable

FAMILIES = ("jcs", "envelope", "merkle", "agent_proof", "evidence", "chain", "data_item", "receipt",
            "audit_bundle")
CAPABILITIES = ("canonical", "hashes", "signatures", "merkle", "evidence_verdict", "data_items")

#: spec/vectors.md §6: the fixed test identities (seed bytes).
TEST_SEEDS = (
    bytes.fromhex("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
    hashlib.sha256(b"ario-verifier vectors: other signer").digest(),
)
_SIGNERS: dict[str, Any] | None = None


def _answer(result: Any, outputs: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "status": result.status.value,
        "reason": result.reason.value if result.reason is not None else None,
    }
    if outputs:
        out["outputs"] = outputs
    return out


def _malformed(reason: Any) -> dict[str, Any]:
    return {"status": "malformed", "reason": reason.value}


def _policy(inp: dict[str, Any]):
    from verifier.core.policy import Policy

    p = inp.get("policy") or {}
    keys = p.get("trusted_keys")
    return Policy(
        allow_legacy=bool(p.get("allow_legacy", False)),
        trusted_keys=frozenset(bytes.fromhex(k) for k in keys) if keys is not None else None,
    )


def _signer(public_key_hex: Any):
    global _SIGNERS
    if _SIGNERS is None:
        from nacl.signing import SigningKey

        keys = [SigningKey(seed) for seed in TEST_SEEDS]
        _SIGNERS = {k.verify_key.encode().hex(): k for k in keys}
    return _SIGNERS.get(public_key_hex) if isinstance(public_key_hex, str) else None


# -- families ------------------------------------------------------------------------------


def jcs(inp: dict[str, Any]) -> dict[str, Any]:
    from verifier.core.errors import Malformed
    from verifier.core.intake import parse
    from verifier.core.jcs import canonical

    try:
        doc = parse(bytes.fromhex(inp["document_hex"]))
        out = canonical(doc.value, doc.fast)
    except Malformed as exc:
        return _malformed(exc.reason)
    return {"status": "verified", "reason": None, "outputs": {"canonical_hex": out.hex()}}


def envelope(inp: dict[str, Any]) -> dict[str, Any]:
    from verifier.core.envelope import verify_envelope_bytes

    data = bytes.fromhex(inp["document_hex"])
    payload = bytes.fromhex(inp["payload_hex"]) if "payload_hex" in inp else None
    result = verify_envelope_bytes(data, payload, policy=_policy(inp))
    return _answer(result, _envelope_outputs(data, payload))


def _envelope_outputs(data: bytes, payload: bytes | None) -> dict[str, Any]:
    from verifier.core.errors import Malformed
    from verifier.core.intake import parse
    from verifier.core.jcs import canonical
    from verifier.core.profiles import Profile, profile_of, signed_scope

    outputs: dict[str, Any] = {}
    try:
        doc = parse(data)
    except Malformed:
        return outputs
    env = doc.value
    if not isinstance(env, dict):
        return outputs
    profile = profile_of(env.get("spec_version")) if "spec_version" in env else Profile.LEGACY
    if profile is not None:
        try:
            scope = canonical(signed_scope(env, profile), doc.fast)
        except Malformed:
            scope = None
        if scope is not None:
            outputs["signed_scope_hex"] = scope.hex()
            key = _signer(env.get("public_key"))
            if key is not None:
                outputs["signature_hex"] = key.sign(scope).signature.hex()
    committed: bytes | None = payload
    if committed is None and "payload" in env:
        try:
            committed = canonical(env["payload"], doc.fast)
        except Malformed:
            committed = None
    if committed is not None:
        outputs["payload_hash_hex"] = hashlib.sha256(committed).hexdigest()
    return outputs


def merkle(inp: dict[str, Any]) -> dict[str, Any]:
    from verifier.core import merkle as m
    from verifier.core.reasons import ReasonCode as R

    from verifier.core.encoding import is_lower_hex

    if not all(is_lower_hex(x) for x in inp.get("leaves_hex", [])):
        return _malformed(R.BAD_HEX)
    leaves = [bytes.fromhex(x) for x in inp.get("leaves_hex", [])]
    if any(k in inp for k in ("root_hex", "audit_path_hex", "tree_size")):
        # Inclusion: one leaf, its index, the tree size, the path and the root.
        if len(leaves) != 1 or not all(k in inp for k in ("leaf_index", "tree_size", "audit_path_hex", "root_hex")):
            return _malformed(R.MISSING_FIELD)
        if not is_lower_hex(inp["root_hex"], m.HASH_LEN) or \
                not all(is_lower_hex(p, m.HASH_LEN) for p in inp["audit_path_hex"]):
            return _malformed(R.BAD_HEX)
        root = bytes.fromhex(inp["root_hex"])
        path = [bytes.fromhex(p) for p in inp["audit_path_hex"]]
        ok = m.verify_inclusion(m.leaf_hash(leaves[0]), inp["leaf_index"], inp["tree_size"], path, root)
        if ok:
            return {"status": "verified", "reason": None}
        return {"status": "failed", "reason": R.INCLUSION_INVALID.value}
    hashes = [m.leaf_hash(b) for b in leaves]
    outputs: dict[str, Any] = {"leaf_hashes_hex": [h.hex() for h in hashes], "root_hex": m.root(hashes).hex()}
    if "leaf_index" in inp:
        index = inp["leaf_index"]
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(hashes):
            return _malformed(R.BAD_FIELD_TYPE)
        outputs["audit_path_hex"] = [h.hex() for h in m.audit_path(index, hashes)]
    return {"status": "verified", "reason": None, "outputs": outputs}


def agent_proof(inp: dict[str, Any]) -> dict[str, Any]:
    from verifier.core.agentproof import verify_agent_proof_bytes

    return _answer(verify_agent_proof_bytes(bytes.fromhex(inp["document_hex"]), policy=_policy(inp)))


def evidence(inp: dict[str, Any]) -> dict[str, Any]:
    from verifier.core.evidence import verdict_jcs_sha256, verify_evidence_bytes

    result = verify_evidence_bytes(bytes.fromhex(inp["document_hex"]), policy=_policy(inp))
    digest = verdict_jcs_sha256(result)
    return _answer(result, {"verdict_jcs_sha256": digest} if digest else None)


def chain(inp: dict[str, Any]) -> dict[str, Any]:
    from verifier.core.chain import LineageInput, verify_lineage

    events = [
        LineageInput(
            e.get("tx_id"),
            bytes.fromhex(e["document_hex"]),
            bytes.fromhex(e["payload_hex"]) if "payload_hex" in e else None,
        )
        for e in inp.get("events", [])
    ]
    return _answer(verify_lineage(events, policy=_policy(inp)))


def data_item(inp: dict[str, Any]) -> dict[str, Any]:
    from verifier.core.ans104 import data_item_id, verify_data_item
    from verifier.core.errors import Malformed

    raw = bytes.fromhex(inp["document_hex"])
    data = bytes.fromhex(inp["expected_data_hex"]) if "expected_data_hex" in inp else None
    result = verify_data_item(raw, inp.get("expected_id"), data)
    try:
        outputs = {"data_item_id": data_item_id(raw)}
    except Malformed:
        outputs = None
    return _answer(result, outputs)


def receipt(inp: dict[str, Any]) -> dict[str, Any]:
    from verifier.core.errors import Malformed
    from verifier.core.intake import parse
    from verifier.core.receipt import verify_receipt

    try:
        doc = parse(bytes.fromhex(inp["document_hex"]))
    except Malformed as exc:
        return _malformed(exc.reason)
    signers = inp.get("trusted_signers")
    trusted = frozenset(signers) if signers is not None else None
    return _answer(verify_receipt(doc.value, inp.get("expected_id"), trusted))


def audit_bundle(inp: dict[str, Any]) -> dict[str, Any]:
    """Read the bundle (spec/audit-bundle.md B1-B4), then audit it offline (spec/audit.md):
    no gateway and no ar.io Verify service; a refused bundle is its bundle reason."""
    from verifier.audit import AuditPolicy, audit_collection
    from verifier.sources.bundle import read_bundle
    from verifier.sources.errors import BundleError

    try:
        collection = read_bundle(bytes.fromhex(inp["document_hex"]))
    except BundleError as exc:
        return _malformed(exc.reason)
    p = inp.get("policy") or {}
    signers = p.get("trusted_receipt_signers")
    policy = AuditPolicy(
        trusted_keys=_policy(inp).trusted_keys,
        allow_legacy=bool(p.get("allow_legacy", False)),
        require_binding=bool(p.get("require_binding", False)),
        trusted_receipt_signers=frozenset(signers) if signers is not None else None,
    )
    return _answer(audit_collection(collection, policy))


HANDLERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "jcs": jcs, "envelope": envelope, "merkle": merkle, "agent_proof": agent_proof,
    "evidence": evidence, "chain": chain, "data_item": data_item, "receipt": receipt,
    "audit_bundle": audit_bundle,
}


def handle(family: str, inp: dict[str, Any]) -> dict[str, Any]:
    handler = HANDLERS.get(family)
    if handler is None:
        raise ValueError(f"family {family!r} is not supported")
    return handler(inp)


def hello() -> dict[str, Any]:
    from verifier import __version__

    return {"name": "ario-verifier", "version": __version__,
            "families": list(FAMILIES), "capabilities": list(CAPABILITIES)}


def main() -> int:
    from verifier.conformance.adapters import serve

    return serve(hello(), handle)


if __name__ == "__main__":
    raise SystemExit(main())

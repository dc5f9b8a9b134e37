"""ar-io-proof (the family's Python kernel, PyPI `ar-io-proof`) as a conformance implementation.

Run as ``python -m verifier.conformance.adapters.ario_proof_adapter``. It declares only
what ar-io-proof 0.2.0 can do: ``jcs`` (`canonical_json`), ``envelope``
(`verify_envelope`), ``merkle`` (`leaf_hash`, `merkle_root`, `audit_path`,
`verify_inclusion`) and ``agent_proof`` (`verify_proof_bundle`); no evidence, lineage or
data-item verification exists in 0.2.0, so those families are not applicable.

Mapping, as faithful as the library allows:

* Bytes to value: ar-io-proof takes parsed values, so bytes are decoded as UTF-8 and parsed
  with Python's `json` module, the way its own tests and callers do. Decode/parse errors
  become ``invalid_utf8`` / ``invalid_json`` / ``nesting_too_deep``; canonicalization
  errors from its JCS become ``non_finite_number`` (NaN/Infinity), ``lone_surrogate``
  (UTF-8 encode error) or ``bad_field_type`` (anything else).
* `VerificationResult` flags become our checks, in our check order (spec_version,
  fields, signature, payload binding); the status is the worst bucket and the reason the
  first reason in it (spec/result-model.md): legacy without `allow_legacy` ->
  ``legacy_not_allowed``; other `spec_version_ok == False` -> ``unsupported_spec_version``;
  "missing payload_hash" -> ``missing_payload_hash``; "payload is not
  JCS-canonicalizable" -> ``bad_field_type``; `signature_ok == False` ->
  ``signature_invalid``; `payload_hash_ok is False` -> ``payload_hash_mismatch``;
  `payload_hash_ok is None` (its "signature-valid, semantics-undetermined") ->
  ``payload_unavailable``. ar-io-proof has no trusted-key policy: `trusted_keys` is
  ignored (it cannot refuse a signer).
* Bundles: bundle errors map to ``unsupported_spec_version`` / ``missing_field`` /
  ``bad_hex``; a checkpoint envelope that does not verify gives its own reason when that
  is malformed, else ``checkpoint_invalid``; a failed walk gives ``inclusion_invalid``.
* Outputs are computed with ar-io-proof's own functions (`envelope_for_signature`,
  `canonical_json`, `sha256_hex`, `sign`, the Merkle helpers).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

FAMILIES = ("jcs", "envelope", "merkle", "agent_proof")
CAPABILITIES = ("canonical", "hashes", "signatures", "merkle")
TEST_SEEDS_HEX = (
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    hashlib.sha256(b"ario-verifier vectors: other signer").hexdigest(),
)

# status bucket of every reason this adapter can give (spec/reason-codes.md)
_BUCKET = {
    "invalid_utf8": "malformed", "invalid_json": "malformed", "nesting_too_deep": "malformed",
    "non_finite_number": "malformed", "lone_surrogate": "malformed", "bad_field_type": "malformed",
    "not_an_object": "malformed", "unsupported_spec_version": "malformed",
    "missing_payload_hash": "malformed", "missing_field": "malformed", "bad_hex": "malformed",
    "legacy_not_allowed": "failed", "signature_invalid": "failed",
    "payload_hash_mismatch": "failed", "checkpoint_invalid": "failed",
    "inclusion_invalid": "failed", "payload_unavailable": "incomplete",
}
_SEVERITY = {"verified": 0, "incomplete": 1, "failed": 2, "malformed": 3}


class _Rejected(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _rollup(reasons: list[str]) -> dict[str, Any]:
    status, primary = "verified", None
    for r in reasons:
        if _SEVERITY[_BUCKET[r]] > _SEVERITY[status]:
            status, primary = _BUCKET[r], r
    return {"status": status, "reason": primary}


def _rejected(reason: str) -> dict[str, Any]:
    return {"status": _BUCKET[reason], "reason": reason}


def _parse(hex_text: str) -> Any:
    data = bytes.fromhex(hex_text)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise _Rejected("invalid_utf8") from None
    try:
        return json.loads(text)
    except RecursionError:
        raise _Rejected("nesting_too_deep") from None
    except ValueError:
        raise _Rejected("invalid_json") from None


def _canonical(value: Any) -> bytes:
    from ario_proof import canonical_json

    try:
        return canonical_json(value)
    except UnicodeEncodeError:
        raise _Rejected("lone_surrogate") from None
    except RecursionError:
        raise _Rejected("nesting_too_deep") from None
    except ValueError as exc:
        text = str(exc).lower()
        raise _Rejected("non_finite_number" if ("nan" in text or "inf" in text) else "bad_field_type") from None
    except Exception:  # noqa: BLE001 - any other refusal of the value
        raise _Rejected("bad_field_type") from None


def _signer(public_key: Any):
    from ario_proof import public_key_hex, signing_key_from_seed_hex

    for seed in TEST_SEEDS_HEX:
        key = signing_key_from_seed_hex(seed)
        if public_key_hex(key) == public_key:
            return key
    return None


# -- families ------------------------------------------------------------------------------


def jcs(inp: dict[str, Any]) -> dict[str, Any]:
    try:
        out = _canonical(_parse(inp["document_hex"]))
    except _Rejected as exc:
        return _rejected(exc.reason)
    return {"status": "verified", "reason": None, "outputs": {"canonical_hex": out.hex()}}


def _envelope_reasons(res: Any) -> list[str]:
    """ar-io-proof VerificationResult -> our reasons, in our check order."""
    reasons: list[str] = []
    if res.legacy_envelope and not res.spec_version_ok:
        reasons.append("legacy_not_allowed")
    elif not res.spec_version_ok:
        reasons.append("unsupported_spec_version")
    if any(e.startswith("missing payload_hash") for e in res.errors):
        reasons.append("missing_payload_hash")
    if any(e.startswith("payload is not JCS") for e in res.errors):
        reasons.append("bad_field_type")
    if not res.signature_ok:
        reasons.append("signature_invalid")
    if res.payload_hash_ok is False and "missing_payload_hash" not in reasons:
        reasons.append("payload_hash_mismatch")
    elif res.payload_hash_ok is None:
        reasons.append("payload_unavailable")
    return reasons


def envelope(inp: dict[str, Any]) -> dict[str, Any]:
    from ario_proof import verify_envelope

    try:
        env = _parse(inp["document_hex"])
    except _Rejected as exc:
        return _rejected(exc.reason)
    if not isinstance(env, dict):
        return _rejected("not_an_object")
    payload = bytes.fromhex(inp["payload_hex"]) if "payload_hex" in inp else None
    allow_legacy = bool((inp.get("policy") or {}).get("allow_legacy", False))
    res = verify_envelope(env, payload_bytes=payload, allow_legacy=allow_legacy)
    answer = _rollup(_envelope_reasons(res))
    outputs = _envelope_outputs(env, payload)
    if outputs:
        answer["outputs"] = outputs
    return answer


def _envelope_outputs(env: dict[str, Any], payload: bytes | None) -> dict[str, Any]:
    from ario_proof import canonical_json, envelope_for_signature, sha256_hex, sign

    outputs: dict[str, Any] = {}
    try:
        scope = canonical_json(envelope_for_signature(env))
    except Exception:  # noqa: BLE001 - no output when the library cannot produce one
        scope = None
    if scope is not None:
        outputs["signed_scope_hex"] = scope.hex()
        key = _signer(env.get("public_key"))
        if key is not None:
            outputs["signature_hex"] = sign(scope, key).hex()
    if payload is not None:
        outputs["payload_hash_hex"] = sha256_hex(payload)
    elif "payload" in env:
        try:
            outputs["payload_hash_hex"] = sha256_hex(canonical_json(env["payload"]))
        except Exception:  # noqa: BLE001
            pass
    return outputs


def merkle(inp: dict[str, Any]) -> dict[str, Any]:
    from ario_proof import audit_path, leaf_hash, merkle_root, verify_inclusion

    leaves = [bytes.fromhex(x) for x in inp.get("leaves_hex", [])]
    if any(k in inp for k in ("root_hex", "audit_path_hex", "tree_size")):
        if len(leaves) != 1 or not all(k in inp for k in ("leaf_index", "tree_size", "audit_path_hex", "root_hex")):
            return _rejected("missing_field")
        path = [bytes.fromhex(p) for p in inp["audit_path_hex"]]
        ok = verify_inclusion(leaf_hash(leaves[0]), inp["leaf_index"], inp["tree_size"], path,
                              bytes.fromhex(inp["root_hex"]))
        return {"status": "verified", "reason": None} if ok else _rejected("inclusion_invalid")
    hashes = [leaf_hash(b) for b in leaves]
    outputs: dict[str, Any] = {"leaf_hashes_hex": [h.hex() for h in hashes],
                               "root_hex": merkle_root(hashes).hex()}
    if "leaf_index" in inp:
        try:
            outputs["audit_path_hex"] = [h.hex() for h in audit_path(inp["leaf_index"], hashes)]
        except (IndexError, TypeError):
            return _rejected("bad_field_type")
    return {"status": "verified", "reason": None, "outputs": outputs}


def agent_proof(inp: dict[str, Any]) -> dict[str, Any]:
    from ario_proof import verify_proof_bundle

    try:
        bundle = _parse(inp["document_hex"])
    except _Rejected as exc:
        return _rejected(exc.reason)
    if not isinstance(bundle, dict):
        return _rejected("not_an_object")
    res = verify_proof_bundle(bundle)
    if res.ok:
        return {"status": "verified", "reason": None}
    errors = res.errors
    if not res.spec_version_ok:
        return _rejected("unsupported_spec_version")
    if any(e.startswith("bundle missing") for e in errors):
        return _rejected("missing_field")
    reasons: list[str] = []
    if res.envelope is not None and not res.envelope.ok:
        env_answer = _rollup(_envelope_reasons(res.envelope))
        reasons.append(env_answer["reason"] if env_answer["status"] == "malformed" else "checkpoint_invalid")
    if any(e.startswith("leaf is not JCS") for e in errors):
        reasons.append("bad_field_type")
    if any(e.startswith("checkpoint envelope payload") or e.startswith("checkpoint payload.leaf_count")
           for e in errors):
        reasons.append("bad_field_type")
    if any(e.startswith("merkle_root / audit_path / leaf_index") for e in errors):
        reasons.append("bad_hex")
    if any(e.startswith("audit_path does not reconstruct") for e in errors):
        reasons.append("inclusion_invalid")
    if not reasons:
        raise RuntimeError("ar-io-proof rejected the bundle without a recognised error: " + "; ".join(errors))
    return _rollup(reasons)


HANDLERS = {"jcs": jcs, "envelope": envelope, "merkle": merkle, "agent_proof": agent_proof}


def handle(family: str, inp: dict[str, Any]) -> dict[str, Any]:
    handler = HANDLERS.get(family)
    if handler is None:
        raise ValueError(f"family {family!r} is not supported by ar-io-proof")
    return handler(inp)


def hello() -> dict[str, Any]:
    try:
        from importlib.metadata import version

        v = version("ar-io-proof")
    except Exception:  # noqa: BLE001
        v = "unknown"
    return {"name": "ar-io-proof", "version": v, "families": list(FAMILIES),
            "capabilities": list(CAPABILITIES)}


MISSING = ("ar-io-proof is not installed, so this adapter cannot run: "
           "pip install 'ar-io-proof>=0.2' (it is in ario-verifier's test extra, not in [all])")


def main() -> int:
    """Serve requests; without ar-io-proof, say so once on stderr and exit 3 before the
    handshake (the runner then reports one failed handshake, not one error per case)."""
    import sys

    try:
        import ario_proof  # noqa: F401
    except ImportError:
        sys.stderr.write(MISSING + "\n")
        return 3
    from verifier.conformance.adapters import serve

    return serve(hello(), handle)


if __name__ == "__main__":
    raise SystemExit(main())

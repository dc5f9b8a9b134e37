"""`ario.agent.proof/v1` inclusion bundles (spec/merkle.md §3, steps M1-M6).

A bundle proves that one leaf object was in the Merkle tree whose root a signed
`verification_checkpoint` envelope commits to. M1 intake, spec_version and bundle shape;
M2 the inline checkpoint envelope verifies; M3 the checkpoint payload's `leaf_count` and
`merkle_root`, and the leaf hash; M4 the audit path leads to that root; M6 the tx-id
binding is not checked here (no I/O). Hostile input ends as a `Result`; nothing raises.
"""

from __future__ import annotations

from typing import Any

from .encoding import is_lower_hex
from .envelope import verify_envelope_doc
from .errors import Malformed
from .intake import Doc, parse
from .jcs import canonical
from .limits import DEFAULT_LIMITS, Limits
from .merkle import leaf_hash, path_length, verify_inclusion
from .policy import DEFAULT_POLICY, Policy
from .profiles import match_major
from .reasons import ReasonCode as R
from .reasons import Status
from .result import Check, Result, make_result, passed, problem, skipped

KIND = "agent_proof"
SPEC_MAJOR = "ario.agent.proof/v1"

_OK_INTAKE = passed("intake")
_OK_SPEC = passed("spec_version")
_OK_FIELDS = passed("fields")
_OK_CHECKPOINT = passed("checkpoint_envelope")
_OK_PAYLOAD = passed("checkpoint_payload")
_OK_INCLUSION = passed("inclusion")
_SKIP_ON_CHAIN = skipped(
    "on_chain", "checkpoint_tx_id is not compared with on-chain bytes by the offline kernel"
)
_NO_PAYLOAD = "the checkpoint envelope has no inline payload to read merkle_root from"


def verify_agent_proof_bytes(
    data: bytes, *, policy: Policy = DEFAULT_POLICY, limits: Limits = DEFAULT_LIMITS
) -> Result:
    """Verify raw `ario.agent.proof/v1` bundle bytes (M1 strict intake first)."""
    try:
        doc = parse(data, limits)
    except Malformed as exc:
        return make_result(KIND, [problem("intake", exc.reason, exc.detail)])
    return verify_agent_proof_doc(doc, policy=policy, limits=limits)


def verify_agent_proof_doc(
    doc: Doc, *, policy: Policy = DEFAULT_POLICY, limits: Limits = DEFAULT_LIMITS
) -> Result:
    """Verify a bundle already admitted by `intake.parse` (or `intake.parse_value`)."""
    bundle = doc.value
    if not isinstance(bundle, dict):
        return make_result(KIND, [problem("intake", R.NOT_AN_OBJECT,
                                          "bundle is not a JSON object")])
    checks: list[Check] = [_OK_INTAKE]

    # M1: spec_version, then the bundle's own fields.
    if "spec_version" not in bundle:
        checks.append(problem("spec_version", R.MISSING_FIELD, "spec_version is missing"))
        return _done(checks, bundle)
    if not match_major(bundle["spec_version"], SPEC_MAJOR):
        checks.append(problem("spec_version", R.UNSUPPORTED_SPEC_VERSION,
                              f"spec_version {_show(bundle['spec_version'])} is not "
                              f"{SPEC_MAJOR} or {SPEC_MAJOR}.<digits>"))
        return _done(checks, bundle)
    checks.append(_OK_SPEC)
    shape = _bundle_problem(bundle, limits)
    if shape is not None:
        checks.append(shape)
        return _done(checks, bundle)
    checks.append(_OK_FIELDS)

    # M2: the inline checkpoint envelope verifies, payload binding included.
    envelope = bundle["checkpoint_envelope"]
    env_result = verify_envelope_doc(Doc(envelope, doc.fast), None, policy=policy, limits=limits)
    checks.append(_checkpoint_check(env_result))
    children = (env_result,)

    # M3: the signed payload supplies leaf_count and merkle_root; the leaf is hashed.
    if "payload" not in envelope:
        checks.append(skipped("checkpoint_payload", _NO_PAYLOAD))
        checks.append(skipped("leaf", _NO_PAYLOAD))
        checks.append(skipped("inclusion", _NO_PAYLOAD))
        return _done(checks, bundle, children)
    payload_problem = _payload_problem(envelope["payload"])
    if payload_problem is not None:
        checks.append(payload_problem)
        return _done(checks, bundle, children)
    checks.append(_OK_PAYLOAD)
    try:
        leaf = leaf_hash(canonical(bundle["leaf"], doc.fast, limits))
    except Malformed as exc:
        checks.append(problem("leaf", exc.reason, f"leaf: {exc.detail}"))
        return _done(checks, bundle, children)
    checks.append(passed("leaf", f"leaf hash {leaf.hex()}"))

    # M4: the audit path walk from the leaf reaches the signed merkle_root.
    checks.append(_inclusion_check(bundle, envelope["payload"], leaf))
    # M6: nothing binds checkpoint_tx_id to these bytes offline.
    checks.append(_SKIP_ON_CHAIN)
    return _done(checks, bundle, children)


def _bundle_problem(bundle: dict[str, Any], limits: Limits) -> Check | None:
    """M1: the bundle's required fields, their JSON types and encodings."""
    for name in ("checkpoint_tx_id", "checkpoint_envelope", "leaf", "leaf_index", "audit_path"):
        if name not in bundle:
            return problem("fields", R.MISSING_FIELD, f"{name} is missing")
    tx_id = bundle["checkpoint_tx_id"]
    if not isinstance(tx_id, str) or not tx_id:
        return problem("fields", R.BAD_FIELD_TYPE, "checkpoint_tx_id must be a non-empty string")
    for name in ("checkpoint_envelope", "leaf"):
        if not isinstance(bundle[name], dict):
            return problem("fields", R.BAD_FIELD_TYPE, f"{name} must be a JSON object")
    if not _is_int(bundle["leaf_index"]):
        return problem("fields", R.BAD_FIELD_TYPE,
                       f"leaf_index must be an integer, not {_type(bundle['leaf_index'])}")
    path = bundle["audit_path"]
    if not isinstance(path, list):
        return problem("fields", R.BAD_FIELD_TYPE, "audit_path must be an array")
    if len(path) > limits.max_audit_path:
        return problem("fields", R.BAD_FIELD_TYPE,
                       f"audit_path has {len(path)} entries; the limit is {limits.max_audit_path}")
    for i, entry in enumerate(path):
        if not isinstance(entry, str):
            return problem("fields", R.BAD_FIELD_TYPE, f"audit_path[{i}] must be a string")
        if not is_lower_hex(entry, 32):
            return problem("fields", R.BAD_HEX,
                           f"audit_path[{i}] must be 64 lowercase hex characters")
    return None


def _checkpoint_check(env_result: Result) -> Check:
    """M2: a malformed envelope keeps its own reason; any other non-pass is checkpoint_invalid."""
    if env_result.ok:
        return _OK_CHECKPOINT
    why = _first_detail(env_result)
    if env_result.status is Status.MALFORMED and env_result.reason is not None:
        return problem("checkpoint_envelope", env_result.reason, f"checkpoint envelope: {why}")
    reason = env_result.reason.value if env_result.reason is not None else "?"
    return problem("checkpoint_envelope", R.CHECKPOINT_INVALID,
                   f"checkpoint envelope is {env_result.status.value} ({reason}): {why}")


def _payload_problem(payload: Any) -> Check | None:
    """M3: payload is an object with an integer leaf_count and a 64-hex merkle_root."""
    if not isinstance(payload, dict):
        return problem("checkpoint_payload", R.BAD_FIELD_TYPE,
                       "checkpoint payload must be a JSON object")
    for name in ("leaf_count", "merkle_root"):
        if name not in payload:
            return problem("checkpoint_payload", R.MISSING_FIELD, f"payload.{name} is missing")
    if not _is_int(payload["leaf_count"]):
        return problem("checkpoint_payload", R.BAD_FIELD_TYPE,
                       f"payload.leaf_count must be an integer, not {_type(payload['leaf_count'])}")
    root = payload["merkle_root"]
    if not isinstance(root, str):
        return problem("checkpoint_payload", R.BAD_FIELD_TYPE,
                       "payload.merkle_root must be a string")
    if not is_lower_hex(root, 32):
        return problem("checkpoint_payload", R.BAD_HEX,
                       "payload.merkle_root must be 64 lowercase hex characters")
    return None


def _inclusion_check(bundle: dict[str, Any], payload: dict[str, Any], leaf: bytes) -> Check:
    """M4: walk the audit path; say why it failed (range, length, or root)."""
    index, size = bundle["leaf_index"], payload["leaf_count"]
    path = [bytes.fromhex(p) for p in bundle["audit_path"]]
    if verify_inclusion(leaf, index, size, path, bytes.fromhex(payload["merkle_root"])):
        return _OK_INCLUSION
    want = path_length(index, size)
    if want < 0:
        detail = f"leaf_index {index} is not a leaf of a tree of leaf_count {size}"
    elif want != len(path):
        detail = (f"audit_path has {len(path)} entries; leaf {index} of a {size}-leaf tree "
                  f"needs {want}")
    else:
        detail = "the audit path does not reconstruct the checkpoint's merkle_root"
    return problem("inclusion", R.INCLUSION_INVALID, detail)


def _done(checks: list[Check], bundle: dict[str, Any], children: tuple[Result, ...] = ()) -> Result:
    return make_result(KIND, checks, _subject(bundle), children)


def _subject(bundle: dict[str, Any]) -> dict[str, Any]:
    """checkpoint_tx_id, leaf_index, leaf_count, merkle_root: each None unless well-typed."""
    tx_id = bundle.get("checkpoint_tx_id")
    index = bundle.get("leaf_index")
    envelope = bundle.get("checkpoint_envelope")
    payload = envelope.get("payload") if isinstance(envelope, dict) else None
    payload = payload if isinstance(payload, dict) else {}
    count, root = payload.get("leaf_count"), payload.get("merkle_root")
    return {
        "checkpoint_tx_id": tx_id if isinstance(tx_id, str) else None,
        "leaf_index": index if _is_int(index) else None,
        "leaf_count": count if _is_int(count) else None,
        "merkle_root": root if is_lower_hex(root, 32) else None,
    }


def _first_detail(result: Result) -> str:
    for c in result.checks:
        if c.reason is result.reason:
            return c.detail or (c.reason.value if c.reason is not None else "")
    return ""


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _type(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, float):
        return "a fractional or exponent number"
    return {str: "a string", list: "an array", dict: "an object", type(None): "null"}.get(
        type(value), type(value).__name__)


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."

"""RFC 9162 Merkle vectors (generation and inclusion) and ario.agent.proof/v1 bundles."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from .common import FAMILY_KEY, OTHER_KEY, Vector, h, jcs, resign, sign


def leaf(b: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + b).digest()


def node(a: bytes, b: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + a + b).digest()


def mth(d: list[bytes]) -> bytes:
    if not d:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return d[0]
    k = 1
    while k * 2 < len(d):
        k *= 2
    return node(mth(d[:k]), mth(d[k:]))


def path(m: int, d: list[bytes]) -> list[bytes]:
    if len(d) <= 1:
        return []
    k = 1
    while k * 2 < len(d):
        k *= 2
    if m < k:
        return path(m, d[:k]) + [mth(d[k:])]
    return path(m - k, d[k:]) + [mth(d[:k])]


def _leaves(n: int) -> list[bytes]:
    return [f"leaf-{i:04d}".encode() for i in range(n)]


def generation_vectors() -> list[Vector]:
    out = []
    for n in (0, 1, 2, 3, 5, 8, 13):
        raw = _leaves(n)
        hashes = [leaf(x) for x in raw]
        inp: dict[str, Any] = {"leaves_hex": [x.hex() for x in raw]}
        outputs: dict[str, Any] = {"leaf_hashes_hex": [x.hex() for x in hashes], "root_hex": mth(hashes).hex()}
        if n:
            inp["leaf_index"] = n // 2
            outputs["audit_path_hex"] = [p.hex() for p in path(n // 2, hashes)]
        out.append(Vector(f"merkle-tree-{n:02d}", "merkle", f"RFC 9162 tree of {n} leaves: leaf "
                          "hashes, root and (if any leaf) the audit path of the middle leaf.",
                          ["merkle.md#H1", "merkle.md#H2", "merkle.md#H3"], inp, "verified", None,
                          outputs=outputs))
    return out


def inclusion_vectors() -> list[Vector]:
    raw = _leaves(7)
    hashes = [leaf(x) for x in raw]
    root = mth(hashes)
    p3 = [x.hex() for x in path(3, hashes)]

    def inc(vid, desc, index, size, audit, status, reason, leaf_bytes=raw[3], root_hex=root.hex()):
        return Vector(f"merkle-inclusion-{vid}", "merkle", desc, ["merkle.md#H4"],
                      {"leaves_hex": [leaf_bytes.hex()], "leaf_index": index, "tree_size": size,
                       "audit_path_hex": audit, "root_hex": root_hex}, status, reason)
    return [
        inc("ok", "Leaf 3 of 7 with its audit path.", 3, 7, p3, "verified", None),
        inc("wrong-index", "The same path claimed for leaf 4.", 4, 7, p3, "failed", "inclusion_invalid"),
        inc("wrong-leaf", "Another leaf's bytes with leaf 3's path.", 3, 7, p3, "failed",
            "inclusion_invalid", leaf_bytes=raw[2]),
        inc("path-too-long", "An extra sibling appended to the path.", 3, 7, p3 + [p3[0]], "failed", "inclusion_invalid"),
        inc("path-too-short", "The last sibling dropped.", 3, 7, p3[:-1], "failed", "inclusion_invalid"),
        inc("index-out-of-range", "Index equal to the tree size.", 7, 7, p3, "failed", "inclusion_invalid"),
        inc("negative-index", "A negative index.", -1, 7, p3, "failed", "inclusion_invalid"),
        inc("empty-tree", "Tree size 0 proves nothing.", 0, 0, [], "failed", "inclusion_invalid"),
        inc("wrong-root", "A root with one bit flipped.", 3, 7, p3, "failed", "inclusion_invalid",
            root_hex=bytes([root[0] ^ 1]).hex() + root[1:].hex()),
        inc("single-leaf", "Size 1: empty path, leaf hash is the root.", 0, 1, [], "verified", None,
            leaf_bytes=raw[0], root_hex=leaf(raw[0]).hex()),
        inc("bad-hex", "An audit path entry in uppercase hex.", 3, 7, [p3[0].upper()] + p3[1:],
            "malformed", "bad_hex"),
    ]


def agent_proof_vectors() -> list[Vector]:
    leaves = [{"agent_id": "host-01", "asset": {"asset_id": f"asset-{i:03d}", "type": "filesystem",
                                                "uri": f"file:///data/asset-{i:03d}.bin"},
               "expected_hash": h(b"%d" % i), "observed_hash": h(b"%d" % i), "outcome": "verified",
               "policy_hash": h(b"policy"), "schema": "ario.agent.leaf/v1",
               "verified_at": "2026-05-12T00:00:00.000Z"} for i in range(5)]
    hashes = [leaf(jcs(x)) for x in leaves]
    payload = {"leaf_count": 5, "leaf_manifest": {"hash": h(b"manifest"), "size_bytes": 1200,
                                                  "uri": "file:///var/lib/ariod/manifest.jsonl"},
               "merkle_algorithm": "RFC9162-binary-sha256", "merkle_root": mth(hashes).hex(),
               "outcome_summary": {"tampered": 0, "unavailable": 0, "verified": 5},
               "policy_hash": h(b"policy"), "previous_checkpoint_hash": "GENESIS",
               "window": {"start": "2026-05-12T00:00:00.000Z", "end": "2026-05-12T01:00:00.000Z"}}
    checkpoint = sign({"spec_version": "ario.agent/v1", "event_id": "550e8400-e29b-41d4-a716-0000000000c1",
                       "event_type": "verification_checkpoint",
                       "subject": {"type": "agent", "tenant_id": "acme", "agent_id": "host-01"},
                       "payload": payload, "payload_hash": h(jcs(payload)), "previous_hash": "GENESIS",
                       "signed_at": "2026-05-12T01:00:00.500Z"})
    bundle = {"spec_version": "ario.agent.proof/v1", "checkpoint_tx_id": "cHJvb2YtY2hlY2twb2ludC10eC0wMDAwMDAwMDAwMQ",
              "checkpoint_envelope": checkpoint, "leaf": leaves[2], "leaf_index": 2,
              "audit_path": [p.hex() for p in path(2, hashes)]}

    def ap(vid, desc, refs, doc, status, reason, policy=None):
        data = doc if isinstance(doc, bytes) else jcs(doc)
        inp: dict[str, Any] = {"document_hex": data.hex()}
        if policy:
            inp["policy"] = policy
        return Vector(f"agent-proof-{vid}", "agent_proof", desc, refs, inp, status, reason)

    edited_payload = dict(payload, merkle_root=h(b"other root"))
    float_count = dict(payload, leaf_count=5.0)
    float_cp = resign(dict(checkpoint, payload=float_count, payload_hash=h(jcs(float_count))))
    return [
        ap("ok", "Leaf 2 of a 5-leaf agent checkpoint.", ["merkle.md#M4"], bundle, "verified", None),
        ap("leaf-tampered", "The leaf object's outcome changed to tampered.", ["merkle.md#M4"],
           dict(bundle, leaf=dict(leaves[2], outcome="tampered")), "failed", "inclusion_invalid"),
        ap("wrong-index", "The proof claimed for index 3.", ["merkle.md#M4"], dict(bundle, leaf_index=3),
           "failed", "inclusion_invalid"),
        ap("index-beyond-tree", "Index 9 in a 5-leaf tree.", ["merkle.md#M4"], dict(bundle, leaf_index=9),
           "failed", "inclusion_invalid"),
        ap("checkpoint-edited", "The checkpoint's merkle_root edited without re-signing.",
           ["merkle.md#M2"], dict(bundle, checkpoint_envelope=dict(checkpoint, payload=edited_payload,
                                                                  payload_hash=h(jcs(edited_payload)))),
           "failed", "checkpoint_invalid"),
        ap("checkpoint-untrusted", "A checkpoint signed by a key outside the trusted set.",
           ["merkle.md#M2"], bundle, "failed", "checkpoint_invalid",
           policy={"trusted_keys": [OTHER_KEY.verify_key.encode().hex()]}),
        ap("bad-version", "Bundle version ario.agent.proof/v2.", ["merkle.md#M1"],
           dict(bundle, spec_version="ario.agent.proof/v2"), "malformed", "unsupported_spec_version"),
        ap("bad-minor", "Bundle version ario.agent.proof/v1.x (non-numeric minor).", ["merkle.md#M1"],
           dict(bundle, spec_version="ario.agent.proof/v1.x"), "malformed", "unsupported_spec_version"),
        ap("index-string", "leaf_index as a string.", ["merkle.md#M1"], dict(bundle, leaf_index="2"),
           "malformed", "bad_field_type"),
        ap("index-bool", "leaf_index true is not an integer.", ["merkle.md#M1"], dict(bundle, leaf_index=True),
           "malformed", "bad_field_type"),
        ap("no-tx-id", "checkpoint_tx_id missing.", ["merkle.md#M1"],
           {k: v for k, v in bundle.items() if k != "checkpoint_tx_id"}, "malformed", "missing_field"),
        ap("path-uppercase", "An audit path entry in uppercase hex.", ["merkle.md#M1"],
           dict(bundle, audit_path=[bundle["audit_path"][0].upper()] + bundle["audit_path"][1:]),
           "malformed", "bad_hex"),
        ap("leaf-count-float", "The signed leaf_count is 5.0, not an integer.", ["merkle.md#M3"],
           # json.dumps keeps "5.0" in the text (JCS would write 5): the bytes carry a float.
           json.dumps(dict(bundle, checkpoint_envelope=float_cp), sort_keys=True).encode(),
           "malformed", "bad_field_type"),
    ]


def all_vectors() -> list[Vector]:
    return generation_vectors() + inclusion_vectors() + agent_proof_vectors()

"""ario.evidence/v1 vectors: anchor traces (ario.events/v1 events under one checkpoint) and
attested exports with deterministic RSA-PSS operator attestations."""

from __future__ import annotations

import copy
import json
from typing import Any

from .common import FAMILY_KEY, Vector, h, jcs, pub
from .merkle_cases import leaf, mth, path
from .rsa_det import DetRSA

CP_TX = "dmVjdG9yLWNoZWNrcG9pbnQtdHgtMDAwMDAwMDAwMDE"
GENERATED_AT = "2026-07-15T00:00:00Z"


def _sign_events(fields: dict[str, Any]) -> dict[str, Any]:
    env = dict(fields, public_key=pub(FAMILY_KEY))
    env["signature"] = FAMILY_KEY.sign(jcs(env)).signature.hex()
    return env


def _record(event_type: str, event: dict[str, Any], previous: str = "GENESIS") -> dict[str, Any]:
    return {"payload_version": 1, "spec_version": "ario.events/v1", "event_type": event_type,
            "subject": {"type": "producer", "producer_id": "vector-producer"},
            "previous_hash": previous, "context": {}, "event": event, "metadata": {}, "extras": {}}


def _event(n: int, content: bytes, previous: str) -> tuple[dict[str, Any], bytes]:
    record = _record("event", {"content_hash": h(content), "content_length": len(content)}, previous)
    rb = jcs(record)
    env = _sign_events({"spec_version": "ario.events/v1", "event_id": f"00000000-0000-4000-8000-0000000000{n:02d}",
                        "payload_hash": h(rb), "signed_at": "2026-07-14T12:00:00.000Z",
                        "environment": "production"})
    return env, rb


def trace_body() -> dict[str, Any]:
    contents = [b"first disclosed object", b"second object", b"third object"]
    events, records, previous = [], [], "GENESIS"
    for n, content in enumerate(contents):
        env, rb = _event(n, content, previous)
        previous = env["payload_hash"]
        events.append(env)
        records.append(rb)
    hashes = [leaf(jcs(e)) for e in events]
    root = mth(hashes).hex()
    cp_record = _record("checkpoint", {"leaf_count": 3, "merkle_root": root,
                                       "window": {"start": "2026-07-14T00:00:00Z", "end": "2026-07-15T00:00:00Z"}})
    cp_record["context"] = {"chain_key": "batcher:vectors"}
    cp_rb = jcs(cp_record)
    cp_env = _sign_events({"spec_version": "ario.events/v1", "event_id": "00000000-0000-4000-8000-0000000000c0",
                           "payload_hash": h(cp_rb), "signed_at": "2026-07-15T00:00:00.000Z",
                           "environment": "production"})
    body_events = []
    for n, (env, rb) in enumerate(zip(events, records)):
        item = {"envelope": env, "record_bytes": rb.hex(),
                "inclusion": {"leaf_hash": hashes[n].hex(), "leaf_index": n, "leaf_count": 3,
                              "audit_path": [p.hex() for p in path(n, hashes)], "checkpoint_tx_id": CP_TX}}
        if n == 0:
            item["content"] = contents[0].hex()
        body_events.append(item)
    return {"checkpoints": [{"tx_id": CP_TX, "envelope": cp_env, "record_bytes": cp_rb.hex(),
                             "merkle_root": root}], "events": body_events}


def wrap(body: dict[str, Any], body_type: str = "ario.anchor.trace/v1", issuer=None,
         status: str = "verified", **extra) -> dict[str, Any]:
    bundle = {"spec_version": "ario.evidence/v1", "body_type": body_type,
              "issuer": issuer or {"kind": "producer", "producer_id": "vector-producer"},
              "generated_at": GENERATED_AT, "gateway": None,
              "verdict": {"status": status, "summary": "asserted by the producer"},
              "body": body, "body_hash": h(jcs(body)), "signature_alg": "ed25519",
              "public_key": pub(FAMILY_KEY)}
    bundle.update(extra)
    bundle["signature"] = FAMILY_KEY.sign(jcs(bundle)).signature.hex()
    return bundle


def resign(bundle: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in bundle.items() if k != "signature"}
    if "body" in out:
        out["body_hash"] = h(jcs(out["body"]))
    out["signature"] = FAMILY_KEY.sign(jcs(out)).signature.hex()
    return out


def _ev(vid: str, desc: str, refs: list[str], doc, status: str, reason: str | None) -> Vector:
    data = doc if isinstance(doc, bytes) else jcs(doc)
    return Vector(f"evidence-{vid}", "evidence", desc, refs, {"document_hex": data.hex()}, status, reason)


def trace_vectors() -> list[Vector]:
    body = trace_body()
    ok = wrap(body)
    b = copy.deepcopy(body)
    b["checkpoints"][0]["merkle_root"] = h(b"another root")
    root_mismatch = wrap(b)
    b = copy.deepcopy(body)
    b["checkpoints"][0]["record_bytes"] = jcs(dict(json.loads(bytes.fromhex(body["checkpoints"][0]["record_bytes"])),
                                                   metadata={"edited": True})).hex()
    cp_tampered = wrap(b)
    b = copy.deepcopy(body)
    b["events"][1]["inclusion"]["leaf_index"] = 2
    bad_inclusion = wrap(b)
    b = copy.deepcopy(body)
    b["events"][2]["envelope"] = dict(b["events"][2]["envelope"], environment="dev")
    event_tampered = wrap(b)
    b = copy.deepcopy(body)
    b["events"][0]["content"] = b"first disclosed objecT".hex()
    content = wrap(b)
    b = copy.deepcopy(body)
    del b["events"][1]["record_bytes"]
    withheld = wrap(b)
    b = copy.deepcopy(body)
    b["checkpoints"].append(copy.deepcopy(b["checkpoints"][0]))
    duplicate = wrap(b)
    deep: Any = {"end": 0}
    for _ in range(128):
        deep = {"d": deep}
    flipped_sig = dict(ok, signature=("1" if ok["signature"][0] == "0" else "0") + ok["signature"][1:])
    return [
        _ev("trace-ok", "Anchor trace: three ario.events/v1 events under one signed checkpoint, "
            "records disclosed, one event's raw content disclosed.", ["evidence.md#V10", "evidence.md#V12"],
            ok, "verified", None),
        _ev("trace-pretty", "The same bundle pretty-printed: hashes are over JCS, not the bytes.",
            ["evidence.md#V3"], json.dumps(ok, indent=1).encode(), "verified", None),
        _ev("trace-body-edited", "Body edited after signing: body_hash and signature both fail; "
            "body_hash is reported first.", ["evidence.md#V3"],
            dict(ok, body=dict(body, checkpoints=[])), "failed", "body_hash_mismatch"),
        _ev("trace-signature-flipped", "Wrapper signature nibble changed.", ["evidence.md#V4"],
            flipped_sig, "failed", "signature_invalid"),
        _ev("trace-body-ref", "A body_ref member (referenced body) is not supported.", ["evidence.md#V2"],
            resign(dict(ok, body_ref="ar://somewhere")), "malformed", "body_ref_unsupported"),
        _ev("trace-signature-alg", "signature_alg other than ed25519.", ["evidence.md#V2"],
            resign(dict(ok, signature_alg="rsa-pss-sha256")), "malformed", "unsupported_algorithm"),
        _ev("trace-bad-version", "Wrapper spec_version ario.evidence/v2.", ["evidence.md#V2"],
            resign(dict(ok, spec_version="ario.evidence/v2")), "malformed", "unsupported_spec_version"),
        _ev("trace-unknown-body-type", "An authentic wrapper around a body type this verifier "
            "cannot check.", ["evidence.md#V5"], resign(dict(ok, body_type="ario.example.other/v1")),
            "incomplete", "unknown_body_type"),
        _ev("trace-empty", "A trace with no checkpoints and no events proves nothing.",
            ["evidence.md#V15"], wrap({"checkpoints": [], "events": []}), "incomplete", "empty_trace"),
        _ev("trace-root-mismatch", "The stated merkle_root beside the checkpoint differs from the "
            "root its record commits.", ["evidence.md#V11"], root_mismatch, "failed", "merkle_root_mismatch"),
        _ev("trace-checkpoint-record-edited", "The checkpoint's record bytes edited: its envelope "
            "binding fails, so the root is untrusted.", ["evidence.md#V11"], cp_tampered, "failed",
            "checkpoint_invalid"),
        _ev("trace-event-tampered", "An event envelope edited after signing.", ["evidence.md#V12"],
            event_tampered, "failed", "event_invalid"),
        _ev("trace-inclusion-wrong-index", "An event's proof presented at another index.",
            ["evidence.md#V12"], bad_inclusion, "failed", "inclusion_invalid"),
        _ev("trace-content-mismatch", "Disclosed raw content with one byte changed.", ["evidence.md#V13"],
            content, "failed", "content_mismatch"),
        _ev("trace-record-withheld", "One event's record withheld: signature-valid, binding unchecked.",
            ["evidence.md#V14"], withheld, "incomplete", "record_withheld"),
        _ev("trace-duplicate-checkpoint", "Two checkpoints with the same tx_id.", ["evidence.md#V11"],
            duplicate, "failed", "duplicate_event"),
        _ev("trace-too-deep", "An extra member nested 129 deep anywhere in the bundle.", ["evidence.md#V1"],
            resign(dict(ok, extra=deep)), "malformed", "nesting_too_deep"),
    ]


# -- exports ------------------------------------------------------------------------------

OPERATORS = [DetRSA("ario-verifier vectors: operator 1", 2048), DetRSA("ario-verifier vectors: operator 2", 2048)]


def attestation(op: DetRSA, data_hash: str, *, tx: str = CP_TX, level: int = 3, operator: str | None = None,
                salt: int = 32, jwk: dict | None = None, alg: str = "rsa-pss-sha256") -> dict[str, Any]:
    payload = {"attested_at": "2026-07-15T00:00:00Z", "tx_id": tx, "data_hash": data_hash, "data_size": 412,
               "block_height": 1512345, "block_timestamp": 1784073600,
               "operator": op.address() if operator is None else operator,
               "owner_address": "b3duZXItYWRkcmVzcy0wMDAwMDAwMDAwMDAwMDAwMDE", "gateway": "https://g1.example",
               "signature_verified": True, "level": level, "attestation_version": "ario.evidence.attestation/v1"}
    return {"checkpoint_tx_id": tx, "payload": payload, "signature_alg": alg,
            "public_key": jwk or op.jwk(), "signature": op.sign_pss(jcs(payload), salt).hex()}


def kernel_verdict(source_body: dict[str, Any], atts: list[dict[str, Any]], flags: list[dict[str, bool]],
                   payload_bound: list[Any] | None = None) -> dict[str, Any]:
    """A cached verdict whose agreement projection matches the given per-item truth."""
    events = []
    for n, e in enumerate(source_body["events"]):
        pb = True if payload_bound is None else payload_bound[n]
        events.append({"event_id": e["envelope"]["event_id"], "signature_ok": True, "payload_bound": pb,
                       "inclusion_ok": True, "content_ok": True if "content" in e else None,
                       "status": "verified" if pb else "partial"})
    cps = []
    for cp in source_body["checkpoints"]:
        cps.append({"checkpoint_tx_id": cp["tx_id"], "merkle_root_ok": True, "on_chain": None,
                    "attestations": [{"operator": a["payload"]["operator"], "signature_ok": f["sig"],
                                      "operator_address_bound": f["op"], "data_hash_bound": f["data"],
                                      "subject_ref_ok": None}
                                     for a, f in zip(atts, flags) if a["checkpoint_tx_id"] == cp["tx_id"]]})
    return {"schema_version": "ario.evidence.verdict/v1", "status": "verified", "summary": "cached",
            "counts": {"verified": 0, "failed": 0, "undetermined": 0}, "events": events,
            "checkpoints": cps, "custody_chain": None}


GOOD = {"sig": True, "op": True, "data": True}


def export(source: dict[str, Any], atts: list[dict[str, Any]], flags: list[dict[str, bool]] | None = None,
           payload_bound=None, **body_edits) -> dict[str, Any]:
    flags = flags or [GOOD] * len(atts)
    body = {"kernel_verdict": kernel_verdict(source["body"], atts, flags, payload_bound),
            "source_bundle": source, "source_bundle_hash": h(jcs(source)), "attestations": atts,
            "export_schema": "ario.evidence.export/v1"}
    body.update(body_edits)
    body = {k: v for k, v in body.items() if v is not None}
    return wrap(body, "ario.evidence.export/v1", {"kind": "issuer", "issuer_id": "vector-issuer"},
                previous_hash="GENESIS")


def export_vectors() -> list[Vector]:
    source = wrap(trace_body())
    data_hash = h(jcs(source["body"]["checkpoints"][0]["envelope"]))
    a1, a2 = attestation(OPERATORS[0], data_hash), attestation(OPERATORS[1], data_hash, level=2)
    ok = export(source, [a1, a2])
    forged = dict(a1, signature=("1" if a1["signature"][0] == "0" else "0") + a1["signature"][1:])
    bad = {"sig": False, "op": True, "data": True}
    mis_salt = attestation(OPERATORS[0], data_hash, salt=OPERATORS[0].max_salt())
    e1 = dict(a1, public_key=dict(a1["public_key"], e="AQ"))
    e_empty = dict(a1, public_key=dict(a1["public_key"], e=""))
    kty = dict(a1, public_key=dict(a1["public_key"], kty="oct"))
    wrong_op = attestation(OPERATORS[1], data_hash, operator=OPERATORS[0].address())
    wrong_data = attestation(OPERATORS[0], h(b"other bytes"))
    other_tx = attestation(OPERATORS[0], data_hash, tx="b3RoZXItY2hlY2twb2ludC10eC0wMDAwMDAwMDAwMDI")
    failed_body = trace_body()
    failed_body["events"][0]["content"] = b"tampered".hex()
    failed_source = wrap(failed_body)
    withheld_body = trace_body()
    del withheld_body["events"][2]["record_bytes"]
    withheld_source = wrap(withheld_body)
    disagree = export(source, [a1, a2], [bad, GOOD])
    linkage = export(source, [a1, a2], source_bundle_hash=h(b"another source"))
    ref = export(source, [a1, a2], source_bundle=None, source_bundle_ref=f"ar://{CP_TX}")
    neither = export(source, [a1, a2], source_bundle=None)
    refs = ["evidence.md#V23"]
    return [
        _ev("export-ok", "Attested export: inline source trace, two operator attestations (salt 32).",
            ["evidence.md#V20", "evidence.md#V23", "evidence.md#V25"], ok, "verified", None),
        _ev("export-source-ref", "Only a source_bundle_ref: not fetched, undetermined.", ["evidence.md#V20"],
            ref, "incomplete", "source_bundle_unavailable"),
        _ev("export-no-source", "Neither source_bundle nor source_bundle_ref.", ["evidence.md#V20"],
            neither, "malformed", "missing_field"),
        _ev("export-linkage", "source_bundle_hash does not hash the source.", ["evidence.md#V21"],
            linkage, "failed", "source_linkage_mismatch"),
        _ev("export-source-failed", "The source trace's disclosed content was changed and the "
            "source re-signed.", ["evidence.md#V22"], export(failed_source, [a1, a2]), "failed",
            "source_bundle_failed"),
        _ev("export-source-incomplete", "The source trace withholds one record.", ["evidence.md#V22"],
            export(withheld_source, [a1, a2], payload_bound=[True, True, None]), "incomplete",
            "source_bundle_incomplete"),
        _ev("export-verdict-disagreement", "The cached verdict claims the first attestation's "
            "signature is invalid.", ["evidence.md#V25"], disagree, "failed", "verdict_disagreement"),
        _ev("export-attestation-forged", "One attestation signature nibble changed.", refs,
            export(source, [forged, a2], [bad, GOOD]), "failed", "attestation_signature_invalid"),
        _ev("export-attestation-mis-salt", "An attestation signed with the maximum salt, not 32.", refs,
            export(source, [mis_salt, a2], [bad, GOOD]), "failed", "attestation_signature_invalid"),
        _ev("export-exponent-forgery", "e = 1 (\"AQ\") with the operator's modulus: RSA becomes the "
            "identity, so the exponent must be 65537.", refs, export(source, [e1, a2], [bad, GOOD]),
            "failed", "attestation_signature_invalid"),
        _ev("export-empty-exponent", "An empty exponent is a malformed key.", refs,
            export(source, [e_empty, a2]), "malformed", "bad_rsa_key"),
        _ev("export-kty-oct", "A JWK of kty oct.", refs, export(source, [kty, a2]), "malformed", "bad_rsa_key"),
        _ev("export-attestation-alg", "An attestation record with signature_alg ed25519.", refs,
            export(source, [dict(a1, signature_alg="ed25519"), a2]), "malformed", "unsupported_algorithm"),
        _ev("export-operator-not-bound", "Operator 2 signs a payload claiming operator 1's address.", refs,
            export(source, [wrong_op, a2], [{"sig": True, "op": False, "data": True}, GOOD]), "failed",
            "operator_not_bound"),
        _ev("export-data-hash", "A genuine attestation about other bytes.", refs,
            export(source, [wrong_data, a2], [{"sig": True, "op": True, "data": False}, GOOD]), "failed",
            "data_hash_not_bound"),
        _ev("export-checkpoint-unresolved", "An attestation filed under a checkpoint the source lacks.",
            refs, export(source, [other_tx, a2], [{"sig": True, "op": True, "data": False}, GOOD]), "failed",
            "checkpoint_unresolved"),
    ]


def all_vectors() -> list[Vector]:
    return trace_vectors() + export_vectors()

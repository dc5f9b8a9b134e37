"""Envelope vectors: every mlflow event type, legacy, '_' annotations, agent and events
profiles, the accept-set, field rules, policy, and every envelope-level must-reject."""

from __future__ import annotations

import json
from typing import Any

from . import mlflow_samples as ms
from .common import FAMILY_KEY, OTHER_KEY, Vector, h, jcs, pub, resign, scope, sign

REFS_SIG = ["envelope.md#E4"]


def _vec(vid: str, desc: str, refs: list[str], env: dict[str, Any] | bytes, status: str,
         reason: str | None, *, payload: bytes | None = None, policy: dict | None = None,
         outputs: dict | None = None, checks: dict | None = None) -> Vector:
    data = env if isinstance(env, bytes) else jcs(env)
    inp: dict[str, Any] = {"document_hex": data.hex()}
    if payload is not None:
        inp["payload_hex"] = payload.hex()
    if policy is not None:
        inp["policy"] = policy
    return Vector(vid, "envelope", desc, refs, inp, status, reason, checks or {}, outputs or {})


def _outputs(env: dict[str, Any], payload_hash: str) -> dict[str, Any]:
    return {"signed_scope_hex": jcs(scope(env)).hex(), "payload_hash_hex": payload_hash,
            "signature_hex": env["signature"]}


def mlflow_vectors() -> list[Vector]:
    out = []
    for event_type, payload in ms.payloads().items():
        pb = jcs(payload)
        env = sign(ms.envelope_fields(event_type, pb))
        out.append(_vec(
            f"mlflow-{event_type.replace('_', '-')}-ok",
            f"ario.mlflow/v1 {event_type} envelope as ar-io-mlflow 0.3.0 emits it, with its "
            "committed payload bytes: verified.",
            ["envelope.md#E4", "envelope.md#E5", "mlflow-profile.md#payloads"], env, "verified", None,
            payload=pb, outputs=_outputs(env, h(pb)),
            checks={"signature": "passed", "payload_hash": "passed"}))
    pb = jcs(ms.payloads()["training_complete"])
    env = sign(ms.envelope_fields("training_complete", pb))
    out += [
        _vec("mlflow-training-no-payload", "Valid signature but the external payload bytes were "
             "not supplied: never verified, the binding is undetermined.", ["envelope.md#E5"],
             env, "incomplete", "payload_unavailable", checks={"signature": "passed"}),
        _vec("mlflow-training-wrong-payload", "Committed payload with one metric changed: the "
             "bytes no longer hash to payload_hash.", ["envelope.md#E5"], env, "failed",
             "payload_hash_mismatch", payload=pb.replace(b"0.912346", b"0.992346")),
        _vec("mlflow-training-payload-recanonicalized", "Payload bytes are hashed as given, "
             "never re-canonicalized: pretty-printed JSON of the same payload fails.",
             ["envelope.md#E5"], env, "failed", "payload_hash_mismatch",
             payload=json.dumps(ms.payloads()["training_complete"], indent=2).encode()),
        _vec("mlflow-training-pretty-envelope", "The envelope bytes need not be canonical: a "
             "pretty-printed copy verifies because the signature covers JCS of the scope.",
             ["envelope.md#E4"], json.dumps(env, indent=2).encode(), "verified", None, payload=pb),
        _vec("mlflow-underscore-annotation", "ar-io-mlflow <=0.2.x wrote a `_tx_id` routing "
             "annotation into the envelope after signing; the mlflow profile leaves top-level "
             "'_' keys out of the signed scope.", ["envelope.md#E4", "envelope.md#S3"],
             dict(env, _tx_id=ms.TX_TRAINING), "verified", None, payload=pb),
        _vec("mlflow-minor-version", "A numeric minor (ario.mlflow/v1.2) is accepted.",
             ["envelope.md#S2"], sign(dict(ms.envelope_fields("training_complete", pb),
                                            spec_version="ario.mlflow/v1.2")),
             "verified", None, payload=pb),
        _vec("mlflow-co-signatures-ignored", "co_signatures is outside the signed scope and "
             "never a failure in v1.", ["envelope.md#S3"],
             dict(env, co_signatures=[{"public_key": pub(OTHER_KEY), "signature": "00" * 64}]),
             "verified", None, payload=pb),
        _vec("mlflow-signature-flipped", "One bit of the signature flipped.", REFS_SIG,
             dict(env, signature=_flip(env["signature"])), "failed", "signature_invalid",
             payload=pb),
        _vec("mlflow-field-edited", "previous_hash edited after signing: the signature fails.",
             REFS_SIG, dict(env, previous_hash=ms.TX_TRAINING_2), "failed", "signature_invalid",
             payload=pb),
        _vec("mlflow-key-swapped", "public_key replaced by another key: the signature fails.",
             REFS_SIG, dict(env, public_key=pub(OTHER_KEY)), "failed", "signature_invalid",
             payload=pb),
        _vec("mlflow-trusted-signer-ok", "Signer is in the trusted key set.", ["envelope.md#E6"],
             env, "verified", None, payload=pb, policy={"trusted_keys": [pub(FAMILY_KEY)]}),
        _vec("mlflow-untrusted-signer", "A valid signature by a key outside the trusted set.",
             ["envelope.md#E6"], env, "failed", "untrusted_signer", payload=pb,
             policy={"trusted_keys": [pub(OTHER_KEY)]}),
    ]
    return out


def legacy_vectors() -> list[Vector]:
    pb = jcs(ms.payloads()["training_complete"])
    env = sign(ms.envelope_fields("training_complete", pb, spec_version=None))
    return [
        _vec("legacy-allowed", "ar-io-mlflow 0.1.0 envelope (no spec_version) admitted by "
             "policy; signed like the mlflow profile.", ["envelope.md#S4"], env, "verified",
             None, payload=pb, policy={"allow_legacy": True}),
        _vec("legacy-refused", "The same legacy envelope under the default policy.",
             ["envelope.md#S4"], env, "failed", "legacy_not_allowed", payload=pb),
        _vec("legacy-underscore-annotation", "Legacy envelope carrying the `_tx_id` annotation "
             "0.1.0 wrote after signing.", ["envelope.md#S3", "envelope.md#S4"],
             dict(env, _tx_id=ms.TX_TRAINING), "verified", None, payload=pb,
             policy={"allow_legacy": True}),
        _vec("legacy-null-spec-version", "\"spec_version\": null is not legacy (the Python "
             "kernel's quirk is not followed): unsupported.", ["envelope.md#S2"],
             sign(dict(ms.envelope_fields("training_complete", pb), spec_version=None)),
             "malformed", "unsupported_spec_version", payload=pb, policy={"allow_legacy": True}),
    ]


def _agent_checkpoint_like() -> dict[str, Any]:
    payload = {"applied_at": "2026-05-12T14:23:45.000Z", "ratio": 1.5, "big": 1e21,
               "tiny": 1e-7, "whole": 2.0, "note": "caf\u00e9 \u2603 \U0001f600"}
    return {"spec_version": "ario.agent/v1", "event_id": "550e8400-e29b-41d4-a716-000000000001",
            "event_type": "policy_changed",
            "subject": {"type": "agent", "tenant_id": "acme-corp", "agent_id": "host-01"},
            "payload": payload, "payload_hash": h(jcs(payload)), "previous_hash": "GENESIS",
            "signed_at": "2026-05-12T14:23:45.123Z"}


def agent_events_vectors() -> list[Vector]:
    agent = sign(_agent_checkpoint_like())
    tampered_payload = dict(agent["payload"], ratio=2.5)
    record = {"payload_version": 1, "spec_version": "ario.events/v1", "event_type": "event",
              "subject": {"type": "producer", "producer_id": "acme-app"},
              "previous_hash": "GENESIS", "context": {}, "event": {"content_hash": h(b"hello"),
                                                                  "content_length": 5},
              "metadata": {}, "extras": {}}
    rb = jcs(record)
    events = sign({"spec_version": "ario.events/v1", "event_id": "1f0e9a4c-0000-4d5e-8f6a-000000000001",
                   "payload_hash": h(rb), "signed_at": "2026-06-11T00:00:00.000Z",
                   "environment": "dev"})
    return [
        _vec("agent-inline-ok", "ario.agent/v1 envelope with an inline payload holding floats, "
             "exponents and non-BMP text: JCS number and string rules decide the scope bytes.",
             ["envelope.md#E4", "envelope.md#E5", "envelope.md#C1"], agent, "verified", None,
             outputs=_outputs(agent, agent["payload_hash"])),
        _vec("agent-inline-payload-tampered", "Inline payload edited after signing: the "
             "signature check (first in order) fails.", ["envelope.md#E4"],
             dict(agent, payload=tampered_payload), "failed", "signature_invalid",
             checks={"signature": "failed", "payload_hash": "failed"}),
        _vec("agent-inline-hash-mismatch", "Signed, but the inline payload does not hash to "
             "payload_hash (producer bug): fails on the binding.", ["envelope.md#E5"],
             resign(dict(agent, payload_hash=h(b"other"))), "failed", "payload_hash_mismatch",
             checks={"signature": "passed", "payload_hash": "failed"}),
        _vec("agent-underscore-injected", "A '_' key injected into an agent envelope is signed "
             "like any other key, so injecting one breaks the signature.", ["envelope.md#S3"],
             dict(agent, _injected="x"), "failed", "signature_invalid"),
        _vec("agent-inline-stripped", "Stripping the inline payload turns the envelope into "
             "an external commitment, but the signature covered it.", ["envelope.md#S3"],
             {k: v for k, v in agent.items() if k != "payload"}, "failed", "signature_invalid"),
        _vec("events-with-record", "ario.events/v1 minimal envelope with its committed record "
             "bytes.", ["envelope.md#E5"], events, "verified", None, payload=rb,
             outputs=_outputs(events, h(rb))),
        _vec("events-without-record", "ario.events/v1 envelope with the record withheld.",
             ["envelope.md#E5"], events, "incomplete", "payload_unavailable"),
    ]


def accept_set_vectors() -> list[Vector]:
    pb = jcs(ms.payloads()["prediction"])
    out = []
    for n, sv in enumerate(["ario.mlflow/v1.x", "ario.mlflow/v1.3abc", "ario.mlflow/v1.",
                            "ario.mlflow/v1.3.2", "ario.mlflow/v10", "ario.mlflow/v2",
                            "ario.evidence/v1", "", 1, ["ario.mlflow/v1"]]):
        env = sign(dict(ms.envelope_fields("prediction", pb), spec_version=sv))
        out.append(_vec(f"spec-version-rejected-{n:02d}", f"spec_version {json.dumps(sv)} is "
                        "outside the accept-set; the signature is otherwise valid.",
                        ["envelope.md#S2"], env, "malformed", "unsupported_spec_version",
                        payload=pb))
    for n, sv in enumerate(["ario.agent/v1.10", "ario.events/v1.3"]):
        fields = _agent_checkpoint_like()
        fields["spec_version"] = sv
        out.append(_vec(f"spec-version-minor-{n:02d}", f"spec_version {sv} (numeric minor) "
                        "is accepted.", ["envelope.md#S2"], sign(fields), "verified", None))
    return out


def field_vectors() -> list[Vector]:
    pb = jcs(ms.payloads()["prediction"])
    env = sign(ms.envelope_fields("prediction", pb))
    no_hash = sign({k: v for k, v in ms.envelope_fields("prediction", pb).items() if k != "payload_hash"})
    cases = [
        ("missing-payload-hash", "No payload_hash, valid signature.", no_hash, "malformed", "missing_payload_hash"),
        ("payload-hash-number", "payload_hash is a number.", resign(dict(env, payload_hash=5)), "malformed", "missing_payload_hash"),
        ("payload-hash-uppercase", "payload_hash in uppercase hex.", resign(dict(env, payload_hash=env["payload_hash"].upper())), "malformed", "bad_hex"),
        ("payload-hash-short", "payload_hash of 63 hex characters.", resign(dict(env, payload_hash=env["payload_hash"][:63])), "malformed", "bad_hex"),
        ("missing-public-key", "public_key absent.", {k: v for k, v in env.items() if k != "public_key"}, "malformed", "missing_field"),
        ("missing-signature", "signature absent.", {k: v for k, v in env.items() if k != "signature"}, "malformed", "missing_field"),
        ("public-key-number", "public_key is a JSON number.", dict(env, public_key=7), "malformed", "bad_field_type"),
        ("signature-uppercase", "Signature in uppercase hex: accepted by the family kernels, "
         "refused here so that an envelope has one byte form.", dict(env, signature=env["signature"].upper()), "malformed", "bad_hex"),
        ("signature-whitespace", "Signature hex with a space between bytes.", dict(env, signature=env["signature"][:2] + " " + env["signature"][2:126]), "malformed", "bad_hex"),
        ("signature-alg-unsupported", "Reserved signature_alg set to something other than ed25519.", resign(dict(env, signature_alg="rsa-pss-sha256")), "malformed", "unsupported_algorithm"),
        ("signature-alg-ed25519", "Reserved signature_alg explicitly ed25519 is fine.", resign(dict(env, signature_alg="ed25519")), "verified", None),
    ]
    out = []
    for vid, desc, e, status, reason in cases:
        out.append(_vec(f"field-{vid}", desc, ["envelope.md#E3"], e, status, reason, payload=pb))
    return out


def intake_vectors() -> list[Vector]:
    pb = jcs(ms.payloads()["prediction"])
    good = jcs(sign(ms.envelope_fields("prediction", pb)))
    deep = b"{\"a\":" * 129 + b"1" + b"}" * 129
    cases = [
        ("invalid-utf8", "A byte that is not UTF-8 inside a string.", good.replace(b"mlflow_prediction", b"mlflow_pr\xffdiction"), "invalid_utf8"),
        ("truncated", "Envelope bytes cut in the middle.", good[: len(good) // 2], "invalid_json"),
        ("trailing-garbage", "Valid JSON followed by more text.", good + b" x", "invalid_json"),
        ("bom", "A UTF-8 byte-order mark before the JSON text.", b"\xef\xbb\xbf" + good, "invalid_json"),
        ("duplicate-key", "payload_hash appears twice; no last-key-wins.", good[:-1] + b',"payload_hash":"' + b"0" * 64 + b'"}', "duplicate_key"),
        ("nan", "A NaN literal.", good[:-1] + b',"x":NaN}', "non_finite_number"),
        ("infinity", "An -Infinity literal.", good[:-1] + b',"x":-Infinity}', "non_finite_number"),
        ("big-integer", "An integer beyond 2^53-1.", good[:-1] + b',"x":9007199254740993}', "number_out_of_range"),
        ("float-overflow", "A number that overflows a double.", good[:-1] + b',"x":1e400}', "number_out_of_range"),
        ("too-deep", "129 nested containers.", deep, "nesting_too_deep"),
        ("lone-surrogate", "An unpaired high surrogate escape in signed_at.", good.replace(b'+00:00"', b'+00:00 \\ud800"'), "lone_surrogate"),
        ("not-an-object", "A JSON array instead of an object.", b"[" + good + b"]", "not_an_object"),
    ]
    return [_vec(f"intake-{vid}", desc, ["envelope.md#I1"], data, "malformed", reason)
            for vid, desc, data, reason in cases]


def _flip(hex_text: str) -> str:
    first = int(hex_text[0], 16) ^ 1
    return f"{first:x}" + hex_text[1:]


def all_vectors() -> list[Vector]:
    return (mlflow_vectors() + legacy_vectors() + agent_events_vectors() + accept_set_vectors()
            + field_vectors() + intake_vectors())

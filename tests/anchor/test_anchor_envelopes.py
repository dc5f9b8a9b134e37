"""Envelope signing for the three profiles: every output verifies in verifier.core and in
ar-io-proof, and the refusal rules hold (verifier.anchor.envelopes)."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

import ario_proof
import pytest
import rfc8785

from verifier.anchor import envelopes as E
from verifier.anchor.keys import signing_key_from_seed
from verifier.core.envelope import verify_envelope_bytes
from verifier.core.reasons import ReasonCode, Status

KEY = signing_key_from_seed(bytes.fromhex("0123456789abcdef" * 4))
NOW = datetime(2026, 6, 15, 12, 0, 0, 123456, tzinfo=timezone.utc)
PAYLOAD = {"event_type": "dataset", "name": "train", "source": '{"uri": "s3://b/t.csv"}',
           "source_type": "s3", "digest": "abc", "schema_hash": ""}


def _both_verify(env: dict, data: bytes, payload: bytes | None = None) -> None:
    assert data == rfc8785.dumps(env)
    result = verify_envelope_bytes(data, payload)
    assert result.status is Status.VERIFIED, result.to_json()
    assert ario_proof.verify_envelope(json.loads(data), payload_bytes=payload).ok


def test_mlflow_envelope_verifies_and_keeps_the_plugin_key_order():
    pb = rfc8785.dumps(PAYLOAD)
    env, data = E.mlflow_envelope(event_type="dataset", subject={"type": "mlflow_dataset",
                                  "name": "train", "digest": "abc"}, payload_bytes=pb,
                                  previous_hash="GENESIS", signing_key=KEY, now=NOW)
    _both_verify(env, data, pb)
    assert list(env) == list(E.MLFLOW_KEY_ORDER)
    assert env["signed_at"] == "2026-06-15T12:00:00.123456Z"
    assert env["spec_version"] == "ario.mlflow/v1" and "payload" not in env
    assert json.loads(E.proof_json_bytes(env)) == env
    assert E.proof_json_bytes(env).startswith(b'{\n  "event_id"')


def test_signed_at_is_rfc3339_utc_with_z():
    stamp = E.rfc3339_utc(datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2))))
    assert stamp == "2026-01-02T01:04:05.000000Z"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", E.rfc3339_utc())
    with pytest.raises(E.EnvelopeError):
        E.rfc3339_utc(datetime(2026, 1, 1))


def test_agent_envelope_inline_payload_verifies():
    payload = {"asset": {"asset_id": "a1", "type": "file", "uri": "file:///x"}, "hash": "00" * 32,
               "size_bytes": 3, "ratio": 0.5, "name": "caf\u00e9 \U0001f600"}
    env, data = E.agent_envelope(event_type="asset_registered", subject={"type": "agent",
                                 "tenant_id": "t", "agent_id": "a"}, payload=payload,
                                 previous_hash="GENESIS", signing_key=KEY, now=NOW,
                                 environment="dev")
    _both_verify(env, data)
    assert env["payload_hash"] == E.payload_hash_of(rfc8785.dumps(payload))


def test_events_envelope_over_a_record_verifies():
    record = E.events_record(event_type="s3.object_stored", producer_id="p1",
                             previous_hash="GENESIS", chain_key="bucket:x",
                             event={"content_hash": "11" * 32, "content_length": 9})
    env, data = E.events_envelope(record=record, environment="production", signing_key=KEY,
                                  now=NOW, payload_ref="s3://b/k")
    _both_verify(env, data, rfc8785.dumps(record))
    assert set(env) == {"spec_version", "event_id", "payload_hash", "signed_at", "environment",
                        "payload_ref", "public_key", "signature"}


def test_generic_sign_envelope_fills_defaults_and_refuses_misuse():
    env, data = E.sign_envelope({"spec_version": "ario.mlflow/v1.2", "payload_hash": "ab" * 32},
                                KEY, now=NOW)
    assert verify_envelope_bytes(data).check("signature").outcome.value == "passed"
    assert re.fullmatch(r"[0-9a-f-]{36}", env["event_id"])
    with pytest.raises(E.EnvelopeError, match="already carries"):
        E.sign_envelope(env, KEY)
    with pytest.raises(E.EnvelopeError, match="spec_version"):
        E.sign_envelope({"spec_version": "ario.mlflow/v2", "payload_hash": "ab" * 32}, KEY)
    with pytest.raises(E.EnvelopeError, match="payload_hash"):
        E.sign_envelope({"spec_version": "ario.agent/v1", "payload": {"a": 1},
                         "payload_hash": "00" * 32}, KEY)
    with pytest.raises(E.EnvelopeError, match="payload_hash"):
        E.sign_envelope({"spec_version": "ario.mlflow/v1", "payload_hash": "AB" * 32}, KEY)
    with pytest.raises(E.EnvelopeError, match="public_key"):
        E.sign_envelope({"spec_version": "ario.mlflow/v1", "payload_hash": "ab" * 32,
                         "public_key": "00" * 32}, KEY)
    with pytest.raises(E.EnvelopeError, match="canonicalizable"):
        E.sign_envelope({"spec_version": "ario.agent/v1", "payload": {"x": float("nan")}}, KEY)


def test_any_change_to_a_signed_envelope_fails_both_kernels():
    pb = rfc8785.dumps(PAYLOAD)
    env, _ = E.mlflow_envelope(event_type="dataset", subject={"type": "mlflow_dataset",
                               "name": "train", "digest": "abc"}, payload_bytes=pb,
                               previous_hash="GENESIS", signing_key=KEY, now=NOW)
    for key in ("event_id", "previous_hash", "signed_at"):
        forged = dict(env, **{key: env[key] + "x"})
        result = verify_envelope_bytes(rfc8785.dumps(forged), pb)
        assert result.reason is ReasonCode.SIGNATURE_INVALID
        assert not ario_proof.verify_envelope(forged, payload_bytes=pb).ok
    assert verify_envelope_bytes(rfc8785.dumps(env), pb + b" ").reason is ReasonCode.PAYLOAD_HASH_MISMATCH

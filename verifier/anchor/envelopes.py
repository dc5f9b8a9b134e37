"""Build and sign Verifiable Event Envelopes for the three profiles (spec/anchoring.md §3).

`sign_envelope(fields, key)` is the one signing primitive: it completes `fields`
(`event_id`, `signed_at`, `public_key`, and `payload_hash` for inline payloads), signs
``JCS(signed scope)`` with Ed25519 using the verifier kernel's own scope rule
(`verifier.core.profiles.signed_scope`), and returns the envelope together with
``JCS(envelope)`` — the exact bytes that go on chain. The profile helpers below fix the
key order and the fields of each profile:

* `mlflow_envelope`  ``ario.mlflow/v1``: external payload, ``payload_hash = H(JCS(payload))``
  computed by the caller from the exact payload bytes; same keys and key order as
  ar-io-mlflow 0.3.0 (its ``proof.json`` is ``json.dump(indent=2)`` of that dict).
* `agent_envelope`   ``ario.agent/v1``: inline ``payload``.
* `events_envelope`  ``ario.events/v1``: skeleton over an external event record;
  `environment` is required by the profile.

`signed_at` is RFC 3339 UTC with ``Z`` (microseconds kept), e.g.
``2026-06-15T12:00:00.123456Z``; the plugin writes ``+00:00`` instead. Pass `now` (a
timezone-aware datetime) or an explicit `signed_at` to make output reproducible.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timezone
from typing import Any, Mapping, NamedTuple

from nacl.signing import SigningKey

from verifier.core.encoding import is_lower_hex
from verifier.core.errors import Malformed
from verifier.core.jcs import canonical as _core_canonical
from verifier.core.profiles import Profile, profile_of, signed_scope

MLFLOW_V1 = Profile.MLFLOW.value
AGENT_V1 = Profile.AGENT.value
EVENTS_V1 = Profile.EVENTS.value
GENESIS = "GENESIS"

#: ar-io-mlflow 0.3.0's envelope key order (ProofEngine.create_commitment + kernel signing).
MLFLOW_KEY_ORDER = (
    "event_id", "event_type", "subject", "payload_hash", "previous_hash", "signed_at",
    "spec_version", "public_key", "signature",
)


class SignedEnvelope(NamedTuple):
    """A signed envelope and its JCS bytes (what is uploaded). Unpacks as a 2-tuple."""

    envelope: dict[str, Any]
    data: bytes


class EnvelopeError(ValueError):
    """The fields cannot make a valid envelope (the message names the field)."""


def canonical(value: Any) -> bytes:
    """RFC 8785 bytes of `value` (kernel implementation); `EnvelopeError` if impossible."""
    try:
        return _core_canonical(value)
    except Malformed as exc:
        raise EnvelopeError(f"not canonicalizable: {exc.detail or exc.reason.value}") from None


def rfc3339_utc(moment: datetime | None = None) -> str:
    """``YYYY-MM-DDTHH:MM:SS.ffffffZ`` for `moment` (default: now). Naive times are refused."""
    if moment is None:
        moment = datetime.now(timezone.utc)
    elif moment.tzinfo is None:
        raise EnvelopeError("signed_at: a timezone-aware datetime is required")
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def payload_hash_of(payload_bytes: bytes) -> str:
    """``H(payload_bytes)``: SHA-256 of the exact committed bytes, lowercase hex."""
    return hashlib.sha256(payload_bytes).hexdigest()


def sign_envelope(
    fields: Mapping[str, Any],
    signing_key: SigningKey,
    *,
    now: datetime | None = None,
) -> SignedEnvelope:
    """Complete and sign `fields`; returns ``(envelope, JCS(envelope))``.

    `fields` must carry an accepted ``spec_version`` and either ``payload`` (inline;
    ``payload_hash`` is computed, or checked if given) or ``payload_hash`` (external).
    ``event_id`` defaults to a random UUID v4, ``signed_at`` to `now` (or the clock) and
    ``public_key`` to the key's. Refuses a present ``signature`` (no silent re-signing),
    a ``public_key`` that is not the signing key's, and malformed hash fields.
    """
    env = dict(fields)
    if "signature" in env:
        raise EnvelopeError("envelope already carries a signature")
    profile = profile_of(env.get("spec_version"))
    if profile is None:
        raise EnvelopeError(f"spec_version {env.get('spec_version')!r} is not an accepted profile")
    if "payload" in env:
        computed = payload_hash_of(canonical(env["payload"]))
        if env.setdefault("payload_hash", computed) != computed:
            raise EnvelopeError("payload_hash does not match SHA-256(JCS(payload))")
    elif not is_lower_hex(env.get("payload_hash"), 32):
        raise EnvelopeError("payload_hash must be 64 lowercase hex characters (or give payload)")
    prev = env.get("previous_hash")
    if prev is not None and not isinstance(prev, str):
        raise EnvelopeError("previous_hash must be a string")
    env.setdefault("event_id", str(uuid.uuid4()))
    env.setdefault("signed_at", rfc3339_utc(now))
    own = public_key_hex(signing_key)
    if env.setdefault("public_key", own) != own:
        raise EnvelopeError("public_key does not match the signing key")
    message = canonical(signed_scope(env, profile))
    env["signature"] = signing_key.sign(message).signature.hex()
    return SignedEnvelope(env, canonical(env))


def public_key_hex(key: SigningKey) -> str:
    return bytes(key.verify_key).hex()


def mlflow_envelope(
    *,
    event_type: str,
    subject: Mapping[str, Any],
    payload_bytes: bytes,
    previous_hash: str,
    signing_key: SigningKey,
    event_id: str | None = None,
    signed_at: str | None = None,
    now: datetime | None = None,
) -> SignedEnvelope:
    """An ``ario.mlflow/v1`` envelope committing to `payload_bytes` (external binding)."""
    fields: dict[str, Any] = {
        "event_id": event_id or str(uuid.uuid4()),
        "event_type": event_type,
        "subject": dict(subject),
        "payload_hash": payload_hash_of(payload_bytes),
        "previous_hash": previous_hash,
        "signed_at": signed_at or rfc3339_utc(now),
        "spec_version": MLFLOW_V1,
    }
    return sign_envelope(fields, signing_key)


def agent_envelope(
    *,
    event_type: str,
    subject: Mapping[str, Any],
    payload: Mapping[str, Any],
    previous_hash: str,
    signing_key: SigningKey,
    event_id: str | None = None,
    signed_at: str | None = None,
    environment: str | None = None,
    now: datetime | None = None,
) -> SignedEnvelope:
    """An ``ario.agent/v1`` envelope with an inline `payload`."""
    fields: dict[str, Any] = {
        "spec_version": AGENT_V1,
        "event_id": event_id or str(uuid.uuid4()),
        "event_type": event_type,
        "subject": dict(subject),
        "payload": dict(payload),
        "previous_hash": previous_hash,
        "signed_at": signed_at or rfc3339_utc(now),
    }
    if environment is not None:
        fields["environment"] = environment
    return sign_envelope(fields, signing_key)


def events_record(
    *,
    event_type: str,
    producer_id: str,
    previous_hash: str,
    event: Mapping[str, Any],
    chain_key: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    extras: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The caller-retained ``ario.events/v1`` event record an envelope commits to."""
    context: dict[str, Any] = {}
    if chain_key is not None:
        context["chain_key"] = chain_key
    return {
        "payload_version": 1,
        "spec_version": EVENTS_V1,
        "event_type": event_type,
        "subject": {"type": "producer", "producer_id": producer_id},
        "previous_hash": previous_hash,
        "context": context,
        "event": dict(event),
        "metadata": dict(metadata or {}),
        "extras": dict(extras or {}),
    }


def events_envelope(
    *,
    record: Mapping[str, Any] | None = None,
    record_bytes: bytes | None = None,
    environment: str,
    signing_key: SigningKey,
    event_id: str | None = None,
    signed_at: str | None = None,
    payload_ref: str | None = None,
    now: datetime | None = None,
) -> SignedEnvelope:
    """An ``ario.events/v1`` skeleton envelope over ``JCS(record)`` (or `record_bytes`)."""
    if (record is None) == (record_bytes is None):
        raise EnvelopeError("give exactly one of record or record_bytes")
    if environment not in ("dev", "production"):
        raise EnvelopeError("environment must be 'dev' or 'production'")
    data = record_bytes if record_bytes is not None else canonical(dict(record or {}))
    fields: dict[str, Any] = {
        "spec_version": EVENTS_V1,
        "event_id": event_id or str(uuid.uuid4()),
        "payload_hash": payload_hash_of(data),
        "signed_at": signed_at or rfc3339_utc(now),
        "environment": environment,
    }
    if payload_ref is not None:
        fields["payload_ref"] = payload_ref
    return sign_envelope(fields, signing_key)


def proof_json_bytes(envelope: Mapping[str, Any]) -> bytes:
    """The ``ario/proof.json`` artifact bytes: ``json.dump(envelope, indent=2)`` like the plugin."""
    import json

    return json.dumps(dict(envelope), indent=2).encode("utf-8")

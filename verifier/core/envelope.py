"""Verifiable Event Envelope verification (spec/envelope.md §4, steps E1-E7).

E1 intake (strict JSON object)  E2 spec_version / legacy policy  E3 required fields
E4 Ed25519 over JCS(signed scope)  E5 payload binding (inline and/or external bytes)
E6 trusted signer  E7 roll-up. Every hostile input ends as a `Result`; nothing raises.
"""

from __future__ import annotations

import hashlib
from typing import Any

from . import ed25519
from .encoding import is_lower_hex
from .errors import Malformed
from .intake import Doc, parse
from .jcs import canonical, scope_bytes
from .limits import DEFAULT_LIMITS, Limits
from .policy import DEFAULT_POLICY, Policy
from .profiles import Profile, profile_of
from .reasons import ReasonCode as R
from .reasons import Status
from .result import Check, Outcome, Result, make_result, passed, problem, skipped

KIND = "envelope"

# Passing checks carry no detail, so they are shared constants (no per-call allocation).
_OK_INTAKE = passed("intake")
_OK_SPEC = passed("spec_version")
_OK_LEGACY = passed("spec_version", "legacy envelope admitted by policy")
_OK_FIELDS = passed("fields")
_OK_SIG = passed("signature")
_OK_PAYLOAD = passed("payload_hash")
_OK_TRUST = passed("trusted_signer")
_SKIP_TRUST = skipped("trusted_signer", "no trusted key set given")
_RESERVED_ALGS = {"signature_alg": "ed25519", "hash_alg": "sha-256"}


def verify_envelope_bytes(
    data: bytes,
    payload: bytes | None = None,
    *,
    policy: Policy = DEFAULT_POLICY,
    limits: Limits = DEFAULT_LIMITS,
) -> Result:
    """Verify raw envelope bytes, optionally against the committed payload bytes."""
    try:
        doc = parse(data, limits)
    except Malformed as exc:
        return make_result(KIND, [problem("intake", exc.reason, exc.detail)])
    return verify_envelope_doc(doc, payload, policy=policy, limits=limits)


def verify_envelope_doc(
    doc: Doc,
    payload: bytes | None = None,
    *,
    policy: Policy = DEFAULT_POLICY,
    limits: Limits = DEFAULT_LIMITS,
) -> Result:
    """Verify an envelope already admitted by `intake.parse` (or `intake.parse_value`)."""
    checks, subject, clean = envelope_checks(doc, payload, policy, limits)
    # E7: roll-up (the all-passed case needs no scan).
    if clean:
        return Result(KIND, Status.VERIFIED, None, tuple(checks), subject)
    return make_result(KIND, checks, subject)


def envelope_checks(doc: Doc, payload: bytes | None = None, policy: Policy = DEFAULT_POLICY,
                    limits: Limits = DEFAULT_LIMITS, subject: dict[str, Any] | None = None,
                    ) -> tuple[list[Check], dict[str, Any], bool]:
    """E1-E6 as (checks, subject, clean): `verify_envelope_doc` without building the
    `Result`. `clean` means every check passed (or was skipped by policy), so the roll-up
    is `verified` and the fields and signature checks passed. The subject fields are added
    to `subject` when given (a caller with fields of its own then builds one dict)."""
    if subject is None:
        subject = {}
    env = doc.value
    if env.__class__ is not dict:
        return [problem("intake", R.NOT_AN_OBJECT, "envelope is not a JSON object")], subject, False
    checks: list[Check] = [_OK_INTAKE]
    clean = True

    # E2: spec_version and the legacy policy.
    if "spec_version" in env:
        sv = env["spec_version"]
        profile = _PROFILES.get(sv) if sv.__class__ is str else None
        if profile is None:
            profile = profile_of(sv)
            if profile is None:
                checks.append(problem("spec_version", R.UNSUPPORTED_SPEC_VERSION,
                                      f"spec_version {_show(sv)} is not accepted"))
                return checks, _subject(env, None, subject), False
            if sv.__class__ is str and len(_PROFILES) < 64:
                _PROFILES[sv] = profile
        checks.append(_OK_SPEC)
    elif not ("public_key" in env or "signature" in env or "payload_hash" in env):
        # S4: legacy means an envelope without spec_version, not any object at all.
        checks.append(problem("spec_version", R.UNKNOWN_DOCUMENT,
                              "not an envelope: no spec_version, public_key, signature or "
                              "payload_hash"))
        return checks, _subject(env, None, subject), False
    else:
        profile = Profile.LEGACY
        if policy.allow_legacy:
            checks.append(_OK_LEGACY)
        else:
            clean = False
            checks.append(problem("spec_version", R.LEGACY_NOT_ALLOWED,
                                  "no spec_version (legacy envelope); pass --allow-legacy to "
                                  "accept it"))

    # E3: required fields and their encodings.
    decoded = _decoded_fields(env)
    if decoded is None:
        field_problem = _field_problem(env)
        if field_problem is not None:
            checks.append(field_problem)
            return checks, _subject(env, profile, subject), False
        decoded = (bytes.fromhex(env["payload_hash"]), bytes.fromhex(env["public_key"]),
                   bytes.fromhex(env["signature"]))
    checks.append(_OK_FIELDS)
    payload_hash, public_key, signature = decoded

    # E4: signature over JCS(signed scope).
    try:
        message = scope_bytes(env, profile, doc.fast, limits, doc.raw if doc.canonical else None)
    except Malformed as exc:
        checks.append(problem("signature", exc.reason, exc.detail))
        return checks, _subject(env, profile, subject), False
    if ed25519.verify(public_key, message, signature):
        checks.append(_OK_SIG)
    else:
        clean = False
        checks.append(problem("signature", R.SIGNATURE_INVALID,
                              "Ed25519 signature does not verify over the signed scope"))

    # E5: payload binding.
    payload_check = _payload_check(env, payload_hash, doc.fast, payload, limits)
    checks.append(payload_check)
    clean = clean and payload_check is _OK_PAYLOAD

    # E6: trusted signer.
    if policy.trusted_keys is None:
        checks.append(_SKIP_TRUST)
    elif public_key in policy.trusted_keys:
        checks.append(_OK_TRUST)
    else:
        clean = False
        checks.append(problem("trusted_signer", R.UNTRUSTED_SIGNER,
                              f"public key {env['public_key']} is not in the trusted key set"))
    return checks, _subject(env, profile, subject), clean


#: spec_version string -> accepted profile (the few values seen; `profile_of` decides).
_PROFILES: dict[str, Profile] = {}


def _decoded_fields(env: dict[str, Any]) -> tuple[bytes, bytes, bytes] | None:
    """E3 fast path: (payload_hash, public_key, signature) bytes when all three are exact
    lowercase hex and no reserved algorithm is declared; None sends the caller to
    `_field_problem` for the precise reason. Round-tripping through bytes.fromhex/.hex()
    rejects uppercase and whitespace without a per-character scan."""
    ph, pk, sg = env.get("payload_hash"), env.get("public_key"), env.get("signature")
    if (ph.__class__ is not str or pk.__class__ is not str or sg.__class__ is not str
            or len(ph) != 64 or len(pk) != 64 or len(sg) != 128
            or "signature_alg" in env or "hash_alg" in env):
        return None
    try:
        phb, pkb, sgb = bytes.fromhex(ph), bytes.fromhex(pk), bytes.fromhex(sg)
    except ValueError:
        return None
    if phb.hex() != ph or pkb.hex() != pk or sgb.hex() != sg:
        return None
    return phb, pkb, sgb


def _field_problem(env: dict[str, Any]) -> Check | None:
    if "payload_hash" not in env or not isinstance(env["payload_hash"], str):
        return problem("fields", R.MISSING_PAYLOAD_HASH,
                       "payload_hash is required in every profile")
    for name, nbytes in (("payload_hash", 32), ("public_key", 32), ("signature", 64)):
        if name not in env:
            return problem("fields", R.MISSING_FIELD, f"{name} is missing")
        if not isinstance(env[name], str):
            return problem("fields", R.BAD_FIELD_TYPE, f"{name} must be a string")
        if not is_lower_hex(env[name], nbytes):
            return problem("fields", R.BAD_HEX, f"{name} must be {2 * nbytes} lowercase hex characters")
    for name, allowed in _RESERVED_ALGS.items():
        if name in env and env[name] != allowed:
            return problem("fields", R.UNSUPPORTED_ALGORITHM,
                           f"{name} {_show(env[name])} is not supported (only {allowed})")
    return None


def _payload_check(env: dict[str, Any], expected: bytes, fast: bool, payload: bytes | None,
                   limits: Limits) -> Check:
    checked = False
    if "payload" in env:
        try:
            inline = canonical(env["payload"], fast, limits)
        except Malformed as exc:
            return problem("payload_hash", exc.reason, f"inline payload: {exc.detail}")
        if hashlib.sha256(inline).digest() != expected:
            return problem("payload_hash", R.PAYLOAD_HASH_MISMATCH,
                           "SHA-256 of JCS(payload) differs from payload_hash")
        checked = True
    if payload is not None:
        if hashlib.sha256(payload).digest() != expected:
            return problem("payload_hash", R.PAYLOAD_HASH_MISMATCH,
                           "SHA-256 of the committed payload bytes differs from payload_hash")
        checked = True
    if checked:
        return _OK_PAYLOAD
    return problem("payload_hash", R.PAYLOAD_UNAVAILABLE,
                   "external payload bytes not supplied; signature-valid, payload unchecked")


_SUBJECT_KEYS = ("event_id", "event_type", "previous_hash", "signed_at", "public_key",
                 "payload_hash")


_PROFILE_VALUES: dict[Profile | None, str | None] = {p: p.value for p in Profile}
_PROFILE_VALUES[None] = None


def _subject(env: dict[str, Any], profile: Profile | None, subject: dict[str, Any]) -> dict[str, Any]:
    """Display fields (strings only) plus the profile, added to `subject`."""
    for k in _SUBJECT_KEYS:
        v = env.get(k)
        if v.__class__ is str:
            subject[k] = v
    subject["profile"] = _PROFILE_VALUES[profile]
    return subject


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def signature_ok(result: Result) -> bool:
    """True iff the result's signature check passed (regardless of payload binding)."""
    check = result.check("signature")
    return check is not None and check.outcome is Outcome.PASSED

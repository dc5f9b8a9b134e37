"""Embedded RSA-PSS operator attestations of an export (spec/evidence.md V23).

A record is ``{checkpoint_tx_id, payload, signature_alg: "rsa-pss-sha256", public_key:
{kty: "RSA", n, e}, signature: hex}``. The signature is RSA-PSS over ``JCS(payload)`` with
SHA-256, MGF1-SHA-256 and a salt of exactly 32 bytes. The operator address is
``b64u(SHA-256(n octets as decoded))``. The public exponent must be 65537: the address
commits to the modulus only, so any other exponent (e = 1 makes RSA the identity) would
let anyone forge a signature for a victim's modulus.

`parse_record` covers the structural rules (V23.1-V23.4) and raises `Malformed`;
`evaluate_record` covers the cryptographic and binding rules (V23.5-V23.10) and never raises.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any, Mapping

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from ..encoding import b64u_encode, hex_bytes, sha256, sha256_hex
from ..errors import Malformed
from ..jcs import canonical
from ..limits import Limits
from ..reasons import ReasonCode as R
from ..result import Check, passed, problem, skipped
from .fields import get_object, get_string, show
from .model import AttestationFinding

ALGORITHM = "rsa-pss-sha256"
RSA_EXPONENT = 65537
SALT_LENGTH = 32
_PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=SALT_LENGTH)
_B64U = re.compile(r"[A-Za-z0-9_-]*")


@dataclass(frozen=True, slots=True)
class RsaJwk:
    """A decoded ``{kty: "RSA", n, e}`` key: modulus octets as given, exponent as integer."""

    n: bytes
    e: int


@dataclass(frozen=True, slots=True)
class Record:
    """A structurally valid attestation record (V23.1-V23.4 passed)."""

    index: int
    checkpoint_tx_id: str
    payload: dict[str, Any]
    message: bytes  # JCS(payload), the signed bytes
    key: RsaJwk
    signature: bytes


def _b64u_strict(value: str, field: str) -> bytes:
    """Unpadded, canonical base64url; anything else is a malformed key (V23.3)."""
    if not _B64U.fullmatch(value) or len(value) % 4 == 1:
        raise Malformed(R.BAD_RSA_KEY, f"{field} is not unpadded base64url")
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raise Malformed(R.BAD_RSA_KEY, f"{field} is not base64url") from None
    if b64u_encode(raw) != value:
        raise Malformed(R.BAD_RSA_KEY, f"{field} is not the canonical base64url of its bytes")
    return raw


def parse_jwk(value: object, where: str) -> RsaJwk:
    """V23.3: an object with kty "RSA" and non-empty base64url `n` and `e`."""
    if not isinstance(value, dict):
        raise Malformed(R.BAD_RSA_KEY, f"{where} must be a JWK object")
    if value.get("kty") != "RSA":
        raise Malformed(R.BAD_RSA_KEY, f"{where}.kty must be \"RSA\", not {show(value.get('kty'))}")
    for name in ("n", "e"):
        if not isinstance(value.get(name), str):
            raise Malformed(R.BAD_RSA_KEY, f"{where}.{name} must be a base64url string")
    n = _b64u_strict(value["n"], f"{where}.n")
    e = _b64u_strict(value["e"], f"{where}.e")
    if not n:
        raise Malformed(R.BAD_RSA_KEY, f"{where}.n is empty")
    if not e:
        raise Malformed(R.BAD_RSA_KEY, f"{where}.e is empty")
    return RsaJwk(n, int.from_bytes(e, "big"))


def operator_address(key: RsaJwk) -> str:
    """The Arweave wallet address of the key: b64u(SHA-256(modulus octets as given))."""
    return b64u_encode(sha256(key.n))


def verify_pss(key: RsaJwk, message: bytes, signature: bytes) -> bool:
    """V23.5: RSA-PSS-SHA-256 (salt 32) under `key`. Raises `Malformed(BAD_RSA_KEY)` only when a
    key with the right exponent cannot be built; every other failure is False."""
    if key.e != RSA_EXPONENT:
        return False  # checked before import: e = 1 verifies anything in many libraries
    try:
        public = rsa.RSAPublicNumbers(RSA_EXPONENT, int.from_bytes(key.n, "big")).public_key()
    except ValueError as exc:
        raise Malformed(R.BAD_RSA_KEY, f"RSA modulus unusable: {exc}") from None
    try:
        public.verify(signature, message, _PSS, hashes.SHA256())
    except InvalidSignature:
        return False
    except ValueError:  # modulus too small for a SHA-256 PSS encoding
        return False
    return True


def parse_record(rec: object, index: int, fast: bool, limits: Limits) -> Record:
    """V23.1-V23.4 for `body.attestations[index]`; raises `Malformed`."""
    where = f"body.attestations[{index}]"
    if not isinstance(rec, dict):
        raise Malformed(R.BAD_FIELD_TYPE, f"{where} must be a JSON object")
    checkpoint_tx_id = get_string(rec, "checkpoint_tx_id", where)
    payload = get_object(rec, "payload", where)
    alg = rec.get("signature_alg")
    if alg != ALGORITHM:
        raise Malformed(R.UNSUPPORTED_ALGORITHM,
                        f"{where}.signature_alg {show(alg)} is not supported (only {ALGORITHM})")
    if "public_key" not in rec:
        raise Malformed(R.BAD_RSA_KEY, f"{where}.public_key is missing")
    key = parse_jwk(rec["public_key"], f"{where}.public_key")
    if "signature" not in rec:
        raise Malformed(R.MISSING_FIELD, f"{where}.signature is missing")
    signature = hex_bytes(rec["signature"], None, f"{where}.signature")
    message = canonical(payload, fast, limits)
    return Record(index, checkpoint_tx_id, payload, message, key, signature)


def evaluate_record(
    record: Record, checkpoints: Mapping[str, Any] | None, fast: bool, limits: Limits
) -> tuple[AttestationFinding, list[Check]]:
    """V23.5-V23.10. `checkpoints` maps source checkpoint tx ids to checkpoint objects, or is None
    when the export carries only a source reference (bindings then not evaluated)."""
    label = f"attestation[{record.index}]"
    payload = record.payload
    operator = payload["operator"] if isinstance(payload.get("operator"), str) else ""
    gateway = payload["gateway"] if isinstance(payload.get("gateway"), str) else None
    level = payload.get("level")
    if isinstance(level, bool) or not isinstance(level, int):
        level = None
    checks: list[Check] = []

    # V23.5: exponent, then the RSA-PSS signature over JCS(payload). May raise Malformed.
    signature_ok = verify_pss(record.key, record.message, record.signature)
    if signature_ok:
        checks.append(passed(f"{label}.signature"))
    elif record.key.e != RSA_EXPONENT:
        checks.append(problem(f"{label}.signature", R.ATTESTATION_SIGNATURE_INVALID,
                              f"public exponent {record.key.e} is not 65537"))
    else:
        checks.append(problem(f"{label}.signature", R.ATTESTATION_SIGNATURE_INVALID,
                              "RSA-PSS-SHA-256 (salt 32) does not verify over JCS(payload)"))

    # V23.6: the payload's operator is the key's wallet address.
    derived = operator_address(record.key)
    operator_bound = operator != "" and operator == derived
    if operator_bound:
        checks.append(passed(f"{label}.operator"))
    else:
        checks.append(problem(f"{label}.operator", R.OPERATOR_NOT_BOUND,
                              f"payload.operator {show(operator)} but the key's address is {derived}"))

    if checkpoints is None:
        for part in ("checkpoint", "data_hash"):
            checks.append(skipped(f"{label}.{part}", "source bundle not inline; binding not checked"))
        finding = AttestationFinding(record.checkpoint_tx_id, operator, gateway, level,
                                     signature_ok, operator_bound, False, False, False,
                                     binding_checked=False)
        return finding, checks

    # V23.7: the named checkpoint is present in the source bundle.
    cp = checkpoints.get(record.checkpoint_tx_id)
    resolved = cp is not None
    if resolved:
        checks.append(passed(f"{label}.checkpoint"))
    else:
        checks.append(problem(f"{label}.checkpoint", R.CHECKPOINT_UNRESOLVED,
                              f"checkpoint_tx_id {show(record.checkpoint_tx_id)} is not in the source bundle"))

    # V23.8: data_hash is the SHA-256 of the checkpoint's uploaded bytes, JCS(envelope).
    # V23.9 (ours): the attested tx_id is the checkpoint it is filed under.
    data_hash = payload["data_hash"].lower() if isinstance(payload.get("data_hash"), str) else ""
    hash_matches = tx_matches = False
    if cp is not None:
        try:
            committed = sha256_hex(canonical(cp.get("envelope"), fast, limits))
        except Malformed:
            committed = None
        hash_matches = data_hash != "" and data_hash == committed
        tx_matches = payload.get("tx_id") == record.checkpoint_tx_id
        if not hash_matches:
            checks.append(problem(f"{label}.data_hash", R.DATA_HASH_NOT_BOUND,
                                  f"payload.data_hash {show(data_hash)} is not SHA-256(JCS(checkpoint "
                                  f"envelope)) = {committed}"))
        elif not tx_matches:
            checks.append(problem(f"{label}.data_hash", R.DATA_HASH_NOT_BOUND,
                                  f"payload.tx_id {show(payload.get('tx_id'))} is not the checkpoint "
                                  f"{record.checkpoint_tx_id} the record is filed under"))
        else:
            checks.append(passed(f"{label}.data_hash"))
    else:
        checks.append(skipped(f"{label}.data_hash", "checkpoint unresolved"))

    # V23.10: subject_ref is inside the signed payload; without the subject bytes it stays
    # undetermined and never gates (AttestationFinding.subject_ref_ok defaults so).
    finding = AttestationFinding(record.checkpoint_tx_id, operator, gateway, level,
                                 signature_ok, operator_bound, resolved, hash_matches,
                                 tx_matches)
    return finding, checks

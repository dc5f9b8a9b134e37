"""Ed25519 verification (RFC 8032 via libsodium, which also refuses small-order keys and
non-canonical signatures). Returns a bool for adversarial content; never raises on it."""

from __future__ import annotations

from nacl.bindings import crypto_sign_open
from nacl.exceptions import BadSignatureError, CryptoError


def verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """True iff `signature` (64 bytes) is a valid Ed25519 signature of `message`."""
    if len(public_key) != 32 or len(signature) != 64:
        return False
    try:
        crypto_sign_open(signature + message, public_key)
    except (BadSignatureError, CryptoError, ValueError, TypeError):
        return False
    return True

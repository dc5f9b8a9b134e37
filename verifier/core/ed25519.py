"""Ed25519 verification (RFC 8032 via libsodium, which also refuses small-order keys and
non-canonical signatures). Returns a bool for adversarial content; never raises on it.

libsodium's ``crypto_sign_open`` is called through PyNaCl's own cffi handle with NULL
output pointers (libsodium then verifies without copying the message out): PyNaCl's
wrapper allocates and fills a message-sized buffer per call that the verifier discards.
"""

from __future__ import annotations

import nacl.bindings  # noqa: F401  (its import runs sodium_init, as before)
from nacl._sodium import ffi, lib

_NULL = ffi.NULL
_OPEN = lib.crypto_sign_open


def verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """True iff `signature` (64 bytes) is a valid Ed25519 signature of `message`."""
    if len(public_key) != 32 or len(signature) != 64:
        return False
    try:
        signed = signature + message
        return _OPEN(_NULL, _NULL, signed, len(signed), public_key) == 0
    except (TypeError, ValueError):  # not bytes (cffi takes bytes only, as PyNaCl did)
        return False

"""core/ed25519.verify: a bool for every input, never an exception (libsodium via cffi)."""

from __future__ import annotations

import hashlib

from nacl.signing import SigningKey

from verifier.core import ed25519

SK = SigningKey(hashlib.sha256(b"test_ed25519").digest())
PK = SK.verify_key.encode()
MSG = b'{"a":1}'
SIG = SK.sign(MSG).signature


def test_valid_signature_verifies() -> None:
    assert ed25519.verify(PK, MSG, SIG) is True
    assert ed25519.verify(PK, b"", SK.sign(b"").signature) is True


def test_wrong_message_key_or_signature_is_false() -> None:
    assert ed25519.verify(PK, MSG + b" ", SIG) is False
    other = SigningKey(hashlib.sha256(b"other").digest()).verify_key.encode()
    assert ed25519.verify(other, MSG, SIG) is False
    flipped = bytes([SIG[0] ^ 1]) + SIG[1:]
    assert ed25519.verify(PK, MSG, flipped) is False
    assert ed25519.verify(PK, MSG, bytes(64)) is False


def test_small_order_key_and_non_canonical_s_are_refused() -> None:
    assert ed25519.verify(bytes(32), MSG, bytes(64)) is False  # identity point, S = 0
    l_order = (2**252 + 27742317777372353535851937790883648493).to_bytes(32, "little")
    s_plus_l = (int.from_bytes(SIG[32:], "little") + int.from_bytes(l_order, "little"))
    if s_plus_l < 2**256:  # S + L is the same scalar, not canonical: libsodium refuses it
        assert ed25519.verify(PK, MSG, SIG[:32] + s_plus_l.to_bytes(32, "little")) is False


def test_bad_lengths_and_types_are_false_not_errors() -> None:
    assert ed25519.verify(PK[:31], MSG, SIG) is False
    assert ed25519.verify(PK, MSG, SIG[:63]) is False
    assert ed25519.verify(bytearray(PK), MSG, SIG) is False
    assert ed25519.verify(PK, bytearray(MSG), SIG) is True  # joined to the signature as bytes
    assert ed25519.verify(PK, "text", SIG) is False  # type: ignore[arg-type]

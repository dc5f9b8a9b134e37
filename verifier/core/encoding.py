"""Strict hex and base64url codecs and SHA-256 helpers (spec/envelope.md §2.5).

Hex in envelopes is lowercase only, exact length, no whitespace: stricter than Python's
``bytes.fromhex`` (which accepts uppercase and spaces) so that an envelope has exactly one
byte form. base64url is RFC 4648 §5 without padding.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re

from .errors import Malformed
from .reasons import ReasonCode

_HEX_DIGITS = "0123456789abcdef"
_B64U = re.compile(r"[A-Za-z0-9_-]*")


def is_lower_hex(value: object, nbytes: int | None = None) -> bool:
    """True if `value` is a lowercase hex string (of exactly `nbytes` bytes if given)."""
    if value.__class__ is not str or len(value) % 2:
        return False
    if nbytes is not None and len(value) != 2 * nbytes:
        return False
    return not value.strip(_HEX_DIGITS)


def hex_bytes(value: object, nbytes: int | None, field: str) -> bytes:
    """Decode strict lowercase hex or raise `Malformed(BAD_HEX)` naming `field`."""
    if not isinstance(value, str):
        raise Malformed(ReasonCode.BAD_FIELD_TYPE, f"{field} must be a string")
    if not is_lower_hex(value, nbytes):
        want = f"{2 * nbytes} lowercase hex characters" if nbytes else "lowercase hex"
        raise Malformed(ReasonCode.BAD_HEX, f"{field} must be {want}")
    return bytes.fromhex(value)


def b64u_encode(data: bytes) -> str:
    """base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64u_decode(value: object, field: str = "value") -> bytes:
    """Decode unpadded (or padded) base64url strictly; raise `Malformed(BAD_FIELD_TYPE)`."""
    if not isinstance(value, str):
        raise Malformed(ReasonCode.BAD_FIELD_TYPE, f"{field} must be a base64url string")
    body = value.rstrip("=")
    if len(body) % 4 == 1 or not _B64U.fullmatch(body) or (value != body and len(value) % 4):
        raise Malformed(ReasonCode.BAD_FIELD_TYPE, f"{field} is not base64url")
    try:
        return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        raise Malformed(ReasonCode.BAD_FIELD_TYPE, f"{field} is not base64url") from None


def sha256(data: bytes) -> bytes:
    """SHA-256 digest."""
    return hashlib.sha256(data).digest()


def sha256_hex(data: bytes) -> str:
    """SHA-256 as 64 lowercase hex characters."""
    return hashlib.sha256(data).hexdigest()

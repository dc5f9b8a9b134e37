"""RFC 8785 (JCS) canonical bytes with the family's two guards (spec/envelope.md §2.4).

`canonical(value, fast)` takes the fast path only for values that `intake.parse` marked
safe (ASCII, no escapes that could yield non-BMP text, no non-integer numbers); there
``json.dumps(sort_keys=True)`` equals JCS byte for byte. Everything else goes through the
rfc8785 library. Depth and lone surrogates are checked before canonicalizing.
"""

from __future__ import annotations

import json
from typing import Any

import rfc8785

from .errors import Malformed
from .intake import check_depth, find_lone_surrogate
from .limits import DEFAULT_LIMITS, Limits
from .profiles import Profile, signed_scope

_STRIPS_UNDERSCORE = (Profile.MLFLOW, Profile.LEGACY)
from .reasons import ReasonCode

_dumps = json.JSONEncoder(
    ensure_ascii=False, allow_nan=False, sort_keys=True, separators=(",", ":")
).encode


def canonical(value: Any, fast: bool = False, limits: Limits = DEFAULT_LIMITS) -> bytes:
    """JCS bytes of `value`. Raises `Malformed` when the value cannot be canonicalized.

    `fast=True` is a promise from `intake.parse` that the value came from ASCII JSON text
    without backslash escapes, fractions, exponents or ``-0``, and has already passed the
    depth bound.
    """
    if fast:
        return _dumps(value).encode("ascii")
    check_depth(value, limits)
    try:
        return rfc8785.dumps(value)
    except rfc8785.IntegerDomainError as exc:
        raise Malformed(ReasonCode.NUMBER_OUT_OF_RANGE, str(exc)) from None
    except rfc8785.FloatDomainError as exc:
        raise Malformed(ReasonCode.NON_FINITE_NUMBER, str(exc)) from None
    except rfc8785.CanonicalizationError as exc:
        where = find_lone_surrogate(value)
        if where is not None:
            raise Malformed(ReasonCode.LONE_SURROGATE, f"unpaired surrogate in {where}") from None
        raise Malformed(ReasonCode.BAD_FIELD_TYPE, f"not canonicalizable: {exc}") from None
    except (TypeError, ValueError) as exc:
        raise Malformed(ReasonCode.BAD_FIELD_TYPE, f"not canonicalizable: {exc}") from None


def _underscored(envelope: dict[str, Any]) -> bool:
    """A top-level key starts with "_" (fast-path keys hold no control characters, so
    NUL can join them; one C-level join and search beats a loop over the keys)."""
    keys = "\0".join(envelope)
    return keys[:1] == "_" or "\0_" in keys


def scope_bytes(envelope: dict[str, Any], profile: Profile, fast: bool,
                limits: Limits = DEFAULT_LIMITS, canonical_raw: bytes | None = None) -> bytes:
    """JCS of the envelope's signed scope (spec/envelope.md §3.3).

    Fast path: take the canonical full envelope (`canonical_raw`: the raw bytes when
    `intake.parse` found them already canonical, `Doc.canonical`; else serialized) and cut
    out the one top-level ``"signature":"<hex>"`` member. A quote inside a string is escaped in JCS text, so
    ``"signature":"`` occurs only where a key named signature has a string value; requiring
    exactly one occurrence rules out a nested look-alike, so it is the top-level member.
    Envelopes with ``co_signatures``, or with a top-level ``_`` key in a profile that strips
    those, take the general path. The signature value must already be validated lowercase
    hex (its JCS text is then the value itself, of known length).
    """
    strips = profile in _STRIPS_UNDERSCORE
    if (fast and "co_signatures" not in envelope
            and not (strips and _underscored(envelope))):
        full = canonical_raw if canonical_raw is not None else _dumps(envelope).encode("ascii")
        at = full.find(_SIGNATURE_KEY)
        if at >= 0 and full.find(_SIGNATURE_KEY, at + 1) < 0:
            end = at + len(_SIGNATURE_KEY) + len(envelope["signature"]) + 1
            if full[at - 1] == _COMMA:
                return full[:at - 1] + full[end:]
            if full[end] == _COMMA:
                return full[:at] + full[end + 1:]
    return canonical(signed_scope(envelope, profile), fast, limits)


_SIGNATURE_KEY = b'"signature":"'
_COMMA = ord(",")

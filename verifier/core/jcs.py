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
from .reasons import ReasonCode

_dumps = json.JSONEncoder(
    ensure_ascii=False, allow_nan=False, sort_keys=True, separators=(",", ":")
).encode


def canonical(value: Any, fast: bool = False, limits: Limits = DEFAULT_LIMITS) -> bytes:
    """JCS bytes of `value`. Raises `Malformed` when the value cannot be canonicalized.

    `fast=True` is a promise from `intake.parse` that the value came from ASCII JSON text
    without ``\\u`` escapes, fractions, exponents or long digit runs, and has already
    passed the depth bound.
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


def scope_bytes(envelope: dict[str, Any], profile: Profile, fast: bool,
                limits: Limits = DEFAULT_LIMITS) -> bytes:
    """JCS of the envelope's signed scope (spec/envelope.md §3.3).

    Fast path: canonicalize the whole envelope once and cut out the one top-level
    ``"signature":"<hex>"`` member. That member text cannot occur inside a string (its
    quotes would be escaped), and requiring exactly one occurrence rules out a nested
    look-alike; envelopes with ``co_signatures`` or any ``"_``-prefixed key take the
    general path. The signature value must already be validated lowercase hex.
    """
    if fast and "co_signatures" not in envelope:
        full = _dumps(envelope).encode("ascii")
        if b'"_' not in full:
            member = b'"signature":"' + envelope["signature"].encode("ascii") + b'"'
            if full.count(member) == 1:
                cut = full.find(b"," + member)
                if cut >= 0:
                    return full[:cut] + full[cut + len(member) + 1:]
                cut = full.find(member + b",")
                if cut >= 0:
                    return full[:cut] + full[cut + len(member) + 1:]
    return canonical(signed_scope(envelope, profile), fast, limits)

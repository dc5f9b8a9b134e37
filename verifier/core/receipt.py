"""Turbo upload receipts (spec/binding.md §5): fields, id, RSA-PSS signature, signer pin.

A receipt signs the deep hash of ``["Bundlr", version, id, deadlineHeight, timestamp]``
(RSA-PSS / SHA-256, salt 0 in practice, verified with any salt). Two older layouts are
accepted and reported in the subject. Only ``id``, ``version``, ``timestamp`` and
``deadlineHeight`` are covered by the current layout; ``owner``, ``winc`` and the cache
lists are not. A receipt proves something only if its signer is pinned by the caller.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any, Callable, Collection

from .ans104 import deep_hash, rsa_pss_verify
from .encoding import b64u_decode, b64u_encode, sha256
from .errors import Malformed
from .reasons import ReasonCode as R
from .result import Check, Result, make_result, passed, problem, skipped

KIND = "receipt"
LAYOUT_CURRENT = "bundlr"
LAYOUT_LEGACY_WINC = "legacy-0.2.0-winc"
LAYOUT_LEGACY_010 = "legacy-0.1.0"
LAYOUTS = (LAYOUT_CURRENT, LAYOUT_LEGACY_WINC, LAYOUT_LEGACY_010)

REQUIRED = ("id", "timestamp", "version", "deadlineHeight", "public", "signature")
_DIGITS = re.compile(r"[0-9]{1,20}")
_ID = re.compile(r"[A-Za-z0-9_-]{43}")


def _dec(value: Any, field: str) -> bytes:
    """A non-negative integer field as signed decimal text (JSON int or digit string)."""
    if isinstance(value, bool):
        raise Malformed(R.BAD_FIELD_TYPE, f"{field} must be an integer")
    if isinstance(value, int) and value >= 0:
        return str(value).encode()
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        return value.encode()
    raise Malformed(R.BAD_FIELD_TYPE, f"{field} must be a non-negative integer")


def _str(receipt: dict, field: str) -> bytes:
    value = receipt[field]
    if not isinstance(value, str):
        raise Malformed(R.BAD_FIELD_TYPE, f"{field} must be a string")
    return value.encode("utf-8", "surrogatepass")


def _joined(receipt: dict, field: str) -> bytes | None:
    value = receipt.get(field)
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        return None
    return ",".join(value).encode("utf-8", "surrogatepass")


def receipt_message(receipt: dict, layout: str = LAYOUT_CURRENT) -> bytes | None:
    """The 48-byte message a receipt signs under `layout`; None if its fields are missing.

    Raises `Malformed` when a signed field has the wrong type.
    """
    version, rid = _str(receipt, "version"), _str(receipt, "id")
    height = _dec(receipt["deadlineHeight"], "deadlineHeight")
    ts = _dec(receipt["timestamp"], "timestamp")
    if layout == LAYOUT_CURRENT:
        return deep_hash([b"Bundlr", version, rid, height, ts])
    caches, ffi = _joined(receipt, "dataCaches"), _joined(receipt, "fastFinalityIndexes")
    if caches is None or ffi is None:
        return None
    if layout == LAYOUT_LEGACY_WINC:
        winc = receipt.get("winc")
        if not isinstance(winc, str):
            return None
        return deep_hash([version, rid, winc.encode("utf-8", "surrogatepass"), height, ts,
                          caches, ffi])
    if layout == LAYOUT_LEGACY_010:
        return deep_hash([version, rid, height, ts, caches, ffi])
    raise ValueError(f"unknown receipt layout {layout!r}")


def signer_address(public: bytes) -> str:
    """Arweave address of an RSA modulus: ``b64u(SHA-256(n))``."""
    return b64u_encode(sha256(public))


def _iso(ms: Any) -> str | None:
    if isinstance(ms, str) and _DIGITS.fullmatch(ms):
        ms = int(ms)
    if isinstance(ms, bool) or not isinstance(ms, int):
        return None
    try:
        dt = datetime.fromtimestamp(ms // 1000, tz=timezone.utc)
        dt = dt.replace(microsecond=ms % 1000 * 1000)
    except (OverflowError, OSError, ValueError):
        return None
    return dt.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def verify_receipt(
    receipt: object,
    data_item_id: str | None = None,
    trusted_signers: Collection[str] | None = None,
) -> Result:
    """Verify a Turbo receipt dict; never raises.

    `data_item_id` is the id of the item the caller holds (None skips the id check).
    `trusted_signers` is the set of accepted signer addresses ``b64u(SHA-256(n))``; None
    records the pin as skipped, showing the signer address.
    """
    if not isinstance(receipt, dict):
        return make_result(KIND, [problem("fields", R.NOT_AN_OBJECT, "receipt is not an object")])
    missing = [f for f in REQUIRED if f not in receipt]
    if missing:
        return make_result(KIND, [problem("fields", R.MISSING_FIELD,
                                          "receipt lacks " + ", ".join(missing))])
    try:
        return _verify(receipt, data_item_id, trusted_signers)
    except Malformed as exc:
        return make_result(KIND, [problem("fields", exc.reason, exc.detail)])


def _verify(receipt: dict, data_item_id: str | None,
            trusted: Collection[str] | None) -> Result:
    rid = receipt["id"]
    if not isinstance(rid, str) or not _ID.fullmatch(rid):
        raise Malformed(R.BAD_FIELD_TYPE, "id must be a 43-character base64url string")
    public = b64u_decode(receipt["public"], "public")
    signature = b64u_decode(receipt["signature"], "signature")
    current = receipt_message(receipt)  # also type-checks every signed field
    n = int.from_bytes(public, "big")
    if not 2048 <= n.bit_length() <= 8192 or n % 2 == 0:
        return make_result(KIND, [problem("fields", R.BAD_RSA_KEY,
                                          "public is not a 2048..8192-bit RSA modulus")])
    address = signer_address(public)
    subject: dict[str, Any] = {
        "id": rid,
        "version": receipt["version"],
        "timestamp": receipt["timestamp"],
        "timestamp_iso": _iso(receipt["timestamp"]),
        "deadlineHeight": receipt["deadlineHeight"],
        "signer_address": address,
        "owner": receipt.get("owner") if isinstance(receipt.get("owner"), str) else None,
        "layout": None,
    }
    checks: list[Check] = [passed("fields")]

    if data_item_id is None:
        checks.append(skipped("id", "no data item id given"))
    elif rid == data_item_id:
        checks.append(passed("id"))
    else:
        checks.append(problem("id", R.RECEIPT_INVALID,
                              f"receipt id {rid} is not the data item id {str(data_item_id)[:64]}"))

    builders: list[tuple[str, Callable[[], bytes | None]]] = [
        (LAYOUT_CURRENT, lambda: current),
        (LAYOUT_LEGACY_WINC, lambda: receipt_message(receipt, LAYOUT_LEGACY_WINC)),
        (LAYOUT_LEGACY_010, lambda: receipt_message(receipt, LAYOUT_LEGACY_010)),
    ]
    for layout, build in builders:
        msg = build()
        if msg is not None and rsa_pss_verify(public, msg, signature):
            subject["layout"] = layout
            detail = "" if layout == LAYOUT_CURRENT else f"signed under the {layout} layout"
            checks.append(passed("signature", detail))
            break
    else:
        checks.append(problem("signature", R.RECEIPT_INVALID,
                              "RSA-PSS signature verifies under no known receipt layout"))

    if trusted is None:
        checks.append(skipped("signer", f"signer {address} not pinned (no trusted signer set)"))
    elif address in trusted:
        checks.append(passed("signer", f"signer {address} is trusted"))
    else:
        checks.append(problem("signer", R.RECEIPT_UNTRUSTED,
                              f"signer {address} is not among the trusted receipt signers"))
    return make_result(KIND, checks, subject)

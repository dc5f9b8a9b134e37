"""Turbo upload receipt vectors: RSA-PSS (salt 0) over the deep hash of the "Bundlr"
layout, the legacy 0.1.0 layout, and the signer pin."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from .common import Vector, jcs
from .dataitem_cases import deep_hash
from .rsa_det import DetRSA

ITEM_ID = "e0hZqKvVtY3Ct1bJYWZ2v9Yy0mQ4e8h7x0xR8l2n3cQ"


def _b64u(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def _receipt(key: DetRSA, layout: str = "current", **fields) -> dict[str, Any]:
    r = {"id": ITEM_ID, "timestamp": 1784073600123, "version": "0.2.0", "deadlineHeight": 1512545,
         "dataCaches": ["arweave.net"], "fastFinalityIndexes": [], "winc": "0",
         "owner": _b64u(hashlib.sha256(b"uploader").digest()), "public": _b64u(key.n_bytes)}
    r.update(fields)
    parts = [r["version"].encode(), r["id"].encode(), str(r["deadlineHeight"]).encode(), str(r["timestamp"]).encode()]
    if layout == "current":
        msg = deep_hash([b"Bundlr"] + parts)
    else:  # legacy 0.1.0: version, id, height, timestamp, caches, fast-finality indexes
        msg = deep_hash(parts + [",".join(r["dataCaches"]).encode(), ",".join(r["fastFinalityIndexes"]).encode()])
    r["signature"] = _b64u(key.sign_pss(msg, 0))
    return r


def all_vectors() -> list[Vector]:
    key = DetRSA("ario-verifier vectors: receipt signer", 2048)
    other = DetRSA("ario-verifier vectors: operator 1", 2048)
    ok = _receipt(key)
    legacy = _receipt(key, "legacy-0.1.0", version="0.1.0")

    def rc(vid, desc, doc, status, reason, expected_id=ITEM_ID, trusted=None):
        inp: dict[str, Any] = {"document_hex": jcs(doc).hex()}
        if expected_id is not None:
            inp["expected_id"] = expected_id
        if trusted is not None:
            inp["trusted_signers"] = trusted
        return Vector(f"receipt-{vid}", "receipt", desc, ["binding.md#B5", "binding.md#B6"], inp, status, reason)

    pinned = [key.address()]
    return [
        rc("ok-pinned", "A receipt signed by the pinned receipt key (salt 0, current layout).", ok,
           "verified", None, trusted=pinned),
        rc("ok-unpinned", "The same receipt with no signer pin: the pin is skipped, not failed.", ok,
           "verified", None),
        rc("legacy-010", "A receipt under the legacy 0.1.0 layout.", legacy, "verified", None, trusted=pinned),
        rc("unsigned-field-edited", "winc and dataCaches are outside the signed message.",
           dict(ok, winc="999"), "verified", None, trusted=pinned),
        rc("untrusted-signer", "A valid receipt from a key outside the pin set.", ok, "failed",
           "receipt_untrusted", trusted=[other.address()]),
        rc("timestamp-edited", "The witnessed time moved after signing.", dict(ok, timestamp=1784073600124),
           "failed", "receipt_invalid", trusted=pinned),
        rc("other-item", "A genuine receipt presented for another data item.", ok, "failed",
           "receipt_invalid", expected_id="AAAAqKvVtY3Ct1bJYWZ2v9Yy0mQ4e8h7x0xR8l2n3cQ", trusted=pinned),
        rc("self-signed", "A receipt re-signed by another key with public swapped: only the pin "
           "catches it.", _receipt(other), "failed", "receipt_untrusted", trusted=pinned),
        rc("missing-signature", "No signature field.", {k: v for k, v in ok.items() if k != "signature"},
           "malformed", "missing_field"),
    ]

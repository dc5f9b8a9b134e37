"""A2-A3: tx id <-> bytes binding through the data item, and the Turbo receipt (spec/audit.md).

"Bound" means: the ANS-104 data item held for the event has the tx id as its id
(``b64u(SHA-256(signature))``), its signature verifies, and its data is exactly the
envelope bytes. Without a data item the binding is reported as not checked; only
`require_binding` turns that into `binding_unchecked`. A receipt is verified against the
tx id and the policy's trusted signers; its signed timestamp is the "witnessed time".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from verifier.core.ans104 import verify_data_item
from verifier.core.reasons import ReasonCode as R
from verifier.core.receipt import verify_receipt
from verifier.core.result import Check, Outcome, Result, passed, problem, skipped

from .policy import AuditPolicy

BINDING = "binding"
RECEIPT = "receipt"
_NO_ENVELOPE = skipped(BINDING, "no envelope bytes to bind")
_NO_ITEM = skipped(BINDING, "not checked: no data item available (tx id <-> bytes unbound)")
_NO_ITEM_REQUIRED = problem(BINDING, R.BINDING_UNCHECKED,
                            "no data item available and the policy requires the binding")
_NO_RECEIPT = skipped(RECEIPT, "no upload receipt")
_UNSIGNED_RECEIPT = skipped(RECEIPT, "the upload receipt is unsigned (no public/signature): "
                                     "no witnessed time")
_RECEIPT_REQUIRED = problem(RECEIPT, R.RECEIPT_MISSING,
                            "no upload receipt, and the policy requires one (--require-receipts)")


@dataclass(frozen=True, slots=True)
class BindingInfo:
    """What the report says about the binding: `bound`, and the witnessed time if any."""

    bound: bool
    witnessed_at: str | None = None
    receipt_signer: str | None = None
    receipt_signer_pinned: bool = False


def _first_problem(result: Result) -> Check:
    return next(c for c in result.checks if c.reason is result.reason)


def _unproven(attempts: str | None, claims: str | None) -> str:
    detail = "not checked: no signed data item obtained (tx id <-> bytes unbound)"
    if attempts:
        detail += f"; tried: {attempts}"
    if claims:
        detail += f"; gateway claims (unverified, prove nothing): {claims}"
    return detail


def binding_check(tx_id: str | None, envelope: bytes | None, data_item: bytes | None,
                  policy: AuditPolicy, *, origin: str | None = None,
                  attempts: str | None = None, claims: str | None = None) -> Check:
    """A2: bind the tx id to the envelope bytes through the data item.

    `origin` says where the item came from; without an item, `attempts` (what each
    gateway step got) and `claims` (gateway integrity headers) explain why the binding is
    unproven — they never make it pass."""
    if envelope is None:
        return _NO_ENVELOPE
    if data_item is None:
        if not attempts and not claims:
            return _NO_ITEM_REQUIRED if policy.require_binding else _NO_ITEM
        detail = _unproven(attempts, claims)
        if policy.require_binding:
            return problem(BINDING, R.BINDING_UNCHECKED, detail + " (the policy requires it)")
        return skipped(BINDING, detail)
    if tx_id is None:
        return problem(BINDING, R.BINDING_UNCHECKED if policy.require_binding else R.ENVELOPE_NOT_FOUND,
                       "the event has no tx id to bind the data item to")
    result = verify_data_item(data_item, tx_id, envelope)
    if result.ok:
        kind = result.subject.get("signature_type")
        where = f" from {origin}" if origin else ""
        return passed(BINDING, f"bound: data item {tx_id} (signature type {kind}){where} "
                               "carries the envelope bytes")
    bad = _first_problem(result)
    return problem(BINDING, bad.reason, bad.detail)  # type: ignore[arg-type]


def receipt_check(tx_id: str | None, receipt: Any, policy: AuditPolicy) -> tuple[Check, BindingInfo | None]:
    """A3: verify the Turbo receipt; its timestamp is reported as witnessed time."""
    if receipt is None:
        return (_RECEIPT_REQUIRED if policy.require_receipts else _NO_RECEIPT), None
    if isinstance(receipt, dict) and not ("signature" in receipt and "public" in receipt):
        if policy.require_receipts:  # proves nothing, like no receipt (spec/audit.md A3)
            return problem(RECEIPT, R.RECEIPT_MISSING,
                           "the receipt is unsigned and the policy requires a signed one"), None
        return _UNSIGNED_RECEIPT, None
    result = verify_receipt(receipt, tx_id, policy.trusted_receipt_signers)
    if not result.ok:
        bad = _first_problem(result)
        return problem(RECEIPT, bad.reason, bad.detail), None  # type: ignore[arg-type]
    subject = result.subject
    signer = subject.get("signer_address")
    pinned = (s := result.check("signer")) is not None and s.outcome is Outcome.PASSED
    when = subject.get("timestamp_iso")
    note = "" if pinned else " (signer not pinned by the policy)"
    check = passed(RECEIPT, f"witnessed at {when} by receipt signer {signer}{note}")
    return check, BindingInfo(False, when, signer, pinned)

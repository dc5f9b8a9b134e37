"""The auditor's trust policy (spec/audit.md §2). Passed in, never read from the environment."""

from __future__ import annotations

from dataclasses import dataclass

from verifier.core.policy import Policy


@dataclass(frozen=True, slots=True)
class AuditPolicy:
    """What the auditor is willing to accept.

    `trusted_keys`: closed set of Ed25519 envelope keys (None = any key, reported as unpinned).
    `allow_legacy`: admit ar-io-mlflow 0.1.0 envelopes without `spec_version`.
    `require_binding`: a missing data item (tx id <-> bytes binding) makes the event incomplete.
    `require_receipts`: an event without a valid (signed, verifying) Turbo upload receipt is
    incomplete (`receipt_missing`).
    `trusted_receipt_signers`: Arweave addresses (b64u SHA-256 of the RSA modulus) whose Turbo
    receipts are accepted; None = signatures are checked but the signer is reported unpinned.
    `min_attestation_level`: with an ar.io Verify service, a lower level is incomplete.
    """

    trusted_keys: frozenset[bytes] | None = None
    allow_legacy: bool = False
    require_binding: bool = False
    trusted_receipt_signers: frozenset[str] | None = None
    min_attestation_level: int | None = None
    require_receipts: bool = False

    def envelope_policy(self) -> Policy:
        """The kernel policy for envelope verification (A4)."""
        return Policy(allow_legacy=self.allow_legacy, trusted_keys=self.trusted_keys)

    def to_json(self) -> dict:
        """A summary of the policy for the report (keys listed, never secrets)."""
        return {
            "trusted_keys": sorted(k.hex() for k in self.trusted_keys) if self.trusted_keys else None,
            "allow_legacy": self.allow_legacy,
            "require_binding": self.require_binding,
            "trusted_receipt_signers": sorted(self.trusted_receipt_signers)
            if self.trusted_receipt_signers else None,
            "min_attestation_level": self.min_attestation_level,
            "require_receipts": self.require_receipts,
        }


DEFAULT_AUDIT_POLICY = AuditPolicy()

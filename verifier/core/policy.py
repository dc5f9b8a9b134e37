"""Verification policy: what the caller is willing to accept. Passed in, never global."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Policy:
    """Trust policy for envelope verification.

    `allow_legacy` admits envelopes with no `spec_version` (ar-io-mlflow 0.1.0); it is
    off by default and the refusal says how to turn it on. `trusted_keys`, when set, is the
    closed set of 32-byte Ed25519 keys whose signatures are accepted.
    """

    allow_legacy: bool = False
    trusted_keys: frozenset[bytes] | None = None


DEFAULT_POLICY = Policy()

"""`ario.evidence/v1` bundles: anchor traces and attested exports (spec/evidence.md).

Public entry points return a `Result` of kind ``"evidence"``; hostile input never raises.
For exports the result subject also carries the recomputed family verdict object
(``subject["verdict"]``), its JCS SHA-256 (``subject["verdict_jcs_sha256"]``) and the
per-attestation flags (``subject["export"]["attestations"]``); the accessors below read them.
"""

from __future__ import annotations

from typing import Any

from ..result import Result
from .attestation import operator_address, parse_jwk, verify_pss
from .model import (AttestationFinding, CheckpointFinding, EventFinding, Finding, OnChain,
                    OnChainFinding, TraceFindings)
from .wrapper import KIND, verify_evidence_bytes, verify_evidence_doc

__all__ = [
    "AttestationFinding", "CheckpointFinding", "EventFinding", "Finding", "KIND",
    "OnChain", "OnChainFinding", "TraceFindings", "attestation_flags", "export_summary",
    "operator_address", "parse_jwk", "verdict_jcs_sha256", "verdict_of",
    "verify_evidence_bytes", "verify_evidence_doc", "verify_pss",
]


def verdict_of(result: Result) -> dict[str, Any] | None:
    """The recomputed family verdict object of an export result, if one was rendered."""
    verdict = result.subject.get("verdict")
    return verdict if isinstance(verdict, dict) else None


def verdict_jcs_sha256(result: Result) -> str | None:
    """SHA-256 (hex) of JCS(verdict object), the value the family corpus pins."""
    value = result.subject.get("verdict_jcs_sha256")
    return value if isinstance(value, str) else None


def export_summary(result: Result) -> dict[str, Any] | None:
    """``{source_linkage_ok, source_status, verdict_agreement_ok, attestations}`` of an
    export result (family names and JSON values), or None for other bodies."""
    block = result.subject.get("export")
    return block if isinstance(block, dict) else None


def attestation_flags(result: Result) -> list[dict[str, Any]]:
    """Per-attestation flags of an export result, in record order (empty if none)."""
    block = export_summary(result)
    return list(block["attestations"]) if block is not None else []

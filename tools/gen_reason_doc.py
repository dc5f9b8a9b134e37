#!/usr/bin/env python3
"""Write spec/reason-codes.md from verifier/core/reasons.py (the single source of the list).

Usage: python tools/gen_reason_doc.py [--check]
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from verifier.core.reasons import REASONS, ReasonCode  # noqa: E402

#: The spec rule each reason code enforces (file.md#STEP).
RULES = {
    "input_unreadable": "result-model.md#R3", "usage_error": "result-model.md#R4", "input_too_large": "envelope.md#I1",
    "invalid_utf8": "envelope.md#I1", "invalid_json": "envelope.md#I1",
    "duplicate_key": "envelope.md#I1", "non_finite_number": "envelope.md#I1",
    "number_out_of_range": "envelope.md#I1", "nesting_too_deep": "envelope.md#I1",
    "lone_surrogate": "envelope.md#I1", "not_an_object": "envelope.md#E1",
    "unknown_document": "envelope.md#6", "unsupported_spec_version": "envelope.md#S2",
    "legacy_not_allowed": "envelope.md#S4", "missing_payload_hash": "envelope.md#E3",
    "missing_field": "envelope.md#E3", "bad_field_type": "envelope.md#E3",
    "bad_hex": "envelope.md#E3", "unsupported_algorithm": "envelope.md#E3",
    "signature_invalid": "envelope.md#E4", "payload_hash_mismatch": "envelope.md#E5",
    "payload_unavailable": "envelope.md#E5", "untrusted_signer": "envelope.md#E6",
    "inclusion_invalid": "merkle.md#M4", "merkle_root_mismatch": "merkle.md#M5",
    "checkpoint_invalid": "merkle.md#M2",
    "body_hash_mismatch": "evidence.md#V3", "body_ref_unsupported": "evidence.md#V2",
    "unknown_body_type": "evidence.md#V5", "source_bundle_unavailable": "evidence.md#V20",
    "source_linkage_mismatch": "evidence.md#V21", "source_bundle_failed": "evidence.md#V22",
    "source_bundle_incomplete": "evidence.md#V22", "verdict_disagreement": "evidence.md#V25",
    "attestation_signature_invalid": "evidence.md#V23", "operator_not_bound": "evidence.md#V23",
    "data_hash_not_bound": "evidence.md#V23", "checkpoint_unresolved": "evidence.md#V23",
    "bad_rsa_key": "evidence.md#V23", "event_invalid": "evidence.md#V12",
    "content_mismatch": "evidence.md#V13", "record_withheld": "evidence.md#V14",
    "empty_trace": "evidence.md#V15",
    "chain_link_unresolved": "chain.md#L3", "chain_link_malformed": "chain.md#L3",
    "chain_fork": "chain.md#L5", "chain_cycle": "chain.md#L5",
    "chain_type_mismatch": "chain.md#L4", "chain_signer_changed": "chain.md#L6",
    "duplicate_event": "chain.md#L7",
    "data_item_malformed": "binding.md#B1", "data_item_signature_invalid": "binding.md#B3",
    "data_item_id_mismatch": "binding.md#B2", "data_item_data_mismatch": "binding.md#B4",
    "binding_unchecked": "audit.md#A1", "receipt_invalid": "binding.md#B5",
    "receipt_untrusted": "binding.md#B6",
    "envelope_not_found": "audit.md#A1", "gateway_unavailable": "audit.md#A1",
    "gateway_disagreement": "audit.md#A1",
    "target_mismatch": "audit.md#A12", "target_unconfirmed": "audit.md#A12",
    "event_omitted": "audit.md#A13", "receipt_missing": "audit.md#A3",
    "claim_contradicted": "audit.md#A14", "claim_disagreement": "audit.md#A14",
    "claims_malformed": "audit.md#A14", "record_mismatch": "audit.md#A3",
    "surface_unavailable": "audit.md#A3", "artifact_hash_mismatch": "audit.md#A4",
    "dataset_unresolved": "audit.md#A4", "attestation_level_low": "audit.md#A5",
    "attestation_unavailable": "audit.md#A5", "bundle_malformed": "audit-bundle.md#3",
    "bundle_limit_exceeded": "audit-bundle.md#3", "bundle_unsafe_path": "audit-bundle.md#3",
}

HEADER = """# Reason codes

The closed list of reason codes. Every non-passing check carries exactly one. The code is
the contract (JSON output, vectors, conformance answers, TUI, PDF); the meaning column is
for people. The status bucket decides the check's outcome and the roll-up (malformed >
failed > incomplete > verified); the CLI's exit code follows from the status alone
(0 verified, 1 failed, 2 malformed, 3 incomplete).

This file is generated from `verifier/core/reasons.py` by `tools/gen_reason_doc.py`; a test
fails if they differ. Adding a code is a spec change; renaming or re-bucketing one is a
breaking change. The names `unsupported_spec_version`, `lone_surrogate` and
`missing_payload_hash` are the ar.io family corpus's own.

| code | status | meaning | rule |
|---|---|---|---|
"""


def render() -> str:
    missing = [c.value for c in ReasonCode if c.value not in RULES]
    if missing:
        raise SystemExit(f"no spec rule recorded for: {missing}")
    rows = [f"| `{c.value}` | {REASONS[c][0].value} | {REASONS[c][1]} | {RULES[c.value]} |"
            for c in ReasonCode]
    return HEADER + "\n".join(rows) + "\n"


def main() -> int:
    path = ROOT / "spec" / "reason-codes.md"
    text = render()
    if "--check" in sys.argv:
        if path.read_text() != text:
            print("spec/reason-codes.md is out of date: run python tools/gen_reason_doc.py")
            return 1
        return 0
    path.write_text(text)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The family's recomputed verdict object and the agreement projection (spec/evidence.md V24-V26).

The object is the ar.io export spec's §4 verdict (`ario.evidence.verdict/v1`). Its JCS
SHA-256 is pinned by the corpus, so member names, presence rules and order of arrays are
exact: `gateway` appears only when a non-empty string, `level` only when an integer,
`as_of` only when the wrapper's `generated_at` is a string, `on_chain` is null offline,
`custody_chain` is always null.
"""

from __future__ import annotations

from typing import Any, Sequence

from ..encoding import sha256_hex
from ..errors import Malformed
from ..jcs import canonical
from .model import AttestationFinding, TraceFindings

SCHEMA_VERSION = "ario.evidence.verdict/v1"


def build_verdict(trace: TraceFindings, attestations: Sequence[AttestationFinding],
                  as_of: object) -> dict[str, Any]:
    """V24: the verdict object without `status` and `summary` (set by `finish_verdict`)."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for a in attestations:
        entry: dict[str, Any] = {"operator": a.operator}
        if a.gateway:
            entry["gateway"] = a.gateway
        entry["signature_ok"] = a.signature_ok
        entry["operator_address_bound"] = a.operator_address_bound
        entry["data_hash_bound"] = a.data_hash_bound
        if a.level is not None:
            entry["level"] = a.level
        entry["subject_ref_ok"] = a.subject_ref_ok.to_json()
        grouped.setdefault(a.checkpoint_tx_id, []).append(entry)

    events = [{
        "event_id": e.event_id,
        "signature_ok": e.envelope_ok,
        "payload_bound": e.payload_bound.to_json(),
        "inclusion_ok": e.inclusion_ok,
        "content_ok": e.content_ok.to_json(),
        "status": e.family_status,
    } for e in trace.events]
    checkpoints = [{
        "checkpoint_tx_id": c.tx_id,
        "merkle_root_ok": c.merkle_root_ok,
        "on_chain": c.on_chain.to_json() if c.on_chain is not None else None,
        "attestations": grouped.get(c.tx_id, []),
    } for c in trace.checkpoints]

    counts = {"verified": 0, "failed": 0, "undetermined": 0}
    for e in events:
        key = {"verified": "verified", "failed": "failed"}.get(e["status"], "undetermined")
        counts[key] += 1
    for a in attestations:
        counts["verified" if a.ok else "failed"] += 1

    verdict: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "counts": counts,
        "events": events,
        "checkpoints": checkpoints,
        "custody_chain": None,
    }
    if isinstance(as_of, str):
        verdict["as_of"] = as_of
    return verdict


def finish_verdict(verdict: dict[str, Any], status: str, source_status: str,
                   trace: TraceFindings, attestations: Sequence[AttestationFinding]) -> dict[str, Any]:
    """V26: set the export status word and the summary sentence (exact family wording)."""
    ok = sum(1 for a in attestations if a.ok)
    verdict["status"] = status
    verdict["summary"] = (
        f"Export {status}: source bundle {source_status} "
        f"({len(trace.events)} event(s) across {len(trace.checkpoints)} checkpoint(s)); "
        f"{ok}/{len(attestations)} operator attestation(s) valid."
    )
    return verdict


def verdict_sha256(verdict: dict[str, Any]) -> str | None:
    """SHA-256 of JCS(verdict), lowercase hex; None if it cannot be canonicalized."""
    try:
        return sha256_hex(canonical(verdict))
    except Malformed:
        return None


def _get(d: Any, key: str) -> Any:
    return d.get(key) if isinstance(d, dict) else None


def _list(d: Any, key: str) -> list[Any]:
    value = _get(d, key)
    return value if isinstance(value, list) else []


def projection(verdict: Any) -> dict[str, Any]:
    """V25: the deterministic dimensions compared for agreement. Missing members read as
    null; on-chain data, status, counts, summary, as_of, custody_chain and the attestation
    level and gateway are left out. Works on the hostile cached copy too."""
    schema = _get(verdict, "schema_version")
    return {
        "schema_version": schema if isinstance(schema, str) else None,
        "events": [
            {k: _get(e, k) for k in ("event_id", "signature_ok", "payload_bound",
                                      "inclusion_ok", "content_ok")}
            for e in _list(verdict, "events")
        ],
        "checkpoints": [
            {
                "checkpoint_tx_id": _get(c, "checkpoint_tx_id"),
                "merkle_root_ok": _get(c, "merkle_root_ok"),
                "attestations": [
                    {k: _get(a, k) for k in ("operator", "signature_ok", "operator_address_bound",
                                              "data_hash_bound", "subject_ref_ok")}
                    for a in _list(c, "attestations")
                ],
            }
            for c in _list(verdict, "checkpoints")
        ],
    }


def agrees(cached: Any, fresh: dict[str, Any]) -> bool:
    """V25: JCS(projection(cached)) == JCS(projection(fresh)); uncanonicalizable disagrees."""
    try:
        return canonical(projection(cached)) == canonical(projection(fresh))
    except Malformed:
        return False

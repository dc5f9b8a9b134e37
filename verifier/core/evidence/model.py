"""Typed findings of an evidence-bundle verification (spec/evidence.md).

The family's verdict object (§4 of the ar.io export spec) encodes some findings as JSON
``true``/``false``/``null``. Inside the kernel those three-valued findings are a `Finding`
enum, never ``bool | None``; the JSON form is produced only when the verdict object or the
result subject is written out.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any


class Finding(str, Enum):
    """A three-valued finding: the property holds, is broken, or could not be decided."""

    HOLDS = "holds"
    BROKEN = "broken"
    UNDETERMINED = "undetermined"

    def to_json(self) -> bool | None:
        """The family's JSON encoding: true / false / null."""
        if self is Finding.HOLDS:
            return True
        if self is Finding.BROKEN:
            return False
        return None


class OnChain(str, Enum):
    """Outcome of comparing one gateway's bytes for a checkpoint tx with the bundle."""

    CONFIRM = "confirm"
    MISMATCH = "mismatch"
    UNREACHABLE = "unreachable"


@dataclass(frozen=True, slots=True)
class OnChainFinding:
    """Per-checkpoint on-chain roll-up: worst finding wins (mismatch > confirm > unreachable)."""

    rollup: OnChain
    per_gateway: tuple[tuple[str, OnChain], ...]

    def to_json(self) -> dict[str, Any]:
        ok = {OnChain.CONFIRM: True, OnChain.MISMATCH: False}.get(self.rollup)
        return {
            "rollup": self.rollup.value,
            "on_chain_ok": ok,
            "per_gateway": [{"gateway": g, "outcome": o.value} for g, o in self.per_gateway],
        }


@dataclass(frozen=True, slots=True)
class CheckpointFinding:
    """One `checkpoints[]` entry of an anchor trace."""

    tx_id: str
    envelope_ok: bool
    merkle_root_ok: bool
    on_chain: OnChainFinding | None = None

    @property
    def ok(self) -> bool:
        on_chain_broken = self.on_chain is not None and self.on_chain.rollup is OnChain.MISMATCH
        return self.envelope_ok and self.merkle_root_ok and not on_chain_broken

    def to_json(self) -> dict[str, Any]:
        return {
            "tx_id": self.tx_id,
            "envelope_ok": self.envelope_ok,
            "merkle_root_ok": self.merkle_root_ok,
            "on_chain": self.on_chain.to_json() if self.on_chain is not None else None,
            "ok": self.ok,
        }


@dataclass(frozen=True, slots=True)
class EventFinding:
    """One `events[]` entry of an anchor trace."""

    event_id: str
    envelope_ok: bool
    payload_bound: Finding
    inclusion_ok: bool
    checkpoint_bound: bool
    content_ok: Finding

    @property
    def ok(self) -> bool:
        return (self.envelope_ok and self.inclusion_ok and self.checkpoint_bound
                and self.content_ok is not Finding.BROKEN)

    @property
    def family_status(self) -> str:
        """verified / partial (record withheld) / failed, as the verdict object spells it."""
        if not self.ok:
            return "failed"
        if self.payload_bound is Finding.UNDETERMINED:
            return "partial"
        return "verified"

    def to_json(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "envelope_ok": self.envelope_ok,
            "payload_bound": self.payload_bound.to_json(),
            "inclusion_ok": self.inclusion_ok,
            "checkpoint_bound": self.checkpoint_bound,
            "content_ok": self.content_ok.to_json(),
            "ok": self.ok,
        }


@dataclass(frozen=True, slots=True)
class TraceFindings:
    """Everything the anchor-trace walk established, in bundle order."""

    checkpoints: tuple[CheckpointFinding, ...]
    events: tuple[EventFinding, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "checkpoints": [c.to_json() for c in self.checkpoints],
            "events": [e.to_json() for e in self.events],
        }


EMPTY_TRACE_FINDINGS = TraceFindings((), ())


@dataclass(frozen=True, slots=True)
class AttestationFinding:
    """One embedded operator attestation (spec/evidence.md V23).

    `data_hash_bound` is the family flag made stricter (V23.9): the data hash must match the
    checkpoint's bytes *and* the attested `tx_id` must be that checkpoint. When the export
    carries only a `source_bundle_ref`, `binding_checked` is False: the checkpoint and
    data-hash bindings were not evaluated (their flags read false) and produce no failing
    check; the export is incomplete instead.
    """

    checkpoint_tx_id: str
    operator: str
    gateway: str | None
    level: int | None
    signature_ok: bool
    operator_address_bound: bool
    checkpoint_resolved: bool
    data_hash_matches: bool
    tx_id_bound: bool
    binding_checked: bool = True
    subject_ref_ok: Finding = Finding.UNDETERMINED

    @property
    def data_hash_bound(self) -> bool:
        return self.data_hash_matches and self.tx_id_bound

    @property
    def ok(self) -> bool:
        """Signature, operator address, checkpoint and data-hash bindings all hold."""
        return (self.signature_ok and self.operator_address_bound
                and self.checkpoint_resolved and self.data_hash_bound)

    def flags(self) -> dict[str, Any]:
        """The family's six per-attestation flags, JSON-encoded."""
        return {
            "signature_ok": self.signature_ok,
            "operator_address_bound": self.operator_address_bound,
            "data_hash_bound": self.data_hash_bound,
            "checkpoint_resolved": self.checkpoint_resolved,
            "subject_ref_ok": self.subject_ref_ok.to_json(),
            "ok": self.ok,
        }

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "checkpoint_tx_id": self.checkpoint_tx_id,
            "operator": self.operator,
            "gateway": self.gateway,
            "level": self.level,
        }
        out.update(self.flags())
        out["tx_id_bound"] = self.tx_id_bound
        out["binding_checked"] = self.binding_checked
        return out

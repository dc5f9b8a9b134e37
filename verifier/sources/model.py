"""What sources hand to the audit layer: the collected evidence for one audit target.

A `Collection` is built either from live systems (MLflow + gateways) or from an audit
bundle; the audit layer treats both alike and trusts none of the hints here — every
claim is re-derived from bytes by the kernel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class FetchStatus(str, Enum):
    """How obtaining one tx id's bytes went."""

    OK = "ok"
    NOT_FOUND = "not_found"
    UNAVAILABLE = "unavailable"
    DISAGREEMENT = "disagreement"
    TOO_LARGE = "too_large"
    OFFLINE = "offline"


@dataclass(frozen=True)
class FetchResult:
    """Bytes for one tx id and where they came from (`origin`: gateway URL, cache, bundle)."""

    tx_id: str
    status: FetchStatus
    data: bytes | None = None
    origin: str | None = None
    per_gateway: tuple[tuple[str, str], ...] = ()  # (gateway, outcome) for the report
    # What gateways asserted without proof (X-AR-IO-Digest, ETag, X-AR-IO-Verified, ...),
    # as (header, value): shown to people only labelled as claims.
    claims: tuple[tuple[str, str], ...] = ()


@dataclass
class EventRecord:
    """Everything known about one anchored event. Only bytes count; hints only guide."""

    tx_id: str | None
    envelope: bytes | None = None
    envelope_origin: str | None = None
    payload: bytes | None = None
    payload_origin: str | None = None
    data_item: bytes | None = None
    receipt: dict[str, Any] | None = None
    # The MLflow surface the record is re-derived from (see spec/audit-bundle.md §4):
    # training {run_id, params, metrics, tags, dataset_inputs, artifact_checksums},
    # registration {model_name, model_version, source, run_id, tags, run_tags},
    # prediction {trace_id, trace_tags}, dataset {name, digest, source, source_type, schema}.
    surface: dict[str, Any] | None = None
    hints: dict[str, str] = field(default_factory=dict)
    fetch: FetchResult | None = None


@dataclass
class Collection:
    """The evidence gathered for one audit target (model version, run or trace)."""

    target: str
    records: list[EventRecord] = field(default_factory=list)
    # run_id -> {relative POSIX path: sha256 hex} of the model artifact files as they are now.
    model_files: dict[str, dict[str, str]] = field(default_factory=dict)
    # Things the collector could not read, as (what, why) for the report.
    gaps: list[tuple[str, str]] = field(default_factory=list)
    # Where it was read from, for the report (an MLflow store: kind, schema revision read).
    source: dict[str, Any] = field(default_factory=dict)

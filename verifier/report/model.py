"""What the renderer is given: one finished audit, bounded, plus the facts about this run
of the report (inputs, digests, attachments, time). Built by `build.py`; read by the HTML
sections. Strings from evidence stay untrusted here: every section escapes them."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from verifier.audit.stream import AuditSummary, SourceInfo
from verifier.core.reasons import ReasonCode, Status

from .collect import Collected


#: Findings shown in full, their disagreeing values re-read from the source; later ones
#: are one table row each.
DETAILED = 30


def esc(value: Any) -> str:
    """HTML-escape any value (quotes included): the one way text enters the page."""
    return html.escape("" if value is None else str(value), quote=True)


@dataclass(frozen=True)
class Attachment:
    """One file embedded in the PDF (or left out, with `note` saying why)."""

    name: str
    description: str
    path: Path | None
    sha256: str
    size: int
    mime: str
    included: bool = True
    note: str = ""


@dataclass(frozen=True)
class CheckView:
    """One non-passing check of a finding, with the values that disagree."""

    check_id: str
    outcome: str
    reason: ReasonCode | None
    detail: str
    diffs: tuple[tuple[str, str, str], ...] = ()
    columns: tuple[str, str] = ("anchored (signed)", "current (source)")


@dataclass(frozen=True)
class Finding:
    """One event that is not verified (or an audit-level check that did not pass)."""

    label: str
    event_type: str
    tx_id: str
    seq: int | None
    status: Status
    reason: ReasonCode | None
    checks: tuple[CheckView, ...]


@dataclass
class ReportInput:
    source: SourceInfo
    summary: AuditSummary
    collected: Collected
    generated_at: datetime
    reproducible: bool
    tool_version: str
    spec_versions: tuple[str, ...]
    command: str
    recheck: str
    input_digests: list[tuple[str, str]] = field(default_factory=list)
    policy_sha256: str = ""
    policy_view: list[tuple[str, str]] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    findings_omitted: int = 0

    @property
    def status(self) -> Status:
        return self.summary.status

    @property
    def subject(self) -> dict[str, Any]:
        s = self.summary.result.subject
        return s if isinstance(s, dict) else {}

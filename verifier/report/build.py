"""From an `AuditRun` to the report's files: drive the run once (collect.py), gather the
findings with their disagreeing values, write the attachments (verdict JSON, events JSON
Lines), assemble the HTML and, when asked, the PDF. Every output is written atomically
(temporary file in the target's directory, then rename; without `force` a hard link that
fails if the target exists, so a file is never overwritten by accident)."""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import string
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from verifier import __version__
from verifier.audit.stream import AuditRun
from verifier.core.jcs import canonical
from verifier.core.profiles import ACCEPTED_MAJORS
from verifier.core.reasons import ReasonCode as R, Status
from verifier.core.result import Outcome

from .collect import Collected, clip, collect
from .diffs import PAYLOAD_ROW, disagreements
from .model import DETAILED, Attachment, CheckView, Finding, ReportInput, esc
from .page_one import mono, page_one
from .sections import body

#: Non-verified events listed (the first `DETAILED` in full, the rest one line each);
#: beyond, the attachment has them.
FINDINGS_SHOWN = 300
#: Longest check detail shown (details quote evidence).
DETAIL_CHARS = 600
#: The bundle is attached when at most this large (bytes).
DEFAULT_ATTACH_MAX = 32 * 1024 * 1024
PACKAGE_DIR = Path(__file__).resolve().parent


@dataclass
class ReportRequest:
    """What the command line asked for, in plain values (no argparse here)."""

    pdf: Path | None
    html: Path | None
    force: bool
    generated_at: datetime
    reproducible: bool
    gateways: tuple[str, ...] = ()
    quorum: int = 1
    trusted_keys_file: str | None = None
    command: str = ""
    recheck: str = ""
    attach_max: int = DEFAULT_ATTACH_MAX
    progress: Callable[[int], None] | None = None
    refused: list[str] = field(default_factory=list)


class OutputExists(Exception):
    """An output file exists and `force` was not given."""


def sha256_file(path: Path) -> tuple[str, int]:
    h, n = hashlib.sha256(), 0
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
            n += len(chunk)
    return h.hexdigest(), n


def publish(tmp: Path, target: Path, force: bool) -> None:
    """Move the finished `tmp` to `target` atomically (no overwrite without `force`)."""
    if force:
        if target.is_symlink() or (target.exists() and not target.is_file()):
            tmp.unlink(missing_ok=True)
            raise OutputExists(f"{target} (not a regular file)")
        os.replace(tmp, target)
        return
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise OutputExists(str(target)) from None
    finally:
        tmp.unlink(missing_ok=True)


def _write_temp(directory: Path, data: bytes | None = None) -> Path:
    fd, name = tempfile.mkstemp(prefix=".report-", suffix=".tmp", dir=directory)
    with os.fdopen(fd, "wb") as fh:
        if data is not None:
            fh.write(data)
    return Path(name)


def _findings(run: AuditRun, collected: Collected) -> tuple[list[Finding], int]:
    summary = run.summary
    out = [Finding(f"Audit-level check: {c.id}", "", "", None,
                   Status(c.outcome.value) if c.outcome.value in Status._value2member_map_ else Status.FAILED,
                   c.reason, (CheckView(c.id, c.outcome.value, c.reason, clip(c.detail, DETAIL_CHARS)),))
           for c in summary.result.checks
           if c.outcome not in (Outcome.PASSED, Outcome.SKIPPED) and c.id != "events"]
    failures = sorted(summary.failures, key=lambda e: e.seq)
    for i, ev in enumerate(failures[:FINDINGS_SHOWN]):
        s = ev.subject
        etype = s.get("event_type") if isinstance(s.get("event_type"), str) else ""
        bad = [c for c in ev.result.checks if c.outcome not in (Outcome.PASSED, Outcome.SKIPPED)]
        diffs: list[tuple[str, str, str]] = []
        if i < DETAILED:
            ph = s.get("payload_hash") if isinstance(s.get("payload_hash"), str) else ""
            diffs = disagreements({c.reason for c in bad if c.reason is not None}, etype, ph,
                                  lambda seq=ev.seq: run.evidence(seq))
        views = tuple(CheckView(c.id, c.outcome.value, c.reason, clip(c.detail, DETAIL_CHARS),
                                tuple(d for d in diffs if _belongs(c.reason, d)), _columns(c.reason, bad))
                      for c in bad)
        label = s.get("label") if isinstance(s.get("label"), str) else ""
        out.append(Finding(clip(label, 300), clip(etype, 80), clip(ev.tx_id or "", 120), ev.seq,
                           ev.status, ev.reason, views))
    omitted = max(0, len(failures) - FINDINGS_SHOWN) + summary.failures_omitted
    return out, omitted


def _belongs(reason: Any, diff: tuple[str, str, str]) -> bool:
    return (reason is R.PAYLOAD_HASH_MISMATCH) == (diff[0] == PAYLOAD_ROW)


def _columns(reason: Any, bad: list[Any]) -> tuple[str, str]:
    """Diff headings that never call unsigned bytes "signed": a payload that fails its
    hash is shown as supplied, not as anchored."""
    if reason is R.PAYLOAD_HASH_MISMATCH:
        return ("signed payload_hash", "SHA-256 of the payload bytes supplied")
    if any(c.reason is R.PAYLOAD_HASH_MISMATCH for c in bad):
        return ("payload as supplied (fails its signed hash)", "current (source)")
    return ("anchored (signed)", "current (source)")


def _policy(run: AuditRun, req: ReportRequest, subject: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    pol = dict(run.policy.to_json())
    pol.update({"offline": bool(run.source.offline), "gateways": list(req.gateways) if not run.source.offline else [],
                "quorum": req.quorum if not run.source.offline else None})
    keys = pol.get("trusted_keys") or []
    signers = pol.get("trusted_receipt_signers") or []
    bound, events = subject.get("bound", 0), subject.get("events", 0)
    view = [
        ("Signer keys", f"<b>pinned</b>: {len(keys)} key(s) (--trusted-keys)" if keys else
         '<b class="st-incomplete">NOT pinned</b>: any key\'s self-consistent proof verifies'),
        ("Receipt signer", "pinned: " + ", ".join(mono(s) for s in signers) if signers else
         "not pinned: witnessed times are claims"),
        ("Data item binding", ("required (--require-binding)" if pol.get("require_binding") else "not required")
         + f"; {_n(bound)} of {_n(events)} events bound"),
        ("Legacy envelopes", "accepted (--allow-legacy)" if pol.get("allow_legacy") else "refused"),
        ("Network", "offline: no connection opened" if run.source.offline else
         "online: " + ", ".join(mono(g) for g in req.gateways) + f", quorum {req.quorum}"),
        ("ar.io Verify", f"level ≥ {esc(pol['min_attestation_level'])} required"
         if pol.get("min_attestation_level") else "not required"),
    ]
    return pol, view


def _n(value: Any) -> str:
    """A count with thousands separators (anything else escaped as is)."""
    return f"{value:,}" if isinstance(value, int) else esc(value)


def _verdict_json(inp: ReportInput, policy: dict[str, Any]) -> bytes:
    s = inp.summary
    doc = s.result.to_json()
    doc.update({"counts": {k.value: v for k, v in s.counts.items()}, "by_reason": dict(s.by_reason),
                "failures": [e.to_json() for e in s.failures], "failures_omitted": s.failures_omitted,
                "source": {"kind": inp.source.kind, "label": inp.source.label,
                           "offline": inp.source.offline, **dict(inp.source.details)},
                "policy": policy, "policy_sha256": inp.policy_sha256,
                "report": {"tool": f"ario-verifier {inp.tool_version}", "generated_at": _stamp(inp),
                           "recheck": inp.recheck}})
    return json.dumps(doc, ensure_ascii=False, sort_keys=True, indent=1).encode() + b"\n"


def _stamp(inp: ReportInput) -> str:
    return inp.generated_at.strftime("%Y-%m-%dT%H:%M:%SZ")


def assemble_html(inp: ReportInput) -> str:
    """The whole report as one HTML document (stylesheet linked from the package)."""
    template = string.Template((PACKAGE_DIR / "report.html").read_text(encoding="utf-8"))
    verdict = inp.status.value.upper()
    title = f"Audit report: {verdict}"
    return template.substitute(
        title=esc(title), generator=esc(f"ario-verifier {inp.tool_version}"),
        description=esc(f"{verdict}: {inp.summary.events} events audited"),
        created=esc(_stamp(inp)),
        css=(PACKAGE_DIR / "report.css").read_text(encoding="utf-8"),
        running=esc(f"{title} · {inp.source.kind} {inp.source.label} · generated {_stamp(inp)}"),
        body=page_one(inp) + body(inp))


def build_report(run: AuditRun, req: ReportRequest) -> Status:
    """Drive `run`, write the requested outputs; the audit's status. Raises OutputExists."""
    targets = [p for p in (req.pdf, req.html) if p is not None]
    for t in targets:
        if t.exists() and not req.force:
            raise OutputExists(str(t))
    with tempfile.TemporaryDirectory(prefix="ario-report-") as tmpdir:
        tmp = Path(tmpdir)
        collected = collect(run, tmp / "events.jsonl.gz", req.progress)
        summary = run.summary
        subject = summary.result.subject if isinstance(summary.result.subject, dict) else {}
        policy, view = _policy(run, req, subject)
        digests: list[tuple[str, str]] = []
        bundle: Attachment | None = None
        if run.source.kind == "bundle" and Path(run.source.label).is_file():
            path = Path(run.source.label)
            digest, size = sha256_file(path)
            digests.append(("Audit bundle SHA-256", digest))
            small = size <= req.attach_max
            bundle = Attachment(path.name, "the audit bundle this report was made from", path, digest,
                                size, "application/zip", small,
                                "" if small else f"{size:,} bytes, over the {req.attach_max:,}-byte cap")
        if req.trusted_keys_file and Path(req.trusted_keys_file).is_file():
            digests.append(("Trusted keys file SHA-256", sha256_file(Path(req.trusted_keys_file))[0]))
        findings, omitted = _findings(run, collected)
        inp = ReportInput(run.source, summary, collected, req.generated_at, req.reproducible, __version__,
                          tuple(p.value for p in ACCEPTED_MAJORS), req.command, req.recheck, digests,
                          hashlib.sha256(canonical(policy)).hexdigest(), view, [], findings, omitted)
        verdict_path = tmp / "verdict.json"
        verdict_path.write_bytes(_verdict_json(inp, policy))
        vsha, vsize = sha256_file(verdict_path)
        inp.attachments = [
            Attachment("verdict.json", "the audit verdict, audit-level checks and policy (JSON)",
                       verdict_path, vsha, vsize, "application/json"),
            Attachment("events.jsonl.gz", "one JSON line per event with every check (gzip)",
                       collected.events_file, collected.events_sha256, collected.events_size,
                       "application/gzip")]
        if bundle is not None:
            inp.attachments.append(bundle)
        html_text = assemble_html(inp)
        if req.html is not None:
            publish(_write_temp(req.html.parent, html_text.encode("utf-8")), req.html, req.force)
        if req.pdf is not None:
            from .pdf import render_pdf

            out = _write_temp(req.pdf.parent)
            try:
                req.refused.extend(render_pdf(html_text, out, inp.attachments, req.generated_at))
                publish(out, req.pdf, req.force)
            finally:
                out.unlink(missing_ok=True)
    return summary.status

"""Human and JSON output of an audit `Result` (wording lives here, never in the engine)."""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO

from verifier.core.reasons import Status, meaning
from verifier.core.result import Outcome, Result
from verifier.core.textsafe import shown

from .render import check_line, use_colour

#: Audits with more events than this are shown as a summary unless --full is given.
FULL_LISTING = 40
#: A summary lists at most this many failing checks (the rest are counted; --json has all).
SUMMARY_LINES = 50


def render_audit_json(result: Result, extra: dict[str, Any] | None = None,
                      stream: TextIO | None = None) -> None:
    """One JSON object: status, reason, checks, subject (lineage graph), children (events)."""
    stream = stream or sys.stdout
    out = result.to_json()
    out["events"] = out.pop("children", [])
    if extra:
        out.update(extra)
    stream.write(json.dumps(out, ensure_ascii=True) + "\n")  # ASCII: no raw C1/bidi/surrogates


_STATUS_COLOUR = {Status.VERIFIED: "1;32", Status.INCOMPLETE: "1;33", Status.FAILED: "1;31",
                  Status.MALFORMED: "1;35"}


def _status(status: Status, colour: bool) -> str:
    text = status.value.upper()
    return f"\033[{_STATUS_COLOUR[status]}m{text}\033[0m" if colour else text


def _texts(subject: dict[str, Any]) -> dict[str, Any]:
    """The subject with its top-level strings made terminal-safe (they came from evidence)."""
    return {k: shown(v) if isinstance(v, str) else v for k, v in subject.items()}


def _event_block(i: int, ev: Result, colour: bool, stream: TextIO, width: int = 22) -> None:
    s = _texts(ev.subject)
    stream.write(f"\n[{i}] {s.get('label') or s.get('event_type') or 'event'}: "
                 f"{_status(ev.status, colour)}\n")
    facts = [f"tx {s.get('tx_id') or '(none)'}"]
    if s.get("event_type"):
        facts.append(f"type {s['event_type']}")
    if s.get("signed_at"):
        facts.append(f"signed_at {s['signed_at']} (claimed)")
    if s.get("witnessed_at"):
        facts.append(f"witnessed {s['witnessed_at']} (receipt)")
    if s.get("attestation_level") is not None:
        facts.append(f"ar.io Verify level {s['attestation_level']}")
    stream.write("    " + "; ".join(facts) + "\n")
    for check in ev.checks:
        stream.write(check_line(check, colour, "    ", width) + "\n")


def render_audit_human(result: Result, label: str, stream: TextIO | None = None,
                       summary: bool | None = None, seqs: list[int] | None = None) -> None:
    """Each event with each check and a one-line explanation, then lineage and verdict; or,
    with `summary` (default: more than FULL_LISTING events), the verdict, the counts and
    one line per failing check. `seqs`: the events' positions in the source when
    `result.children` holds only some of them (a large audit keeps only its failures)."""
    stream = stream or sys.stdout
    colour = use_colour(stream)
    children = list(result.children)
    if summary is None:
        summary = len(children) > FULL_LISTING
    s = _texts(result.subject)
    label = shown(label)
    named = subject_text(s.get("subject"))
    if named.startswith("("):  # nothing verified names a subject: lead with the input
        stream.write(f"Audit of {label} {named}\n")
    else:
        stream.write(f"Audit of {shown(named)} ({label})\n")
    target = s.get("target")
    if isinstance(target, str) and target and target != label:
        stream.write(f"  claimed target (the source's claim, not evidence): {target}\n")
    counts = s.get("by_event_type") or {}
    if counts:
        stream.write("  events: " + ", ".join(f"{n} {shown(t)}" for t, n in sorted(counts.items())) + "\n")
    width = max([22] + [len(shown(c.id)) for ev in children for c in ev.checks]
                + [len(shown(c.id)) for c in result.checks])
    if summary:
        _summary(result, children, colour, stream, width, seqs)
    else:
        for i, ev in enumerate(children):
            _event_block(seqs[i] if seqs is not None else i, ev, colour, stream, width)
        stream.write("\nLineage and completeness:\n")
        for check in result.checks:
            stream.write(check_line(check, colour, "  ", width) + "\n")
    _claims(s.get("claims"), stream)
    graph = s.get("graph") or {}
    if graph:
        stream.write(f"  graph: {_count(graph.get('nodes'))} node(s), "
                     f"{_count(graph.get('edges'))} link(s), roots {_count(graph.get('roots'))}, "
                     f"dangling {_count(graph.get('dangling'))}\n")
    if s.get("witnessed_at"):
        w = s["witnessed_at"]
        stream.write(f"  witnessed: {shown(w['earliest'])} .. {shown(w['latest'])} (Turbo receipts)\n")
    signers = s.get("signers") or []
    pinned = (s.get("policy") or {}).get("trusted_keys")
    if signers and pinned:
        stream.write(f"  signer key(s): {', '.join(map(shown, signers[:4]))} (pinned by --trusted-keys)\n")
    verdict = _status(result.status, colour)
    if result.reason is None:
        stream.write(f"\n{verdict}: every event verified ({s.get('events', 0)} event(s), "
                     f"{s.get('bound', 0)} bound to their tx id by a data item)\n")
    else:
        first = next((c for c in result.checks if c.reason is result.reason), None)
        why = first.detail if first is not None and first.detail else meaning(result.reason)
        stream.write(f"\n{verdict} [{result.reason.value}]: {shown(why)}\n")
    if signers and not pinned:
        keys = ", ".join(map(shown, signers[:4])) + (f" (+{len(signers) - 4} more)" if len(signers) > 4 else "")
        stream.write(f"SIGNER NOT PINNED: the envelopes are signed by {keys}; without "
                     "--trusted-keys any key is accepted, so anyone could have produced them\n")


def _summary(result: Result, children: list[Result], colour: bool, stream: TextIO,
             width: int, seqs: list[int] | None = None) -> None:
    """Counts per status, one line per failing event check (bounded), the audit's problems."""
    counts: dict[Status, int] = {}
    for ev in children:
        counts[ev.status] = counts.get(ev.status, 0) + 1
    by_status = result.subject.get("by_status")
    if seqs is not None and isinstance(by_status, dict):  # only some events are at hand
        counts = {st: by_status[st.value] for st in Status if by_status.get(st.value)}
    stream.write("  status: " + (", ".join(f"{counts[st]} {st.value}" for st in Status if counts.get(st))
                                 or "no events") + "\n")
    lines = problem_lines(result, seqs)
    if lines:
        stream.write("\nFailures:\n")
        for line in lines[:SUMMARY_LINES]:
            stream.write(f"  {line}\n")
        if len(lines) > SUMMARY_LINES:
            stream.write(f"  ... {len(lines) - SUMMARY_LINES} more (use --json or --full for every check)\n")
    bad = [c for c in result.checks if c.outcome not in (Outcome.PASSED, Outcome.SKIPPED)]
    if bad:
        stream.write("\nLineage and completeness problems:\n")
        for check in bad:
            stream.write(check_line(check, colour, "  ", width) + "\n")


_AGREEMENT = {"agree": "agrees", "contradicted": "CONTRADICTED (claimed pass fails here)",
              "disagreement": "DISAGREES (claimed failure verifies here)",
              "unchecked": "not checked here", "not_claimed": "no claim",
              "missing": "MISSING: no event with this tx id in the evidence",
              "not_anchored": "claimed not anchored"}


def _claims(report: Any, stream: TextIO) -> None:
    """Per claimed stage, where the plugin's report and this audit agree (A14)."""
    if not isinstance(report, dict):
        return
    stream.write(f"\nPlugin's own audit report (untrusted claims about model "
                 f"{shown(str(report.get('model')))} v{shown(str(report.get('version')))}):\n")
    stages = report.get("stages") or []
    for row in stages[:SUMMARY_LINES]:
        checks = ", ".join(f"{shown(n)} {_AGREEMENT.get(v['agreement'], v['agreement'])}"
                           for n, v in row["checks"].items())
        stream.write(f"  {shown(row['stage'])} {shown(row.get('tx_id') or '(no tx)')}: "
                     f"{_AGREEMENT.get(row['agreement'], row['agreement'])}"
                     + (f"; {checks}" if checks else "") + "\n")
    if len(stages) > SUMMARY_LINES:
        stream.write(f"  ... {len(stages) - SUMMARY_LINES} more stage(s) (use --json)\n")


def _count(part: Any) -> int:
    """A graph part's size: the list, or the count a large audit keeps instead."""
    return part if isinstance(part, int) else len(part or [])


def subject_text(subject: Any) -> str:
    """What the verified signed events name: "model M v3, run R, dataset D" (bounded)."""
    if not isinstance(subject, dict):
        return "(no verified event names a subject)"
    parts = [f"model {m.get('name')} v{m.get('version')}" for m in (subject.get("model_versions") or [])[:2]]
    parts += [f"run {r}" for r in (subject.get("run_ids") or [])[:2]]
    parts += [f"dataset {d.get('name')}" for d in (subject.get("datasets") or [])[:2]]
    traces = subject.get("trace_ids") or []
    if traces and not parts:
        parts.append(f"trace {traces[0]}")
    return ", ".join(parts) if parts else "(no verified event names a subject)"


def problem_lines(result: Result, seqs: list[int] | None = None) -> list[str]:
    """'label: check [reason] detail' for every non-passing event check (for summaries)."""
    out = []
    for i, ev in enumerate(result.children):
        n = seqs[i] if seqs is not None else i
        for c in ev.checks:
            if c.outcome not in (Outcome.PASSED, Outcome.SKIPPED) and c.reason is not None:
                out.append(shown(f"[{n}] {ev.subject.get('label', 'event')}: {c.id} "
                                 f"[{c.reason.value}] {c.detail}"))
    return out

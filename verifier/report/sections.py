"""The report's body after page 1: findings, lineage, event register, what was and was not
checked, compliance mapping and the appendix. Every evidence string goes through `esc`."""

from __future__ import annotations

from verifier.core.reasons import REASONS, Status, meaning

from .collect import PREDICTION, REGISTER_FULL, Collected, Row, clip
from .lineage_svg import TYPE_NAMES, lineage_svg
from .model import DETAILED, Finding, ReportInput, esc
from .page_one import mono
from .wording import (
    COMPLIANCE, COMPLIANCE_CAVEAT, MARK, NOT_CHECKED, RECIPE, STEPS, advice,
)

_ORDER = (Status.VERIFIED, Status.FAILED, Status.INCOMPLETE, Status.MALFORMED)


def status_cell(status: Status) -> str:
    return f'<span class="st st-{status.value}">{MARK[status]} {status.value}</span>'


def _short(value: str, keep: int = 10) -> str:
    """A long id cut in the middle, full value kept for copy-paste via the attachment."""
    return value if len(value) <= 2 * keep + 1 else f"{value[:keep]}…{value[-keep:]}"


def _finding(f: Finding) -> str:
    head = (f'<div class="finding st-border-{f.status.value}"><div class="fhead">{status_cell(f.status)} '
            f"<b>{esc(f.label or f.event_type)}</b>"
            + (f' <span class="muted">{esc(f.event_type)}</span>' if f.label and f.event_type else "")
            + (f'<br><span class="mono small">tx {esc(f.tx_id)}</span>' if f.tx_id else "")
            + "</div>")
    body = []
    for c in f.checks:
        code = esc(c.reason.value) if c.reason else esc(c.outcome)
        line = (f'<div class="fcheck"><span class="code">{code}</span> <b>{esc(c.check_id)}</b>: '
                f"{esc(meaning(c.reason)) if c.reason else ''}"
                + (f'<br><span class="detail">{esc(c.detail)}</span>' if c.detail else "") + "</div>")
        if c.diffs:
            rows = "".join(f'<tr><td>{esc(k)}</td><td class="mono">{esc(a)}</td><td class="mono">{esc(b)}</td></tr>'
                           for k, a, b in c.diffs)
            line += (f'<table class="diff"><tr><th>field</th><th>{esc(c.columns[0])}</th>'
                     f"<th>{esc(c.columns[1])}</th></tr>{rows}</table>")
        body.append(line)
    todo = advice(f.reason, f.status)
    return head + "".join(body) + (f'<div class="todo"><b>What to do:</b> {esc(todo)}</div>' if todo else "") + "</div>"


def _finding_row(f: Finding) -> str:
    first = f.checks[0] if f.checks else None
    code = f.reason.value if f.reason else (first.outcome if first else "")
    return (f"<tr><td>{status_cell(f.status)}</td><td>{esc(TYPE_NAMES.get(f.event_type, f.event_type))}</td>"
            f"<td>{esc(f.label)}</td><td class=\"mono\">{esc(_short(f.tx_id))}</td>"
            f'<td><span class="code">{esc(code)}</span> {esc(first.detail if first else "")}</td></tr>')


def findings(inp: ReportInput) -> str:
    if not inp.findings:
        return ('<section><h2>Findings</h2><p>None: every event verified and every audit-level '
                "check passed.</p></section>")
    omitted = (f'<p class="muted">{inp.findings_omitted:,} further non-verified event(s) are not '
               "shown here; every one is in the attached events.jsonl.gz.</p>" if inp.findings_omitted else "")
    by_reason = ", ".join(f'<span class="code">{esc(k)}</span> {v:,}'
                          for k, v in sorted(inp.summary.by_reason.items(), key=lambda kv: -kv[1]))
    per = f" Non-verified events per reason: {by_reason}." if by_reason else ""
    return (f"<section><h2>Findings</h2><p>{len(inp.findings):,} shown.{per}</p>"
            + "".join(_finding(f) for f in inp.findings[:DETAILED]) + _more(inp.findings[DETAILED:])
            + omitted + "</section>")


def _more(rest: list[Finding]) -> str:
    if not rest:
        return ""
    return (f'<h3>{len(rest):,} more, one line each</h3><table class="register findings-table">'
            "<tr><th>status</th><th>type</th><th>event</th><th>tx id</th><th>reason</th></tr>"
            + "".join(_finding_row(f) for f in rest) + "</table>")


def _when(ts: str) -> str:
    """An ISO time as 'YYYY-MM-DD HH:MM' (the full value is in the attachment)."""
    return ts[:16].replace("T", " ")


def _row(r: Row) -> str:
    return (f"<tr><td>{esc(TYPE_NAMES.get(r.event_type, r.event_type))}</td><td>{esc(r.label)}</td><td class=\"mono\">{esc(_when(r.signed_at))}</td>"
            f'<td class="mono">{esc(_when(r.witnessed_at))}</td><td class="mono">{esc(r.tx_id)}</td>'
            f'<td class="mono">{esc(r.signer[:7])}…</td><td>{status_cell(r.status)}</td></tr>')


_HEAD = ("<tr><th>type</th><th>event</th><th>signed (claimed)</th><th>witnessed</th><th>tx id</th>"
         "<th>signer</th><th>status</th></tr>")


def register(c: Collected) -> str:
    if c.events == 0:
        return "<section><h2>Event register</h2><p>No event could be read from the evidence.</p></section>"
    if c.rows is not None:
        rows = c.rows
        intro = f"All {c.events:,} events, in source order."
        tail = ""
    else:
        rows = c.nodes
        preds = c.by_type.get(PREDICTION, {})
        intro = (f"{c.events:,} events: more than {REGISTER_FULL}, so predictions are summarised and "
                 "the full register (one JSON line per event) is the attached events.jsonl.gz. "
                 "Every non-verified prediction is listed under Findings.")
        tail = ""
        if preds:
            cells = "".join(f"<td>{status_cell(s)} {preds.get(s, 0):,}</td>" for s in _ORDER)
            first, last = c.first.get(PREDICTION), c.last.get(PREDICTION)
            tail = (f'<h3>Predictions ({sum(preds.values()):,})</h3><table class="counts small"><tr>{cells}</tr></table>'
                    f'<table class="register events">{_HEAD}'
                    + (_row(first) if first else "") + (_row(last) if last and last is not first else "")
                    + '</table><p class="small muted">First and last prediction in source order.</p>')
        if c.nodes_omitted:
            tail += f'<p class="muted">{c.nodes_omitted:,} further lifecycle events are in the attachment.</p>'
    return (f"<section><h2>Event register</h2><p>{intro}</p>"
            f'<table class="register events">{_HEAD}{"".join(_row(r) for r in rows)}</table>{tail}</section>')


def checks(inp: ReportInput) -> str:
    c = inp.collected
    rows = []
    for cid, name, what in STEPS:
        per = c.checks.get(cid, {})
        passed, skipped = per.get("passed", 0), per.get("skipped", 0)
        bad = sum(v for k, v in per.items() if k not in ("passed", "skipped"))
        worst = next((st for st in ("malformed", "failed", "incomplete") if per.get(st)), None)
        cls = f"st-{worst}" if worst else ("muted" if not passed else "")
        rows.append(f"<tr><td><b>{esc(name)}</b><br><span class=\"small muted\">{esc(what)}</span></td>"
                    f"<td class=\"num\">{passed:,}</td><td class=\"num {cls}\">{bad:,}</td><td class=\"num\">{skipped:,}</td></tr>")
    audit_rows = "".join(
        f'<tr><td class="mono">{esc(ch.id)}</td><td class="oc-{esc(ch.outcome.value)}">{esc(ch.outcome.value)}</td>'
        f"<td>{esc(clip(ch.detail, 600))}</td></tr>" for ch in inp.summary.result.checks)
    nots = "".join(f"<li><b>{esc(k)}.</b> {esc(v)}</li>" for k, v in NOT_CHECKED)
    if c.events == 0:
        steps = "<p>No event was read, so no per-event step ran.</p>"
    else:
        steps = ('<table class="steps"><tr><th>step (per event)</th><th class="num">passed</th><th class="num">not passed</th>'
                 f"<th class=\"num\">skipped</th></tr>{''.join(rows)}</table>")
    return ("<section><h2>What was checked, and what was not</h2>" + steps +
            f'<h3>Audit-level checks</h3><table class="register audit">{audit_rows}</table>'
            f"<h3>Not established by this audit</h3><ul>{nots}</ul></section>")


def compliance() -> str:
    rows = "".join(f"<tr><td><b>{esc(a)}</b></td><td>{esc(b)}</td><td>{esc(c)}</td></tr>" for a, b, c in COMPLIANCE)
    return ("<section><h2>Compliance mapping</h2>"
            f'<p class="caveat">{esc(COMPLIANCE_CAVEAT)}</p>'
            f'<table class="register compliance"><tr><th>framework</th><th>clause</th><th>what this evidence supports</th></tr>{rows}</table>'
            "</section>")


def appendix(inp: ReportInput) -> str:
    steps = "".join(f"<li>{esc(s)}</li>" for s in RECIPE)
    gloss = "".join(f'<tr><td class="mono">{esc(code.value)}</td><td>{esc(st.value)}</td><td>{esc(text)}</td></tr>'
                    for code, (st, text) in REASONS.items())
    return ("<section class=\"appendix\"><h2>Appendix A: re-verify without this tool</h2>"
            f"<ol>{steps}</ol>"
            "<h2>Appendix B: the commands</h2>"
            f'<table class="kv"><tr><th>This report</th><td><code class="cmd">{esc(inp.command)}</code></td></tr>'
            f'<tr><th>Re-check</th><td><code class="cmd">{esc(inp.recheck)}</code></td></tr></table>'
            "<h2>Appendix C: reason codes</h2>"
            f'<table class="glossary"><tr><th>code</th><th>status</th><th>meaning</th></tr>{gloss}</table></section>')


def lineage(inp: ReportInput) -> str:
    return ("<section class=\"lineage\"><h2>Lineage</h2><p class=\"small\">Datasets → training → registration → "
            "promotions → predictions, as the events link them (previous_hash). "
            "✓ verified, ✗ failed, ~ incomplete, ! malformed.</p>"
            f"{lineage_svg(inp.collected)}</section>")


def body(inp: ReportInput) -> str:
    return findings(inp) + lineage(inp) + register(inp.collected) + checks(inp) + compliance() + appendix(inp)


__all__ = ["body", "mono"]

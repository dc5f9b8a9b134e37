"""Page 1, for the reader who reads one page: verdict, subject, period, counts, policy,
evidence digests, attachments, versions, the re-check block and the scope statement."""

from __future__ import annotations

from typing import Any, Iterable

from verifier.core.reasons import Status, meaning

from .collect import clip
from .model import ReportInput, esc
from .wording import HEADLINE, MARK, SCOPE, WORD

_STATUS_ORDER = (Status.VERIFIED, Status.FAILED, Status.INCOMPLETE, Status.MALFORMED)
#: At most this many of each subject kind (model versions, runs, datasets, signers) shown.
SHOWN = 4


def cut(value: Any, limit: int = 300) -> str:
    """An evidence value as text, at most `limit` characters (the attachments hold it whole)."""
    return clip("" if value is None else str(value), limit)


def kv_table(rows: Iterable[tuple[str, str]], cls: str = "kv") -> str:
    """Rows of (label, already-escaped HTML)."""
    body = "".join(f"<tr><th>{esc(k)}</th><td>{v}</td></tr>" for k, v in rows)
    return f'<table class="{cls}">{body}</table>'


def mono(value: Any) -> str:
    return f'<span class="mono">{esc(cut(value))}</span>'


def _listed(items: list[str], total: int) -> str:
    more = f" <span class=\"muted\">(+{total - len(items)} more)</span>" if total > len(items) else ""
    return ", ".join(items) + more if items else '<span class="muted">none</span>'


def subject_rows(subject: Any) -> list[tuple[str, str]]:
    """The subject as the verified signed events name it (never the source's claim)."""
    s = subject if isinstance(subject, dict) else {}
    mvs = [m for m in (s.get("model_versions") or []) if isinstance(m, dict)]
    runs = [r for r in (s.get("run_ids") or []) if isinstance(r, str)]
    dss = [d for d in (s.get("datasets") or []) if isinstance(d, dict)]
    return [
        ("Model", _listed([f"<b>{esc(cut(m.get('name')))}</b> version {esc(cut(m.get('version')))}"
                           for m in mvs[:SHOWN]], len(mvs))),
        ("Training run", _listed([mono(r) for r in runs[:SHOWN]], len(runs))),
        ("Datasets", _listed([f"{esc(cut(d.get('name')))} {mono('digest ' + str(d.get('digest')))}"
                              for d in dss[:SHOWN]], len(dss))),
    ]


def _period(s: dict[str, Any], inp: ReportInput) -> list[tuple[str, str]]:
    def span(v: Any) -> str:
        if not isinstance(v, dict) or not v.get("earliest"):
            return '<span class="muted">none</span>'
        a, b = v.get("earliest"), v.get("latest")
        return mono(a) if a == b else f"{mono(a)} to {mono(b)}"

    pinned = bool((s.get("policy") or {}).get("trusted_receipt_signers"))
    note = ("receipt signer pinned by the policy" if pinned
            else "receipt signer NOT pinned: as good as a claim")
    def with_note(v: Any, text: str) -> str:
        present = isinstance(v, dict) and v.get("earliest")
        return span(v) + (f' <span class="muted">{text}</span>' if present else "")

    return [("Claimed (signed_at)", with_note(s.get("signed_at"), "the producer's claim")),
            ("Witnessed (receipts)", with_note(s.get("witnessed_at"), note))]


def _counts(inp: ReportInput) -> str:
    counts = inp.summary.counts
    cells = "".join(
        f'<td class="count st-{st.value}"><span class="mark">{MARK[st]}</span> '
        f"{counts.get(st, 0):,}<br><small>{st.value}</small></td>" for st in _STATUS_ORDER)
    by_type = inp.collected.by_type
    types = ", ".join(f"{sum(v.values()):,} {esc(t)}" for t, v in sorted(by_type.items()))
    return (f'<table class="counts"><tr>{cells}<td class="count total">{inp.summary.events:,}'
            f"<br><small>events</small></td></tr></table>"
            f'<p class="small">{types or "no events"}</p>')


def _verdict(inp: ReportInput) -> str:
    st = inp.status
    r = inp.summary.result
    why = ""
    if r.reason is not None:
        first = next((c for c in r.checks if c.reason is r.reason), None)
        why = (f'<div class="why"><span class="code">{esc(r.reason.value)}</span> '
               f"{esc(meaning(r.reason))}"
               + (f'<br><span class="detail">{esc(cut(first.detail, 600))}</span>' if first and first.detail else "")
               + "</div>")
    return (f'<div class="verdict st-{st.value}"><div class="word"><span class="mark">{MARK[st]}</span> '
            f"{WORD[st]}</div><div class=\"headline\">{esc(HEADLINE[st])}</div>{why}</div>")


def _evidence(inp: ReportInput) -> list[tuple[str, str]]:
    rows = [(what, mono(digest)) for what, digest in inp.input_digests]
    if inp.source.kind != "bundle":
        rows.insert(0, ("Evidence", "read live from MLflow: no single file digest; the attached "
                        "events.jsonl.gz is what was audited (export a bundle to freeze it)"))
    for a in inp.attachments:
        if a.included and any(d == a.sha256 for _, d in inp.input_digests):
            rows.append((f"Attached {a.name}", f'the audit bundle above <span class="muted">{a.size:,} bytes</span>'))
        elif a.included:
            rows.append((f"Attached {a.name}", f"{mono(a.sha256)} <span class=\"muted\">{a.size:,} bytes</span>"))
        else:
            rows.append((f"Not attached: {a.name}", f'<span class="muted">{esc(a.note)}</span>'))
    return rows


def recheck_block(inp: ReportInput) -> str:
    signers = [x for x in (inp.subject.get("signers") or []) if isinstance(x, str)]
    rows = [("Command", f'<code class="cmd">{esc(inp.recheck)}</code>')]
    rows += [(what, mono(d)) for what, d in inp.input_digests]
    rows.append(("Signer keys (Ed25519)", "<br>".join(mono(k) for k in signers[:SHOWN])
                 + (f' <span class="muted">(+{len(signers) - SHOWN} more)</span>' if len(signers) > SHOWN else "")
                 if signers else '<span class="muted">none verified</span>'))
    rows.append(("Policy SHA-256", mono(inp.policy_sha256) + ' <span class="muted">(RFC 8785 JSON '
                 "of the policy table, in the attached verdict JSON)</span>"))
    return ('<div class="recheck"><h3>Re-check this verdict</h3>' + kv_table(rows) +
            '<p class="small">Same inputs and policy give the same verdict; the appendix shows how '
            "to re-verify without this tool.</p></div>")


def page_one(inp: ReportInput) -> str:
    s = inp.subject
    src = inp.source
    target = s.get("target")
    claim = ('<p class="small muted">Only verified signed events name the subject; events that did '
             "not verify name nothing here."
             + (f" The evidence claims to be about {mono(target)}: a claim, checked against the "
                "signed events (see findings)." if isinstance(target, str) and target else "") + "</p>")
    versions = (f"ario-verifier {esc(inp.tool_version)}; envelope profiles "
                + ", ".join(mono(v) for v in inp.spec_versions))
    when = mono(inp.generated_at.strftime("%Y-%m-%dT%H:%M:%SZ")) + (
        ' <span class="muted">(SOURCE_DATE_EPOCH)</span>' if inp.reproducible else "")
    source_text = (f"audit bundle {mono(src.label)}" if src.kind == "bundle"
                   else f"MLflow {mono(src.label)} at {mono(src.details.get('tracking_uri', ''))}")
    return (
        '<section class="page-one">'
        f'<header><div class="title">ML provenance audit report</div>'
        f'<div class="sub">{source_text}</div></header>'
        + _verdict(inp)
        + '<div class="cols"><div class="col">'
        + "<h3>Subject, as the verified signed events show it</h3>" + kv_table(subject_rows(s.get("subject"))) + claim
        + "<h3>Period the events cover</h3>" + kv_table(_period(s, inp))
        + "<h3>Events</h3>" + _counts(inp)
        + '</div><div class="col">'
        + "<h3>Trust policy</h3>" + kv_table([(k, v) for k, v in inp.policy_view])
        + "<h3>Evidence and attachments (SHA-256)</h3>" + kv_table(_evidence(inp))
        + kv_table([("Tool and spec", versions), ("Generated", when)])
        + "</div></div>"
        + recheck_block(inp)
        + f'<div class="scope"><b>Scope.</b> {esc(SCOPE)}</div>'
        + "</section>")

"""Reports of a conformance run: summary table, JUnit XML, JSON."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections import Counter
from typing import Any, Sequence

from verifier.core.textsafe import shown

from .corpus import Corpus
from .model import FAMILIES, CaseResult, Outcome, Problem
from .runner import RunResult

REPORT_FORMAT = "ario-conformance-report/1"
_COLUMNS = ("cases", "passed", "failed", "xfail", "xpass", "n/a", "outputs n/a")
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _group_key(r: CaseResult) -> tuple[str, str]:
    return r.case.corpus, r.case.family


def _ordered_groups(results: Sequence[CaseResult]) -> list[tuple[str, str]]:
    corpora: list[str] = []
    for r in results:
        if r.case.corpus not in corpora:
            corpora.append(r.case.corpus)
    keys = {_group_key(r) for r in results}
    order = list(FAMILIES) + sorted({f for _, f in keys} - set(FAMILIES))
    return [(c, f) for c in corpora for f in order if (c, f) in keys]


def summarize(results: Sequence[CaseResult]) -> dict[tuple[str, str], Counter]:
    groups: dict[tuple[str, str], Counter] = {k: Counter() for k in _ordered_groups(results)}
    for r in results:
        c = groups[_group_key(r)]
        c["cases"] += 1
        c[{Outcome.PASSED: "passed", Outcome.FAILED: "failed", Outcome.XFAIL: "xfail",
           Outcome.XPASS: "xpass", Outcome.NOT_APPLICABLE: "n/a"}[r.outcome]] += 1
        c["outputs n/a"] += len(r.outputs_not_applicable)
    return groups


def render_table(run: RunResult, corpora: Sequence[Corpus], *, verbose: bool = False) -> str:
    out: list[str] = []
    h = run.hello
    who = f"{h.name} {h.version}".strip() if h else "(no handshake)"
    out.append(f"implementation: {who}  [{run.implementation.display()}]  mode={run.mode}")
    if h:
        out.append(f"declared families: {', '.join(sorted(h.families)) or '-'}; "
                   f"capabilities: {', '.join(sorted(h.capabilities)) or '-'}")
    for c in corpora:
        line = f"corpus {c.label or c.kind}: {len(c.cases)} cases from {c.root}"
        out.append(line + (f" ({c.version})" if c.version else ""))
        if verbose:
            out.extend(f"  note: {n}" for n in c.notes)
    out.append("")
    groups = summarize(run.results)
    widths = [max(14, *(len(k[0]) for k in groups)) if groups else 14, 12]
    header = f"{'corpus':<{widths[0]}} {'family':<{widths[1]}}" + "".join(f"{c:>8}" if c != "outputs n/a" else f"{c:>13}" for c in _COLUMNS)
    out.append(header)
    out.append("-" * len(header))
    total: Counter = Counter()
    for (corpus, family), cnt in groups.items():
        total.update(cnt)
        out.append(_row(corpus, family, cnt, widths))
    out.append("-" * len(header))
    out.append(_row("total", "", total, widths))

    unexpected = run.unexpected
    if run.handshake_error:
        out += ["", f"HANDSHAKE FAILED: {run.handshake_error}"]
    if run.handshake_error and all(r.problem is Problem.NO_HANDSHAKE for r in unexpected):
        if unexpected:  # one cause: the handshake; no case ran, so none is listed
            out.append(f"  no case ran: {len(unexpected)} case(s) failed with no_handshake")
    elif unexpected:
        out += ["", f"UNEXPECTED RESULTS ({len(unexpected)}):"]
        for r in unexpected:
            tag = "UNEXPECTEDLY PASSING" if r.outcome is Outcome.XPASS else \
                f"FAILED ({r.problem.value if r.problem else 'failed'})"
            out.append(f"  {tag}  {r.case.id}  [{r.case.family}, expected {r.case.expected.describe()}]")
            for line in r.detail.split("\n"):
                out.append(f"      {line}")
    if run.stale_expected:
        out += ["", f"STALE EXPECTED FAILURES ({len(run.stale_expected)}) - listed but not run:"]
        out += [f"  {cid}" for cid in run.stale_expected]
    if verbose:
        xf = [r for r in run.results if r.outcome is Outcome.XFAIL]
        if xf:
            out += ["", f"expected failures ({len(xf)}):"]
            out += [f"  {r.case.id}: {r.expected_failure_reason}" for r in xf]
    out.append("")
    n_app = total["cases"] - total["n/a"] - sum(r.problem is Problem.NO_HANDSHAKE for r in run.results)
    verdict = "PASS" if run.ok else "FAIL"
    out.append(f"conformance {verdict}: {total['passed']} passed, {total['failed']} failed, "
               f"{total['xfail']} expected failures, {total['xpass']} unexpectedly passing, "
               f"{total['n/a']} not applicable ({n_app} of {total['cases']} cases run) "
               f"in {run.seconds:.2f}s, {run.starts} process start(s)")
    # Case ids, details, names and paths came from corpora and from the implementation:
    # every line is made terminal-safe as a whole (the table adds no control characters).
    return "\n".join(map(shown, out)) + "\n"


def _row(corpus: str, family: str, cnt: Counter, widths: list[int]) -> str:
    cells = "".join(f"{cnt[c]:>8}" if c != "outputs n/a" else f"{cnt[c]:>13}" for c in _COLUMNS)
    return f"{corpus:<{widths[0]}} {family:<{widths[1]}}{cells}"


def _clean(text: str) -> str:
    return _XML_BAD.sub("\ufffd", text)


def junit_xml(run: RunResult) -> bytes:
    """JUnit XML: one testsuite per corpus/family, one testcase per case."""
    root = ET.Element("testsuites", name="ario-verifier conformance")
    totals = Counter()
    by_group: dict[tuple[str, str], list[CaseResult]] = {}
    for r in run.results:
        by_group.setdefault(_group_key(r), []).append(r)
    for corpus, family in _ordered_groups(run.results):
        rs = by_group[(corpus, family)]
        suite = ET.SubElement(root, "testsuite", name=f"{corpus}.{family}")
        cnt = Counter()
        for r in rs:
            tc = ET.SubElement(suite, "testcase", classname=f"conformance.{corpus}.{family}",
                               name=_clean(r.case.id), time=f"{r.seconds:.6f}")
            cnt["tests"] += 1
            if r.outcome is Outcome.FAILED:
                crashed = r.problem not in (Problem.MISMATCH, None)
                kind = "error" if crashed else "failure"
                el = ET.SubElement(tc, kind, type=r.problem.value if r.problem else "failed",
                                   message=_clean(r.detail.splitlines()[0] if r.detail else "failed"))
                el.text = _clean(f"expected {r.case.expected.describe()}\n{r.detail}")
                cnt["errors" if crashed else "failures"] += 1
            elif r.outcome is Outcome.XPASS:
                el = ET.SubElement(tc, "failure", type="unexpectedly_passing",
                                   message="listed as an expected failure but passed")
                el.text = _clean(f"expected failure reason: {r.expected_failure_reason}")
                cnt["failures"] += 1
            elif r.outcome is Outcome.XFAIL:
                ET.SubElement(tc, "skipped", message=_clean(f"expected failure: {r.expected_failure_reason}"))
                cnt["skipped"] += 1
            elif r.outcome is Outcome.NOT_APPLICABLE:
                ET.SubElement(tc, "skipped", message=_clean(f"not applicable: {r.detail}"))
                cnt["skipped"] += 1
        for k in ("tests", "failures", "errors", "skipped"):
            suite.set(k, str(cnt[k]))
        suite.set("time", f"{sum(r.seconds for r in rs):.6f}")
        totals.update(cnt)
    if run.stale_expected or run.handshake_error:
        suite = ET.SubElement(root, "testsuite", name="runner")
        n = 0
        for cid in run.stale_expected:
            tc = ET.SubElement(suite, "testcase", classname="conformance.expected_failures", name=_clean(cid))
            ET.SubElement(tc, "failure", type="stale_expected_failure",
                          message="listed as expected failure but not run")
            n += 1
        if run.handshake_error:
            tc = ET.SubElement(suite, "testcase", classname="conformance.runner", name="handshake")
            ET.SubElement(tc, "error", type="no_handshake", message=_clean(run.handshake_error))
            n += 1
        suite.set("tests", str(n))
        suite.set("failures", str(len(run.stale_expected)))
        suite.set("errors", "1" if run.handshake_error else "0")
        suite.set("skipped", "0")
        totals["tests"] += n
        totals["failures"] += len(run.stale_expected)
        totals["errors"] += 1 if run.handshake_error else 0
    for k in ("tests", "failures", "errors", "skipped"):
        root.set(k, str(totals[k]))
    root.set("time", f"{run.seconds:.6f}")
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def json_report(run: RunResult, corpora: Sequence[Corpus]) -> dict[str, Any]:
    groups = summarize(run.results)
    total: Counter = Counter()
    for cnt in groups.values():
        total.update(cnt)
    return {
        "format": REPORT_FORMAT,
        "ok": run.ok,
        "implementation": {
            "command": run.implementation.argv,
            "hello": run.hello.to_json() if run.hello else None,
            "handshake_error": run.handshake_error or None,
        },
        "mode": run.mode,
        "seconds": round(run.seconds, 3),
        "process_starts": run.starts,
        "corpora": [c.summary() for c in corpora],
        "summary": [
            {"corpus": k[0], "family": k[1], **{c.replace(" ", "_").replace("/", ""): v[c] for c in _COLUMNS}}
            for k, v in groups.items()
        ],
        "totals": {c.replace(" ", "_").replace("/", ""): total[c] for c in _COLUMNS},
        "unexpected": [r.case.id for r in run.unexpected],
        "stale_expected_failures": run.stale_expected,
        "ignored_expected_failures": run.ignored_expected,
        "cases": [r.to_json() for r in run.results],
    }


def dumps_report(report: dict[str, Any]) -> str:
    # ASCII: a lone surrogate from a corpus file becomes an escape, never an encode error.
    return json.dumps(report, indent=2, ensure_ascii=True) + "\n"

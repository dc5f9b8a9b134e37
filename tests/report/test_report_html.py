"""The report's HTML from a hand-made audit stream: evidence strings are escaped everywhere
(page 1, findings, register, lineage SVG), large audits are summarised in bounded memory,
the stream is consumed once, and the URL fetcher serves only the package's files."""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from verifier.audit.policy import DEFAULT_AUDIT_POLICY
from verifier.audit.stream import AuditRun, EventResult, SourceInfo
from verifier.core.reasons import ReasonCode as R
from verifier.core.result import make_result, passed, problem
from verifier.report.build import ReportRequest, build_report
from verifier.report.collect import NODE_CAP, OTHER, PARENT_CAP, REGISTER_FULL, TYPE_CAP

EVIL = '<script>alert(1)</script><img src="http://evil.example/x">&amp;'


def _event(seq: int, etype: str, *, bad: bool = False, label: str = "", previous: str = "GENESIS") -> EventResult:
    checks = [passed("signature")]
    if bad:
        checks.append(problem("record", R.RECORD_MISMATCH, f"differs: {EVIL}"))
    subject = {"tx_id": f"tx{seq:040d}", "event_type": etype, "label": label or f"{etype} {seq}",
               "signed_at": "2026-01-01T00:00:00+00:00", "public_key": "ab" * 32,
               "previous_hash": previous}
    return EventResult(seq, make_result("event", checks, subject))


def _run(events: list[EventResult], subject: dict | None = None) -> AuditRun:
    bad = [e for e in events if e.status.value != "verified"]
    checks = [problem("events", bad[0].reason, "some failed")] if bad else [passed("events")]
    result = make_result("audit", checks, {"events": len(events), "target": EVIL, **(subject or {})})
    return AuditRun(SourceInfo("bundle", EVIL, True, {}), DEFAULT_AUDIT_POLICY,
                    lambda: iter(events), lambda: result, total=len(events))


def _html(run: AuditRun, tmp_path: Path) -> str:
    out = tmp_path / "r.html"
    req = ReportRequest(pdf=None, html=out, force=False,
                        generated_at=datetime(2026, 1, 2, tzinfo=timezone.utc), reproducible=True)
    build_report(run, req)
    return out.read_text()


def test_every_evidence_string_is_escaped(tmp_path):
    events = [_event(0, "dataset", label=EVIL), _event(1, "training_complete", label=EVIL, bad=True),
              _event(2, EVIL, label=EVIL), _event(3, "prediction", label=EVIL, previous=EVIL)]
    subject = {"subject": {"model_versions": [{"name": EVIL, "version": EVIL}], "run_ids": [EVIL],
                           "datasets": [{"name": EVIL, "digest": EVIL}]},
               "signers": [EVIL], "signed_at": {"earliest": EVIL, "latest": EVIL}}
    html = _html(_run(events, subject), tmp_path)
    assert "<script" not in html and "<img" not in html and "evil.example/x\">" not in html
    assert html.count("&lt;script&gt;") >= 8  # page 1, findings, register, lineage...
    assert "FAILED" in html and "record_mismatch" in html


def test_large_audit_is_summarised_and_bounded(tmp_path):
    n = REGISTER_FULL + 400
    events = [_event(0, "dataset"), _event(1, "training_complete", previous="GENESIS")]
    events += [_event(i, "prediction", previous="tx" + "0" * 39 + "1", bad=(i % 97 == 0))
               for i in range(2, n)]
    run = _run(list(reversed(events)))  # decided out of source order
    html = _html(run, tmp_path)
    assert "predictions are summarised" in html
    assert html.count("<tr><td>prediction</td>") == 2  # only first and last prediction rows
    failures = sum(1 for i in range(2, n) if i % 97 == 0)
    assert html.count('class="finding ') == failures
    assert f"{n - 2:,} predictions" in html  # one lineage box for the whole group


def test_many_failures_are_listed_compactly_then_left_to_the_attachment(tmp_path):
    from verifier.report.build import FINDINGS_SHOWN
    from verifier.report.model import DETAILED

    n = FINDINGS_SHOWN + 120
    events = [_event(i, "prediction", bad=True) for i in range(n)]
    html = _html(_run(events), tmp_path)
    assert html.count('class="finding ') == DETAILED
    assert f"{FINDINGS_SHOWN - DETAILED:,} more, one line each" in html
    assert html.count('<tr><td><span class="st st-failed">') == FINDINGS_SHOWN - DETAILED
    assert "120 further non-verified event(s)" in html


def test_collect_keeps_bounded_state_and_writes_every_event(tmp_path):
    from verifier.report.collect import collect

    events = [_event(i, "stage_transition") for i in range(NODE_CAP + 25)]
    events += [_event(NODE_CAP + 25 + i, "prediction") for i in range(300)]
    c = collect(iter(events), tmp_path / "e.jsonl.gz")
    assert c.rows is None and len(c.nodes) == NODE_CAP and c.nodes_omitted == 25
    assert sum(c.predictions_by_parent["GENESIS"].values()) == 300
    lines = gzip.decompress((tmp_path / "e.jsonl.gz").read_bytes()).splitlines()
    assert [json.loads(x)["seq"] for x in lines] == list(range(len(events)))


def test_evidence_chosen_names_do_not_grow_the_roll_up(tmp_path):
    """Thousands of distinct event types or prediction parents (strings the evidence
    chooses) are counted apart only up to a cap; every event is still counted."""
    from verifier.report.collect import collect

    events = [_event(i, f"type-{i}") for i in range(1000)]
    events += [_event(1000 + i, "prediction", previous=f"p{i}") for i in range(1000)]
    c = collect(iter(events), tmp_path / "e.jsonl.gz")
    assert len(c.by_type) == TYPE_CAP + 2 and len(c.first) == len(c.last) == TYPE_CAP + 2  # + other, prediction
    assert sum(c.by_type["prediction"].values()) == 1000
    assert sum(sum(v.values()) for v in c.by_type.values()) == 2000
    assert len(c.predictions_by_parent) == PARENT_CAP + 1
    assert sum(c.predictions_by_parent[OTHER].values()) == 1000 - PARENT_CAP


def test_fetcher_serves_only_package_files():
    from verifier.report.pdf import PACKAGE_DIR, PackageOnlyFetcher

    font = PACKAGE_DIR / "fonts" / "DejaVuSans.ttf"
    f = PackageOnlyFetcher()
    assert f.resolve(font.as_uri()) == font
    assert f.fetch(font.as_uri()).read()[:4] == b"\x00\x01\x00\x00"
    for url in ("http://127.0.0.1:9/x.css", "https://example.com/font.ttf", "file:///etc/passwd",
                (PACKAGE_DIR / ".." / ".." / "pyproject.toml").as_uri(), "file://host/share/x",
                "data:text/css,body{}", (PACKAGE_DIR / "missing.css").as_uri()):
        assert f.resolve(url) is None, url
        with pytest.raises(ValueError):
            f.fetch(url)
    assert len(f.refused) == 7


def test_font_subset_times_are_the_report_time(tmp_path):
    """Without SOURCE_DATE_EPOCH the embedded font subsets carry the generated-at time, not
    the render's clock, so that time is the only thing that varies between renders."""
    import io
    import os

    from fontTools.misc.timeTools import epoch_diff
    from fontTools.ttLib import TTFont
    from pypdf import PdfReader

    from verifier.report.pdf import render_pdf

    stamp = datetime(2001, 2, 3, 4, 5, 6, tzinfo=timezone.utc)
    expected = int(os.environ.get("SOURCE_DATE_EPOCH") or stamp.timestamp())
    out = tmp_path / "x.pdf"
    render_pdf('<p style="font-family: \'Report Sans\'">x</p><style>@font-face { font-family: '
               '"Report Sans"; src: url("fonts/DejaVuSans.ttf"); }</style>', out, [], stamp)
    times = []
    reader = PdfReader(out)
    for page in reader.pages:
        for f in page["/Resources"]["/Font"].values():
            font = f.get_object()
            desc = (font["/DescendantFonts"][0].get_object()["/FontDescriptor"] if "/DescendantFonts" in font
                    else font["/FontDescriptor"]).get_object()
            data = desc["/FontFile2"].get_object().get_data()
            times.append(TTFont(io.BytesIO(data))["head"].modified + epoch_diff)
    # fontTools subsetting stamps SOURCE_DATE_EPOCH; HarfBuzz-Subset (when installed) keeps
    # the shipped file's own time. Either is fixed; the render's clock never appears.
    from verifier.report.pdf import PACKAGE_DIR

    shipped = TTFont(PACKAGE_DIR / "fonts" / "DejaVuSans.ttf")["head"].modified + epoch_diff
    assert times and all(t in (expected, shipped) for t in times), (times, expected, shipped)
    assert "SOURCE_DATE_EPOCH" not in os.environ or os.environ["SOURCE_DATE_EPOCH"] == str(expected)


def test_huge_evidence_strings_are_cut_for_display(tmp_path):
    """A megabyte label or detail does not make a megabyte page: display is cut (the
    attachment keeps every event whole)."""
    huge = "A" * 1_000_000
    events = [_event(0, "training_complete", label=huge, bad=True), _event(1, huge, label=huge)]
    html = _html(_run(events, {"subject": {"model_versions": [{"name": huge, "version": "1"}]}}),
                 tmp_path)
    assert len(html) < 200_000
    assert "A" * 150 + "…" in html

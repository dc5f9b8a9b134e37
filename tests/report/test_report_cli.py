"""`ario-verifier report` end to end on the audit-bundle vectors: a report for every
verdict, the exit code of the audit, page text, attachments and their printed hashes,
PDF/A metadata, atomic no-overwrite."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import subprocess
import sys

from report_util import run_cli
from vectors_util import bundle_argv


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _flat(text: str) -> str:
    """Page text with line breaks removed (long hex wraps across lines)."""
    return re.sub(r"\s+", "", text)


def test_verified_report_page_one_and_attachments(render):
    r = render("ok-pinned")
    assert r.code == 0, r.err
    text = r.text()
    page1 = r.reader().pages[0].extract_text()
    assert "VERIFIED" in page1 and "✓" in page1
    assert "Re-check this verdict" in page1 and "Scope." in page1
    assert "pinned" in page1 and "Witnessed" in page1
    flat = _flat(page1)
    assert _sha(r.bundle.read_bytes()) in flat  # the evidence digest on page 1
    atts = r.reader().attachments
    assert set(atts) == {"verdict.json", "events.jsonl.gz", r.bundle.name}
    for name, (data,) in atts.items():
        assert _sha(data) in flat, f"page 1 does not print the SHA-256 of {name}"
    assert atts[r.bundle.name][0] == r.bundle.read_bytes()
    verdict = json.loads(atts["verdict.json"][0])
    assert verdict["status"] == "verified" and verdict["policy"]["require_binding"] is True
    assert verdict["policy_sha256"] in flat
    lines = [json.loads(x) for x in gzip.decompress(atts["events.jsonl.gz"][0]).splitlines()]
    assert len(lines) == verdict["subject"]["events"] and {x["status"] for x in lines} == {"verified"}
    assert sorted(x["seq"] for x in lines) == list(range(len(lines)))
    for heading in ("Findings", "Lineage", "Event register", "What was checked",
                    "Compliance mapping", "Appendix A", "Appendix C"):
        assert heading in text
    assert "Art. 12" in text and "A.6.2.8" in text and "AU-10" in text and "CC7" in text
    assert "not model quality" in text or "does not show that the model is accurate" in text


def test_pdfa_3u_metadata(render):
    r = render("ok-pinned")
    reader = r.reader()
    xmp = reader.xmp_metadata
    raw = xmp.stream.get_data().decode() if xmp is not None else ""
    assert 'pdfaid:part="3"' in raw or "<pdfaid:part>3</pdfaid:part>" in raw
    assert re.search(r'pdfaid:conformance(="|>)U', raw)
    root = reader.trailer["/Root"]
    af = [ref.idnum for ref in root["/AF"]]
    assert len(af) == len(set(af)) == 3  # each attachment an associated file, once
    assert {str(ref.get_object()["/AFRelationship"]) for ref in root["/AF"]} == {"/Data", "/Source"}
    assert bool(root["/MarkInfo"]["/Marked"]) and "/StructTreeRoot" in root  # tagged
    fonts = set()
    for page in reader.pages:
        for f in (page["/Resources"].get("/Font") or {}).values():
            fonts.add(str(f.get_object()["/BaseFont"]))
    # Only the package's @font-face fonts (DejaVu files named "Report Sans/Mono"), subset.
    assert fonts and all(re.fullmatch(r"/[A-Z]{6}\+Report-(Sans|Sans-Bold|Mono)", f) for f in fonts), fonts


def test_failed_report_shows_the_finding_and_the_diff(render):
    r = render("record-mismatch-metric")
    assert r.code == 1, r.err
    text = r.text()
    assert "FAILED" in r.reader().pages[0].extract_text()
    assert "record_mismatch" in text
    assert "re-deriving the record from MLflow gives other bytes" in text  # reasons.meaning
    assert "anchored (signed)" in text and "current (source)" in text
    assert "What to do" in text
    html = r.html.read_text()
    assert "metrics" in html.split("anchored (signed)")[1][:2000]


def test_incomplete_report_says_absent_not_tampered(render):
    r = render("binding-unchecked")
    assert r.code == 3, r.err
    text = r.text()
    assert "INCOMPLETE" in text and "binding_unchecked" in text
    assert "never as tampering" in text


def test_malformed_bundle_still_gets_a_report(render):
    r = render("not-a-zip")
    assert r.code == 2, r.err
    assert r.pdf.is_file() and "MALFORMED" in r.text() and "bundle_malformed" in r.text()


def test_refuses_to_overwrite_without_force(tmp_path):
    argv = bundle_argv("ok-stored-unpinned", tmp_path)
    out = tmp_path / "r.html"
    out.write_text("keep me")
    code, _, err = run_cli(["report", *argv, "--html", str(out)])
    assert code == 2 and "--force" in err and out.read_text() == "keep me"
    code, _, err = run_cli(["report", *argv, "--html", str(out), "--force", "-q"])
    assert code == 0, err
    assert "VERIFIED" in out.read_text()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".report-")] == []


def test_force_replaces_only_regular_files(tmp_path):
    """--force never replaces a directory, a FIFO (or a device) or a symlink."""
    import os

    argv = bundle_argv("ok-stored-unpinned", tmp_path)
    fifo, folder, link = tmp_path / "fifo", tmp_path / "dir", tmp_path / "link.html"
    os.mkfifo(fifo)
    folder.mkdir()
    (tmp_path / "target.html").write_text("keep")
    link.symlink_to(tmp_path / "target.html")
    for t in (fifo, folder, link):
        code, _, err = run_cli(["report", *argv, "--html", str(t), "--force", "-q"])
        assert code == 2 and "not a regular file" in err, (t, err)
    assert fifo.is_fifo() and folder.is_dir() and link.is_symlink()
    assert (tmp_path / "target.html").read_text() == "keep"


def test_needs_an_output_and_never_overwrites_its_input(tmp_path):
    argv = bundle_argv("ok-stored-unpinned", tmp_path)
    code, _, err = run_cli(["report", *argv])
    assert code == 2 and "-o REPORT.pdf" in err
    before = (tmp_path / "ok-stored-unpinned.zip").read_bytes()
    code, _, err = run_cli(["report", *argv, "--html", argv[0], "--force"])
    assert code == 2 and "evidence being audited" in err
    assert (tmp_path / "ok-stored-unpinned.zip").read_bytes() == before
    code, _, err = run_cli(["report", *argv, "-o", str(tmp_path / "a"), "--html", str(tmp_path / "a")])
    assert code == 2 and "same file" in err


def test_html_only_loads_no_weasyprint_and_missing_pdf_extra_is_exit_2(tmp_path):
    argv = bundle_argv("ok-stored-unpinned", tmp_path)
    html = tmp_path / "x.html"
    code = ("import sys\n"
            "from verifier.cli.main import main\n"
            f"rc = main(['report', *{argv!r}, '--html', {str(html)!r}, '-q'])\n"
            "print(rc, 'weasyprint' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["0", "False"] and html.is_file()
    blocked = ("import sys\nsys.modules['weasyprint'] = None\n"
               "from verifier.cli.main import main\n"
               f"sys.exit(main(['report', *{argv!r}, '-o', {str(tmp_path / 'y.pdf')!r}]))\n")
    out = subprocess.run([sys.executable, "-c", blocked], capture_output=True, text=True)
    assert out.returncode == 2 and "ario-verifier[pdf]" in out.stderr
    assert not (tmp_path / "y.pdf").exists()


def test_an_edited_payload_is_never_shown_as_signed(tmp_path):
    """The demo's forger edits the committed payload: the finding shows the signed hash
    against the supplied bytes' hash, and the record diff calls those bytes supplied."""
    from verifier.cli.demo_tamper import edit_payload
    from verifier.sources.bundle import read_bundle, write_bundle

    argv = bundle_argv("ok-pinned", tmp_path)
    col = read_bundle(argv[0])
    edit_payload(col)
    write_bundle(col, tmp_path / "edited.zip")
    out = tmp_path / "r.html"
    code, _, err = run_cli(["report", str(tmp_path / "edited.zip"), *argv[1:], "--html", str(out), "-q"])
    assert code == 1, err
    html = out.read_text()
    assert "<th>signed payload_hash</th><th>SHA-256 of the payload bytes supplied</th>" in html
    assert "payload as supplied (fails its signed hash)" in html
    assert "<th>anchored (signed)</th>" not in html

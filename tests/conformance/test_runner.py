"""The conformance runner end to end, through real subprocesses (spec/conformance.md).

The built-in adapter must pass every case of our vectors and the ar-io-proof corpus, the
ar-io-proof adapter must match its committed expected failures exactly, the accept-all
canary must fail on every must-reject case, and misbehaving implementations (crash,
garbage, hang, wrong id, ...) must become failed cases, never a crashed runner.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from verifier.conformance.corpus import default_vectors_dir, load_corpus, load_vectors
from verifier.conformance.expected import load_expected_failures
from verifier.conformance.model import Outcome, Problem
from verifier.conformance.runner import Implementation, run_cases

HERE = Path(__file__).resolve().parent
ROOT = Path(__file__).resolve().parents[2]
PEER = Path(__file__).resolve().parents[2].parent / "shared/peer-corpus/ar-io-proof"
VECTORS = default_vectors_dir()
EXPECTED_ARIO = ROOT / "conformance" / "ario-proof.expected-failures.json"
BUILTIN = [sys.executable, "-m", "verifier.conformance.adapters.builtin"]
ARIO = [sys.executable, "-m", "verifier.conformance.adapters.ario_proof_adapter"]
CANARY = [sys.executable, str(HERE / "canary_accept_all.py")]


def peer() -> Path:
    """The ar-io-proof corpus beside the checkout; missing is a failure, never a skip."""
    if not (PEER / "CORPUS-v1.md").is_file():
        raise AssertionError(f"peer corpus missing at {PEER}: the conformance tests need "
                             "../shared/peer-corpus/ar-io-proof beside the checkout")
    return PEER


def cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "verifier", "conformance", "--vectors", str(VECTORS), *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=timeout)


def json_run(*args: str) -> tuple[int, dict]:
    proc = cli("--json", *args)
    assert proc.stdout, proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def misbehaving(fault: str, target: str = "<no-target>") -> Implementation:
    return Implementation([sys.executable, str(HERE / "misbehaving_adapter.py"), fault, target])


@pytest.fixture(scope="module")
def all_cases():
    return load_vectors(VECTORS).cases + load_corpus(peer()).cases


@pytest.fixture(scope="module")
def jcs_cases(all_cases):
    return [c for c in all_cases if c.family == "jcs"]


# -- the three reference implementations ---------------------------------------------------


@pytest.fixture(scope="module")
def builtin_stream(tmp_path_factory):
    junit = tmp_path_factory.mktemp("junit") / "builtin.xml"
    t0 = time.perf_counter()
    rc, report = json_run("--corpus", str(peer()), "--junit", str(junit))
    return rc, report, junit, time.perf_counter() - t0


def test_builtin_passes_everything_in_stream_mode(builtin_stream):
    rc, report, _, wall = builtin_stream
    bad = [(c["id"], c.get("detail")) for c in report["cases"] if c["outcome"] != "passed"]
    assert bad == [], bad
    assert rc == 0 and report["ok"]
    assert report["process_starts"] == 1
    assert {c["corpus"] for c in report["cases"]} == {"ario-verifier", "ar-io-proof"}
    assert report["totals"]["na"] == 0
    # Both corpora contribute must-reject cases; all were answered correctly.
    assert sum(1 for c in report["cases"] if c["expected"]["status"] != "verified") > 50
    # The whole corpus through one streaming process takes seconds, not minutes.
    assert wall < 60, f"stream run took {wall:.1f}s"


def test_junit_xml_parses_and_counts_match(builtin_stream):
    _, report, junit, _ = builtin_stream
    root = ET.fromstring(junit.read_bytes())
    assert root.tag == "testsuites"
    assert int(root.get("tests")) == len(report["cases"])
    assert int(root.get("failures")) == 0 and int(root.get("errors")) == 0
    names = {tc.get("name") for tc in root.iter("testcase")}
    assert names == {c["id"] for c in report["cases"]}


def test_builtin_process_mode(all_cases):
    # One process per case: a slice across families keeps the suite fast.
    picked, seen = [], {}
    for c in all_cases:
        key = (c.corpus, c.family, c.expected.status)
        if seen.get(key, 0) < 1:
            seen[key] = seen.get(key, 0) + 1
            picked.append(c)
    run = run_cases(picked, Implementation(BUILTIN), mode="process", timeout=60, jobs=4)
    assert [r.case.id for r in run.results if r.outcome is not Outcome.PASSED] == []
    assert run.starts == len(picked) + 1  # the hello has its own process


def test_process_mode_through_the_cli():
    proc = cli("--mode", "process", "--family", "jcs", "--jobs", "4")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "conformance PASS" in proc.stdout


def test_ario_proof_matches_its_expected_failures_exactly(tmp_path):
    expected = load_expected_failures(EXPECTED_ARIO)
    assert expected.entries, "the ar-io-proof expected-failures file must not be empty"
    junit = tmp_path / "ario.xml"
    rc, report = json_run("--impl", " ".join(ARIO), "--corpus", str(peer()),
                          "--expected-failures", str(EXPECTED_ARIO), "--junit", str(junit))
    unexpected = [(c["id"], c["outcome"], c.get("detail")) for c in report["cases"]
                  if c["outcome"] in ("failed", "xpass")]
    assert unexpected == [] and report["stale_expected_failures"] == [], unexpected
    assert rc == 0
    xfail = {c["id"] for c in report["cases"] if c["outcome"] == "xfail"}
    assert xfail == set(expected.entries)
    # ar-io-proof 0.2.0 has no evidence, lineage, data-item, receipt or audit-bundle verifier.
    na = {c["family"] for c in report["cases"] if c["outcome"] == "not_applicable"}
    assert na == {"evidence", "chain", "data_item", "receipt", "audit_bundle"}
    assert report["implementation"]["hello"]["name"] == "ar-io-proof"
    ET.fromstring(junit.read_bytes())


def test_canary_fails_on_every_must_reject_vector(all_cases):
    proc = cli("--impl", " ".join(CANARY), "--corpus", str(peer()))
    assert proc.returncode == 1
    assert "conformance FAIL" in proc.stdout
    rc, report = json_run("--impl", " ".join(CANARY), "--corpus", str(peer()))
    assert rc == 1 and not report["ok"]
    must_reject = {c.id for c in all_cases if c.expected.must_reject}
    failed = {c["id"] for c in report["cases"] if c["outcome"] == "failed"}
    passed = {c["id"] for c in report["cases"] if c["outcome"] == "passed"}
    assert failed == must_reject
    assert passed == {c.id for c in all_cases} - must_reject
    for case_id in must_reject:  # loudly: every one is named in the table
        assert case_id in proc.stdout
    fams = {c.family for c in all_cases if c.expected.must_reject}
    assert {"jcs", "envelope", "merkle", "evidence"} <= fams


def test_usage_and_corpus_errors_exit_2(tmp_path):
    assert cli("--corpus", str(tmp_path)).returncode == 2  # neither format
    assert cli("--timeout", "0").returncode == 2
    assert cli("--family", "nope").returncode == 2
    assert cli("--impl", "").returncode == 2
    bad = tmp_path / "ef.json"
    bad.write_text('{"format": "something-else"}')
    assert cli("--expected-failures", str(bad)).returncode == 2


# -- misbehaving implementations -----------------------------------------------------------


def _target(cases):
    """The id of a case in the middle of the run (it is also the fault's selector)."""
    case = cases[len(cases) // 2]
    assert sum(case.id in c.id for c in cases) == 1
    return case.id, case.id


@pytest.mark.parametrize("fault,problem", [
    ("crash", Problem.CRASH),
    ("garbage", Problem.INVALID_ANSWER),
    ("wrong-id", Problem.INVALID_ANSWER),
    ("bad-status", Problem.INVALID_ANSWER),
    ("error", Problem.ERROR),
])
def test_stream_fault_fails_only_that_case_and_the_run_continues(jcs_cases, fault, problem):
    target, sub = _target(jcs_cases)
    run = run_cases(jcs_cases, misbehaving(fault, sub), mode="stream", timeout=30)
    failed = [(r.case.id, r.problem) for r in run.results if r.outcome is not Outcome.PASSED]
    assert failed == [(target, problem)]
    assert not run.ok and len(run.results) == len(jcs_cases)
    # A protocol break restarts the process; a plain error answer does not need to.
    assert run.starts == (1 if fault == "error" else 2)


def test_crash_detail_carries_exit_code_and_stderr(jcs_cases):
    target, sub = _target(jcs_cases)
    run = run_cases(jcs_cases, misbehaving("crash", sub), mode="stream", timeout=30)
    r = next(r for r in run.results if r.case.id == target)
    assert "exit code 3" in r.detail and "boom on" in r.detail


def test_hanging_case_times_out_and_the_rest_still_run(jcs_cases):
    target, sub = _target(jcs_cases)
    t0 = time.perf_counter()
    run = run_cases(jcs_cases, misbehaving("hang", sub), mode="stream", timeout=1.0)
    assert time.perf_counter() - t0 < 30
    failed = [(r.case.id, r.problem) for r in run.results if r.outcome is not Outcome.PASSED]
    assert failed == [(target, Problem.TIMEOUT)]


def test_extra_answer_line_desynchronises_only_one_case(jcs_cases):
    target, sub = _target(jcs_cases)
    run = run_cases(jcs_cases, misbehaving("extra-line", sub), mode="stream", timeout=30)
    failed = [r for r in run.results if r.outcome is not Outcome.PASSED]
    # The duplicate answer arrives where the next case's answer belongs: that case fails
    # with a wrong id, the process is restarted, everything after passes again.
    index = [c.id for c in jcs_cases].index(target)
    assert [(r.case.id, r.problem) for r in failed] == [(jcs_cases[index + 1].id, Problem.INVALID_ANSWER)]
    assert target in failed[0].detail and run.starts == 2


def test_oversized_answer_line_is_an_invalid_answer(jcs_cases):
    target, sub = _target(jcs_cases)
    run = run_cases(jcs_cases, misbehaving("huge", sub), mode="stream", timeout=30)
    failed = [(r.case.id, r.problem) for r in run.results if r.outcome is not Outcome.PASSED]
    assert failed == [(target, Problem.INVALID_ANSWER)]


@pytest.mark.parametrize("fault", ["start-crash", "banner"])
def test_failed_handshake_fails_every_case(jcs_cases, fault):
    run = run_cases(jcs_cases, misbehaving(fault), mode="stream", timeout=5)
    assert run.hello is None and run.handshake_error
    assert all(r.outcome is Outcome.FAILED and r.problem is Problem.NO_HANDSHAKE for r in run.results)
    assert not run.ok


def test_missing_command_is_a_failed_handshake_not_a_crash(jcs_cases):
    run = run_cases(jcs_cases[:3], Implementation(["/nonexistent/impl-binary"]), mode="stream")
    assert run.hello is None and "cannot start" in run.handshake_error
    run = run_cases(jcs_cases[:3], Implementation(["/nonexistent/impl-binary"]), mode="process")
    assert run.hello is None and run.handshake_error


@pytest.mark.parametrize("fault,problem", [
    ("crash", Problem.CRASH), ("garbage", Problem.INVALID_ANSWER), ("hang", Problem.TIMEOUT),
])
def test_process_mode_faults(jcs_cases, fault, problem):
    cases = jcs_cases[:6]
    target, sub = cases[2].id, cases[2].id
    run = run_cases(cases, misbehaving(fault, sub), mode="process", timeout=3, jobs=3)
    failed = [(r.case.id, r.problem) for r in run.results if r.outcome is not Outcome.PASSED]
    assert failed == [(target, problem)]


def test_process_mode_accepts_an_answer_whatever_the_exit_code(jcs_cases):
    run = run_cases(jcs_cases[:3], misbehaving("process-exit-code"), mode="process", timeout=30)
    assert all(r.outcome is Outcome.PASSED for r in run.results)


def test_faulty_adapter_through_the_cli_writes_a_valid_junit(tmp_path, jcs_cases):
    target, sub = _target(jcs_cases)
    junit = tmp_path / "j.xml"
    impl = f"{sys.executable} {HERE / 'misbehaving_adapter.py'} garbage {sub}"
    proc = cli("--impl", impl, "--family", "jcs", "--corpus", str(peer()), "--junit", str(junit))
    assert proc.returncode == 1
    assert f"FAILED (invalid_answer)  {target}" in proc.stdout
    root = ET.fromstring(junit.read_bytes())
    errors = [tc.get("name") for tc in root.iter("testcase") if tc.find("error") is not None]
    assert errors == [target]


# -- expected failures ---------------------------------------------------------------------


def _ef(tmp_path: Path, entries: dict) -> Path:
    p = tmp_path / "ef.json"
    p.write_text(json.dumps({"format": "ario-conformance-expected-failures/1",
                             "implementation": "test", "expected_failures": entries}))
    return p


def test_expected_failure_that_passes_fails_the_run(tmp_path, jcs_cases):
    ours = next(c.id for c in jcs_cases if c.corpus == "ario-verifier")
    rc, report = json_run("--family", "jcs", "--expected-failures", str(_ef(tmp_path, {ours: "pretend"})))
    assert rc == 1
    (case,) = [c for c in report["cases"] if c["id"] == ours]
    assert case["outcome"] == "xpass"
    proc = cli("--family", "jcs", "--expected-failures", str(_ef(tmp_path, {ours: "pretend"})))
    assert "UNEXPECTEDLY PASSING" in proc.stdout


def test_stale_and_foreign_expected_failures(tmp_path):
    entries = {"no-such-vector": "stale", "ar-io-proof:no-such-case": "peer corpus not loaded"}
    rc, report = json_run("--family", "jcs", "--expected-failures", str(_ef(tmp_path, entries)))
    assert rc == 1
    assert report["stale_expected_failures"] == ["no-such-vector"]
    assert report["ignored_expected_failures"] == ["ar-io-proof:no-such-case"]
    rc, report = json_run("--family", "jcs", "--corpus", str(peer()),
                          "--expected-failures", str(_ef(tmp_path, {"ar-io-proof:no-such-case": "x"})))
    assert rc == 1 and report["stale_expected_failures"] == ["ar-io-proof:no-such-case"]


def test_expected_failure_in_an_undeclared_family_is_stale(tmp_path, all_cases):
    evidence = next(c.id for c in all_cases if c.family == "evidence" and c.corpus == "ar-io-proof")
    rc, report = json_run("--impl", " ".join(ARIO), "--family", "evidence", "--no-vectors",
                          "--corpus", str(peer()), "--expected-failures",
                          str(_ef(tmp_path, {evidence: "not supported"})))
    assert rc == 1 and report["stale_expected_failures"] == [evidence]


def test_canary_with_all_failures_expected_passes(tmp_path, jcs_cases):
    entries = {c.id: "accepts everything" for c in jcs_cases if c.expected.must_reject}
    proc = cli("--impl", " ".join(CANARY), "--family", "jcs", "--corpus", str(peer()),
               "--expected-failures", str(_ef(tmp_path, entries)))
    assert proc.returncode == 0, proc.stdout


# -- answers that used to crash the runner or the terminal (issue 8 defect 10) -------------


@pytest.mark.parametrize("fault,why", [
    ("deep", "nesting_too_deep"),
    ("surrogate-reason", "lone_surrogate"),
    ("surrogate-id", "lone_surrogate"),
    ("bignum", "number_out_of_range"),
])
def test_hostile_answer_is_an_invalid_answer_and_the_report_is_made(jcs_cases, fault, why):
    from verifier.conformance.report import dumps_report, json_report, render_table

    cases = jcs_cases[:5]
    target, sub = cases[2].id, cases[2].id
    run = run_cases(cases, misbehaving(fault, sub), mode="stream", timeout=30)
    failed = [(r.case.id, r.problem) for r in run.results if r.outcome is not Outcome.PASSED]
    assert failed == [(target, Problem.INVALID_ANSWER)]
    detail = next(r.detail for r in run.results if r.case.id == target)
    assert f"[{why}]" in detail
    text = render_table(run, [])
    text.encode("utf-8")  # printable: no lone surrogate reaches stdout
    assert f"FAILED (invalid_answer)  {target}" in text
    json.loads(dumps_report(json_report(run, [])))


@pytest.mark.parametrize("fault", ["terminal", "terminal-id"])
def test_answer_text_cannot_draw_on_the_terminal(jcs_cases, fault):
    from verifier.conformance.report import render_table

    cases = jcs_cases[:5]
    target, sub = cases[2].id, cases[2].id
    run = run_cases(cases, misbehaving(fault, sub), mode="stream", timeout=30)
    assert not run.ok
    text = render_table(run, [])
    assert "\x1b" not in text and "\r" not in text and "\u202e" not in text
    lines = text.split("\n")
    assert not any(line.lstrip().startswith("conformance PASS") for line in lines)
    assert lines[-2].startswith("conformance FAIL")
    assert "\\x1b[1;32mconformance PASS" in text or "\\x1b[0m" in text  # shown, escaped


def test_deep_answer_through_the_cli_still_prints_the_report(jcs_cases):
    target, sub = _target(jcs_cases)
    impl = f"{sys.executable} {HERE / 'misbehaving_adapter.py'} deep {sub}"
    proc = cli("--impl", impl, "--family", "jcs", "--corpus", str(peer()))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert f"FAILED (invalid_answer)  {target}" in proc.stdout
    assert "conformance FAIL" in proc.stdout


def test_builtin_adapter_answers_huge_numbers_in_every_document_family():
    from verifier.conformance.adapters import builtin

    big = ("1" + "0" * 5000).encode()
    doc = (b'{"spec_version":"ario.agent/v1","payload_hash":"' + b"0" * 64 + b'","n":' + big + b"}").hex()
    for family in ("jcs", "envelope", "agent_proof", "evidence", "receipt"):
        answer = builtin.handle(family, {"document_hex": doc})
        assert (answer["status"], answer["reason"]) == ("malformed", "number_out_of_range"), family
    answer = builtin.handle("chain", {"events": [{"document_hex": doc}]})
    assert answer["status"] == "malformed", answer


def test_missing_ario_proof_fails_once_up_front():
    """Without ar-io-proof the adapter says so once, before the handshake; the report gives
    that one cause instead of an error per case (the import is blocked in the child only)."""
    code = ("import sys; sys.modules['ario_proof'] = None; "
            "from verifier.conformance.adapters.ario_proof_adapter import main; "
            "raise SystemExit(main())")
    import shlex

    proc = cli("--impl", shlex.join([sys.executable, "-c", code]), "--family", "jcs")
    assert proc.returncode == 1
    assert proc.stdout.count("ar-io-proof is not installed") == 1
    assert "pip install 'ar-io-proof>=0.2'" in proc.stdout
    assert "UNEXPECTED RESULTS" not in proc.stdout and "no case ran" in proc.stdout
    assert "(0 of " in proc.stdout.splitlines()[-1]


def test_missing_corpus_directory_is_named():
    proc = cli("--corpus", "no/such/corpus")
    assert proc.returncode == 2
    assert "no/such/corpus: no such directory" in proc.stderr and "--corpus takes" in proc.stderr

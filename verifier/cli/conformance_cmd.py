"""`ario-verifier conformance`: run an implementation through the spec's vectors.

Exit codes: 0 every case as expected, 1 unexpected results (failures, unexpectedly
passing expected failures, stale expected-failure entries, a failed handshake), 2 usage or
corpus errors. See spec/conformance.md for the protocol and docs/conformance.md for usage.
"""

from __future__ import annotations

import argparse
import sys
from verifier.cli.exitcodes import EXIT_FAILED, EXIT_VERIFIED


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "conformance",
        help="run a verifier implementation through the conformance vectors",
        description="Run every vector of test-vectors/ (and any extra corpus) through an "
        "implementation speaking spec/conformance.md, compare status, reason and declared "
        "outputs, and report. Without --impl the built-in verifier runs (as a subprocess).",
        epilog="exit codes: 0 all as expected, 1 unexpected results, 2 usage or corpus error",
    )
    p.add_argument("--impl", metavar="CMD",
                   help='command starting the implementation, split like a shell would '
                   '(e.g. "node adapter.js"); default: the built-in verifier')
    p.add_argument("--mode", choices=("stream", "process"), default="stream",
                   help="stream: one process, JSON lines (default); process: one process per case")
    p.add_argument("--corpus", action="append", default=[], metavar="DIR",
                   help="extra corpus (ours or the ar-io-proof format, auto-detected); repeatable")
    p.add_argument("--vectors", metavar="DIR",
                   help="our test-vectors directory (default: the one beside the package)")
    p.add_argument("--no-vectors", action="store_true",
                   help="run only the --corpus directories, not test-vectors/")
    p.add_argument("--family", action="append", default=[], metavar="NAME",
                   help="only run cases of this family; repeatable")
    p.add_argument("--expected-failures", metavar="FILE",
                   help="JSON file of known divergences (case id -> one-line reason)")
    p.add_argument("--junit", metavar="FILE", help="write JUnit XML here")
    p.add_argument("--json", action="store_true",
                   help="print the JSON report on stdout instead of the summary table")
    p.add_argument("--report", metavar="FILE", help="also write the JSON report to FILE")
    p.add_argument("--timeout", type=float, default=10.0, metavar="S",
                   help="per-case timeout in seconds (default 10)")
    p.add_argument("--jobs", type=int, default=None, metavar="N",
                   help="parallel implementation processes (default: 1 in stream mode, "
                   "the CPU count in process mode)")
    p.add_argument("--write-expected-failures", metavar="FILE",
                   help="write every unexpected failure of this run into FILE as an "
                   "expected-failures file (reasons are the failure details; edit them)")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="list corpus notes and expected failures in the table")
    p.set_defaults(func=run)


def _err(msg: str) -> None:
    from verifier.core.textsafe import shown

    # Corpus errors quote file names and values from the corpus: terminal-safe.
    sys.stderr.write(f"ario-verifier conformance: error: {shown(msg)}\n")


def run(args: argparse.Namespace) -> int:
    import os
    import shlex
    from pathlib import Path

    from verifier.cli.exitcodes import EXIT_USAGE
    from verifier.conformance.corpus import CorpusError, default_vectors_dir, load_corpus, load_vectors
    from verifier.conformance.expected import (
        ExpectedFailuresError, apply_expected_failures, dump_expected_failures,
        load_expected_failures,
    )
    from verifier.conformance.model import FAMILIES, Outcome
    from verifier.conformance.report import dumps_report, json_report, junit_xml, render_table
    from verifier.conformance.runner import Implementation, run_cases

    if args.timeout <= 0:
        _err("--timeout must be positive")
        return EXIT_USAGE
    if args.jobs is not None and args.jobs < 1:
        _err("--jobs must be at least 1")
        return EXIT_USAGE
    unknown = sorted(set(args.family) - set(FAMILIES))
    if unknown:
        _err(f"unknown family {', '.join(unknown)} (known: {', '.join(FAMILIES)})")
        return EXIT_USAGE
    if args.impl is not None:
        try:
            argv = shlex.split(args.impl)
        except ValueError as exc:
            _err(f"--impl: {exc}")
            return EXIT_USAGE
        if not argv:
            _err("--impl is empty")
            return EXIT_USAGE
    else:
        argv = [sys.executable, "-m", "verifier.conformance.adapters.builtin"]

    corpora = []
    try:
        if not args.no_vectors:
            corpora.append(load_vectors(Path(args.vectors) if args.vectors else default_vectors_dir()))
        labels = {c.label for c in corpora}
        for d in args.corpus:
            corpus = load_corpus(Path(d))
            base, n = corpus.label, 2
            while corpus.label in labels:
                corpus.label = f"{base}-{n}" if base else f"corpus-{n}"
                n += 1
            if corpus.label != base:
                corpus.cases = [_relabel(c, base, corpus.label) for c in corpus.cases]
            labels.add(corpus.label)
            corpora.append(corpus)
    except CorpusError as exc:
        _err(str(exc))
        return EXIT_USAGE
    if not corpora:
        _err("nothing to run: --no-vectors without --corpus")
        return EXIT_USAGE
    expected = None
    if args.expected_failures:
        try:
            expected = load_expected_failures(Path(args.expected_failures))
        except ExpectedFailuresError as exc:
            _err(str(exc))
            return EXIT_USAGE

    cases = [c for corpus in corpora for c in corpus.cases
             if not args.family or c.family in args.family]
    jobs = args.jobs if args.jobs is not None else (1 if args.mode == "stream" else (os.cpu_count() or 1))
    impl = Implementation(argv)
    result = run_cases(cases, impl, mode=args.mode, timeout=args.timeout, jobs=jobs)
    if expected is not None:
        loaded = {c.label for c in corpora}
        if args.family:
            # Entries of filtered-out families are not stale, merely not run.
            wanted = {c.id for c in cases}
            all_ids = {c.id for corpus in corpora for c in corpus.cases}
            entries = {k: v for k, v in expected.entries.items() if k in wanted or k not in all_ids}
            expected = type(expected)(entries, expected.implementation, expected.path)
        result.stale_expected, result.ignored_expected = apply_expected_failures(
            result.results, expected, loaded)

    report = json_report(result, corpora)
    try:
        if args.junit:
            Path(args.junit).write_bytes(junit_xml(result))
        if args.report:
            Path(args.report).write_text(dumps_report(report), encoding="utf-8")
        if args.write_expected_failures:
            entries = {r.case.id: (r.detail.splitlines() or ["failed"])[0][:200]
                       for r in result.results if r.outcome in (Outcome.FAILED, Outcome.XFAIL)}
            if expected is not None:
                entries.update({k: v for k, v in expected.entries.items() if k in entries})
            who = f"{result.hello.name} {result.hello.version}".strip() if result.hello else impl.display()
            Path(args.write_expected_failures).write_text(dump_expected_failures(entries, who), encoding="utf-8")
    except OSError as exc:
        _err(f"cannot write report: {exc}")
        return EXIT_USAGE
    if args.json:
        sys.stdout.write(dumps_report(report))
    else:
        sys.stdout.write(render_table(result, corpora, verbose=args.verbose))
    return EXIT_VERIFIED if result.ok else EXIT_FAILED


def _relabel(case, old: str, new: str):
    from dataclasses import replace

    cid = case.id[len(old) + 1:] if old and case.id.startswith(old + ":") else case.id
    return replace(case, id=f"{new}:{cid}", corpus=new)

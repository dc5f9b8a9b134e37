"""`ario-verifier browse`: the Textual workbench over an audit bundle, an MLflow lineage, one
document or a JSONL file of envelopes (verifier/tui). Takes every source and policy option
of `audit`; Textual is imported only when the command runs (the `tui` extra)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from verifier.cli.options import UsageError, add_policy_options, add_source_options, classify

ZIP_MAGIC = b"PK\x03\x04"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "browse", help="browse and verify proof chains in a terminal UI (tui extra)",
        description="Open an audit bundle, an MLflow lineage, one document (envelope, "
        "ario.agent.proof/v1 or ario.evidence/v1 bundle) or a JSONL file of envelopes in an "
        "interactive browser: the verdict, every event worst first, each event's checks, "
        "evidence, record diff and chain. Press ? inside for the keys.",
        epilog="exit codes (on quit): 0 verified, 1 failed, 2 malformed input or usage error, "
        "3 incomplete or not finished")
    p.add_argument("source", metavar="FILE|TARGET",
                   help="audit bundle ZIP, proof JSON, envelopes JSONL, or models:/NAME/VERSION, "
                   "runs:/ID, traces:/ID, NAME/VERSION with --tracking-uri")
    p.add_argument("--payload", metavar="FILE", help="committed payload bytes for a proof JSON")
    p.add_argument("--jsonl", action="store_true",
                   help="FILE holds one envelope per line (default for *.jsonl)")
    add_source_options(p)
    add_policy_options(p)
    p.set_defaults(func=run)


def mode_of(args: argparse.Namespace) -> str:
    """"audit" (bundle or MLflow), "jsonl" or "document"; raises UsageError."""
    source = args.source
    path = Path(source)
    if not getattr(args, "tracking_uri", None) and path.is_file():
        try:
            with open(path, "rb") as fh:
                head = fh.read(4)
        except OSError:
            head = b""
        if head == ZIP_MAGIC or source.lower().endswith(".zip"):
            mode = "audit"
        elif args.jsonl or source.lower().endswith(".jsonl"):
            mode = "jsonl"
        else:
            mode = "document"
    else:
        classify(source, getattr(args, "tracking_uri", None))  # raises UsageError
        mode = "audit"
    if args.payload and mode != "document":
        raise UsageError("--payload applies to one proof JSON only")
    return mode


def run(args: argparse.Namespace) -> int:
    from verifier.cli.exitcodes import EXIT_USAGE

    try:
        mode = mode_of(args)
        if getattr(args, "ario_verify_url", None) and getattr(args, "offline", False):
            raise UsageError("--ario-verify-url needs the network; drop --offline")
    except UsageError as exc:
        sys.stderr.write(f"ario-verifier browse: error: {exc}\n")
        return EXIT_USAGE
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        sys.stderr.write("ario-verifier browse: error: needs an interactive terminal; for "
                         "output to a file or a pipe use `ario-verifier audit` (or verify)\n")
        return EXIT_USAGE
    try:
        from verifier.tui.app import BrowseApp, make_spec
    except ImportError as exc:
        sys.stderr.write(f"ario-verifier browse: needs Textual ({exc.name} is missing): "
                         "pip install 'ario-verifier[tui]'\n")
        return EXIT_USAGE
    app = BrowseApp(make_spec(mode, args))
    code = app.run()
    return EXIT_USAGE if code is None and app.usage else (code if code is not None else app.verdict_code())

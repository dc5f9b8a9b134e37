"""`ario-verifier` entry point: argument parsing and dispatch only.

Every command module registers its sub-parser and a `run(args) -> int` handler. Command
modules import only argparse-level code at import time so `--help` stays fast; their heavy
dependencies (httpx, mlflow, textual, weasyprint) are imported inside `run`.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Any

from verifier import __version__

from .exitcodes import EXIT_INTERRUPTED, EXIT_USAGE, EXIT_VERIFIED

#: Command modules under verifier.cli, in help order. Each defines register(subparsers).
COMMAND_MODULES = (
    "verify_cmd",
    "audit_cmd",
    "browse_cmd",
    "report_cmd",
    "export_cmd",
    "anchor_cmd",
    "keys_cmd",
    "gateway_cmd",
    "cache_cmd",
    "conformance_cmd",
    "demo_cmd",
)


class _Parser(argparse.ArgumentParser):
    """argparse that exits with our usage code (2) and a one-line hint."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(EXIT_USAGE)


class _Watched:
    """A text stream that remembers whether anything was written and the last line (the
    `--json` usage-error seam in `main`); everything else goes to the wrapped stream."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.wrote, self.last = inner, False, ""

    def write(self, text: str) -> int:
        if text:
            self.wrote = True
            lines = [ln for ln in text.splitlines() if ln.strip()]
            if lines:
                self.last = lines[-1]
        return self.inner.write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def _usage_json(command: str | None, message: str) -> None:
    """The one JSON object of a usage error under --json (spec/result-model.md R4)."""
    import json

    from verifier.core.textsafe import shown

    doc = {"kind": command or "usage", "status": "malformed", "reason": "usage_error",
           "checks": [{"id": "usage", "outcome": "malformed", "reason": "usage_error",
                       "detail": shown(message)}], "error": shown(message)}
    sys.stdout.write(json.dumps(doc, ensure_ascii=True) + "\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="ario-verifier",
        description="Verify and audit ar.io provenance proofs offline.",
    )
    parser.add_argument("--version", action="version", version=f"ario-verifier {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMAND_MODULES:
        importlib.import_module(f"verifier.cli.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from verifier.sources.mlflow_env import disable_mlflow_phone_home

    disable_mlflow_phone_home()  # before any command can import MLflow (issue 8 defect 4)
    argv = sys.argv[1:] if argv is None else list(argv)
    if "--json" not in argv:
        return _dispatch(argv)
    # --json: every outcome is one object on stdout, a usage error too. A command that
    # ends with the usage code, an "error:" line on stderr and nothing on stdout gets that
    # object here.
    out, err = _Watched(sys.stdout), _Watched(sys.stderr)
    before = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err  # type: ignore[assignment]
    try:
        try:
            code = _dispatch(argv)
        except SystemExit as exc:  # argparse: unknown option, bad value, --help
            code = exc.code if isinstance(exc.code, int) else EXIT_USAGE
    finally:
        sys.stdout, sys.stderr = before
    if code == EXIT_USAGE and not out.wrote and "error:" in err.last:
        # (exit 2 with nothing on stdout and no error line is a verdict shown elsewhere:
        # browse's terminal UI ending on a malformed input)
        _usage_json(next((a for a in argv if not a.startswith("-")), None), err.last)
    return code


def _dispatch(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_VERIFIED

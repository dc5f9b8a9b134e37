"""`ario-verifier` entry point: argument parsing and dispatch only.

Every command module registers its sub-parser and a `run(args) -> int` handler. Command
modules import only argparse-level code at import time so `--help` stays fast; their heavy
dependencies (httpx, mlflow, textual, weasyprint) are imported inside `run`.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from verifier import __version__

from .exitcodes import EXIT_USAGE

#: Command modules under verifier.cli, in help order. Each defines register(subparsers).
COMMAND_MODULES = (
    "verify_cmd",
    "audit_cmd",
    "export_cmd",
    "anchor_cmd",
    "keys_cmd",
    "gateway_cmd",
    "conformance_cmd",
    "demo_cmd",
)


class _Parser(argparse.ArgumentParser):
    """argparse that exits with our usage code (2) and a one-line hint."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(EXIT_USAGE)


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
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130
    except BrokenPipeError:
        return 0

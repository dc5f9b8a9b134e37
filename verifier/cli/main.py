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


def _seed_form(argv: list[str]) -> tuple[str, str, list[str]] | None:
    """`verify run|model|trace ID [flags]` (the ar-io-mlflow CLI's forms), unless a file of
    that name exists; those forms take audit flags, which `verify PATH` does not."""
    if len(argv) >= 3 and argv[0] == "verify" and argv[1] in ("run", "model", "trace"):
        from pathlib import Path

        if not Path(argv[1]).exists() and not argv[2].startswith("-"):
            return argv[1], argv[2], argv[3:]
    return None


def main(argv: list[str] | None = None) -> int:
    from verifier.sources.mlflow_env import disable_mlflow_phone_home

    disable_mlflow_phone_home()  # before any command can import MLflow (issue 8 defect 4)
    argv = sys.argv[1:] if argv is None else list(argv)
    seed = _seed_form(argv)
    if seed is not None:
        from verifier.cli.seed_forms import run_seed_verify

        return run_seed_verify(*seed)
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

"""Helpers for the report tests, imported by name (a bare `from conftest import` can pick
another directory's conftest when several test directories run together)."""

from __future__ import annotations

import contextlib
import io

from verifier.cli.main import main


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    """`ario-verifier ARGV` in this process: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()

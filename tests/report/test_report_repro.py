"""Reproducibility: the same inputs and SOURCE_DATE_EPOCH give a byte-identical PDF across
two processes (font-subset timestamps and attachment dates are controlled)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from vectors_util import bundle_argv


def _render(where: Path, argv: list[str], epoch: str) -> bytes:
    env = {**os.environ, "SOURCE_DATE_EPOCH": epoch}
    code = ("import sys\nfrom verifier.cli.main import main\n"
            f"sys.exit(main(['report', *{argv!r}, '-o', 'report.pdf', '-q']))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=where, env=env, capture_output=True, text=True)
    assert out.returncode == 1, out.stderr  # the failed vector: a report matters most then
    return (where / "report.pdf").read_bytes()


def test_two_processes_render_identical_bytes(tmp_path):
    argv = bundle_argv("record-mismatch-metric", tmp_path)
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    first = _render(a, argv, "1780000000")
    second = _render(b, argv, "1780000000")
    assert first == second
    assert b"D:20260528" in first  # the attachment and document dates are SOURCE_DATE_EPOCH's

"""`ario-verifier browse` as a command: usage errors and a terminal requirement, exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = str(Path(__file__).resolve().parents[2])


def run(*argv: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "verifier", "browse", *argv], cwd=cwd,
                          capture_output=True, text=True, timeout=60,
                          env={"PYTHONPATH": ROOT, "PATH": "/usr/bin:/bin"})


def test_without_a_terminal_it_says_so_and_exits_2(tmp_path):
    (tmp_path / "a.zip").write_bytes(b"PK\x03\x04")
    out = run("a.zip", cwd=tmp_path)
    assert out.returncode == 2 and "interactive terminal" in out.stderr and not out.stdout


def test_usage_errors_exit_2_before_any_ui(tmp_path):
    out = run("not-a-file-or-target", cwd=tmp_path)
    assert out.returncode == 2 and "is not a" in out.stderr
    (tmp_path / "a.zip").write_bytes(b"PK\x03\x04")
    out = run("a.zip", "--payload", "p.json", cwd=tmp_path)
    assert out.returncode == 2 and "--payload applies to one proof JSON only" in out.stderr

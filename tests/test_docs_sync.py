"""Generated documentation stays in sync with the code it describes."""

from __future__ import annotations

import subprocess
import sys

from vectors_util import ROOT


def test_cli_reference_is_current():
    rc = subprocess.run([sys.executable, str(ROOT / "tools/gen_cli_doc.py"), "--check"],
                        capture_output=True, text=True)
    assert rc.returncode == 0, rc.stdout + rc.stderr


def test_readme_test_command_is_what_ci_runs():
    ci = (ROOT / ".ci/run").read_text()
    cmd = next(line.strip() for line in ci.splitlines() if "pytest" in line and not line.startswith("#"))
    assert cmd in (ROOT / "README.md").read_text()

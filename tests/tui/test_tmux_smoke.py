"""The real `ario-verifier browse` console script in a real terminal (tmux): what a person
sees on the tampered bundle, the event detail with the diff, the copy fallback, and the
exit code after `q`. tmux is part of the test environment; the session is ours and ended."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from browse_util import vector

TMUX = shutil.which("tmux") or "tmux"


def _tmux(*args: str) -> str:
    return subprocess.run([TMUX, *args], capture_output=True, text=True, check=True).stdout


def _wait_for(session: str, needle: str, timeout: float = 30.0) -> str:
    end = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < end:
        screen = _tmux("capture-pane", "-p", "-t", session)
        if needle in screen:
            return screen
        time.sleep(0.2)
    raise AssertionError(f"{needle!r} never appeared; last screen:\n{screen}")


def test_console_script_in_tmux(tmp_path):
    v = vector("record-mismatch-metric")
    path = tmp_path / "tampered.zip"
    path.write_bytes(bytes.fromhex(v["input"]["document_hex"]))
    exit_file = tmp_path / "exit"
    script = Path(sys.executable).with_name("ario-verifier")
    cmd = ([str(script)] if script.exists() else [sys.executable, "-m", "verifier"])
    root = str(Path(__file__).resolve().parents[2])
    shell = (f"cd {tmp_path} && PYTHONPATH={root} {' '.join(cmd)} browse {path}; "
             f"echo $? > {exit_file}")
    session = f"ario-browse-{os.getpid()}"
    _tmux("new-session", "-d", "-s", session, "-x", "80", "-y", "24", shell)
    try:
        main = _wait_for(session, "✗ FAILED")
        assert "record_mismatch" in main
        lines = main.splitlines()
        header = next(i for i, line in enumerate(lines) if line.startswith("status"))
        assert lines[header + 1].startswith("✗ failed") and "record_mismatch" in lines[header + 1]
        _tmux("send-keys", "-t", session, "Enter")
        detail = _wait_for(session, "anchored (signed)")
        assert "current (MLflow)" in detail and "metrics." in detail
        _tmux("send-keys", "-t", session, "y")
        copied = _wait_for(session, "OSC 52")
        assert "Copied the tx id" in copied
        for key in ("Escape", "Escape"):
            time.sleep(0.3)  # an Escape followed at once by a key reads as Alt+key
            _tmux("send-keys", "-t", session, key)
        time.sleep(0.5)
        _tmux("send-keys", "-t", session, "q")
        end = time.monotonic() + 15
        while not exit_file.exists() and time.monotonic() < end:
            time.sleep(0.2)
        assert exit_file.read_text().strip() == "1"  # the verdict's exit code: failed
    finally:
        subprocess.run([TMUX, "kill-session", "-t", session], capture_output=True)

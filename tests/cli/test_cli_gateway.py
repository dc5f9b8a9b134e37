"""`ario-verifier gateway serve` prints its base URL first and serves real HTTP."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request


def test_gateway_serve_prints_url_and_answers(tmp_path):
    db = tmp_path / "gw.sqlite"
    proc = subprocess.Popen([sys.executable, "-m", "verifier", "gateway", "serve", "--port", "0",
                             "--db", str(db)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(url + "/", timeout=10) as resp:
            info = json.loads(resp.read())
        assert "arweave" in info["addresses"]
        assert db.exists()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_gateway_bad_port_is_usage_error():
    proc = subprocess.run([sys.executable, "-m", "verifier", "gateway", "serve", "--port", "70000"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "port" in proc.stderr

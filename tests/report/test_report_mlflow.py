"""The MLflow form, `report --tracking-uri URI models:/NAME/VERSION`, on a real MLflow store
on disk: same verdict and exit code as `audit` with the same options, the source named on
page 1, the re-check command repeating the options."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sources"))
from sources_mlstore import build_in_child  # noqa: E402


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return build_in_child([("file", tmp_path_factory.mktemp("report-ml") / "fs", "full")])[0]


def _cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, MLFLOW_ALLOW_FILE_STORE="true")
    return subprocess.run([sys.executable, "-m", "verifier", *args], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=300)


def test_mlflow_form_matches_audit(store, tmp_path):
    opts = ["--tracking-uri", store.uri, "models:/fraud/1", "--offline"]
    audit = _cli(["audit", *opts, "--json", "-q"], tmp_path)
    verdict = json.loads(audit.stdout)
    out = tmp_path / "r.html"
    rep = _cli(["report", *opts, "--html", str(out), "-q"], tmp_path)
    assert rep.returncode == audit.returncode, rep.stderr
    html = out.read_text()
    assert f"MLflow <span class=\"mono\">models:/fraud/1</span>" in html
    assert verdict["status"].upper() in html
    assert f"ario-verifier audit models:/fraud/1 --tracking-uri {store.uri} --offline" in html
    assert "offline: no connection opened" in html
    assert "Audit bundle SHA-256" not in html  # no bundle: no bundle digest claimed
    assert "read live from MLflow" in html

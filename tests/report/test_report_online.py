"""The bundle form online, against the project's gateway emulator on loopback: the report
names the gateways and the pinned receipt signer, the witnessed period, and a bundle the
gateway contradicts is a failed report with the gateway_disagreement finding."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "audit"))
from audit_factory import build_lineage  # noqa: E402

from report_util import run_cli  # noqa: E402
from verifier.gateway.server import GatewayServer  # noqa: E402
from verifier.sources.bundle import write_bundle  # noqa: E402


@pytest.fixture(scope="module")
def online(tmp_path_factory):
    with GatewayServer("127.0.0.1", 0, str(tmp_path_factory.mktemp("gw") / "gw.sqlite3")) as gw:
        lineage = build_lineage(predictions=2, gateway=gw)
        with httpx.Client() as client:
            for rec in lineage.base.records:
                assert client.post(f"{gw.url}/tx/solana", content=rec.data_item).status_code == 200
        yield gw, lineage


def test_online_report_names_gateways_and_witnessed_times(online, tmp_path):
    gw, lineage = online
    path = tmp_path / "ok.zip"
    write_bundle(lineage.collection(), path)
    out = tmp_path / "r.html"
    code, _, err = run_cli(["report", str(path), "--gateway", gw.url, "--no-cache", "-q",
                            "--receipt-signer", gw.signer_address, "--html", str(out)])
    assert code == 0, err
    html = out.read_text()
    assert f'online: <span class="mono">{gw.url}</span>, quorum 1' in html
    assert f"pinned: <span class=\"mono\">{gw.signer_address}</span>" in html
    assert "receipt signer pinned by the policy" in html
    assert f"--gateway {gw.url}" in html and f"--receipt-signer {gw.signer_address}" in html


def test_bundle_contradicted_online_is_a_failed_report(online, tmp_path):
    gw, lineage = online
    col = lineage.collection()
    rec = lineage.record(col, "promotion")
    rec.envelope = rec.envelope.replace(b'"signed_at":"2026', b'"signed_at":"2027')
    path = tmp_path / "altered.zip"
    write_bundle(col, path)
    out = tmp_path / "r.html"
    code, _, err = run_cli(["report", str(path), "--gateway", gw.url, "--no-cache", "-q",
                            "--html", str(out)])
    assert code == 1, err
    html = out.read_text()
    assert "gateway_disagreement" in html and "promotion of model" in html

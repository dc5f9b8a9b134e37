"""A1 against real loopback gateways: bytes fetched by tx id, a gateway that is down, two
gateways that disagree, and a bundle confirmed (or contradicted) online."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from verifier.audit import audit_collection
from verifier.audit.collect import confirm_on_gateways
from verifier.cli.main import main
from verifier.core.reasons import ReasonCode as R
from verifier.core.reasons import Status
from verifier.sources.bundle import write_bundle
from verifier.sources.gateway import GatewayClient


class LyingGateway:
    """Answers every /raw/<tx> with the same wrong bytes (a loopback HTTP server)."""

    def __init__(self, body: bytes) -> None:
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                ok = self.path.startswith("/raw/")
                data = body if ok else b"not found"
                self.send_response(200 if ok else 404)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def uploaded(gateway, lineage):
    """The lineage's data items, posted to the local gateway like the producer does."""
    with httpx.Client() as client:
        for rec in lineage.base.records:
            resp = client.post(f"{gateway.url}/tx/solana", content=rec.data_item,
                               headers={"Content-Type": "application/octet-stream"})
            assert resp.status_code == 200, resp.text
            assert resp.json()["id"] == rec.tx_id
    return lineage


def stripped(lineage):
    """The collection as a live collector starts it: tx ids and surfaces, no bytes."""
    col = lineage.collection()
    for r in col.records:
        r.envelope = r.envelope_origin = r.data_item = r.fetch = None
    return col


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_bytes_fetched_by_tx_id_verify(uploaded, gateway, policy):
    col = stripped(uploaded)
    with GatewayClient([gateway.url]) as client:
        confirm_on_gateways(col, client)
    result = audit_collection(col, policy)
    assert result.status is Status.VERIFIED, result.reason
    assert result.subject["bound"] == 7
    assert all(c.check("proof_found").detail.startswith("envelope bytes from gateway:")
               for c in result.children)


def test_gateway_down_is_incomplete(uploaded, policy):
    col = stripped(uploaded)
    with GatewayClient([f"http://127.0.0.1:{closed_port()}"], retries=0, timeout=2) as client:
        confirm_on_gateways(col, client)
    result = audit_collection(col, policy)
    assert (result.status, result.reason) == (Status.INCOMPLETE, R.GATEWAY_UNAVAILABLE)
    assert all(c.reason is R.GATEWAY_UNAVAILABLE for c in result.children)


def test_gateways_disagree_is_failed(uploaded, gateway, policy):
    liar = LyingGateway(b'{"forged":true}')
    try:
        col = stripped(uploaded)
        with GatewayClient([gateway.url, liar.url], quorum=2, retries=0) as client:
            confirm_on_gateways(col, client)
    finally:
        liar.close()
    result = audit_collection(col, policy)
    assert (result.status, result.reason) == (Status.FAILED, R.GATEWAY_DISAGREEMENT)


def test_bundle_contradicted_by_the_gateway(capsys, tmp_path, uploaded, gateway):
    col = uploaded.collection()
    rec = uploaded.record(col, "promotion")
    rec.envelope = rec.envelope.replace(b'"signed_at":"2026', b'"signed_at":"2027')
    path = tmp_path / "altered.zip"
    write_bundle(col, path)
    code = main(["audit", str(path), "--gateway", gateway.url, "--no-cache", "--json", "-q"])
    doc = json.loads(capsys.readouterr().out)
    assert (code, doc["reason"]) == (1, "gateway_disagreement")
    promo = next(e for e in doc["events"] if e["subject"].get("event_type") == "stage_transition")
    assert promo["reason"] == "gateway_disagreement"


def test_bundle_confirmed_online(capsys, tmp_path, uploaded, gateway):
    path = tmp_path / "ok.zip"
    write_bundle(uploaded.collection(), path)
    code = main(["audit", str(path), "--gateway", gateway.url, "--no-cache", "--json", "-q",
                 "--receipt-signer", gateway.signer_address])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0 and doc["status"] == "verified"

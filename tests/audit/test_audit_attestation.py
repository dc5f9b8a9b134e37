"""A10: the ar.io Verify attestation, served by a loopback Verify service.

Levels are reported; an operator-signed attestation is verified offline by the evidence
rules (RSA-PSS salt 32, e = 65537, operator address, data_hash, tx id)."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from audit_factory import jcs
from verifier.audit import ArioVerifyClient, audit_collection
from verifier.core.reasons import ReasonCode as R
from verifier.core.reasons import Status
from verifier.core.result import Outcome
from verifier.sources.bundle import write_bundle
from verifier.cli.main import main


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class VerifyService:
    """POST /api/v1/verify answers built by `answer(tx_id)`; counts requests."""

    def __init__(self) -> None:
        self.answer = lambda tx: {"txId": tx, "level": 3, "attestation": None}
        self.status = 200
        self.requests: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append(body["txId"])
                data = json.dumps(outer.answer(body["txId"])).encode()
                self.send_response(outer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/local/verify"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def operator_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture()
def service():
    svc = VerifyService()
    yield svc
    svc.close()


def signed_answer(key, lineage, *, level=3, tamper=None):
    envelopes = {r.tx_id: r.envelope for r in lineage.base.records}
    n = key.public_key().public_numbers().n.to_bytes(256, "big")
    operator = b64u(hashlib.sha256(n).digest())

    def answer(tx):
        payload = {"attested_at": "2026-11-26T10:00:00Z", "tx_id": tx,
                   "data_hash": hashlib.sha256(envelopes[tx]).hexdigest(), "data_size": 600,
                   "block_height": 1600000, "block_timestamp": 1790000000, "operator": operator,
                   "owner_address": "owner", "gateway": "gw.example", "signature_verified": True,
                   "level": level, "attestation_version": "ario.evidence.attestation/v1"}
        if tamper:
            tamper(payload)
        sig = key.sign(jcs(payload), padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
                       hashes.SHA256())
        return {"txId": tx, "level": level, "links": {"dashboard": f"/report/{tx}"},
                "attestation": {"operator": operator, "gateway": "gw.example",
                                "attestedAt": payload["attested_at"], "payload": payload,
                                "signature": b64u(sig),
                                "public_key": {"kty": "RSA", "n": b64u(n), "e": "AQAB"}}}
    return answer


def audit_with(service, lineage, policy, **kw):
    with ArioVerifyClient(service.url, retries=0) as client:
        return audit_collection(lineage.collection(), replace(policy, **kw),
                                verify_service=client.query)


def test_signed_level_3_attestation_verifies(service, operator_key, lineage, policy):
    service.answer = signed_answer(operator_key, lineage)
    result = audit_with(service, lineage, policy, min_attestation_level=3)
    assert result.status is Status.VERIFIED
    assert len(service.requests) == 7
    ev = result.children[1]
    att = ev.check("attestation")
    assert att.outcome is Outcome.PASSED and "operator signature verified" in att.detail
    assert ev.subject["attestation_level"] == 3 and ev.subject["attested_by"] == "gw.example"
    assert ev.subject["report_url"].endswith(f"/report/{ev.subject['tx_id']}")


def test_level_below_minimum_is_incomplete(service, lineage, policy):
    service.answer = lambda tx: {"txId": tx, "level": 1, "attestation": None}
    result = audit_with(service, lineage, policy, min_attestation_level=2)
    assert (result.status, result.reason) == (Status.INCOMPLETE, R.ATTESTATION_LEVEL_LOW)
    # without a minimum the level is only reported
    assert audit_with(service, lineage, policy).status is Status.VERIFIED


def test_bad_operator_signature_fails(service, operator_key, lineage, policy):
    good = signed_answer(operator_key, lineage)

    def forged(tx):
        doc = good(tx)
        doc["attestation"]["payload"]["level"] = 3
        doc["attestation"]["payload"]["data_size"] = 1  # signed field changed after signing
        return doc
    service.answer = forged
    result = audit_with(service, lineage, policy)
    assert (result.status, result.reason) == (Status.FAILED, R.ATTESTATION_SIGNATURE_INVALID)


def test_attestation_about_other_bytes_fails(service, operator_key, lineage, policy):
    service.answer = signed_answer(operator_key, lineage,
                                   tamper=lambda p: p.update(data_hash="0" * 64))
    result = audit_with(service, lineage, policy)
    assert (result.status, result.reason) == (Status.FAILED, R.DATA_HASH_NOT_BOUND)


def test_operator_not_bound_fails(service, operator_key, lineage, policy):
    service.answer = signed_answer(operator_key, lineage,
                                   tamper=lambda p: p.update(operator="someone-else"))
    result = audit_with(service, lineage, policy)
    assert (result.status, result.reason) == (Status.FAILED, R.OPERATOR_NOT_BOUND)


def test_service_errors_are_unavailable(service, lineage, policy):
    service.status = 503
    result = audit_with(service, lineage, policy)
    assert (result.status, result.reason) == (Status.INCOMPLETE, R.ATTESTATION_UNAVAILABLE)


def test_cli_flag_and_offline_conflict(capsys, tmp_path, service, operator_key, lineage):
    service.answer = signed_answer(operator_key, lineage, level=2)
    path = tmp_path / "b.zip"
    write_bundle(lineage.collection(), path)
    code = main(["audit", str(path), "--ario-verify-url", service.url,
                 "--min-attestation-level", "3", "--json", "-q"])
    doc = json.loads(capsys.readouterr().out)
    assert (code, doc["reason"]) == (3, "attestation_level_low")
    assert main(["audit", str(path), "--ario-verify-url", service.url, "--offline"]) == 2

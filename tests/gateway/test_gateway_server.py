"""The local gateway emulator: routes, receipts, persistence, faults, hostile requests,
and the real turbo-sdk client uploading to it."""

from __future__ import annotations

import http.client
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from verifier.anchor.dataitem import (
    ArweaveSigner, Ed25519Signer, build_event_item, create_data_item, generate_arweave_jwk,
)
from verifier.core.ans104 import encode_tags, parse_data_item, verify_data_item
from verifier.core.encoding import b64u_decode
from verifier.core.receipt import LAYOUT_CURRENT, verify_receipt
from verifier.gateway.server import Fault, GatewayServer

ENVELOPE = b'{"event_id":"e-9","event_type":"model_registered"}'
EVENT = {"event_type": "model_registered", "event_id": "e-9", "chain_prev": "GENESIS"}
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def gw():
    server = GatewayServer("127.0.0.1", 0, None).start()
    yield server
    server.stop()


@pytest.fixture()
def signer():
    return Ed25519Signer(os.urandom(32))


def _post(gw, raw: bytes, token: str = "solana") -> httpx.Response:
    return httpx.post(f"{gw.url}/tx/{token}", content=raw,
                      headers={"Content-Type": "application/octet-stream"})


def _signed_item(gw, item_id: str) -> bytes:
    """The complete item, read as from a real gateway: root offsets, then a ranged GET."""
    head = httpx.head(f"{gw.url}/raw/{item_id}").headers
    root = head["x-ar-io-root-transaction-id"]
    a, d = int(head["x-ar-io-root-data-item-offset"]), int(head["x-ar-io-root-data-offset"])
    end = d + int(head["content-length"]) - 1
    got = httpx.get(f"{gw.url}/raw/{root}", headers={"Range": f"bytes={a}-{end}"})
    assert got.status_code == 206 and got.headers["content-range"].startswith(f"bytes {a}-{end}/")
    return got.content


def _pss_salt(modulus: bytes, signature: bytes) -> int:
    import hashlib

    n, k = int.from_bytes(modulus, "big"), len(modulus)
    em = pow(int.from_bytes(signature, "big"), 65537, n).to_bytes(k, "big")
    em_bits = n.bit_length() - 1
    em = em[k - (em_bits + 7) // 8:]
    masked, h = em[:len(em) - 33], em[len(em) - 33:-1]
    mask, c = b"", 0
    while len(mask) < len(masked):
        mask += hashlib.sha256(h + c.to_bytes(4, "big")).digest()
        c += 1
    db = bytearray(a ^ b for a, b in zip(masked, mask))
    db[0] &= 0xFF >> (8 * len(em) - em_bits)
    return len(db) - db.index(1) - 1


def test_info(gw):
    info = httpx.get(gw.url + "/").json()
    assert info["addresses"]["arweave"] == gw.signer_address
    assert httpx.get(gw.url + "/info").json() == info
    assert info["receiptVersion"] == "0.2.0" and info["receiptKeyBits"] == 2048


def test_upload_receipt_and_reads(gw, signer):
    raw = build_event_item(ENVELOPE, signer, **EVENT)
    item = parse_data_item(raw)
    r = _post(gw, raw)
    assert r.status_code == 200
    receipt = r.json()
    assert set(receipt) >= {"id", "timestamp", "version", "deadlineHeight", "dataCaches",
                            "fastFinalityIndexes", "winc", "owner", "public", "signature"}
    assert receipt["id"] == item.id and receipt["owner"] == item.owner_address
    assert receipt["version"] == "0.2.0"
    res = verify_receipt(receipt, item.id, {gw.signer_address})
    assert res.ok and res.subject["layout"] == LAYOUT_CURRENT
    assert _pss_salt(b64u_decode(receipt["public"]), b64u_decode(receipt["signature"])) == 0

    for path in (f"/raw/{item.id}", f"/{item.id}"):
        got = httpx.get(gw.url + path)
        assert got.status_code == 200 and got.content == ENVELOPE
        assert got.headers["content-type"] == "application/json"
    full = _signed_item(gw, item.id)
    assert full == raw and verify_data_item(full, item.id, ENVELOPE).ok
    assert httpx.get(f"{gw.url}/tx/{item.id}/data-item").status_code == 404  # no such route
    status = httpx.get(f"{gw.url}/tx/{item.id}/status").json()
    assert status["status"] == "CONFIRMED"
    head = httpx.head(f"{gw.url}/raw/{item.id}")
    assert head.status_code == 200 and head.headers["content-length"] == str(len(ENVELOPE))


def test_duplicate_upload_is_idempotent(gw, signer):
    raw = build_event_item(ENVELOPE, signer, **EVENT)
    first, second = _post(gw, raw).json(), _post(gw, raw).json()
    assert first == second


def test_routes_v1_and_tokenless(gw, signer):
    for path in ("/v1/tx/solana", "/v1/tx", "/tx"):
        raw = build_event_item(ENVELOPE, signer, **EVENT)
        r = httpx.post(gw.url + path, content=raw)
        assert r.status_code == 200 and r.json()["id"] == parse_data_item(raw).id


def test_rejections(gw, signer):
    raw = build_event_item(ENVELOPE, signer, **EVENT)
    bad = bytearray(raw)
    bad[-1] ^= 1
    r = _post(gw, bytes(bad))
    assert r.status_code == 400 and r.json()["error"] == "data_item_signature_invalid"
    r = _post(gw, b"\x03\x00" + raw[2:])
    assert r.status_code == 400 and r.json()["error"] == "data_item_malformed"
    assert "unsupported signature type 3" in r.json()["detail"]
    assert _post(gw, raw, "arweave").json()["error"] == "token_mismatch"
    assert _post(gw, raw, "bitcoin").json()["error"] == "unsupported_token"
    assert httpx.post(gw.url + "/elsewhere", content=raw).status_code == 404
    assert httpx.get(f"{gw.url}/tx/{parse_data_item(raw).id}/status").status_code == 404
    # nothing was stored for the bad item
    assert httpx.get(f"{gw.url}/raw/{parse_data_item(bytes(bad)).id}").status_code == 404


def test_lookups(gw):
    missing = "A" * 43
    r = httpx.get(f"{gw.url}/raw/{missing}")
    assert r.status_code == 404 and r.json()["status"] == "NOT_FOUND"
    assert httpx.get(f"{gw.url}/tx/{missing}/status").json()["status"] == "NOT_FOUND"
    for path in ("/raw/short", "/../../etc/passwd", "/tx/x/y/z", "/raw/" + "A" * 44):
        assert httpx.get(gw.url + path).status_code == 404


def test_content_type_from_tag_is_sanitised(gw, signer):
    good = create_data_item(b"hi", signer, [("Content-Type", "text/plain; charset=utf-8")])
    evil = create_data_item(b"hi", signer, [("Content-Type", "text/html\r\nSet-Cookie: x=1")])
    none = create_data_item(b"hi", signer, [])
    want = {good: "text/plain; charset=utf-8", evil: "application/octet-stream",
            none: "application/octet-stream"}
    for raw, ctype in want.items():
        item_id = _post(gw, raw).json()["id"]
        got = httpx.get(f"{gw.url}/raw/{item_id}")
        assert got.headers["content-type"] == ctype and "set-cookie" not in got.headers


def test_length_required_and_too_large(signer):
    with GatewayServer(max_item_bytes=1000) as gw:
        host, port = gw.url.removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=5)
        conn.putrequest("POST", "/tx/solana")
        conn.endheaders()
        assert conn.getresponse().status == 411
        conn.close()
        raw = create_data_item(b"x" * 2000, signer)
        r = httpx.post(gw.url + "/tx/solana", content=raw)
        assert r.status_code == 413


def test_persistence_across_restart(tmp_path, signer):
    db = tmp_path / "gw" / "gateway.db"
    raw = build_event_item(ENVELOPE, signer, **EVENT)
    with GatewayServer(db_path=str(db)) as gw:
        address = gw.signer_address
        receipt = _post(gw, raw).json()
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    with GatewayServer(db_path=str(db)) as gw:
        assert gw.signer_address == address  # the receipt key persists
        assert _signed_item(gw, receipt["id"]) == raw
        assert _post(gw, raw).json() == receipt


def test_faults_via_constructor_method_and_admin(signer):
    raw = build_event_item(ENVELOPE, signer, **EVENT)
    with GatewayServer(faults=[503]) as gw:
        assert _post(gw, raw).status_code == 503
        gw.inject_faults(Fault(status=429, retry_after="7"))
        r = _post(gw, raw)
        assert r.status_code == 429 and r.headers["retry-after"] == "7"
        assert _post(gw, raw).status_code == 200
        # admin endpoint is off by default
        assert httpx.post(gw.url + "/__admin/faults", json={"faults": [500]}).status_code == 404
    with GatewayServer(admin=True) as gw:
        r = httpx.post(gw.url + "/__admin/faults", json={"faults": [500, {"status": 429}]})
        assert r.status_code == 200 and r.json() == {"queued": 2}
        assert httpx.get(gw.url + "/info").status_code == 500
        assert httpx.get(gw.url + "/info").status_code == 429
        assert httpx.get(gw.url + "/info").status_code == 200
        bad = httpx.post(gw.url + "/__admin/faults", json={"faults": [{"status": 9}]})
        assert bad.status_code == 400
    with pytest.raises(ValueError):
        Fault.of("slow")  # type: ignore[arg-type]


def test_slow_fault_times_out_client(signer):
    with GatewayServer(faults=[{"delay": 5}]) as gw:
        with pytest.raises(httpx.ReadTimeout):
            httpx.get(gw.url + "/info", timeout=0.3)
        assert httpx.get(gw.url + "/info", timeout=5).status_code == 200


def test_type1_items_and_turbo_sdk_client(gw):
    turbo_sdk = pytest.importorskip("turbo_sdk")
    jwk = generate_arweave_jwk()
    for turbo_signer in (turbo_sdk.SolanaSigner(os.urandom(32)), turbo_sdk.ArweaveSigner(jwk)):
        client = turbo_sdk.Turbo(turbo_signer, upload_url=gw.url)
        resp = client.upload(b"hello turbo", tags=[{"name": "Content-Type", "value": "text/plain"}])
        full = _signed_item(gw, resp.id)
        res = verify_data_item(full, resp.id, b"hello turbo")
        assert res.ok and res.subject["signature_type"] == turbo_signer.signature_type
        assert res.subject["owner_address"] == resp.owner
        receipt = {"id": resp.id, "timestamp": resp.timestamp, "version": resp.version,
                   "deadlineHeight": resp.deadline_height, "public": resp.public,
                   "signature": resp.signature}
        assert verify_receipt(receipt, resp.id, {gw.signer_address}).ok
        assert httpx.get(f"{gw.url}/raw/{resp.id}").headers["content-type"] == "text/plain"
    # our own type-1 producer goes through too
    raw = build_event_item(ENVELOPE, ArweaveSigner(jwk), **EVENT)
    assert _post(gw, raw, "arweave").status_code == 200
    assert parse_data_item(raw).raw_tags == encode_tags(
        [(t["name"], t["value"]) for t in verify_data_item(raw).subject["tags"]])


def test_serve_prints_url_first(tmp_path):
    code = ("import sys; from verifier.gateway.server import serve; "
            f"serve('127.0.0.1', 0, {str(tmp_path / 'g.db')!r})")
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        info = json.loads(httpx.get(url + "/info", timeout=5).content)
        assert "arweave" in info["addresses"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)

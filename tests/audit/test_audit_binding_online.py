"""Online binding in audits (issue 8): one bad gateway answer does not poison the byte cache
(defect 5), the origin of every byte is reported, binding works through real-gateway routes
and stays "unproven" (with claims labelled as such) when no route yields the signed item,
and a tx id the producer never recorded is found by GraphQL tag search (defect 6)."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from verifier.audit import AuditPolicy, audit_collection
from verifier.audit.collect import confirm_on_gateways
from verifier.core.reasons import ReasonCode as R
from verifier.core.reasons import Status
from verifier.gateway.server import GatewayServer
from verifier.sources.cache import ByteCache
from verifier.sources.fill import TX_SOURCE_SEARCH, fill_from_gateways
from verifier.sources.gateway import GatewayClient

_RAW_ID = re.compile(r"/raw/([A-Za-z0-9_-]{43})")


class AlteringProxy:
    """Forwards everything to an honest gateway, but alters the /raw bytes of `victims`
    (a gateway that serves tampered envelopes while its bundle bytes stay honest); with
    `only_raw`, every other route answers 404."""

    def __init__(self, upstream: str, victims: set[str], only_raw: bool = False) -> None:
        client = httpx.Client(base_url=upstream)

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a: object) -> None:
                pass

            def _forward(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if only_raw and not (self.command == "GET" and _RAW_ID.fullmatch(self.path)):
                    self.send_response(404)  # a gateway with no route to the signed item
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                fwd = {k: v for k, v in self.headers.items() if k.lower() in ("range", "content-type")}
                up = client.request(self.command, self.path, content=body or None, headers=fwd)
                data = up.content
                m = _RAW_ID.fullmatch(self.path)
                if m and m.group(1) in victims and self.command == "GET":
                    data = data.replace(b'"signed_at":"', b'"signed_at":"1')
                self.send_response(up.status_code)
                for k, v in up.headers.items():
                    if k.lower() not in ("content-length", "connection", "date", "server"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_HEAD = do_POST = _forward

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self._client = client

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._client.close()


@pytest.fixture(scope="module")
def uploaded(gateway, lineage):
    with httpx.Client() as client:
        for rec in lineage.base.records:
            resp = client.post(f"{gateway.url}/tx/solana", content=rec.data_item)
            assert resp.status_code == 200, resp.text
    return lineage


def stripped(lineage):
    col = lineage.collection()
    for r in col.records:
        r.envelope = r.envelope_origin = r.data_item = r.fetch = None
    return col


def _audit(col, client, policy):
    confirm_on_gateways(col, client)
    return audit_collection(col, policy)


@pytest.mark.parametrize("bundle_routes", [True, False], ids=["honest-bundle", "no-item-routes"])
def test_one_bad_answer_does_not_poison_the_cache(tmp_path, uploaded, gateway, policy,
                                                  bundle_routes):
    """Defect 5: audit against a gateway serving altered envelope bytes, then against an
    honest one with the same cache: the second audit verifies."""
    cache = ByteCache(tmp_path / "cache.sqlite3")
    victims = {r.tx_id for r in uploaded.base.records}
    proxy = AlteringProxy(gateway.url, victims, only_raw=not bundle_routes)
    try:
        with GatewayClient([proxy.url], cache=cache, retries=0) as c:
            first = _audit(stripped(uploaded), c, policy)
    finally:
        proxy.close()
    assert first.status is Status.FAILED
    if bundle_routes:  # the honest signed item was found: it contradicts the /raw bytes
        assert first.reason is R.DATA_ITEM_DATA_MISMATCH
        assert len(cache) == len(victims)  # only bound items, none of the altered bytes
    else:
        assert first.reason is R.SIGNATURE_INVALID and len(cache) == 0
    with GatewayClient([gateway.url], cache=cache) as c:
        second = _audit(stripped(uploaded), c, policy)
    assert second.status is Status.VERIFIED, second.reason
    origins = {ev.subject["envelope_origin"].split(" ")[0] for ev in second.children}
    assert origins == ({"cache:bound"} if bundle_routes else {f"gateway:{gateway.url}"})
    assert all(ev.subject["data_item_origin"] for ev in second.children)


def test_origins_and_binding_route_reported(uploaded, gateway, policy):
    col = stripped(uploaded)
    for r in col.records:
        if r.payload is not None:
            r.payload_origin = "mlflow-artifact:run/ario/payload.json"
    with GatewayClient([gateway.url]) as c:
        result = _audit(col, c, policy)
    assert result.status is Status.VERIFIED
    for ev in result.children:
        assert ev.subject["envelope_origin"] == f"gateway:{gateway.url}"
        if ev.subject.get("event_type") != "dataset":  # datasets commit no stored payload
            assert ev.subject["payload_origin"] == "mlflow-artifact:run/ario/payload.json"
        assert ev.subject["data_item_origin"] == f"gateway:{gateway.url} (root offsets + ranged /raw)"
        assert "(root offsets + ranged /raw) carries the envelope bytes" in ev.check("binding").detail


def test_unproven_binding_shows_claims_only_as_claims(uploaded, gateway, policy):
    """No route yields the signed item: binding is unproven (never passed), the gateway's
    integrity headers appear labelled as unverified claims; --require-binding: incomplete."""
    items = {r.tx_id: r.data_item for r in uploaded.base.records}
    with GatewayServer(withhold=("root-offsets", "turbo-offsets", "signatures")) as bare:
        for raw in items.values():
            assert httpx.post(f"{bare.url}/tx/solana", content=raw).status_code == 200
        for require, status in ((False, Status.VERIFIED), (True, Status.INCOMPLETE)):
            pol = AuditPolicy(trusted_receipt_signers=policy.trusted_receipt_signers,
                              require_binding=require)
            with GatewayClient([bare.url]) as c:
                result = _audit(stripped(uploaded), c, pol)
            assert result.status is status
            for ev in result.children:
                b = ev.check("binding")
                assert b.outcome.value != "passed" and ev.subject["bound"] is False
                assert "gateway claims (unverified, prove nothing)" in b.detail
                assert "x-ar-io-digest" in b.detail and "signature <not-found>" in b.detail
                if require:
                    assert b.reason is R.BINDING_UNCHECKED


def _lose_tx_id(col, role_prefix="prediction"):
    """Like the plugin losing `ario.prediction_tx`: only the local (indented) copy remains."""
    lost = next(r for r in col.records if r.hints.get("role", "").startswith(role_prefix))
    envelope = lost.envelope
    lost.tx_id = None
    lost.envelope = json.dumps(json.loads(envelope), indent=2).encode()
    lost.envelope_origin = "mlflow-artifact:run/ario/predictions/dec-000000/proof.json"
    lost.data_item = lost.receipt = lost.fetch = None
    return lost, envelope


def test_lost_tx_id_found_by_event_id_search(uploaded, gateway, policy):
    col = uploaded.collection()
    for r in col.records:  # a live source: bytes come from the gateway
        r.fetch = None
    lost, anchored = _lose_tx_id(col)
    want_tx = next(r.tx_id for r in uploaded.base.records if r.envelope == anchored)
    with GatewayClient([gateway.url]) as c:
        fill_from_gateways(col.records, c)
    assert lost.tx_id == want_tx and lost.hints["tx_source"] == TX_SOURCE_SEARCH
    assert lost.envelope == anchored  # the bound item's payload, not the local copy
    result = audit_collection(col, policy)
    assert result.status is Status.VERIFIED, result.reason
    ev = next(e for e in result.children if e.subject.get("tx_id") == want_tx)
    assert ev.subject["tx_source"] == TX_SOURCE_SEARCH
    assert "found by GraphQL search on Event-Id" in ev.check("proof_found").detail
    assert ev.check("binding").outcome.value == "passed"


def test_lost_tx_id_offline_stays_incomplete_with_a_precise_detail(uploaded, policy):
    col = uploaded.collection()
    lost, _ = _lose_tx_id(col)
    fill_from_gateways(col.records, GatewayClient([], offline=True))
    assert lost.tx_id is None
    result = audit_collection(col, policy)
    assert result.status is Status.INCOMPLETE
    ev = next(e for e in result.children if e.subject.get("tx_id") is None)
    found = ev.check("proof_found")
    assert found.reason is R.ENVELOPE_NOT_FOUND
    assert "none found by Event-Id search: offline: no gateway searched" in found.detail


def test_search_hit_with_another_envelope_is_not_taken(uploaded, gateway, policy):
    """An item tagged with the same Event-Id but carrying other bytes is not adopted."""
    col = uploaded.collection()
    for r in col.records:
        r.fetch = None
    lost, _ = _lose_tx_id(col)
    doc = json.loads(lost.envelope)
    doc["signature"] = "00" * 64
    lost.envelope = json.dumps(doc).encode()
    with GatewayClient([gateway.url]) as c:
        fill_from_gateways(col.records, c)
    assert lost.tx_id is None
    assert "1 item(s) tagged Event-Id" in lost.hints["tx_search"]


def test_bundle_bytes_are_reported_as_bundle_members_not_the_exporters_claim(tmp_path, uploaded,
                                                                            policy):
    from verifier.sources.bundle import read_bundle, write_bundle

    col = uploaded.collection()
    for r in col.records:
        r.envelope_origin = "gateway:https://exporter-says.example"
    path = write_bundle(col, tmp_path / "b.zip").path
    result = audit_collection(read_bundle(path), policy)
    assert result.status is Status.VERIFIED
    assert all(ev.subject["envelope_origin"].startswith("bundle:") for ev in result.children)


def test_several_lost_tx_ids_are_searched_concurrently_and_each_bound(uploaded, gateway, policy):
    col = uploaded.collection()
    for r in col.records:
        r.fetch = None
    lost = [_lose_tx_id(col, role) for role in ("prediction0", "prediction1", "promotion")]
    with GatewayClient([gateway.url], max_concurrency=3) as c:
        fill_from_gateways(col.records, c)
    for rec, anchored in lost:
        assert rec.tx_id and rec.envelope == anchored
        assert rec.hints["tx_source"] == TX_SOURCE_SEARCH
    assert audit_collection(col, policy).status is Status.VERIFIED

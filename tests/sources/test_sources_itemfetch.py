"""Fetching the signed data item of a tx id through the routes real gateways have (issue 8,
defect 6), against the local gateway on loopback (each fallback switched on by withholding
the earlier ones) and a scripted hostile server; and the bound-only byte cache (defect 5)."""

from __future__ import annotations

import os
import struct

import httpx
import pytest
from sources_httpd import Reply, ScriptedServer, dead_url

from verifier.anchor.dataitem import Ed25519Signer, build_event_item, create_data_item
from verifier.core.ans104 import parse_data_item, signing_message_parts, verify_data_item
from verifier.gateway.server import GatewayServer
from verifier.sources.cache import ByteCache
from verifier.sources.gateway import GatewayClient
from verifier.sources.model import FetchStatus

ENVELOPE = b'{"event_id":"e-1","event_type":"prediction"}'
SIGNER = Ed25519Signer(os.urandom(32))


def _upload(gw: GatewayServer, raw: bytes) -> str:
    r = httpx.post(f"{gw.url}/tx/solana", content=raw)
    assert r.status_code == 200, r.text
    return r.json()["id"]


def _items(n: int = 3) -> list[bytes]:
    return [build_event_item(ENVELOPE.replace(b"e-1", f"e-{i}".encode()), SIGNER,
                             event_type="prediction", event_id=f"e-{i}", chain_prev="GENESIS")
            for i in range(n)]


def _client(*gws: str, **kw) -> GatewayClient:
    kw.setdefault("timeout", 5.0)
    kw.setdefault("retries", 0)
    return GatewayClient(list(gws), **kw)


@pytest.mark.parametrize("withhold,auto_seal,method", [
    ((), True, "root offsets + ranged /raw"),
    (("root-offsets",), True, "turbo offsets"),
    (("root-offsets", "turbo-offsets"), True, "graphql"),
    ((), False, "graphql"),  # not yet bundled: no offsets anywhere, GraphQL knows it
])
def test_each_route_yields_the_bound_item(withhold, auto_seal, method):
    with GatewayServer(withhold=withhold, auto_seal=auto_seal) as gw:
        raws = _items()
        ids = [_upload(gw, raw) for raw in raws]
        with _client(gw.url) as c:
            res = c.fetch_data_item(ids[1])
        assert res.status is FetchStatus.OK and res.data == raws[1]
        assert res.origin == f"{gw.url} ({method})"
        assert verify_data_item(res.data, ids[1], parse_data_item(raws[1]).data).ok


def test_signatures_not_found_and_no_offsets_leave_binding_unproven_with_claims():
    with GatewayServer(withhold=("root-offsets", "turbo-offsets", "signatures")) as gw:
        tx = _upload(gw, _items(1)[0])
        with _client(gw.url) as c:
            res = c.fetch_data_item(tx)
    assert res.status is FetchStatus.UNAVAILABLE and res.data is None
    note = res.per_gateway[0][1]
    assert "no root offset headers" in note and "turbo offsets: not_found" in note
    assert "signature <not-found>" in note
    claims = dict(res.claims)
    assert f"{gw.url} x-ar-io-digest" in claims and f"{gw.url} x-ar-io-verified" in claims


def test_unknown_tx_is_not_found_and_offline_opens_nothing():
    with GatewayServer() as gw:
        with _client(gw.url) as c:
            assert c.fetch_data_item("A" * 43).status is FetchStatus.NOT_FOUND
    assert GatewayClient([], offline=True).fetch_data_item("A" * 43).status is FetchStatus.OFFLINE


def test_graphql_rebuild_with_zero_tags_and_a_target():
    """Both zero-tag encodings and a present target survive the GraphQL rebuild."""
    with GatewayServer(withhold=("root-offsets", "turbo-offsets")) as gw:
        raws = [create_data_item(b"x", SIGNER, [], target=b"\x01" * 32),  # tags "\x00"
                _arbundles_style_no_tags(b"y")]
        for raw in raws:
            tx = _upload(gw, raw)
            with _client(gw.url) as c:
                res = c.fetch_data_item(tx)
            assert res.status is FetchStatus.OK and res.data == raw and "graphql" in res.origin


def _arbundles_style_no_tags(data: bytes) -> bytes:
    """Zero tags written as no tag bytes at all (arbundles, Turbo JS SDK), no anchor."""
    msg = signing_message_parts(2, SIGNER.owner, None, None, b"", data)
    return (struct.pack("<H", 2) + SIGNER.sign(msg) + SIGNER.owner + b"\x00\x00"
            + struct.pack("<QQ", 0, 0) + data)


class _Hostile:
    """Root offset headers that point the client at the wrong bytes, in several ways."""

    def __init__(self, server: ScriptedServer, tx: str, item: bytes, other: bytes) -> None:
        root = "R" * 43
        head = {"X-AR-IO-Root-Transaction-Id": root, "X-AR-IO-Root-Data-Item-Offset": "0",
                "X-AR-IO-Root-Data-Offset": str(parse_data_item(item).data_offset),
                "X-AR-IO-Digest": "bogus\x1b[31mRED"}
        server.route(f"HEAD /raw/{tx}", Reply(200, parse_data_item(item).data, head))
        rng = f"bytes 0-{len(item) - 1}/{len(item)}"
        server.route(f"/raw/{root}",
                     Reply(200, item),  # ignores Range: 200, not 206
                     Reply(206, item, {"Content-Range": "bytes 1-99/100"}),  # wrong range
                     Reply(206, other[:len(item)].ljust(len(item), b"\0"),
                           {"Content-Range": rng}))  # someone else's bytes


def test_hostile_offsets_never_yield_an_item():
    raw, other = _items(2)
    tx = parse_data_item(raw).id
    with ScriptedServer() as s:
        _Hostile(s, tx, raw, other)
        with _client(s.url, s.url, s.url) as c:  # the same liar three times over
            c.gateways = (s.url, s.url + "/", s.url + "//")
            res = c.fetch_data_item(tx)
    assert res.status is FetchStatus.UNAVAILABLE and res.data is None
    notes = " | ".join(o for _, o in res.per_gateway)
    assert "ranged GET /raw/" in notes and "http_200" in notes
    assert "ranged GET answered 'bytes 1-99/100'" in notes
    assert "not a data item" in notes or "bytes of another item" in notes
    assert all("\x1b" not in v for _, v in res.claims)


def test_bound_items_are_cached_and_served_without_gateways(tmp_path):
    cache = ByteCache(tmp_path / "c.sqlite3")
    with GatewayServer() as gw:
        raw = _items(1)[0]
        tx = _upload(gw, raw)
        with _client(gw.url, cache=cache) as c:
            first = c.fetch_data_item(tx)
    assert first.status is FetchStatus.OK and len(cache) == 1
    with _client(dead_url(), cache=cache) as c:  # the gateway is gone: the bound item stays
        again, envelope = c.fetch_data_item(tx), c.fetch(tx)
    assert again.data == raw and again.origin == f"cache:bound ({gw.url} (root offsets + ranged /raw))"
    assert envelope.status is FetchStatus.OK and envelope.data == parse_data_item(raw).data
    assert envelope.origin.startswith("cache:bound (")


def test_raw_bytes_alone_are_never_cached(tmp_path):
    """Defect 5: a /raw answer is not bound to the tx id, so it is not kept."""
    cache = ByteCache(tmp_path / "c.sqlite3")
    tx = "A" * 43
    with ScriptedServer() as s:
        s.route(f"/raw/{tx}", Reply(200, b'{"forged":true}'))
        with _client(s.url, cache=cache) as c:
            assert c.fetch(tx).data == b'{"forged":true}'
            assert c.fetch_data_item(tx).status is not FetchStatus.OK
        assert len(cache) == 0
        with _client(s.url, cache=cache) as c:
            c.fetch(tx)
        assert s.hits[f"/raw/{tx}"] == 2  # asked again: nothing was served from the cache


def test_unreachable_gateway_is_not_asked_the_fallbacks_and_the_next_one_is():
    with GatewayServer() as gw:
        raw = _items(1)[0]
        tx = _upload(gw, raw)
        dead = dead_url()
        with _client(dead, gw.url) as c:
            res = c.fetch_data_item(tx)
    assert res.status is FetchStatus.OK and res.data == raw
    assert res.per_gateway[0] == (dead, "HEAD /raw: connect_error (gateway not asked further)")


def test_offsets_sent_with_the_raw_answer_spare_the_head_request():
    raw = _items(1)[0]
    item = parse_data_item(raw)
    root = "R" * 43
    head = {"X-AR-IO-Root-Transaction-Id": root, "X-AR-IO-Root-Data-Item-Offset": "96",
            "X-AR-IO-Root-Data-Offset": str(96 + item.data_offset)}
    with ScriptedServer() as s:
        s.route(f"/raw/{item.id}", Reply(200, item.data, head))
        s.route(f"HEAD /raw/{item.id}", Reply(200, item.data, head))
        s.route(f"/raw/{root}", Reply(206, raw, {"Content-Range": f"bytes 96-{95 + len(raw)}/*"}))
        with _client(s.url) as c:
            assert c.fetch(item.id).data == item.data
            res = c.fetch_data_item(item.id)
            assert res.status is FetchStatus.OK and res.data == raw
            assert f"HEAD /raw/{item.id}" not in s.hits
            assert s.request_headers[-1]["Range"] == f"bytes=96-{95 + len(raw)}"
            again = c.fetch_data_item(item.id)  # the hint is used once: now HEAD is asked
        assert again.data == raw and s.hits[f"HEAD /raw/{item.id}"] == 1


def test_graphql_rebuild_infers_the_type_and_never_raises_on_hostile_metadata():
    from verifier.core.encoding import b64u_encode
    from verifier.sources.gqlitem import rebuild_candidates
    from verifier.sources.itemfetch import check_candidate

    raw = _items(1)[0]
    it = parse_data_item(raw)
    node = {"signature": b64u_encode(it.signature), "owner": {"key": b64u_encode(it.owner)},
            "recipient": "", "anchor": b64u_encode(it.anchor),
            "tags": [{"name": n.decode(), "value": v.decode()} for n, v in it.tags]}
    candidates, why = rebuild_candidates(node, it.data)  # no signatureType: 2 and 4 tried
    assert not why and len(candidates) == 2
    assert rebuild_candidates({**node, "signatureType": True}, it.data)[0] == candidates
    assert [c for c in candidates if not check_candidate(c, it.id)] == [raw]
    hostile = [None, [], {"signature": "<not-found>"}, {**node, "signature": 5},
               {**node, "owner": "x"}, {**node, "anchor": "AAAA"}, {**node, "tags": "t"},
               {**node, "tags": [{"name": "a", "value": ""}]}, {**node, "signatureType": 3},
               {**node, "tags": [{"name": "\ud800", "value": "v"}]}]
    for bad in hostile:
        got, reason = rebuild_candidates(bad, it.data)
        assert got == [] and reason.startswith("graphql:")


def test_graphql_rebuild_of_an_arweave_rsa_item():
    """Type 1 (RSA-4096, PSS salt 478, as the Python turbo-sdk signs) through GraphQL."""
    from verifier.anchor.dataitem import ArweaveSigner, generate_arweave_jwk

    raw = build_event_item(ENVELOPE, ArweaveSigner(generate_arweave_jwk()),
                           event_type="prediction", event_id="e-rsa", chain_prev="GENESIS")
    with GatewayServer(withhold=("root-offsets", "turbo-offsets")) as gw:
        tx = httpx.post(f"{gw.url}/tx/arweave", content=raw).json()["id"]
        with _client(gw.url) as c:
            res = c.fetch_data_item(tx)
    assert res.status is FetchStatus.OK and res.data == raw and res.origin.endswith("(graphql)")

"""The local gateway's read routes are those of real ar.io gateways and Turbo (issue 8,
defect 6): a real ANS-104 bundle layout behind /raw, Range, root offset headers, Turbo
offsets and status, and the GraphQL subset."""

from __future__ import annotations

import os

import httpx
import pytest

from verifier.anchor.dataitem import Ed25519Signer, build_event_item, create_data_item
from verifier.core.ans104 import parse_data_item
from verifier.core.encoding import b64u_decode
from verifier.gateway.server import GatewayServer

SIGNER = Ed25519Signer(os.urandom(32))


def _items(n: int) -> list[bytes]:
    return [build_event_item(b'{"n":%d}' % i, SIGNER, event_type="prediction",
                             event_id=f"ev-{i}", chain_prev="GENESIS") for i in range(n)]


ITEMS = _items(3)


@pytest.fixture(scope="module")
def gw():
    with GatewayServer() as server:
        for raw in ITEMS:
            assert httpx.post(f"{server.url}/tx/solana", content=raw).status_code == 200
        yield server


def _gql(gw, query: str, **variables) -> httpx.Response:
    return httpx.post(f"{gw.url}/graphql", json={"query": query, "variables": variables})


def test_bundle_layout_is_real_ans104(gw):
    raws = ITEMS
    ids = [parse_data_item(r).id for r in raws]
    root = httpx.head(f"{gw.url}/raw/{ids[0]}").headers["x-ar-io-root-transaction-id"]
    bundle = httpx.get(f"{gw.url}/raw/{root}").content
    assert int.from_bytes(bundle[:32], "little") == 3
    offset = 32 + 64 * 3
    for i, raw in enumerate(raws):
        entry = bundle[32 + 64 * i:32 + 64 * (i + 1)]
        assert int.from_bytes(entry[:32], "little") == len(raw)
        assert entry[32:] == b64u_decode(ids[i])
        assert bundle[offset:offset + len(raw)] == raw
        head = httpx.head(f"{gw.url}/raw/{ids[i]}").headers
        assert head["x-ar-io-root-data-item-offset"] == str(offset)
        assert head["x-ar-io-root-data-offset"] == str(offset + parse_data_item(raw).data_offset)
        offset += len(raw)
    assert offset == len(bundle)


def test_ranges(gw):
    tx = parse_data_item(ITEMS[0]).id
    full = httpx.get(f"{gw.url}/raw/{tx}").content
    n = len(full)
    for spec, want, rng in ((f"bytes=1-3", full[1:4], f"bytes 1-3/{n}"),
                            (f"bytes=2-", full[2:], f"bytes 2-{n - 1}/{n}"),
                            ("bytes=-2", full[-2:], f"bytes {n - 2}-{n - 1}/{n}"),
                            (f"bytes=0-{n + 50}", full, f"bytes 0-{n - 1}/{n}")):
        r = httpx.get(f"{gw.url}/raw/{tx}", headers={"Range": spec})
        assert (r.status_code, r.content, r.headers["content-range"]) == (206, want, rng)
    r = httpx.get(f"{gw.url}/raw/{tx}", headers={"Range": f"bytes={n}-"})
    assert r.status_code == 416 and r.headers["content-range"] == f"bytes */{n}"
    for ignored in ("bytes=0-1,3-4", "items=0-1", "bytes=" + "9" * 30 + "-"):
        r = httpx.get(f"{gw.url}/raw/{tx}", headers={"Range": ignored})
        assert r.status_code == 200 and r.content == full


def test_turbo_offsets_and_status(gw):
    raw = ITEMS[1]
    item = parse_data_item(raw)
    head = httpx.head(f"{gw.url}/raw/{item.id}").headers
    off = httpx.get(f"{gw.url}/v1/tx/{item.id}/offsets").json()
    assert off["rootBundleId"] == head["x-ar-io-root-transaction-id"]
    assert off["startOffsetInRootBundle"] == int(head["x-ar-io-root-data-item-offset"])
    assert off["rawContentLength"] == len(raw) and off["payloadDataStart"] == item.data_offset
    assert httpx.get(f"{gw.url}/tx/{item.id}/offsets").status_code == 404  # Turbo: /v1 only
    for path in (f"/v1/tx/{item.id}/status", f"/tx/{item.id}/status"):
        st = httpx.get(gw.url + path).json()
        assert st["status"] == "CONFIRMED" and st["bundleId"] == off["rootBundleId"]


def test_unbundled_items_have_no_offsets_until_sealed():
    with GatewayServer(auto_seal=False) as gw:
        tx = httpx.post(f"{gw.url}/tx/solana", content=_items(1)[0]).json()["id"]
        assert "x-ar-io-root-transaction-id" not in httpx.head(f"{gw.url}/raw/{tx}").headers
        assert httpx.get(f"{gw.url}/v1/tx/{tx}/offsets").status_code == 404
        assert "bundleId" not in httpx.get(f"{gw.url}/v1/tx/{tx}/status").json()
        root = gw.seal()
        assert httpx.head(f"{gw.url}/raw/{tx}").headers["x-ar-io-root-transaction-id"] == root
        assert gw.seal() is None  # nothing pending


def test_content_encoding_tag_is_answered_as_header(gw):
    import gzip
    body = gzip.compress(b'{"z":1}')
    raw = create_data_item(body, SIGNER, [("Content-Type", "application/json"),
                                          ("Content-Encoding", "gzip")])
    tx = httpx.post(f"{gw.url}/tx/solana", content=raw).json()["id"]
    with httpx.Client() as c:  # httpx decodes unless told not to: read raw
        with c.stream("GET", f"{gw.url}/raw/{tx}") as r:
            assert r.headers["content-encoding"] == "gzip"
            assert b"".join(r.iter_raw()) == body


def test_graphql_transaction_and_tag_search(gw):
    raw = ITEMS[2]
    item = parse_data_item(raw)
    q = ("query($id: ID!) { transaction(id: $id) { id signature signatureType "
         "owner { key address } recipient anchor tags { name value } data { size type } "
         "bundledIn { id } } }")
    node = _gql(gw, q, id=item.id).json()["data"]["transaction"]
    assert node["id"] == item.id and b64u_decode(node["signature"]) == item.signature
    assert node["owner"]["address"] == item.owner_address and node["recipient"] == ""
    assert b64u_decode(node["anchor"]) == item.anchor and node["signatureType"] == 2
    assert [(t["name"], t["value"]) for t in node["tags"]][4] == ("Event-Id", "ev-2")
    assert node["data"] == {"size": str(len(item.data)), "type": "application/json"}
    assert node["bundledIn"]["id"]
    assert _gql(gw, q, id="B" * 43).json() == {"data": {"transaction": None}}
    search = ('{ t: transactions(tags: [{name: "Event-Id", values: ["ev-0", "ev-2"]}, '
              '{name: "App-Name", values: ["ario-verifier"]}], first: 1) '
              '{ pageInfo { hasNextPage } edges { cursor node { id } } } }')
    page = _gql(gw, search).json()["data"]["t"]
    assert page["pageInfo"]["hasNextPage"] is True and len(page["edges"]) == 1
    after = search.replace("first: 1", f'first: 5, after: "{page["edges"][0]["cursor"]}"')
    rest = _gql(gw, after).json()["data"]["t"]["edges"]
    assert [e["node"]["id"] for e in rest] == [item.id]


@pytest.mark.parametrize("query", [
    "{ nope }", "mutation { x }", "{ transaction(id: 5) { id } }",
    "{ transaction(id: $missing) { id } }", "{ transactions(first: 1000) { edges { cursor } } }",
    "{ transaction(id: \"%s\") { id { deeper } } }" % parse_data_item(ITEMS[0]).id, "{" * 50, "{ a " + "b " * 500 + "}",
    "{ transactions { ...frag } }", "\x00",
])
def test_graphql_refuses_outside_the_subset_as_json(gw, query):
    r = _gql(gw, query)
    assert r.status_code == 400 and r.json()["errors"][0]["message"]


def test_graphql_withheld_signatures_and_route():
    with GatewayServer(withhold=("signatures",)) as gw:
        tx = httpx.post(f"{gw.url}/tx/solana", content=_items(1)[0]).json()["id"]
        node = _gql(gw, "query($id: ID!) { transaction(id: $id) { signature } }", id=tx).json()
        assert node["data"]["transaction"]["signature"] == "<not-found>"
    with GatewayServer(withhold=("graphql",)) as gw:
        assert _gql(gw, "{ transaction(id: \"x\") { id } }").status_code == 404
    with pytest.raises(ValueError):
        GatewayServer(withhold=("everything",))


def test_each_seal_makes_a_new_bundle_and_persisted_stores_resume(tmp_path):
    db = str(tmp_path / "gw.sqlite")
    raws = _items(3)
    with GatewayServer(db_path=db, auto_seal=False) as gw:
        for raw in raws[:2]:
            httpx.post(f"{gw.url}/tx/solana", content=raw)
        first = gw.seal()
        httpx.post(f"{gw.url}/tx/solana", content=raws[2])
    with GatewayServer(db_path=db) as gw:  # restarted: the pending item is sealed on read
        roots = [httpx.head(f"{gw.url}/raw/{parse_data_item(r).id}").headers[
            "x-ar-io-root-transaction-id"] for r in raws]
        assert roots[0] == roots[1] == first and roots[2] != first
        second = httpx.get(f"{gw.url}/raw/{roots[2]}").content
        assert int.from_bytes(second[:32], "little") == 1 and second.endswith(raws[2])

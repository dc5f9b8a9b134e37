"""A prediction whose `ario.prediction_tx` trace tag the plugin lost, read from a real MLflow
store (issue 8, defect 6): online its tx id is found by GraphQL Event-Id search and bound;
offline it stays without tx id, with the reason."""

from __future__ import annotations

import httpx
import pytest
from sources_mlstore import build_in_child

from verifier.core.jcs import canonical
from verifier.gateway.server import GatewayServer
from verifier.sources.fill import TX_SOURCE_SEARCH
from verifier.sources.gateway import GatewayClient
from verifier.sources.mlflow_reader import read_mlflow


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return build_in_child([("file", tmp_path_factory.mktemp("lost") / "fs", "losttag")])[0]


def _prediction(col, decision_id):
    return next(r for r in col.records if r.hints.get("decision_id") == decision_id)


def test_lost_prediction_tx_found_by_search_and_bound(store, tmp_path):
    tx = store.tx["prediction0"]
    did = next(d for d, t in store.traces.items()
               if store.envelopes[tx]["subject"]["trace_id"] == t)
    offline = read_mlflow(store.uri, "models:/fraud/1", gateway=GatewayClient([], offline=True))
    rec = _prediction(offline, did)
    assert rec.tx_id is None and rec.envelope_origin.endswith(f"predictions/{did}/proof.json")
    assert rec.hints["tx_search"] == "offline: no gateway searched"
    with GatewayServer("127.0.0.1", 0, str(tmp_path / "gw.sqlite3")) as gw:
        for raw in store.items.values():
            assert httpx.post(f"{gw.url}/tx/solana", content=raw).status_code == 200
        with GatewayClient([gw.url], retries=0) as client:
            col = read_mlflow(store.uri, "models:/fraud/1", gateway=client)
    rec = _prediction(col, did)
    assert rec.tx_id == tx and rec.hints["tx_source"] == TX_SOURCE_SEARCH
    assert rec.envelope == canonical(store.envelopes[tx])  # the anchored bytes
    assert rec.hints["local_envelope_origin"].endswith(f"predictions/{did}/proof.json")
    assert rec.data_item == store.items[tx] and rec.hints["data_item_origin"].startswith(
        f"gateway:{gw.url} (")


def test_audit_cli_reports_the_event_as_found_by_search(store, tmp_path, capsys):
    import json

    from verifier.cli.main import main

    tx = store.tx["prediction0"]
    with GatewayServer() as gw:
        for raw in store.items.values():
            assert httpx.post(f"{gw.url}/tx/solana", content=raw).status_code == 200
        main(["audit", "--tracking-uri", store.uri, "models:/fraud/1", "--gateway", gw.url,
              "--no-cache", "--json", "-q"])
    doc = json.loads(capsys.readouterr().out)
    ev = next(e for e in doc["events"] if e["subject"].get("tx_id") == tx)
    assert ev["subject"]["tx_source"] == TX_SOURCE_SEARCH
    checks = {c["id"]: c for c in ev["checks"]}
    assert "found by GraphQL search on Event-Id" in checks["proof_found"]["detail"]
    assert checks["binding"]["outcome"] == "passed"

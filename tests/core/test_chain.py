"""Lineage rules (spec/chain.md): envelopes signed here with PyNaCl + rfc8785."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from nacl.signing import SigningKey

from verifier.core.chain import ChainNode, LineageInput, link, verify_lineage
from verifier.core.chain_rules import link_form
from verifier.core.limits import Limits
from verifier.core.policy import Policy
from verifier.core.reasons import ReasonCode as R
from verifier.core.reasons import Status
from verifier.core.result import Outcome

SEED = bytes.fromhex("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
SEED2 = hashlib.sha256(b"ario-verifier tests: second signer").digest()
PK = SigningKey(SEED).verify_key.encode().hex()
PK2 = SigningKey(SEED2).verify_key.encode().hex()
LEGACY = Policy(allow_legacy=True)
MLFLOW = "ario.mlflow/v1"


def h(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def tx(n: int) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(f"tx-{n}".encode()).digest()).decode().rstrip("=")


def sign(fields: dict[str, Any], seed: bytes = SEED) -> dict[str, Any]:
    sk = SigningKey(seed)
    env = {k: v for k, v in fields.items() if k != "signature"}
    env["public_key"] = sk.verify_key.encode().hex()
    strip = env.get("spec_version", MLFLOW).startswith("ario.mlflow/") or "spec_version" not in env
    scope = {k: v for k, v in env.items() if not (strip and k.startswith("_"))}
    env["signature"] = sk.sign(rfc8785.dumps(scope)).signature.hex()
    return env


_counter = iter(range(1, 10**9))


def mlflow_event(event_type: str, previous: Any = "GENESIS", *, seed: bytes = SEED,
                 extra: dict[str, Any] | None = None, legacy: bool = False,
                 drop_previous: bool = False) -> tuple[bytes, bytes]:
    """(envelope bytes, payload bytes) for an mlflow event with a unique payload."""
    n = next(_counter)
    payload = {"event_type": event_type, "n": n, **(extra or {})}
    pb = rfc8785.dumps(payload)
    fields: dict[str, Any] = {
        "event_id": f"00000000-0000-4000-8000-{n:012d}", "event_type": event_type,
        "subject": {"type": "mlflow_run", "run_id": f"run{n}"}, "payload_hash": h(pb),
        "previous_hash": previous, "signed_at": "2026-06-15T12:00:00.123456+00:00",
    }
    if drop_previous:
        del fields["previous_hash"]
    if not legacy:
        fields["spec_version"] = MLFLOW
    return rfc8785.dumps(sign(fields, seed)), pb


def item(tx_id: str | None, event: tuple[bytes, bytes]) -> LineageInput:
    return LineageInput(tx_id, event[0], event[1])


def reasons(result) -> list[R]:
    return [c.reason for c in result.checks if c.reason is not None]


def full_lineage() -> list[LineageInput]:
    """dataset -> training -> registration -> 2 promotions, 3 predictions."""
    training = mlflow_event("training_complete")
    return [
        item(tx(1), mlflow_event("dataset")),
        item(tx(2), training),
        item(tx(3), mlflow_event("model_registered", tx(2))),
        item(tx(4), mlflow_event("stage_transition", tx(3))),
        item(tx(5), mlflow_event("stage_transition", tx(3))),
        item(tx(6), mlflow_event("prediction", tx(3))),
        item(tx(7), mlflow_event("prediction", tx(3))),
        item(tx(8), mlflow_event("prediction", tx(3))),
    ]


# -- valid lineages -------------------------------------------------------------------------


def test_full_lineage_verifies_with_fan_out():
    result = verify_lineage(full_lineage())
    assert result.status is Status.VERIFIED, result.checks
    assert result.kind == "lineage" and len(result.children) == 8
    assert all(c.ok for c in result.children)
    graph = result.subject["graph"]
    assert graph["roots"] == [tx(1), tx(2)]
    assert {(e["from"], e["to"], e["via"]) for e in graph["edges"]} == {
        (tx(2), tx(3), "tx_id"), *((tx(3), tx(i), "tx_id") for i in range(4, 9))}
    assert [n["event_type"] for n in graph["nodes"]][:3] == ["dataset", "training_complete",
                                                               "model_registered"]
    assert result.check("chain:links").detail == "6 links resolved, 2 GENESIS roots"
    json.dumps(result.to_json())  # the whole result, graph included, is JSON


def test_result_is_deterministic():
    events = full_lineage()
    assert verify_lineage(events).to_json() == verify_lineage(list(events)).to_json()
    ids = [c.id for c in verify_lineage(events).checks]
    assert ids == ["chain:members", "chain:duplicates", "chain:links", "chain:signers",
                   "chain:forks", "chain:cycles"]
    events[3] = LineageInput(tx(4), b"[]", None)
    events.append(item(tx(9), mlflow_event("prediction", "bad")))
    ids = [c.id for c in verify_lineage(events).checks]
    assert ids == [f"envelope:{tx(4)}", "chain:duplicates", "chain:links", f"link:{tx(9)}",
                   "chain:signers", "chain:forks", "chain:cycles"]


def test_linear_training_chain_by_payload_hash():
    t1 = mlflow_event("training_complete")
    t2 = mlflow_event("training_complete", h(t1[1]))
    t3 = mlflow_event("training_complete", h(t2[1]))
    result = verify_lineage([item(tx(1), t1), item(tx(2), t2), item(tx(3), t3)])
    assert result.ok, result.checks
    assert {(e["from"], e["to"], e["via"]) for e in result.subject["graph"]["edges"]} == {
        (tx(1), tx(2), "payload_hash"), (tx(2), tx(3), "payload_hash")}


def test_legacy_and_current_envelopes_link_across_plugin_versions():
    training = mlflow_event("training_complete", legacy=True)
    events = [item(tx(1), training), item(tx(2), mlflow_event("model_registered", tx(1)))]
    assert verify_lineage(events, policy=LEGACY).ok
    refused = verify_lineage(events)
    assert refused.reason is R.LEGACY_NOT_ALLOWED
    assert refused.subject["graph"]["edges"] == [{"from": tx(1), "to": tx(2), "via": "tx_id"}]


# -- rule violations ----------------------------------------------------------------------------


def test_dangling_link_is_incomplete():
    events = [e for e in full_lineage() if e.tx_id != tx(2)]
    result = verify_lineage(events)
    assert result.status is Status.INCOMPLETE and result.reason is R.CHAIN_LINK_UNRESOLVED
    assert result.check(f"link:{tx(3)}").reason is R.CHAIN_LINK_UNRESOLVED
    assert result.subject["graph"]["dangling"] == [tx(3)]


def test_link_by_tx_needs_the_tx_id():
    """A predecessor given without its tx id cannot be named by tx id: unresolved."""
    training = mlflow_event("training_complete")
    result = verify_lineage([item(None, training), item(tx(3), mlflow_event("model_registered", tx(2)))])
    assert result.reason is R.CHAIN_LINK_UNRESOLVED


def test_training_fork_fails():
    t1 = mlflow_event("training_complete")
    t2 = mlflow_event("training_complete", h(t1[1]))
    t3 = mlflow_event("training_complete", h(t1[1]))
    result = verify_lineage([item(tx(1), t1), item(tx(2), t2), item(tx(3), t3)])
    assert result.status is Status.FAILED and result.reason is R.CHAIN_FORK
    fork = result.check(f"chain:fork:{tx(1)}")
    assert tx(2) in fork.detail and tx(3) in fork.detail


def test_fork_to_an_absent_predecessor_is_still_a_fork():
    missing = "ab" * 32
    events = [item(tx(1), mlflow_event("training_complete", missing)),
              item(tx(2), mlflow_event("training_complete", missing))]
    result = verify_lineage(events)
    assert set(reasons(result)) == {R.CHAIN_LINK_UNRESOLVED, R.CHAIN_FORK}
    assert result.reason is R.CHAIN_FORK


def test_cycle_of_two_trainings_fails():
    pa = rfc8785.dumps({"event_type": "training_complete", "run_id": "a"})
    pb = rfc8785.dumps({"event_type": "training_complete", "run_id": "b"})

    def env(payload: bytes, previous: str, n: int) -> bytes:
        return rfc8785.dumps(sign({
            "spec_version": MLFLOW, "event_id": f"00000000-0000-4000-8000-00000000000{n}",
            "event_type": "training_complete", "subject": {"type": "mlflow_run", "run_id": str(n)},
            "payload_hash": h(payload), "previous_hash": previous, "signed_at": "x"}))

    events = [LineageInput(tx(1), env(pa, h(pb), 1), pa), LineageInput(tx(2), env(pb, h(pa), 2), pb)]
    result = verify_lineage(events)
    assert result.status is Status.FAILED and result.reason is R.CHAIN_CYCLE
    cycle = result.check(f"chain:cycle:{tx(1)}")
    assert cycle.detail.startswith(f"{tx(1)} -> {tx(2)} -> {tx(1)}")
    assert result.subject["graph"]["roots"] == []


def test_prediction_naming_a_training_is_a_type_mismatch():
    events = full_lineage() + [item(tx(9), mlflow_event("prediction", tx(2)))]
    result = verify_lineage(events)
    assert result.reason is R.CHAIN_TYPE_MISMATCH
    assert "prediction must follow model_registered" in result.check(f"link:{tx(9)}").detail


@pytest.mark.parametrize("event_type, previous", [
    ("dataset", "tx"), ("dataset", "hash"), ("stage_transition", "training_tx"),
    ("model_registered", "registration_tx"), ("custom_event", "tx"),
])
def test_wrong_predecessor_kinds(event_type, previous):
    base = full_lineage()
    value = {"tx": tx(2), "hash": "cd" * 32, "training_tx": tx(2), "registration_tx": tx(3)}[previous]
    result = verify_lineage(base + [item(tx(9), mlflow_event(event_type, value))])
    assert result.check(f"link:{tx(9)}").reason is R.CHAIN_TYPE_MISMATCH
    assert result.status is Status.FAILED


def test_cross_profile_link_is_a_type_mismatch():
    agent = agent_event(1, "GENESIS")
    training = mlflow_event("training_complete", agent["payload_hash"])
    result = verify_lineage([LineageInput(None, rfc8785.dumps(agent)), item(tx(2), training)])
    assert result.check(f"link:{tx(2)}").reason is R.CHAIN_TYPE_MISMATCH


def test_signer_change_fails_unless_both_keys_are_trusted():
    events = full_lineage()
    events[2] = item(tx(3), mlflow_event("model_registered", tx(2), seed=SEED2))
    result = verify_lineage(events)
    assert result.status is Status.FAILED and result.reason is R.CHAIN_SIGNER_CHANGED
    changed = [c.id for c in result.checks if c.reason is R.CHAIN_SIGNER_CHANGED]
    assert changed == [f"signer:{tx(i)}" for i in range(3, 9)]  # registration and its children
    both = Policy(trusted_keys=frozenset({bytes.fromhex(PK), bytes.fromhex(PK2)}))
    assert verify_lineage(events, policy=both).ok
    only_one = Policy(trusted_keys=frozenset({bytes.fromhex(PK)}))
    assert verify_lineage(events, policy=only_one).reason is R.UNTRUSTED_SIGNER


def test_duplicate_tx_id_with_different_envelopes_fails():
    events = full_lineage() + [item(tx(6), mlflow_event("prediction", tx(3)))]
    result = verify_lineage(events)
    assert result.status is Status.FAILED and result.reason is R.DUPLICATE_EVENT
    dup = result.check(f"chain:duplicate:tx:{tx(6)}")
    assert tx(6) in dup.detail and f"{tx(6)}#8" in dup.detail


def test_identical_copies_are_merged_not_duplicates():
    events = full_lineage()
    env = json.loads(events[5].envelope)
    pretty = json.dumps(env, indent=2).encode()  # proof.json as the plugin writes it
    annotated = rfc8785.dumps(dict(env, _tx_id=tx(6)))  # unsigned mlflow annotation
    copies = [LineageInput(tx(6), pretty, events[5].payload),
              LineageInput(tx(10), annotated, events[5].payload)]
    result = verify_lineage(events + copies)
    assert result.ok, [c for c in result.checks if c.reason]
    assert "2 identical copies merged" in result.check("chain:duplicates").detail
    same = [n for n in result.subject["graph"]["nodes"] if "same_as" in n]
    assert [n["same_as"] for n in same] == [tx(6), tx(6)]


def test_duplicate_event_id_fails():
    events = full_lineage()
    dup_id = json.loads(events[6].envelope)["event_id"]
    forged = rfc8785.dumps(sign(dict(json.loads(events[7].envelope), event_id=dup_id)))
    result = verify_lineage(events[:7] + [LineageInput(tx(8), forged, events[7].payload)])
    assert result.reason is R.DUPLICATE_EVENT
    assert result.check(f"chain:duplicate:event:{dup_id}") is not None


@pytest.mark.parametrize("previous", [
    "not a hash!", "AB" * 32, "ab" * 31, tx(1)[:-1], tx(1) + "A", "genesis", "", 42, None,
    ["GENESIS"], tx(1)[:-1] + "B",  # last char of a 32-byte id must be canonical
])
def test_malformed_previous_hash(previous):
    events = full_lineage() + [item(tx(9), mlflow_event("prediction", previous))]
    result = verify_lineage(events)
    assert result.status is Status.MALFORMED and result.reason is R.CHAIN_LINK_MALFORMED


def test_missing_previous_hash_in_a_promoted_profile_is_malformed():
    result = verify_lineage(full_lineage() + [item(tx(9), mlflow_event("prediction", drop_previous=True))])
    assert result.check(f"link:{tx(9)}").reason is R.CHAIN_LINK_MALFORMED


def test_link_of_the_wrong_form_is_malformed():
    """A registration links by tx id; a 64-hex value there is the wrong form."""
    training = mlflow_event("training_complete")
    result = verify_lineage([item(tx(1), training),
                             item(tx(2), mlflow_event("model_registered", h(training[1])))])
    assert result.check(f"link:{tx(2)}").reason is R.CHAIN_LINK_MALFORMED


def test_link_form_classification():
    assert link_form("GENESIS") == "GENESIS"
    assert link_form("0f" * 32) == "payload_hash"
    assert link_form(tx(1)) == "tx_id"
    for bad in ("GENESIS ", "0F" * 32, tx(1) + "=", None, 1, "é" * 43):
        assert link_form(bad) is None


# -- members ------------------------------------------------------------------------------------


def test_member_with_bad_signature_fails_the_lineage_and_still_links():
    events = full_lineage()
    env = json.loads(events[3].envelope)
    env["signature"] = "00" * 64
    events[3] = LineageInput(tx(4), rfc8785.dumps(env), events[3].payload)
    result = verify_lineage(events)
    assert result.reason is R.SIGNATURE_INVALID
    assert result.check(f"envelope:{tx(4)}").reason is R.SIGNATURE_INVALID
    assert result.check(f"link:{tx(4)}") is None
    assert {"from": tx(3), "to": tx(4), "via": "tx_id"} in result.subject["graph"]["edges"]


def test_unreadable_members_are_not_nodes():
    events = full_lineage()
    events[2] = LineageInput(tx(3), b"{not json", None)
    result = verify_lineage(events)
    assert result.reason is R.INVALID_JSON
    assert result.subject["linked"] == 7
    assert result.check(f"link:{tx(4)}").reason is R.CHAIN_LINK_UNRESOLVED


def test_payload_unavailable_is_incomplete_not_failed():
    events = [LineageInput(e.tx_id, e.envelope, None) for e in full_lineage()]
    result = verify_lineage(events)
    assert result.status is Status.INCOMPLETE and result.reason is R.PAYLOAD_UNAVAILABLE


def test_hostile_inputs_never_raise():
    assert verify_lineage([]).reason is R.ENVELOPE_NOT_FOUND
    assert verify_lineage(full_lineage(), limits=Limits(max_chain_events=3)).reason is R.INPUT_TOO_LARGE
    weird = [LineageInput(tx(1), "not bytes", None), LineageInput(123, b"[]", b"x"),  # type: ignore[arg-type]
             LineageInput(None, b'{"payload_hash": 5}', None), object()]
    result = verify_lineage(weird)  # type: ignore[arg-type]
    assert result.status is Status.MALFORMED
    assert verify_lineage(None).reason is R.BAD_FIELD_TYPE  # type: ignore[arg-type]


# -- other profiles -----------------------------------------------------------------------------


def agent_event(n: int, previous: str, *, seed: bytes = SEED, event_type: str = "policy_changed",
                payload: dict[str, Any] | None = None) -> dict[str, Any]:
    body = payload if payload is not None else {"applied_at": f"2026-05-12T14:{n:02d}:00Z", "n": n}
    return sign({
        "spec_version": "ario.agent/v1", "event_id": f"550e8400-e29b-41d4-a716-{n:012d}",
        "event_type": event_type, "subject": {"type": "agent", "tenant_id": "acme", "agent_id": "h1"},
        "payload": body, "payload_hash": h(rfc8785.dumps(body)), "previous_hash": previous,
        "signed_at": "2026-05-12T14:23:45.123Z"}, seed)


def agent_inputs(*envs: dict[str, Any]) -> list[LineageInput]:
    return [LineageInput(None, rfc8785.dumps(e), None) for e in envs]


def test_agent_chain_linear_and_fork():
    a1 = agent_event(1, "GENESIS")
    a2 = agent_event(2, a1["payload_hash"])
    a3 = agent_event(3, a2["payload_hash"])
    ok = verify_lineage(agent_inputs(a1, a2, a3))
    assert ok.ok, ok.checks
    assert ok.subject["graph"]["edges"] == [{"from": "#0", "to": "#1", "via": "payload_hash"},
                                            {"from": "#1", "to": "#2", "via": "payload_hash"}]
    forked = verify_lineage(agent_inputs(a1, a2, a3, agent_event(4, a2["payload_hash"])))
    assert forked.reason is R.CHAIN_FORK and forked.check("chain:fork:#1") is not None


def test_agent_key_rotation_is_not_a_signer_change():
    a1 = agent_event(1, "GENESIS")
    retire = agent_event(2, a1["payload_hash"], event_type="key_retired", payload={
        "new_key_id": "k2", "new_public_key": PK2, "reason": "scheduled",
        "retired_at": "2026-05-13T00:00:00Z", "retired_key_id": "k1", "retired_public_key": PK})
    a3 = agent_event(3, retire["payload_hash"], seed=SEED2)
    assert verify_lineage(agent_inputs(a1, retire, a3)).ok
    unannounced = verify_lineage(agent_inputs(a1, agent_event(2, a1["payload_hash"], seed=SEED2)))
    assert unannounced.reason is R.CHAIN_SIGNER_CHANGED


def events_envelope(record: dict[str, Any], n: int) -> tuple[bytes, bytes]:
    rb = rfc8785.dumps(record)
    env = sign({"spec_version": "ario.events/v1", "event_id": f"1f0e9a4c-3b2d-4d5e-8f6a-{n:012d}",
                "payload_hash": h(rb), "signed_at": "2026-06-11T00:00:00.000Z",
                "environment": "dev"})
    return rfc8785.dumps(env), rb


def events_record(event_type: str, previous: str, n: int) -> dict[str, Any]:
    return {"payload_version": 1, "spec_version": "ario.events/v1", "event_type": event_type,
            "subject": {"type": "producer", "producer_id": "p"}, "previous_hash": previous,
            "context": {}, "event": {"n": n}, "metadata": {}, "extras": {}}


def test_events_profile_reads_links_from_the_record():
    e1 = events_envelope(events_record("s3.object_stored", "GENESIS", 1), 1)
    e2 = events_envelope(events_record("s3.object_stored", h(e1[1]), 2), 2)
    result = verify_lineage([LineageInput(None, *e1), LineageInput(None, *e2)])
    assert result.ok, result.checks
    assert result.subject["graph"]["edges"][0]["via"] == "payload_hash"
    hidden = verify_lineage([LineageInput(None, e1[0]), LineageInput(None, e2[0])])
    assert hidden.reason is R.PAYLOAD_UNAVAILABLE
    assert "2 links not visible" in hidden.check("chain:links").detail
    c1 = events_envelope(events_record("checkpoint", "GENESIS", 3), 3)
    bad = events_envelope(events_record("checkpoint", h(e2[1]), 4), 4)
    mixed = verify_lineage([LineageInput(None, *e1), LineageInput(None, *e2),
                            LineageInput(None, *c1), LineageInput(None, *bad)])
    assert mixed.check("link:#3").reason is R.CHAIN_TYPE_MISMATCH


# -- link() over nodes, and scale ------------------------------------------------------------


def node(key: str, event_type: str, previous: str, *, tx_id: str | None = None,
         payload_hash: str | None = None, pk: str = PK, profile: str = MLFLOW,
         fingerprint: str | None = None) -> ChainNode:
    return ChainNode(key, tx_id, key, event_type, profile, payload_hash or h(key.encode()),
                     previous, pk, fingerprint)


def test_link_disambiguates_repeated_keys_and_merges_fingerprints():
    a = node("k", "training_complete", "GENESIS", fingerprint="f")
    b = node("k", "training_complete", "GENESIS", fingerprint="f")
    report = link([a, b])
    assert [n["key"] for n in report.graph["nodes"]] == ["k", "k#1"]
    assert report.graph["nodes"][1]["same_as"] == "k"
    assert report.status is Status.VERIFIED


def test_link_tolerates_non_string_node_fields():
    junk = ChainNode(5, [1], {}, 3, None, [2], 7, b"x", [], 1.5)  # type: ignore[arg-type]
    ok = node("a", "prediction", "GENESIS")
    report = link([junk, ok, dataclasses.replace(ok, key="b", event_id="b", previous_hash=["x"])])
    assert [c.id for c in report.checks if c.reason] == ["link:#0", "link:b"]
    assert report.reason is R.CHAIN_LINK_MALFORMED
    json.dumps(report.graph)


def test_scale_100k_predictions_fan_out():
    reg_tx, train_tx = tx(1), tx(2)
    nodes = [node("train", "training_complete", "GENESIS", tx_id=train_tx),
             node("reg", "model_registered", train_tx, tx_id=reg_tx)]
    nodes += [node(f"p{i}", "prediction", reg_tx, tx_id=f"p{i}") for i in range(100_000)]
    report = link(nodes)
    assert report.status is Status.VERIFIED
    assert len(report.graph["edges"]) == 100_001
    assert report.predecessor["p99999"] == "reg"
    json.dumps(report.graph)


def test_scale_100k_linear_chain_and_a_late_cycle():
    hashes = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(100_000)]
    nodes = [node(f"t{i}", "training_complete", hashes[i - 1] if i else "GENESIS",
                  payload_hash=hashes[i]) for i in range(100_000)]
    report = link(nodes)
    assert report.status is Status.VERIFIED
    assert report.graph["roots"] == ["t0"]
    looped = [dataclasses.replace(nodes[0], previous_hash=hashes[-1])] + nodes[1:]
    cyc = link(looped)
    assert cyc.reason is R.CHAIN_CYCLE
    assert [c.id for c in cyc.checks if c.reason] == ["chain:cycle:t0"]


# -- the project's chain vectors ------------------------------------------------------------

_VECTORS = Path(__file__).resolve().parents[2] / "test-vectors" / "chain"


def _vector_params():
    for path in sorted(_VECTORS.glob("*.json")):
        vec = json.loads(path.read_text())
        yield pytest.param(vec, id=vec["id"])


@pytest.mark.parametrize("vec", list(_vector_params()))
def test_chain_vector(vec):
    inp, exp = vec["input"], vec["expected"]
    pol = inp.get("policy", {})
    keys = pol.get("trusted_keys")
    policy = Policy(allow_legacy=pol.get("allow_legacy", False),
                    trusted_keys=frozenset(bytes.fromhex(k) for k in keys) if keys else None)
    events = [LineageInput(e.get("tx_id"), bytes.fromhex(e["document_hex"]),
                           bytes.fromhex(e["payload_hex"]) if "payload_hex" in e else None)
              for e in inp["events"]]
    result = verify_lineage(events, policy=policy)
    assert result.status.value == exp["status"], [c for c in result.checks if c.reason]
    assert (result.reason.value if result.reason else None) == exp["reason"]

"""The streaming linker decides exactly as the batch linker (chain_rules.link + chain_findings):
same per-event chain check, same set-level checks in the same order, same graph, on every
chain vector and on randomized lineages in shuffled orders."""

from __future__ import annotations

import hashlib
import json
import random
import re

import pytest

from vectors_util import load_vectors
from verifier.audit import linker as linker_mod
from verifier.audit.lineage import _HIDDEN, chain_findings
from verifier.audit.linker import StreamLinker
from verifier.core import chain as chain_mod
from verifier.core.chain_rules import ChainNode, _unique_keys
from verifier.core.limits import DEFAULT_LIMITS
from verifier.core.policy import DEFAULT_POLICY


def _batch(nodes, trusted):
    findings = chain_findings(nodes, trusted)
    keys = _unique_keys(nodes)
    return [findings.per_event.get(k) or _HIDDEN for k in keys], findings.lineage, findings.graph


def _stream(nodes, trusted):
    lk = StreamLinker(trusted)
    per: dict[int, object] = {}
    early = 0
    for nd in nodes:
        i, check = lk.add(nd)
        if check is not None:
            per[i] = check
            early += 1
    pending, lineage, graph = lk.finish()
    assert not set(pending) & set(per), "a node was decided twice"
    per.update(pending)
    return [per[i] for i in range(len(nodes))], lineage, graph, early


def _same(nodes, trusted=None):
    want = _batch(nodes, trusted)
    got = _stream(nodes, trusted)
    assert got[0] == want[0]
    assert got[1] == want[1]
    assert got[2] == want[2]
    return got[3]


def _vector_nodes(vec):
    nodes = []
    for i, ev in enumerate(vec["input"]["events"]):
        data = bytes.fromhex(ev["document_hex"])
        payload = bytes.fromhex(ev["payload_hex"]) if ev.get("payload_hex") else None
        tx = ev.get("tx_id")
        key = tx if isinstance(tx, str) else f"#{i}"
        _, node = chain_mod._member(chain_mod.LineageInput(tx, data, payload), key, tx,
                                    DEFAULT_POLICY, DEFAULT_LIMITS)
        if node is not None:
            nodes.append(node)
    return nodes


@pytest.mark.parametrize("vec", load_vectors("chain"), ids=lambda v: v["id"])
def test_chain_vectors_in_every_order(vec):
    nodes = _vector_nodes(vec)
    assert nodes or vec["expected"]["status"] != "verified"
    rng = random.Random(vec["id"])
    _same(nodes)
    for _ in range(6):
        rng.shuffle(nodes)
        _same(nodes)


_PROFILES = ["ario.mlflow/v1", "ario.mlflow/v1", "ario.agent/v1", "ario.events/v1", "legacy", "bogus"]
_TYPES = {"ario.mlflow/v1": ["dataset", "training", "registration", "promotion", "prediction"],
          "legacy": ["training", "registration", "prediction"],
          "ario.agent/v1": ["policy_changed", "key_retired", "tool_call"],
          "ario.events/v1": ["checkpoint", "event"],
          "bogus": ["x"]}
_ML = ("ario.mlflow/v1", "legacy")
_WANT = {(p, "prediction"): (_ML, ("registration",), "tx") for p in _ML}
_WANT.update({(p, "promotion"): (_ML, ("registration",), "tx") for p in _ML})
_WANT.update({(p, "registration"): (_ML, ("training",), "tx") for p in _ML})
_WANT.update({(p, "training"): (_ML, ("training",), "hash") for p in _ML})
_WANT.update({("ario.agent/v1", t): (("ario.agent/v1",), _TYPES["ario.agent/v1"], "hash")
              for t in _TYPES["ario.agent/v1"]})
_WANT.update({("ario.events/v1", t): (("ario.events/v1",), ("checkpoint", "event"), "hash")
              for t in ("checkpoint", "event")})
_KEYS = ["a" * 64, "b" * 64, "c" * 64]


def _tx(n: int) -> str:
    return (f"{n:042d}" + "A")[-43:]


def _random_nodes(rng: random.Random, n: int) -> list[ChainNode]:
    nodes: list[ChainNode] = []
    for i in range(n):
        profile = rng.choice(_PROFILES)
        etype = rng.choice(_TYPES[profile])
        r = rng.random()
        if not nodes or r < 0.12:
            prev = "GENESIS"
        elif r < 0.2:
            prev = rng.choice([None, "", "nothex", "f" * 64, _tx(9999), 7])
        else:
            other = rng.choice(nodes)
            want = _WANT.get((profile, etype))
            fits = [m for m in nodes[-8:] if want and m.profile in want[0] and m.event_type in want[1]]
            if fits and rng.random() < 0.6:  # mostly well-formed lineages
                other = rng.choice(fits)
                prev = other.tx_id if want[2] == "tx" else other.payload_hash
            else:
                prev = other.tx_id if rng.random() < 0.5 else other.payload_hash
            if rng.random() < 0.3:  # a predecessor that arrives later (or never)
                prev = _tx(rng.randint(0, n + 3)) if rng.random() < 0.5 else f"{rng.randint(0, n + 3):064x}"
        if nodes and rng.random() < 0.07:  # an identical copy, or a conflicting duplicate
            src = rng.choice(nodes)
            if rng.random() < 0.5:
                nodes.append(ChainNode(f"k{i}", src.tx_id, src.event_id, src.event_type, src.profile,
                                       src.payload_hash, src.previous_hash, src.public_key,
                                       src.fingerprint, src.rotates_to))
                continue
            tx, ev = src.tx_id, rng.choice([src.event_id, f"e{i}"])
        else:
            tx, ev = rng.choice([_tx(i), _tx(i), None]), f"e{i}"
        pk = rng.choice(_KEYS) if rng.random() < 0.25 else _KEYS[0]
        rot = rng.choice(_KEYS) if etype == "key_retired" else None
        key = tx if tx is not None else f"#{i}"
        if rng.random() < 0.15:  # keys that are not the node's tx id, colliding ones included
            key = rng.choice(["kx", _tx(rng.randint(0, n)), f"#{rng.randint(0, n)}", f"{_tx(0)}#3"])
            tx = rng.choice([tx, "kx", f"#{rng.randint(0, n)}"])
        nodes.append(ChainNode(key, tx, ev, etype, profile, f"{i:064x}" if rng.random() < 0.9
                               else f"{rng.randint(0, i):064x}", prev, pk, f"fp{i}", rot))
    return nodes


@pytest.mark.parametrize("seed", range(60))
def test_random_lineages_in_shuffled_orders(seed):
    rng = random.Random(seed)
    nodes = _random_nodes(rng, rng.randint(1, 60))
    trusted = [bytes.fromhex(k) for k in _KEYS[:2]] if seed % 3 == 0 else None
    _same(nodes, trusted)
    rng.shuffle(nodes)
    _same(nodes, trusted)


def test_in_order_chains_are_decided_on_arrival():
    nodes = [ChainNode(_tx(0), _tx(0), "e0", "registration", "ario.mlflow/v1", "0" * 64,
                       "GENESIS", _KEYS[0], "f0")]
    nodes += [ChainNode(_tx(i), _tx(i), f"e{i}", "prediction", "ario.mlflow/v1", f"{i:064x}",
                        _tx(0), _KEYS[0], f"f{i}") for i in range(1, 50)]
    assert _same(nodes) == 50  # nothing pending
    assert _same(nodes[::-1]) == 1  # predictions before their registration wait for it


def test_graph_beyond_the_cap_is_counts():
    nodes = [ChainNode(_tx(i), _tx(i), f"e{i}", "registration", "ario.mlflow/v1", f"{i:064x}",
                       "GENESIS", _KEYS[0], f"f{i}") for i in range(30)]
    lk = StreamLinker(graph_max=10)
    for nd in nodes:
        lk.add(nd)
    _, lineage, graph = lk.finish()
    assert graph["nodes"] == 30 and graph["roots"] == 30 and "omitted" in graph
    assert lineage == _batch(nodes, None)[1]
    json.dumps(graph)
    assert linker_mod.GRAPH_MAX >= 1000


def test_the_linker_keys_only_canonical_payload_hashes():
    canonical = re.compile(r"[0-9a-f]{64}")
    good = hashlib.sha256(b"x").hexdigest()
    for value in (good, good.upper(), good[:-1] + "G", good[:62] + " 0", " " + good[1:],
                  good[:-2], good + "00", "\u0663" * 64, good[:-1] + "\u00e9", "", "g" * 64):
        want = bytes.fromhex(value) if canonical.fullmatch(value) else None
        assert linker_mod._hash_key(value) == want, value

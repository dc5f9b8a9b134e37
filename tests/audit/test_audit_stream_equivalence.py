"""The streaming engine decides exactly as the batch audit it replaced (batch_reference.py):
same per-event checks, statuses and reasons, same audit-level checks and verdict, on every
readable audit_bundle vector and on generated lineages, in source order and shuffled, with
one worker and with a local process pool fed small chunks."""

from __future__ import annotations

import copy
import json
import random

import pytest

from audit_factory import build_lineage
from batch_reference import audit_batch
from test_audit_bundle_vectors import VECTORS, policy_of
from verifier.audit.engine import audit_collection, stream_collection
from verifier.audit.stream import SourceInfo
from verifier.core.reasons import Status
from verifier.sources.bundle import read_bundle
from verifier.sources.errors import BundleError


def _stream(col, policy, **kw):
    run = stream_collection(col, SourceInfo("collection", "t", True), policy, **kw)
    events = list(run)
    children = [None] * len(col.records)
    for ev in events:
        assert children[ev.seq] is None, "an event was yielded twice"
        children[ev.seq] = ev.result
    return run.summary, children, [ev.seq for ev in events]


def _compare(col, policy, *, exact_subject: bool, **kw):
    want = audit_batch(copy.deepcopy(col), policy)
    summary, children, order = _stream(copy.deepcopy(col), policy, **kw)
    assert [c.to_json() for c in children] == [c.to_json() for c in want.children]
    got = summary.result
    assert (got.status, got.reason) == (want.status, want.reason)
    if exact_subject:
        assert got.to_json() == make_parent(want).to_json()
    else:  # A12's bounded lists keep the order events were decided in
        assert [c for c in got.checks if c.id != "target"] == [c for c in want.checks if c.id != "target"]
        assert got.subject["graph"] == want.subject["graph"]
    assert summary.counts == {s: sum(1 for c in want.children if c.status is s)
                              for s in Status if any(c.status is s for c in want.children)}
    assert sorted(order) == list(range(len(col.records)))
    return order


def make_parent(r):
    return type(r)(r.kind, r.status, r.reason, r.checks, r.subject, ())


@pytest.mark.parametrize("vec", VECTORS, ids=lambda v: v["id"])
def test_bundle_vectors(vec):
    try:
        col = read_bundle(bytes.fromhex(vec["input"]["document_hex"]))
    except BundleError:
        return  # a bundle the reader refuses never reaches an engine
    _compare(col, policy_of(vec), exact_subject=True)
    rng = random.Random(vec["id"])
    rng.shuffle(col.records)
    _compare(col, policy_of(vec), exact_subject=False)


def _mutated(seed: int):
    rng = random.Random(seed)
    lin = build_lineage(predictions=rng.randint(1, 12), data_items=rng.random() < 0.3)
    col = lin.collection()
    recs = col.records
    for _ in range(rng.randint(0, 3)):
        what = rng.random()
        if what < 0.3 and len(recs) > 1:  # a missing event: dangling links, unresolved inputs
            recs.pop(rng.randrange(len(recs)))
        elif what < 0.6:  # an identical copy
            recs.insert(rng.randrange(len(recs) + 1), copy.deepcopy(rng.choice(recs)))
        elif what < 0.8:  # a second envelope claiming a tx id already used
            a, b = rng.sample(range(len(recs)), 2) if len(recs) > 1 else (0, 0)
            recs[b].tx_id = recs[a].tx_id
        else:  # tampered payload bytes
            r = rng.choice(recs)
            if r.payload:
                r.payload = r.payload.replace(b"0", b"1", 1)
    return col, rng


@pytest.mark.parametrize("seed", range(12))
def test_generated_lineages_in_order_and_shuffled(seed):
    from verifier.audit import AuditPolicy

    col, rng = _mutated(seed)
    policy = AuditPolicy(trusted_keys=None)
    _compare(col, policy, exact_subject=True)
    rng.shuffle(col.records)
    order = _compare(col, policy, exact_subject=False)
    assert len(order) == len(col.records)


def test_in_order_lineage_streams_in_source_order():
    col = build_lineage(predictions=20, data_items=False).collection()
    from verifier.audit import AuditPolicy

    order = _compare(col, AuditPolicy(), exact_subject=True)
    assert order == list(range(len(col.records)))  # each decided on arrival
    col.records.reverse()  # predictions before their registration: they wait for it
    order = _compare(col, AuditPolicy(), exact_subject=False)
    assert order != list(range(len(col.records)))


def test_local_pool_in_small_chunks_matches_serial():
    from verifier.audit import AuditPolicy

    col, rng = _mutated(3)
    rng.shuffle(col.records)
    serial = _stream(copy.deepcopy(col), AuditPolicy())
    pooled = _stream(copy.deepcopy(col), AuditPolicy(), workers=2, chunk=3, min_parallel=1)
    assert json.dumps(pooled[0].result.to_json()) == json.dumps(serial[0].result.to_json())
    assert [c.to_json() for c in pooled[1]] == [c.to_json() for c in serial[1]]
    assert pooled[2] == serial[2]


def test_audit_collection_is_the_stream_collected():
    col = build_lineage(predictions=3, data_items=False).collection()
    result = audit_collection(col)
    assert len(result.children) == len(col.records)
    assert result.to_json() == audit_batch(col).to_json()

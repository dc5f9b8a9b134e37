"""verify_many: same verdicts as the kernel, in input order, on one or many workers."""

from __future__ import annotations

import pytest

from vectors_util import load_vectors
from verifier.batch import verify_many
from verifier.core.envelope import verify_envelope_bytes
from verifier.core.policy import Policy


def _items():
    items = []
    for vec in load_vectors("envelope"):
        inp = vec["input"]
        if "policy" in inp:
            continue
        payload = bytes.fromhex(inp["payload_hex"]) if "payload_hex" in inp else None
        items.append((bytes.fromhex(inp["document_hex"]), payload))
    return items * 7  # several chunks with a small chunk size


@pytest.mark.parametrize("workers", [1, 2])
def test_verdicts_match_kernel_in_order(workers):
    items = _items()
    verdicts = list(verify_many(items, workers=workers, chunk_size=16))
    assert len(verdicts) == len(items)
    for (env, payload), verdict in zip(items, verdicts):
        expected = verify_envelope_bytes(env, payload)
        assert (verdict.status, verdict.reason) == (expected.status, expected.reason)
        assert verdict.event_id == expected.subject.get("event_id")


def test_policy_reaches_workers():
    items = _items()[:20]
    legacy = Policy(allow_legacy=True, trusted_keys=frozenset({b"\x00" * 32}))
    for verdict in verify_many(items, policy=legacy, workers=2, chunk_size=4):
        assert verdict.status.value != "verified"


def test_generator_input_is_consumed_lazily():
    seen = []

    def gen():
        for item in _items():
            seen.append(1)
            yield item

    it = verify_many(gen(), workers=2, chunk_size=8, prefetch=1)
    next(it)
    assert len(seen) < len(_items())  # not everything was pulled in to produce the first verdict
    assert sum(1 for _ in it) == len(_items()) - 1

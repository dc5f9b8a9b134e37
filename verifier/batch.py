"""Verify many envelopes using every core (ario-verifier's batch API).

Work is shipped to worker processes in chunks of raw bytes; each worker runs the pure
kernel and sends back compact `Verdict`s (status, primary reason, event id), which
pickle cheaply. Order is preserved. Memory stays bounded for any input length because
at most `workers * prefetch` chunks are in flight.
"""

from __future__ import annotations

import gc
import itertools
import multiprocessing
import os
from collections import deque
from dataclasses import dataclass
from typing import Iterable, Iterator

from verifier.core.envelope import verify_envelope_bytes
from verifier.core.limits import DEFAULT_LIMITS, Limits
from verifier.core.policy import DEFAULT_POLICY, Policy
from verifier.core.reasons import ReasonCode, Status


@dataclass(frozen=True, slots=True)
class Verdict:
    """The compact outcome of one envelope in a batch."""

    status: Status
    reason: ReasonCode | None
    event_id: str | None


Item = tuple[bytes, "bytes | None"]


def _verify_chunk(args: tuple[list[Item], Policy, Limits]) -> list[tuple[str, str | None, str | None]]:
    chunk, policy, limits = args
    out = []
    for envelope, payload in chunk:
        r = verify_envelope_bytes(envelope, payload, policy=policy, limits=limits)
        out.append((r.status.value, r.reason.value if r.reason else None, r.subject.get("event_id")))
    return out


def _to_verdicts(rows) -> list[Verdict]:
    return [Verdict(Status(s), ReasonCode(r) if r else None, e) for s, r, e in rows]


def verify_many(
    items: Iterable[Item],
    *,
    policy: Policy = DEFAULT_POLICY,
    limits: Limits = DEFAULT_LIMITS,
    workers: int | None = None,
    chunk_size: int = 256,
    prefetch: int = 4,
) -> Iterator[Verdict]:
    """Yield one `Verdict` per (envelope bytes, payload bytes | None), in input order.

    `workers=1` runs in this process (no pool). Otherwise a process pool of `workers`
    (default: the CPU count) verifies chunks concurrently.
    """
    workers = workers or os.cpu_count() or 1
    chunks = (list(c) for c in _batched(items, chunk_size))
    if workers == 1:
        for chunk in chunks:
            yield from _to_verdicts(_verify_chunk((chunk, policy, limits)))
        return
    ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    # Forked workers inherit the caller's heap; a garbage collection in a worker would walk
    # (and so copy-on-write) every inherited object. Freezing moves them out of the
    # collector's reach for the fork, then the parent is restored.
    gc.freeze()
    try:
        pool = ctx.Pool(workers)
    finally:
        gc.unfreeze()
    with pool:
        pending: deque = deque()
        for chunk in chunks:
            pending.append(pool.apply_async(_verify_chunk, ((chunk, policy, limits),)))
            if len(pending) >= workers * prefetch:
                yield from _to_verdicts(pending.popleft().get())
        while pending:
            yield from _to_verdicts(pending.popleft().get())


def _batched(items: Iterable[Item], n: int) -> Iterator[tuple[Item, ...]]:
    it = iter(items)
    while True:
        chunk = tuple(itertools.islice(it, n))
        if not chunk:
            return
        yield chunk

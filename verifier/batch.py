"""Verify many envelopes using every core (ario-verifier's batch API).

Work is shipped to worker processes in chunks of raw bytes; each worker runs the pure
kernel and sends back compact `Verdict`s (status, primary reason, event id), which
pickle cheaply. Order is preserved. Memory stays bounded for any input length because
at most `workers * prefetch` chunks are in flight.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Iterable, Iterator

from verifier.core.envelope import verify_envelope_bytes
from verifier.core.limits import DEFAULT_LIMITS, Limits
from verifier.core.policy import DEFAULT_POLICY, Policy
from verifier.core.reasons import ReasonCode, Status
from verifier.runtime import batched, ordered_map


@dataclass(frozen=True, slots=True)
class Verdict:
    """The compact outcome of one envelope in a batch."""

    status: Status
    reason: ReasonCode | None
    event_id: str | None


Item = tuple[bytes, "bytes | None"]


def _verify_chunk(args: tuple[list[Item], Policy, Limits]) -> list[tuple[Status, ReasonCode | None, str | None]]:
    chunk, policy, limits = args
    out = []
    for envelope, payload in chunk:
        r = verify_envelope_bytes(envelope, payload, policy=policy, limits=limits)
        out.append((r.status, r.reason, r.subject.get("event_id")))
    return out  # enum members pickle once per chunk (the pickle memo), not once per row


def verify_many(
    items: Iterable[Item],
    *,
    policy: Policy = DEFAULT_POLICY,
    limits: Limits = DEFAULT_LIMITS,
    workers: int | None = None,
    chunk_size: int = 256,
    prefetch: int = 4,
    scheduler: str | None = None,
) -> Iterator[Verdict]:
    """Yield one `Verdict` per (envelope bytes, payload bytes | None), in input order.

    `workers=1` runs in this process (no pool). Otherwise a process pool of `workers`
    (default: the CPU count) verifies chunks concurrently; with `scheduler`
    ("tcp://HOST:PORT") the chunks run on that Dask distributed cluster instead.
    """
    workers = workers or os.cpu_count() or 1
    tasks = ((chunk, policy, limits) for chunk in batched(items, chunk_size))
    for rows in ordered_map(_verify_chunk, tasks, workers=workers, scheduler=scheduler,
                            prefetch=prefetch):
        for status, reason, event_id in rows:
            yield Verdict(status, reason, event_id)

"""Where bulk work runs: the one process pool and Dask hand-off (and, re-exported, the GC pause).

`ordered_map(fn, tasks, ...)` calls `fn(task)` for every task and yields the results in
task order, with at most `workers * prefetch` tasks in flight, so memory stays bounded
whatever the number of tasks. It runs in this process (`workers=1`), in a local process
pool (`workers>1`), or on an existing Dask distributed cluster (`scheduler="tcp://..."`).
Tasks and results must pickle; callers send raw bytes, shard names or index spans, and
get compact rows back, never object graphs. `verify_many` (batch.py) and the audit engine
both use it. Nothing here imports Dask unless a scheduler address is given.
"""

from __future__ import annotations

import gc
import multiprocessing
import threading
from collections import deque
from typing import Any, Callable, Iterable, Iterator, TypeVar

from verifier.gcpause import gc_paused  # re-exported: the one GC pause lives below sources

T = TypeVar("T")
U = TypeVar("U")


def pool_context() -> Any:
    """fork when this process has no other threads (cheap to start), else forkserver (a
    fork beside running threads can deadlock), else spawn."""
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def ordered_map(fn: Callable[[T], U], tasks: Iterable[T], *, workers: int = 1,
                scheduler: str | None = None, prefetch: int = 2) -> Iterator[U]:
    """`fn(task)` for each task, in task order: here (`workers=1`), in a local pool of
    `workers` processes, or on the Dask cluster at `scheduler`."""
    if scheduler:
        yield from _dask_map(fn, tasks, scheduler, max(1, prefetch))
        return
    if workers <= 1:
        for task in tasks:
            yield fn(task)
        return
    ctx = pool_context()
    # Forked workers inherit the caller's heap; a collection in a worker would walk (and so
    # copy-on-write) every inherited object. Freezing keeps them out of its reach.
    gc.freeze()
    try:
        pool = ctx.Pool(workers)
    finally:
        gc.unfreeze()
    with pool:
        yield from _bounded(lambda t: pool.apply_async(fn, (t,)), lambda f: f.get(),
                            tasks, workers * max(1, prefetch))


def _bounded(submit: Callable[[Any], Any], result: Callable[[Any], Any], tasks: Iterable[Any],
             window: int) -> Iterator[Any]:
    pending: deque = deque()
    for task in tasks:
        pending.append(submit(task))
        if len(pending) >= window:
            yield result(pending.popleft())
    while pending:
        yield result(pending.popleft())


def _dask_map(fn: Callable[[Any], Any], tasks: Iterable[Any], scheduler: str,
              prefetch: int) -> Iterator[Any]:
    """Run on an existing Dask distributed cluster; results come back in task order."""
    from distributed import Client  # the optional .[cluster] extra

    with Client(scheduler, set_as_default=False) as client:
        window = prefetch * max(1, sum(client.nthreads().values()))
        yield from _bounded(lambda t: client.submit(fn, t, pure=False), lambda f: f.result(),
                            tasks, window)


def batched(items: Iterable[T], n: int) -> Iterator[list[T]]:
    """Consecutive lists of at most `n` items."""
    chunk: list[T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= n:
            yield chunk
            chunk = []
    if chunk:
        yield chunk

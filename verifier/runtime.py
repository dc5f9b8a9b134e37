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
import itertools
import multiprocessing
import queue
import signal
import threading
from collections import deque
from multiprocessing.connection import wait
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
    yield from _local_map(fn, tasks, workers, workers * max(1, prefetch))


def _local_map(fn: Callable[[Any], Any], tasks: Iterable[Any], workers: int,
               window: int) -> Iterator[Any]:
    """`workers` processes, each with its own pipe; task k goes to worker k % workers and
    its result is read back in the same order, here in the calling thread. (A
    `multiprocessing.Pool` adds three threads; its worker handler spins while a result
    waits unread and its result handler fights the caller for the GIL: ~3-6 us/event of
    an audit, docs/performance.md.) A feeder thread writes the tasks, so a worker blocked
    writing a large result can never deadlock against a blocked write of its next task."""
    ctx = pool_context()
    conns, procs = [], []
    # Forked workers inherit the caller's heap; a collection in a worker would walk (and so
    # copy-on-write) every inherited object. Freezing keeps them out of its reach.
    gc.freeze()
    try:
        for _ in range(workers):
            here, there = ctx.Pipe()
            proc = ctx.Process(target=_serve, args=(fn, there), daemon=True)
            proc.start()
            there.close()
            conns.append(here)
            procs.append(proc)
    except BaseException:
        _stop(procs, conns)
        raise
    finally:
        gc.unfreeze()
    outbox: queue.SimpleQueue = queue.SimpleQueue()
    feeder = threading.Thread(target=_feed, args=(outbox, conns), daemon=True)
    feeder.start()
    try:
        slots = itertools.cycle(range(workers))

        def submit(task: Any) -> int:
            i = next(slots)
            outbox.put((i, task))
            return i

        yield from _bounded(submit, _Inbox(conns, procs).take, tasks, window)
    finally:
        outbox.put(None)
        _stop(procs, conns)
        feeder.join()


def _serve(fn: Callable[[Any], Any], conn: Any) -> None:
    """A worker: run `fn` on each task read from `conn`, write back (ok, value). Ctrl-C
    reaches the whole process group: the caller handles it (and stops the workers), so a
    worker ignores it instead of printing its own traceback."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        try:
            out = (True, fn(task))
        except BaseException as exc:  # handed to the caller, who re-raises it
            out = (False, exc)
        try:
            conn.send(out)
        except (BrokenPipeError, ConnectionResetError):
            return
        except Exception as exc:  # the result or the exception does not pickle
            conn.send((False, RuntimeError(f"worker result could not be sent: {exc!r}")))


def _feed(outbox: queue.SimpleQueue, conns: list[Any]) -> None:
    """The feeder thread: write each (worker, task) until told to stop or a pipe breaks."""
    while (item := outbox.get()) is not None:
        try:
            conns[item[0]].send(item[1])
        except OSError:  # the worker is gone; the caller sees it when reading its result
            return


class _Inbox:
    """Results read as soon as any worker has one, handed out in task order. (A worker
    writing a result larger than the pipe's buffer blocks until it is read: reading only
    the oldest would leave a worker that is ahead idle while the caller waits on another.)"""

    def __init__(self, conns: list[Any], procs: list[Any]) -> None:
        self.conns, self.procs = conns, procs
        self.queues: list[deque] = [deque() for _ in conns]
        self.live = {conn: i for i, conn in enumerate(conns)}

    def take(self, i: int) -> Any:
        """The next result of worker `i` (its exception re-raised here)."""
        self._read(0)
        mine = self.queues[i]
        while not mine:
            if self.conns[i] not in self.live:
                raise RuntimeError("worker process ended unexpectedly")
            self._read(None)
        ok, value = mine.popleft()
        if not ok:
            raise value
        return value

    def _read(self, timeout: float | None) -> None:
        """One message from each worker that has one (waiting up to `timeout` for any)."""
        for conn in wait(list(self.live), timeout):
            j = self.live[conn]
            try:
                self.queues[j].append(conn.recv())
            except (EOFError, OSError):
                del self.live[conn]
                self.procs[j].join(1)
                self.queues[j].append((False, RuntimeError(
                    f"worker process ended unexpectedly (exit code {self.procs[j].exitcode})")))


def _stop(procs: list[Any], conns: list[Any]) -> None:
    for proc in procs:
        if proc.is_alive():
            proc.terminate()
    for conn in conns:
        conn.close()
    for proc in procs:
        proc.join()


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

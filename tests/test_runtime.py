"""ordered_map's local process pool: task order, errors, dead workers, large messages."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time

import pytest

from verifier.runtime import ordered_map


def _square(x: int) -> int:
    return x * x


def _fail_on_seven(x: int) -> int:
    if x == 7:
        raise ValueError("seven")
    return x


def _die_on_five(x: int) -> int:
    if x == 5:
        os._exit(3)
    return x


def _slow_zero_fail_three(x: int) -> int:
    if x == 0:
        time.sleep(0.3)  # later results arrive first and wait, read, until it is done
    if x == 3:
        raise ValueError("three")
    return x


def _echo_big(blob: bytes) -> bytes:
    return blob * 2


def _slow_double(x: int) -> int:
    time.sleep(0.2)
    return 2 * x


def test_results_in_task_order_with_a_small_window():
    assert list(ordered_map(_square, range(200), workers=2, prefetch=1)) == [x * x for x in range(200)]


def test_three_workers_and_fewer_tasks_than_workers():
    assert list(ordered_map(_square, range(2), workers=3)) == [0, 1]
    assert list(ordered_map(_square, [], workers=2)) == []


def test_worker_exception_reaches_the_caller():
    with pytest.raises(ValueError, match="seven"):
        list(ordered_map(_fail_on_seven, range(20), workers=2))
    assert multiprocessing.active_children() == []


def test_results_that_arrive_early_keep_their_place_and_errors_theirs():
    it = ordered_map(_slow_zero_fail_three, range(12), workers=2, prefetch=3)
    assert [next(it), next(it), next(it)] == [0, 1, 2]
    with pytest.raises(ValueError, match="three"):
        next(it)


def test_dead_worker_is_an_error_not_a_hang():
    with pytest.raises(RuntimeError, match="exit code 3"):
        list(ordered_map(_die_on_five, range(20), workers=2))
    assert multiprocessing.active_children() == []


def test_large_tasks_and_results_do_not_deadlock():
    # Each task and result is larger than a pipe's buffer, with several in flight.
    blobs = [bytes([i]) * (1 << 20) for i in range(12)]
    out = list(ordered_map(_echo_big, blobs, workers=2, prefetch=3))
    assert out == [b * 2 for b in blobs]


def test_closing_early_stops_the_workers():
    it = ordered_map(_square, range(10_000), workers=2)
    assert next(it) == 0
    it.close()
    assert multiprocessing.active_children() == []


def test_workers_leave_ctrl_c_to_the_caller():
    """SIGINT (Ctrl-C reaches the whole process group) does not interrupt a worker's task:
    the caller alone turns it into KeyboardInterrupt and stops the workers."""
    before = {p.pid for p in multiprocessing.active_children()}
    results = ordered_map(_slow_double, range(6), workers=2, prefetch=1)
    first = next(results)  # both workers are busy now
    workers = [p for p in multiprocessing.active_children() if p.pid not in before]
    assert len(workers) == 2
    for p in workers:
        os.kill(p.pid, signal.SIGINT)
    assert [first, *results] == [0, 2, 4, 6, 8, 10]

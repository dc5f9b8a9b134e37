"""Small measuring helpers shared by the bench scripts (each script puts bench/ on sys.path)."""

from __future__ import annotations

import resource
import time
from typing import Callable


def best(fn: Callable[[], object], repeat: int) -> float:
    """The fastest of `repeat` wall-clock runs of `fn()`, in seconds."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def peak_rss_mib() -> float:
    """This process's peak resident set (VmHWM) in MiB; ru_maxrss where /proc is missing."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

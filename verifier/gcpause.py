"""The one GC pause of the verifier, importable from every layer (it imports nothing of it).

A bulk step (reading a bundle, auditing millions of records) allocates millions of
acyclic containers; each full cyclic collection would walk all live ones again and free
nothing. Reference counting still frees everything while the collector is paused.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for the block; the previous state is restored
    (a collector that was already off stays off)."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()

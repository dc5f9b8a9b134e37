#!/usr/bin/env python3
"""Bytes per event of the client's lineage index (`StreamLinker`), measured with tracemalloc.

Feeds N prediction nodes shaped like `make_bundle.py`'s (43-character tx id, canonical UUID
event id, 64-hex payload hash, a `public_key:signature` fingerprint, previous_hash = the
registration's tx id, one signer) after a GENESIS head, and reports the traced memory the
linker holds per event after `add` (the nodes themselves are dropped as they go, as in the
engine). `--linear` links each event to the previous one by payload hash instead (L5 claims).

    python bench/bench_linker_memory.py --n 100000 [--linear]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import sys
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from verifier.audit.linker import StreamLinker  # noqa: E402
from verifier.core.chain_rules import ChainNode  # noqa: E402


def _tx(n: int) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(b"tx%d" % n).digest()).decode().rstrip("=")


def nodes(n: int, linear: bool):
    pk = "ab" * 32
    head = _tx(0)
    yield ChainNode(head, head, "0b6c1f0e-7a1d-4c3e-9b2a-000000000000", "model_registered",
                    "ario.mlflow/v1", hashlib.sha256(b"p0").hexdigest(), "GENESIS", pk, f"{pk}:{'00' * 64}")
    prev_hash = hashlib.sha256(b"p0").hexdigest()
    for i in range(1, n + 1):
        tx = _tx(i)
        ph = hashlib.sha256(b"p%d" % i).hexdigest()
        if linear:
            node = ChainNode(tx, tx, f"0b6c1f0e-7a1d-4c3e-9b2a-{i:012d}", "training_complete",
                             "ario.mlflow/v1", ph, prev_hash, pk, f"{pk}:{hashlib.sha512(tx.encode()).hexdigest()}")
        else:
            node = ChainNode(tx, tx, f"0b6c1f0e-7a1d-4c3e-9b2a-{i:012d}", "prediction",
                             "ario.mlflow/v1", ph, head, pk, f"{pk}:{hashlib.sha512(tx.encode()).hexdigest()}")
        prev_hash = ph
        yield node


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--linear", action="store_true")
    args = ap.parse_args()
    tracemalloc.start()
    linker = StreamLinker()
    base = tracemalloc.get_traced_memory()[0]
    statuses = set()
    for node in nodes(args.n, args.linear):
        _, check = linker.add(node)
        statuses.add(check.status.value if check is not None else "pending")
    held = tracemalloc.get_traced_memory()[0] - base
    decided, checks, _ = linker.finish()
    print(f"{args.n} events ({'linear' if args.linear else 'predictions'}): "
          f"{held / 2**20:.1f} MiB held, {held / (args.n + 1):.0f} bytes/event; "
          f"statuses {sorted(statuses)}, {len(decided)} decided at the end, "
          f"set checks {[c.status.value for c in checks]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

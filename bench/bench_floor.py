#!/usr/bin/env python3
"""The floor of a one-worker audit of a v2 bundle: only the steps no audit can skip.

Per shard: inflate and SHA-256 it. Per line: decode it with the kernel's strict decoder
(duplicate-key hook and number hooks), decode the envelope text the same way, cut the
signature member out of the (canonical) envelope bytes, verify the Ed25519 signature and
hash the payload. No records, checks, results, linking or roll-up: this is what the format
and the strict decoders cost before any bookkeeping. The ratio to a bare PyNaCl verify
loop (measured in the same run) bounds what any implementation of the engine in Python can
reach on this format (spec/audit-bundle.md §7); docs/performance.md compares it with the
real engine.

    python bench/bench_floor.py [--n 25000] [--repeat 3] [--bundles DIR]
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
import zipfile
import zlib
from pathlib import Path

from nacl.bindings import crypto_sign_open

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_audit import bare_rate  # noqa: E402
from make_bundle import bench_bundle  # noqa: E402

from verifier.core import intake  # noqa: E402
from verifier.runtime import gc_paused  # noqa: E402


def shards(path: Path) -> list[bytes]:
    """The bundle's event shards, raw-deflated again (as stored) to time their inflation."""
    out = []
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            if name.startswith("events/"):
                c = zlib.compressobj(6, zlib.DEFLATED, -15)
                out.append(c.compress(zf.read(name)) + c.flush())
    return out


def floor(blobs: list[bytes]) -> int:
    scan = intake._SCAN  # the strict decoder: duplicate keys, number range, no NaN
    n = 0
    for blob in blobs:
        data = zlib.decompress(blob, -15)
        hashlib.sha256(data).digest()
        for line in data.split(b"\n")[:-1]:
            ev, _ = scan(line.decode("utf-8"), 0)
            text = ev["envelope"]
            env, _ = scan(text, 0)
            raw = text.encode("utf-8")
            member = b',"signature":"' + env["signature"].encode("ascii") + b'"'
            cut = raw.find(member)
            message = raw[:cut] + raw[cut + len(member):]
            crypto_sign_open(bytes.fromhex(env["signature"]) + message, bytes.fromhex(env["public_key"]))
            if ev["payload"] is not None:
                hashlib.sha256(ev["payload"].encode("utf-8")).digest()
            n += 1
    return n


def main() -> int:
    args, path = bench_bundle(__doc__.splitlines()[0])
    blobs = shards(path)
    best = float("inf")
    with gc_paused():
        for _ in range(args.repeat):
            t = time.process_time()
            n = floor(blobs)
            best = min(best, time.process_time() - t)
    bare = 1e6 / bare_rate(args.repeat)
    us = best / n * 1e6
    print(f"{n} events, load average {os.getloadavg()[0]:.1f}: floor {us:.1f} us/event, bare verify "
          f"{bare:.1f} us, beyond the verify {us - bare:.1f} us, ratio to bare {bare / us:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

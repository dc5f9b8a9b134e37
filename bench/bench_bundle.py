#!/usr/bin/env python3
"""Audit bundle reader throughput and peak memory, v2 (streaming) against v1, in one run.

The bundles come from `make_bundle.py` (a real signed lineage plus N predictions). Each
measurement runs in a fresh child process, so peak RSS figures (VmHWM, growth over the
child's own baseline after imports) do not mix:

- ``bytes``: the archive read in 1 MiB chunks (the floor: what the disk costs);
- ``inflate``: every member inflated with `zipfile`, nothing parsed (the bare bytes);
- ``v2``: `open_bundle(...).records()` iterated, every check of spec/audit-bundle.md §7;
- ``v1``: `read_bundle` of the same events written as v1 (``--v1``; v1 holds everything).

Figures are wall and CPU seconds, events per second, and ratios to ``inflate`` measured in
the same run. Usage: python bench/bench_bundle.py [--n 100000] [--v1] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

CHILD = r"""
import sys, time, zipfile
def hwm():
    with open("/proc/self/status") as fh:
        return next(int(l.split()[1]) for l in fh if l.startswith("VmHWM")) / 1024
from verifier.sources.bundle import read_bundle
from verifier.sources.bundle_source import open_bundle
mode, path = sys.argv[1], sys.argv[2]
base = hwm()
w, c = time.perf_counter(), time.process_time()
n = 0
if mode == "bytes":
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            n += 1
elif mode == "inflate":
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            n += len(zf.read(name)) > 0
elif mode == "v2":
    with open_bundle(path) as src:
        for record in src.records():
            n += 1
else:
    n = len(read_bundle(path).records)
print(n, time.perf_counter() - w, time.process_time() - c, base, hwm())
"""


def child(mode: str, path: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, mode, str(path)], check=True,
                         capture_output=True, text=True).stdout.split()
    n, wall, cpu, base, peak = int(out[0]), *map(float, out[1:])
    return {"mode": mode, "items": n, "wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
            "rss_base_mib": round(base, 1), "rss_peak_mib": round(peak, 1),
            "rss_growth_mib": round(peak - base, 1)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000, help="prediction events")
    ap.add_argument("--v1", action="store_true", help="also write and read the v1 bundle")
    ap.add_argument("--keep", type=Path, help="write (or reuse) the bundles in this directory")
    args = ap.parse_args()
    from make_bundle import make_bundle

    tmp = None
    if args.keep is None:
        tmp = tempfile.TemporaryDirectory()
        where = Path(tmp.name)
    else:
        where = args.keep
        where.mkdir(parents=True, exist_ok=True)
    v2 = where / f"bench-bundle-v2-{args.n}.zip"
    made = None
    if not v2.exists():
        made = make_bundle(v2, args.n)
        print(json.dumps({"generated": made}), flush=True)
    rows = [child("bytes", v2), child("inflate", v2), child("v2", v2)]
    if args.v1:
        v1 = where / f"bench-bundle-v1-{args.n}.zip"
        if not v1.exists():
            from make_bundle import Lineage

            from verifier.sources.bundle import write_bundle
            from verifier.sources.bundle_source import open_bundle

            with open_bundle(v2) as src:
                col = src.collection()
            t = time.perf_counter()
            write_bundle(col, v1, created_at="2026-06-15T13:00:00Z")
            del col, Lineage
            print(json.dumps({"generated_v1_s": round(time.perf_counter() - t, 1)}), flush=True)
        rows.append(child("v1", v1))
    inflate = rows[1]
    for r in rows:
        if r["mode"] in ("v1", "v2"):
            r["events_per_s"] = round((args.n + 4) / r["wall_s"])
            r["events_per_cpu_s"] = round((args.n + 4) / r["cpu_s"])
        r["cpu_ratio_to_inflate"] = round(r["cpu_s"] / max(inflate["cpu_s"], 1e-9), 2)
        print(json.dumps(r), flush=True)
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

#!/usr/bin/env python3
"""The offline audit as a user runs it, end to end, against a bare PyNaCl verify loop.

Each measurement runs ``ario-verifier audit BUNDLE --offline --json -q`` in its own
process (with ``--workers W``, or ``--scheduler`` on a Dask LocalCluster of K worker
processes started here) over v2 bundles from ``make_bundle.py`` (a signed lineage and N
prediction events, one Ed25519 signature each). Per run: wall time, CPU seconds of the
process tree (the CLI and its pool workers, from the kernel's accounting of reaped children;
for a cluster run, plus the Dask workers' and this process's CPU while it ran), and the peak
RSS of the process tree (the sum over its processes, sampled every 20 ms; cluster runs add
the Dask workers). Every figure is also given as a ratio to a yardstick measured in the same
run: events per CPU-second / bare `VerifyKey.verify` calls per CPU-second (best of
--repeat, taken before and after the audits; the lower is used).

    python bench/bench_audit.py --n 100000 --workers 1,2 --cluster 1,2 [--bundles DIR]

The CLI runs with its bytecode caches, as a pip install has them (a warm-up run writes them;
PYTHONDONTWRITEBYTECODE is dropped for the child, which would otherwise recompile every
module at every start, ~60 ms).

Goals (issue 9): ratio >= 0.70 with one worker; wall 2 workers vs 1 >= x1.8; peak RSS
<= 256 MiB at 100k events and <= 512 MiB at 1M; CPU us/event at N vs N/4 <= x1.05.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
from nacl.signing import SigningKey

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from make_bundle import make_bundle  # noqa: E402


def bare_rate(repeat: int, n: int = 20_000) -> float:
    """Bare `VerifyKey.verify` calls per CPU-second over envelope-sized messages."""
    sk = SigningKey(b"\x07" * 32)
    vk = sk.verify_key
    signed = [sk.sign(b'{"event_id":"%08d",' % i + b"x" * 420) for i in range(n)]
    best = float("inf")
    for _ in range(repeat):
        t = time.process_time()
        for s in signed:
            vk.verify(s)
        best = min(best, time.process_time() - t)
    return n / best


def _tree_rss(proc: psutil.Process, extra: list[psutil.Process]) -> int:
    total = 0
    try:
        procs = [proc] + proc.children(recursive=True) + extra
    except psutil.Error:
        return 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def run_cli(bundle: Path, argv: list[str], extra: list[psutil.Process]) -> dict:
    """One audit in its own process: wall, tree CPU, peak tree RSS, verdict."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    # as installed by pip: modules load from their compiled bytecode (main() warms it up)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    cmd = [sys.executable, "-c", "import sys; from verifier.cli.main import main; sys.exit(main())",
           "audit", str(bundle.resolve()), "--offline", "--json", "-q", *argv]
    before_extra = sum(sum(p.cpu_times()[:2]) for p in extra)
    me0 = time.process_time()
    t0 = time.perf_counter()
    # cwd=ROOT: `python -c` puts the working directory first on sys.path, which would
    # otherwise shadow ROOT with whatever checkout the bench was started from
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                             cwd=str(ROOT))
    watch = psutil.Process(child.pid)
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _tree_rss(watch, extra))
            done.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out = child.stdout.read()  # type: ignore[union-attr]
    err = child.stderr.read()  # type: ignore[union-attr]
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - t0
    done.set()
    sampler.join()
    child.returncode = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime
    if extra:
        cpu += sum(sum(p.cpu_times()[:2]) for p in extra) - before_extra
        cpu += time.process_time() - me0  # the scheduler lives in this process
    doc = json.loads(out) if out.strip() else {}
    if doc.get("status") != "verified":
        raise SystemExit(f"audit did not verify ({child.returncode}): {err.decode()[-1500:]}")
    return {"wall": wall, "cpu": cpu, "peak_mib": peak[0] / 2**20,
            "events": doc["subject"]["events"]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000, help="prediction events of the big bundle")
    ap.add_argument("--workers", default="1,2", help="local worker counts (default 1,2)")
    ap.add_argument("--cluster", default="1,2", help="Dask LocalCluster worker counts ('' = none)")
    ap.add_argument("--repeat", type=int, default=3, help="best-of for the bare verify loop")
    ap.add_argument("--bundles", type=Path, help="directory to keep (and reuse) the bundles in")
    args = ap.parse_args()
    where = args.bundles or Path(os.environ.get("TMPDIR", "/tmp")) / "ario-bench-audit"
    where.mkdir(parents=True, exist_ok=True)
    sizes = sorted({max(1, args.n // 4), args.n})
    bundles = {}
    for k in sizes:
        path = where / f"bench-{k}.zip"
        if not path.exists():
            info = make_bundle(path, k)
            print(f"generated {path} ({info['events']} events, {info['bytes'] / 2**20:.1f} MiB, "
                  f"{info['seconds']} s)")
        bundles[k] = path

    run_cli(bundles[sizes[0]], ["--workers", "1"], [])  # warm-up: writes the bytecode caches
    ceiling = bare_rate(args.repeat)
    print(f"bare PyNaCl verify: {ceiling:.0f}/CPU-s (best of {args.repeat}); load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    rows: dict[tuple[str, int], dict] = {}
    for w in [int(x) for x in args.workers.split(",") if x.strip()]:
        for k in sizes:
            rows[(f"workers={w}", k)] = run_cli(bundles[k], ["--workers", str(w)], [])
    clusters = [int(x) for x in args.cluster.split(",") if x.strip()]
    for c in clusters:
        from distributed import LocalCluster

        with LocalCluster(n_workers=c, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address=None) as lc:
            workers = [psutil.Process(p.process.pid) for p in lc.workers.values()]  # type: ignore[union-attr]
            for k in sizes:
                rows[(f"dask={c}", k)] = run_cli(bundles[k], ["--scheduler", lc.scheduler_address],
                                                 workers)
    ceiling = min(ceiling, bare_rate(args.repeat))
    print(f"bare PyNaCl verify after the audits: yardstick {ceiling:.0f}/CPU-s (the lower one)\n")
    print(f"{'run':>10} {'events':>8} {'wall s':>7} {'CPU s':>7} {'ev/CPU-s':>9} {'ratio':>6} "
          f"{'us/event':>9} {'peak MiB':>9}")
    for (name, k), r in rows.items():
        rate = r["events"] / r["cpu"]
        print(f"{name:>10} {r['events']:>8} {r['wall']:>7.2f} {r['cpu']:>7.2f} {rate:>9.0f} "
              f"{rate / ceiling:>6.3f} {r['cpu'] / r['events'] * 1e6:>9.1f} {r['peak_mib']:>9.0f}")
    big, small = sizes[-1], sizes[0]
    print("\nsummary (goal in brackets):")
    for name in dict.fromkeys(n for n, _ in rows):
        r, q = rows[(name, big)], rows[(name, small)]
        flat = (r["cpu"] / r["events"]) / (q["cpu"] / q["events"])
        print(f"  {name}: ratio {r['events'] / r['cpu'] / ceiling:.3f} [>= 0.70]; CPU us/event "
              f"N vs N/4 x{flat:.2f} [<= 1.05]; peak {r['peak_mib']:.0f} MiB at {r['events']}")
    for a, b in (("workers=2", "workers=1"), ("dask=2", "dask=1")):
        if (a, big) in rows and (b, big) in rows:
            print(f"  wall {b} / {a} at {big}: x{rows[(b, big)]['wall'] / rows[(a, big)]['wall']:.2f} [>= 1.8]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

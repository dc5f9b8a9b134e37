#!/usr/bin/env python3
"""`ario-verifier browse`: time to first screen, time to the verdict and peak RSS, as ratios
to the plain `ario-verifier audit` of the same bundle in the same run.

Bundles: make_bundle.py's synthetic lineage (real signed envelopes and payloads, bundle
v2) with 1k and 100k events. For each: `audit BUNDLE --json -q` in a fresh process (wall time from process start,
peak RSS: the larger of the process and its largest worker), then the browser in a fresh process, headless
(Textual's run_test, 120x40), from process start: the first screen composed (verdict header
in its "auditing" state), the verdict shown with the table filled, End pressed on the table
(one frame of the last rows), and peak RSS of the app process plus that of its audit child (or its
largest worker, if larger). Peak RSS is read inside each process (VmHWM).

Usage: python bench/bench_browse.py [--sizes 1000,100000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from benchutil import peak_rss_mib  # noqa: E402


def browse_child(path: str, t0: float) -> None:
    """In a fresh process: open the browser headless on `path`, print the timings."""
    from verifier.cli.browse_cmd import mode_of
    from verifier.cli.main import build_parser
    from verifier.tui.app import BrowseApp, make_spec

    args = build_parser().parse_args(["browse", path])
    app = BrowseApp(make_spec(mode_of(args), args))
    out: dict = {}

    async def main() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            out["first_screen"] = time.time() - t0
            while app.summary is None and not app.error:
                await pilot.pause(0.01)
            await pilot.pause(0.15)  # the next refresh tick fills the table
            out["verdict"] = time.time() - t0
            out["status"] = app.summary.status.value if app.summary else app.error
            out["rows"] = len(app.index)
            t = time.perf_counter()
            await pilot.press("x")  # unbound: Pilot's own cost of a key and a frame
            await pilot.pause()
            out["idle_key_ms"] = (time.perf_counter() - t) * 1000
            t = time.perf_counter()
            await pilot.press("end")
            await pilot.pause()
            out["end_key_ms"] = (time.perf_counter() - t) * 1000
            app.feed.close()
            app.feed = None
    asyncio.run(main())
    out["app_rss_mib"] = peak_rss_mib()
    out["app_cpu"] = time.process_time()
    out["child_rss_mib"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps(out))


def audit_child(path: str, t0: float) -> None:
    """In a fresh process: the real `audit PATH --json -q` (output discarded), its figures."""
    import contextlib
    import io

    from verifier.cli.main import main as cli

    with contextlib.redirect_stdout(io.StringIO()):
        code = cli(["audit", path, "--json", "-q"])
    print(json.dumps({"wall": time.time() - t0, "exit": code, "rss_mib": peak_rss_mib(),
                      "worker_rss_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))


def _fresh(flag: str, path: Path) -> dict:
    """Run this script's `flag` child on `path` (peak RSS is read inside the child as
    VmHWM: ru_maxrss from wait4 would count the pre-exec copy of this big process)."""
    t0 = time.time()
    proc = subprocess.run([sys.executable, __file__, flag, str(path), "--t0", repr(t0)],
                          capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(HERE.parent)})
    if proc.returncode != 0:
        raise SystemExit(f"{flag} child failed: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_audit(path: Path) -> dict:
    return _fresh("--audit-child", path)


def run_browse(path: Path) -> dict:
    return _fresh("--child", path)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,100000")
    ap.add_argument("--child")
    ap.add_argument("--audit-child")
    ap.add_argument("--t0", type=float)
    a = ap.parse_args()
    if a.child:
        browse_child(a.child, a.t0)
        return 0
    if a.audit_child:
        audit_child(a.audit_child, a.t0)
        return 0
    from make_bundle import make_bundle

    sizes = [int(s) for s in a.sizes.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            path = Path(tmp) / f"bench-{n}.zip"
            events = make_bundle(path, n - 4)["events"]
            audit = run_audit(path)
            browse = run_browse(path)
            rss = browse["app_rss_mib"] + browse["child_rss_mib"]
            audit_rss = max(audit["rss_mib"], audit["worker_rss_mib"])
            print(f"{events:>7} events: audit {audit['wall']:.2f} s, {audit_rss:.0f} MiB | "
                  f"browse first screen {browse['first_screen']:.2f} s "
                  f"({browse['first_screen'] / audit['wall']:.2f}x audit), verdict with table "
                  f"{browse['verdict']:.2f} s ({browse['verdict'] / audit['wall']:.2f}x), End key "
                  f"{browse['end_key_ms']:.0f} ms (unbound key {browse['idle_key_ms']:.0f} ms), app CPU {browse['app_cpu']:.1f} s, RSS app {browse['app_rss_mib']:.0f} + audit child "
                  f"{browse['child_rss_mib']:.0f} = {rss:.0f} MiB ({rss / audit_rss:.2f}x) "
                  f"[{browse['status']}, {browse['rows']} rows, audit exit {audit['exit']}]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

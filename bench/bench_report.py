#!/usr/bin/env python3
"""`ario-verifier report`: render time and peak RSS as ratios to the plain
`ario-verifier audit` of the same bundle in the same run.

Bundles: make_bundle's synthetic lineage (real signed envelopes, payloads and surfaces,
v2 bundle layout) with 1k and 100k events. For each: `audit BUNDLE --json -q` in a fresh process, then
`report BUNDLE -o report.pdf -q` in a fresh process (the PDF/A-3u with its attachments:
verdict JSON, events JSON Lines gzip, the bundle when under the cap). Wall time from
process start; peak RSS read inside each process (VmHWM) and the largest worker's; the
PDF's pages and size. Ratios are report / audit.

Measured 2026-12-05 on the shared 2-core machine (v2 bundles): 1k events 4.45x audit time
(WeasyPrint's fixed ~2 s), 1.83x RSS; 100k events 1.73x time, 2.67x RSS (109 -> 291 MiB,
the 29 MB bundle attached: WeasyPrint holds an attachment and its compressed copy in
memory; with --attach-max-bytes 0: 1.36x time, 197 MiB), 5 pages.

Usage: python bench/bench_report.py [--sizes 1000,100000]
"""

from __future__ import annotations

import argparse
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


def child(argv: list[str], t0: float) -> None:
    """In a fresh process: the real CLI with `argv` (stdout discarded), then its figures."""
    import contextlib
    import io

    from verifier.cli.main import main as cli

    with contextlib.redirect_stdout(io.StringIO()):
        code = cli(argv)
    print(json.dumps({"wall": time.time() - t0, "exit": code, "rss_mib": peak_rss_mib(),
                      "worker_rss_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))


def fresh(argv: list[str]) -> dict:
    t0 = time.time()
    proc = subprocess.run([sys.executable, __file__, "--child", json.dumps(argv), "--t0", repr(t0)],
                          capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(HERE.parent)})
    if proc.returncode != 0:
        raise SystemExit(f"child failed: {proc.stderr[-2000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["peak_mib"] = max(out["rss_mib"], out["worker_rss_mib"])
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,100000")
    ap.add_argument("--child")
    ap.add_argument("--t0", type=float)
    a = ap.parse_args()
    if a.child:
        child(json.loads(a.child), a.t0)
        return 0
    from make_bundle import make_bundle
    from pypdf import PdfReader

    sizes = [int(s) for s in a.sizes.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            path = Path(tmp) / f"bench-{n}.zip"
            pdf = Path(tmp) / f"report-{n}.pdf"
            events = make_bundle(path, n - 4)["events"]
            audit = fresh(["audit", str(path), "--json", "-q"])
            report = fresh(["report", str(path), "-o", str(pdf), "-q"])
            reader = PdfReader(pdf)
            atts = {k: len(v[0]) for k, v in reader.attachments.items()}
            print(f"{events:>7} events: audit {audit['wall']:.2f} s, {audit['peak_mib']:.0f} MiB | "
                  f"report {report['wall']:.2f} s ({report['wall'] / audit['wall']:.2f}x audit), "
                  f"peak {report['peak_mib']:.0f} MiB ({report['peak_mib'] / audit['peak_mib']:.2f}x) | "
                  f"{len(reader.pages)} pages, PDF {pdf.stat().st_size / 1e6:.1f} MB, attachments "
                  + ", ".join(f"{k} {v / 1e6:.1f} MB" for k, v in atts.items())
                  + f" [exit audit {audit['exit']}, report {report['exit']}]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

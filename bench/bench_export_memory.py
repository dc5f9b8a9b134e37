#!/usr/bin/env python3
"""Peak memory of `ario-verifier export` against the number of predictions (issue 9 item 1).

Builds (once, kept in --dir) real MLflow SQLite stores in the plugin's layout with N
predictions each: the lineage of tests/sources/sources_mlstore.py (two chained training
runs, a dataset, a registration, two promotions, three predictions), then N - 3 more
predictions, each with a signed envelope, ``ario/predictions/<decision_id>/payload.json``
and ``proof.json`` on the model run and a trace tagged like the plugin tags it. MLflow
writes the template trace; the N - 3 copies of its rows are inserted with SQL (MLflow's
own API takes ~20 ms per trace and tag). Then runs
``export --tracking-uri sqlite:///... models:/fraud/1 -o OUT --offline --json`` in a fresh
process per store and reports that process's peak RSS (VmHWM), its CPU time, and the
growth per prediction between the smallest and the largest store.

Usage: nice python3 bench/bench_export_memory.py --n 4000,16000 --dir /tmp/export-bench
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_CHILD = r"""
import resource, sys, time
from verifier.cli.main import main
t = time.process_time()
rc = main(sys.argv[1:])
cpu = time.process_time() - t
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
sys.stderr.write(f"BENCH rc={rc} cpu={cpu:.2f} hwm_kib={hwm}\n")
"""


def build(path: Path, n: int) -> float:
    """A store with `n` predictions at `path` (a directory); returns seconds taken."""
    t0 = time.perf_counter()
    path.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, MLFLOW_ALLOW_FILE_STORE="true",
               PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "tests" / "sources")]))
    subprocess.run([sys.executable, str(ROOT / "tests/sources/sources_mlstore.py"),
                    f"sqlite|{path}|full"], check=True, env=env, cwd=path,
                   capture_output=True, timeout=900)
    sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "sources")]
    from sources_mlstore import envelope, fake_tx, h, proof_json

    from verifier.core.jcs import canonical
    from verifier.core.mlflow_payloads import build_prediction_payload

    db = path / "mlflow.db"
    con = sqlite3.connect(db)
    run_id, artifact_uri = con.execute(
        "SELECT r.run_uuid, r.artifact_uri FROM runs r JOIN model_versions m "
        "ON m.run_id = r.run_uuid WHERE m.name = 'fraud' AND m.version = 1").fetchone()
    art = Path(artifact_uri.replace("file://", "")) if artifact_uri.startswith("file:") \
        else (path / artifact_uri if not artifact_uri.startswith("/") else Path(artifact_uri))
    tmpl = con.execute("SELECT t.request_id FROM trace_info t JOIN trace_tags g "
                       "ON g.request_id = t.request_id WHERE g.key = 'ario.prediction_tx' "
                       "LIMIT 1").fetchone()[0]
    info_cols = [r[1] for r in con.execute("PRAGMA table_info(trace_info)")]
    info = dict(zip(info_cols, con.execute("SELECT * FROM trace_info WHERE request_id = ?",
                                           (tmpl,)).fetchone()))
    tags = dict(con.execute("SELECT key, value FROM trace_tags WHERE request_id = ?", (tmpl,)))
    meta = list(con.execute("SELECT key, value FROM trace_request_metadata WHERE request_id = ?",
                            (tmpl,)))
    reg_tx = con.execute("SELECT value FROM model_version_tags WHERE name = 'fraud' AND "
                         "key = 'ario.registration_tx'").fetchone()[0]
    for i in range(n - 3):
        tid = "tr-" + uuid.uuid4().hex
        did = str(uuid.uuid4())
        p = canonical(build_prediction_payload(
            decision_id=did, model_name="fraud", model_version="1", run_id=run_id,
            model_uri="models:/fraud/1", input_hash=h(b"in%d" % i), output_hash=h(b"out%d" % i),
            latency_ms=1.234, artifact_verified=True, mlflow_trace_id=tid))
        env = envelope("prediction", {"type": "mlflow_prediction", "decision_id": did,
                                      "model_run_id": run_id, "trace_id": tid}, p, reg_tx)
        d = art / "ario" / "predictions" / did
        d.mkdir(parents=True)
        (d / "payload.json").write_bytes(p)
        (d / "proof.json").write_bytes(proof_json(env))
        row = dict(info, request_id=tid, timestamp_ms=info["timestamp_ms"] + i)
        con.execute(f"INSERT INTO trace_info ({','.join(row)}) VALUES "
                    f"({','.join('?' * len(row))})", list(row.values()))
        new = dict(tags, **{"ario.payload_json": p.decode(), "ario.decision_id": did,
                            "ario.payload_hash": h(p), "ario.prediction_tx": fake_tx()})
        new["mlflow.artifactLocation"] = tags["mlflow.artifactLocation"].replace(tmpl, tid)
        con.executemany("INSERT INTO trace_tags (key, value, request_id) VALUES (?, ?, ?)",
                        [(k, v, tid) for k, v in new.items()])
        con.executemany("INSERT INTO trace_request_metadata (key, value, request_id) VALUES "
                        "(?, ?, ?)", [(k, v, tid) for k, v in meta])
    con.commit()
    con.close()
    return time.perf_counter() - t0


def export(store: Path, out: Path, code: Path) -> dict:
    """Run the export CLI of the checkout `code` in a fresh process; its peak RSS, CPU and
    JSON summary."""
    env = dict(os.environ, PYTHONPATH=str(code))
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, "export", "--tracking-uri",
         f"sqlite:///{store / 'mlflow.db'}", "models:/fraud/1", "-o", str(out), "--force",
         "--offline", "--json"], capture_output=True, text=True, env=env, cwd=store)
    line = next(ln for ln in proc.stderr.splitlines() if ln.startswith("BENCH "))
    vals = dict(kv.split("=") for kv in line.split()[1:])
    summary = json.loads(proc.stdout)
    return {"rc": int(vals["rc"]), "cpu": float(vals["cpu"]),
            "rss_mib": int(vals["hwm_kib"]) / 1024, "events": summary["events"],
            "gaps": summary["gaps"],
            "sha256": hashlib.sha256(out.read_bytes()).hexdigest()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", default="4000,16000", help="predictions per store, comma-separated")
    ap.add_argument("--dir", default="/tmp/export-bench", help="stores are kept here")
    ap.add_argument("--repeat", type=int, default=1, help="exports per store (lowest RSS)")
    ap.add_argument("--code", default=str(ROOT),
                    help="checkout whose export is measured (default: this one)")
    args = ap.parse_args()
    base = Path(args.dir)
    rows = []
    for n in [int(x) for x in args.n.split(",")]:
        store = base / f"store-{n}"
        if not (store / "mlflow.db").is_file():
            secs = build(store, n)
            print(f"built {store} ({n} predictions) in {secs:.0f} s", flush=True)
        runs = [export(store, base / f"out-{n}.zip", Path(args.code)) for _ in range(args.repeat)]
        r = min(runs, key=lambda x: x["rss_mib"])
        rows.append((n, r))
        print(f"n={n}: events {r['events']}, gaps {r['gaps']}, exit {r['rc']}, "
              f"peak RSS {r['rss_mib']:.1f} MiB, CPU {r['cpu']:.2f} s "
              f"({r['cpu'] / r['events'] * 1e6:.0f} us/event), bundle sha256 {r['sha256'][:16]}",
              flush=True)
    if len(rows) > 1:
        (n0, a), (n1, b) = rows[0], rows[-1]
        per = (b["rss_mib"] - a["rss_mib"]) * 1024 * 1024 / (n1 - n0)
        print(f"growth {n0} -> {n1}: {b['rss_mib'] - a['rss_mib']:.1f} MiB, "
              f"{per:.0f} bytes per prediction; load average {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

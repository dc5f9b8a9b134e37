#!/usr/bin/env python3
"""Where one worker's audit CPU goes, stage by stage, against a bare verify loop.

Over a v2 bundle from ``make_bundle.py`` (generated here if missing), in this process, with
the GC paused as the engine does: **read** (inflate, digest and parse every shard line into
`EventRecord`s), **check** (A1-A6, `check_event`, one Ed25519 verify each), **fold**
(A7-A13 on the client: linker, roll-up, subject and completeness folds) and, for the
parallel path, **pack** (a chunk's outcomes packed and pickled by a worker) and
**unpack** (unpickled and unpacked by the client). Each is CPU microseconds per event
(best of --repeat); the bare PyNaCl `VerifyKey.verify` loop of bench_audit.py is the
yardstick, so "overhead" is everything a worker spends beyond the one signature check.

    python bench/bench_stages.py --n 25000 [--repeat 3] [--bundles DIR]
"""

from __future__ import annotations

import os
import pickle
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_audit import bare_rate  # noqa: E402
from make_bundle import bench_bundle  # noqa: E402

from verifier.audit.engine import CHUNK, AuditFold, _outcomes  # noqa: E402
from verifier.audit.event import pack, unpack  # noqa: E402
from verifier.audit.policy import AuditPolicy  # noqa: E402
from verifier.core.limits import DEFAULT_LIMITS  # noqa: E402
from verifier.runtime import gc_paused  # noqa: E402
from verifier.sources.bundle_source import open_bundle  # noqa: E402


def cpu(fn):
    t = time.process_time()
    out = fn()
    return time.process_time() - t, out


def one_pass(path: Path, policy: AuditPolicy) -> dict[str, float]:
    with gc_paused(), open_bundle(path) as bundle:
        t_read, records = cpu(lambda: list(bundle.records()))
        n = len(records)
        chunks = [(a, records[a:a + CHUNK]) for a in range(0, n, CHUNK)]
        t_check, outs = cpu(lambda: [_outcomes(part, a, policy, DEFAULT_LIMITS) for a, part in chunks])
        t_pack, blobs = cpu(lambda: [pickle.dumps(pack(o), pickle.HIGHEST_PROTOCOL) for o in outs])
        t_unpack, outs2 = cpu(lambda: [unpack(pickle.loads(b)) for b in blobs])

        def fold():
            f = AuditFold(bundle.target, bundle.model_files, bundle.gaps, policy, None, lambda s: None,
                          expected=n)  # as the engine does: the index sized for the announced total
            seq = 0
            for chunk in outs2:
                for o in chunk:
                    f.arrive(seq, o)
                    seq += 1
            for _ in f.end():
                pass
            return f.result()

        t_fold, result = cpu(fold)
    if result.status.value != "verified":
        raise SystemExit(f"the bench bundle did not verify: {result.reason}")
    return {"read": t_read / n, "check": t_check / n, "fold": t_fold / n,
            "pack": t_pack / n, "unpack": t_unpack / n, "n": n}


def main() -> int:
    args, path = bench_bundle(__doc__.splitlines()[0])
    policy = AuditPolicy()
    bare = 1e6 / bare_rate(args.repeat)
    runs = [one_pass(path, policy) for _ in range(args.repeat)]
    best = {k: min(r[k] for r in runs) * 1e6 for k in ("read", "check", "fold", "pack", "unpack")}
    serial = best["read"] + best["check"] + best["fold"]
    print(f"{runs[0]['n']} events; bare verify {bare:.1f} us; load average {os.getloadavg()[0]:.1f}")
    for k, v in best.items():
        print(f"  {k:<7} {v:6.1f} us/event")
    print(f"  one worker (read+check+fold): {serial:.1f} us/event, overhead beyond the verify "
          f"{serial - bare:.1f} us, ratio to bare {bare / serial:.3f} (start-up not included)")
    print(f"  client share with workers (fold+unpack): {best['fold'] + best['unpack']:.1f} us/event; "
          f"worker share (read+check+pack): {best['read'] + best['check'] + best['pack']:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

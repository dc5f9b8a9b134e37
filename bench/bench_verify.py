#!/usr/bin/env python3
"""Envelope verification throughput, batch scaling, streaming memory and start-up.

Every figure is a ratio against a baseline measured in the same run on the same machine:
- single process: envelopes/s of `verifier` vs a bare PyNaCl `VerifyKey.verify` loop over
  the same messages and signatures (the ceiling), and of ar-io-proof's `verify_envelope`;
- batch: `verifier.batch.verify_many` on all cores vs one core;
- streaming: peak RSS of `ario-verifier verify --jsonl` over N and 10*N... lines;
- start-up: `ario-verifier --help` and a one-envelope verify vs `python -c "import ario_proof"`.

Usage: python bench/bench_verify.py [--n 100000] [--stream-n 1000000] [--repeat 3]
CPU time (process_time) is used for the in-process loops so that other load on a shared
machine disturbs the ratios less; wall time is used for the multi-process and start-up parts.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import rfc8785
from nacl.signing import SigningKey, VerifyKey

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from verifier.batch import verify_many  # noqa: E402
from verifier.core.envelope import verify_envelope_bytes  # noqa: E402

SEED = hashlib.sha256(b"ario-verifier bench").digest()


def make_items(n: int):
    """n ario.mlflow/v1 prediction envelopes (~620 bytes) with payloads, plus the bare
    (message, signature) pairs for the ceiling loop."""
    sk = SigningKey(SEED)
    pk = sk.verify_key.encode().hex()
    items, bare = [], []
    for i in range(n):
        payload = rfc8785.dumps({
            "event_type": "prediction", "decision_id": f"{i:08d}-4b5c-4d6e-8f70-1a2b3c4d5e6f",
            "model_name": "credit-scorer", "model_version": "3", "run_id": "4f1c2a9be0d34b7c8e21f0a9d3c6b5e7",
            "model_uri": "models:/credit-scorer/3", "input_hash": hashlib.sha256(b"%d" % i).hexdigest(),
            "output_hash": hashlib.sha256(b"o%d" % i).hexdigest(), "latency_ms": 3.14,
            "artifact_verified": True})
        env = {"event_id": f"0b6c1f0e-7a1d-4c3e-9b2a-{i:012d}", "event_type": "prediction",
               "subject": {"type": "mlflow_prediction", "decision_id": f"{i:08d}-4b5c-4d6e-8f70-1a2b3c4d5e6f",
                           "model_run_id": "4f1c2a9be0d34b7c8e21f0a9d3c6b5e7"},
               "payload_hash": hashlib.sha256(payload).hexdigest(),
               "previous_hash": "bUhkdGVnZDlqMmd4cUdKZnB4RkhHZUxHR2RqR1hqR2Q",
               "signed_at": "2026-06-15T12:00:00.123456+00:00", "spec_version": "ario.mlflow/v1",
               "public_key": pk}
        msg = rfc8785.dumps(env)
        sig = sk.sign(msg).signature
        env["signature"] = sig.hex()
        items.append((rfc8785.dumps(env), payload))
        bare.append((msg, sig))
    return pk, items, bare


def best_rate(fn, n: int, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.process_time()
        fn()
        best = min(best, time.process_time() - t)
    return n / best


def bench_single(pk, items, bare, repeat):
    vk = VerifyKey(bytes.fromhex(pk))

    def ceiling():
        for msg, sig in bare:
            vk.verify(msg, sig)

    def ours():
        for env, payload in items:
            if verify_envelope_bytes(env, payload).status.value != "verified":
                raise SystemExit("bench envelope did not verify")

    rates = {"bare PyNaCl verify (ceiling)": best_rate(ceiling, len(bare), repeat),
             "verifier.verify_envelope_bytes": best_rate(ours, len(items), repeat)}
    try:
        from ario_proof import verify_envelope

        def peer():
            for env, payload in items:
                if not verify_envelope(json.loads(env), payload_bytes=payload).ok:
                    raise SystemExit("ar-io-proof rejected a bench envelope")

        rates["ar-io-proof verify_envelope"] = best_rate(peer, len(items), repeat)
    except ImportError:
        pass
    return rates


def bench_batch(items):
    out = {}
    for workers in (1, os.cpu_count() or 1):
        t = time.perf_counter()
        n = sum(1 for v in verify_many(items, workers=workers) if v.status.value == "verified")
        assert n == len(items)
        out[workers] = len(items) / (time.perf_counter() - t)
    return out


def write_jsonl(path: Path, items, n: int) -> None:
    with path.open("w") as fh:
        for i in range(n):
            env, payload = items[i % len(items)]
            fh.write(json.dumps({"envelope": env.decode(), "payload": payload.decode()}) + "\n")


# Runs the CLI in a fresh interpreter and reports that process's own high-water mark
# (VmHWM starts afresh at exec; ru_maxrss of children would carry this parent's size).
_PEAK_WRAPPER = (
    "import atexit, runpy, sys\n"
    "def peak():\n"
    "    for line in open('/proc/self/status'):\n"
    "        if line.startswith('VmHWM:'):\n"
    "            sys.stderr.write('PEAK_KB ' + line.split()[1] + '\\n')\n"
    "atexit.register(peak)\n"
    "sys.argv = ['ario-verifier'] + sys.argv[1:]\n"
    "runpy.run_module('verifier', run_name='__main__')\n"
)


def stream_peak_rss(path: Path) -> tuple[float, float]:
    """(seconds, peak RSS MiB of the CLI process) for `ario-verifier verify --jsonl PATH`."""
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _PEAK_WRAPPER, "verify", "--jsonl", str(path), "--summary"],
                          capture_output=True, text=True)
    elapsed = time.perf_counter() - t
    if proc.returncode not in (0,):
        raise SystemExit(f"streaming verify failed ({proc.returncode}): {proc.stderr[-500:]}")
    peak_kb = int(proc.stderr.rsplit("PEAK_KB ", 1)[1].split()[0])
    return elapsed, peak_kb / 1024


def startup(cmd: list[str], repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        subprocess.run(cmd, capture_output=True)
        best = min(best, time.perf_counter() - t)
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--stream-n", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    t = time.perf_counter()
    pk, items, bare = make_items(args.n)
    print(f"generated {args.n} envelopes in {time.perf_counter() - t:.1f}s "
          f"(mean {sum(len(e) for e, _ in items) / len(items):.0f} bytes)")

    rates = bench_single(pk, items, bare, args.repeat)
    ceiling = rates["bare PyNaCl verify (ceiling)"]
    print("\nsingle process (CPU time, best of %d)" % args.repeat)
    for name, rate in rates.items():
        print(f"  {name:<34} {rate:>9.0f}/s  ratio {rate / ceiling:.3f}")

    batch = bench_batch(items)
    one = batch[1]
    print("\nbatch API verify_many (wall time)")
    for workers, rate in batch.items():
        print(f"  workers={workers:<3} {rate:>9.0f}/s  x{rate / one:.2f} vs one worker, "
              f"{rate / ceiling:.2f} of one-core ceiling")

    with tempfile.TemporaryDirectory() as tmp:
        small, large = Path(tmp) / "small.jsonl", Path(tmp) / "large.jsonl"
        n_small = max(1, args.stream_n // 10)
        write_jsonl(small, items, n_small)
        s_small = stream_peak_rss(small)
        write_jsonl(large, items, args.stream_n)
        s_large = stream_peak_rss(large)
        print("\nstreaming `verify --jsonl` (bounded memory)")
        print(f"  {n_small:>9} lines: {s_small[0]:6.1f}s  peak RSS {s_small[1]:6.1f} MiB")
        print(f"  {args.stream_n:>9} lines: {s_large[0]:6.1f}s  peak RSS {s_large[1]:6.1f} MiB  "
              f"(x{s_large[1] / s_small[1]:.2f} memory for x{args.stream_n / n_small:.0f} lines)")

        env_file = Path(tmp) / "one.json"
        env_file.write_bytes(items[0][0])
        pay_file = Path(tmp) / "one.payload"
        pay_file.write_bytes(items[0][1])
        base = startup([sys.executable, "-c", "import ario_proof"])
        helps = startup([sys.executable, "-m", "verifier", "--help"])
        one_verify = startup([sys.executable, "-m", "verifier", "verify", str(env_file), "--payload", str(pay_file)])
        print("\nstart-up (wall, best of 5)")
        print(f"  python -c 'import ario_proof'   {base * 1000:6.0f} ms  (baseline)")
        print(f"  ario-verifier --help            {helps * 1000:6.0f} ms  x{helps / base:.2f}")
        print(f"  ario-verifier verify one        {one_verify * 1000:6.0f} ms  x{one_verify / base:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

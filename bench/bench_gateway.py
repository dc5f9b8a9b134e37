#!/usr/bin/env python3
"""Gateway fetch cost per event against the local gateway on loopback.

N signed data items (Ed25519, ~1.6 KB envelopes) are uploaded to a local gateway, which
seals them into ANS-104 bundles. Measured in this run, as ratios to a baseline:
- baseline: bare ``httpx`` GETs of ``/raw/<id>`` with the same concurrency (no retries,
  caps or checks);
- envelopes: ``GatewayClient.fetch_many`` (``/raw``, quorum 1, raw bytes, byte caps);
- bound items: ``fetch_many(..., data_items=True)`` — HEAD ``/raw`` for the root offsets,
  a ranged GET of the root bundle, parse, id and Ed25519 check per item;
- as an audit does: envelopes, then bound items using the root offsets the ``/raw``
  answers carried (no HEAD);
- cached: the same from a warm `ByteCache` (re-hash, re-parse, re-verify; no network).

Usage: python bench/bench_gateway.py [--n 2000] [--concurrency 8] [--repeat 3]
Wall-clock on a shared machine is noisy: best of --repeat, and read the ratios.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchutil import best  # noqa: E402

import httpx  # noqa: E402

from verifier.anchor.dataitem import Ed25519Signer, build_event_item  # noqa: E402
from verifier.gateway.server import GatewayServer  # noqa: E402
from verifier.sources.cache import ByteCache  # noqa: E402
from verifier.sources.gateway import GatewayClient  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    signer = Ed25519Signer(bytes(32))
    pad = "x" * 1500
    items = [build_event_item(f'{{"event_id":"e{i}","pad":"{pad}"}}'.encode(), signer,
                              event_type="prediction", event_id=f"e{i}", chain_prev="GENESIS")
             for i in range(args.n)]
    with GatewayServer() as gw, tempfile.TemporaryDirectory() as tmp:
        with httpx.Client() as http:
            ids = [http.post(f"{gw.url}/tx/solana", content=raw).json()["id"] for raw in items]
            http.head(f"{gw.url}/raw/{ids[0]}")  # seal the bundles before timing

            def bare() -> None:
                with ThreadPoolExecutor(args.concurrency) as pool:
                    assert all(r.status_code == 200 for r in pool.map(
                        lambda tx: http.get(f"{gw.url}/raw/{tx}"), ids))

            base = best(bare, args.repeat)
        with GatewayClient([gw.url], max_concurrency=args.concurrency) as client:
            env = best(lambda: client.fetch_many(ids), args.repeat)
        with GatewayClient([gw.url], max_concurrency=args.concurrency) as client:
            bound = best(lambda: client.fetch_many(ids, data_items=True), args.repeat)

        def as_an_audit() -> None:  # envelopes, then items using the /raw answers' offsets
            with GatewayClient([gw.url], max_concurrency=args.concurrency) as client:
                client.fetch_many(ids)
                assert all(r.data for r in client.fetch_many(ids, data_items=True).values())

        both = best(as_an_audit, args.repeat)
        cache = ByteCache(Path(tmp) / "c.sqlite3")
        with GatewayClient([gw.url], max_concurrency=args.concurrency, cache=cache) as client:
            client.fetch_many(ids, data_items=True)  # fill
            assert len(cache) == args.n
            cached = best(lambda: client.fetch_many(ids, data_items=True), args.repeat)
    per = 1e3 / args.n
    print(f"{args.n} events, concurrency {args.concurrency}, best of {args.repeat}")
    for name, secs in (("baseline bare GET /raw", base), ("envelopes (fetch_many)", env),
                       ("bound items (HEAD + ranged GET + verify)", bound),
                       ("envelopes, then bound items (no HEAD)", both),
                       ("bound items from cache", cached)):
        print(f"  {name:<42} {secs:6.2f} s  {secs * per:6.3f} ms/event  "
              f"x{secs / base:5.2f} baseline")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Offline audit throughput, scaling and peak memory over a synthetic audit bundle.

One model lineage: a dataset proof, a training run, a registration, a promotion and N
prediction events (default 100,000), every one a real signed ario.mlflow/v1 envelope with
its committed payload bytes and the MLflow surface the engine re-derives it from (the
prediction trace tag ``ario.payload_json``). ANS-104 data items (tx id <-> bytes binding,
one more Ed25519 signature per event) are added to a fraction of the events with
``--data-items F`` (default 0: the headline compares one Ed25519 verify per event with one
bare verify). The bundle is written with the real writer (`write_bundle`).

Every figure is measured in this run on this machine:
- ceiling: a bare PyNaCl `VerifyKey.verify` loop over the same N envelope signatures
  (CPU time, best of --repeat);
- the full offline audit (`read_bundle` + `audit_collection`) of the bundle, each in its own
  child process so peak RSS figures do not mix: events/s (wall), CPU seconds of the child
  and its workers, the ratio to the ceiling per core used ((events / CPU-s) / ceiling), and
  peak RSS of the auditing process and of its largest worker;
- linearity: the same at N/4, N/2 and N, as CPU microseconds per event.

Usage: python bench/bench_audit.py [--n 100000] [--workers 1,2] [--data-items 0.0] [--repeat 3]
CPU time is used for the ratios so that other load on a shared machine disturbs them less.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import rfc8785
from nacl.bindings import crypto_sign
from nacl.signing import SigningKey, VerifyKey

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from verifier.core import mlflow_profile as mp  # noqa: E402
from verifier.sources.model import Collection, EventRecord  # noqa: E402

SEED = hashlib.sha256(b"ario-verifier bench_audit").digest()
ITEM_SEED = hashlib.sha256(b"ario-verifier bench_audit item").digest()
RUN = "4f1c2a9be0d34b7c8e21f0a9d3c6b5e7"
MODEL = "credit-scorer"
MODEL_FILES = {
    "MLmodel": hashlib.sha256(b"artifact_path: model\n").hexdigest(),
    "model.pkl": hashlib.sha256(b"pickled model v3").hexdigest(),
    "requirements.txt": hashlib.sha256(b"scikit-learn\n").hexdigest(),
}
_dumps = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def jcs_fast(value) -> bytes:
    """JCS for the generator's own values (ASCII, no escapes, floats with a short repr)."""
    return _dumps(value).encode()


class Builder:
    """Deterministic lineage generator. `bare` collects (public key, message, signature)."""

    def __init__(self, data_items: float) -> None:
        self.sk = SigningKey(SEED)
        self.secret = bytes(self.sk._signing_key)  # noqa: SLF001 (seed || public key)
        self.pk = self.sk.verify_key.encode().hex()
        self.data_items = data_items
        self.col = Collection(target=f"models:/{MODEL}/3")
        self.col.model_files[RUN] = dict(MODEL_FILES)
        self.bare: list[tuple[bytes, bytes]] = []
        self.n = 0
        self._item_signer = None
        self._items_made = 0.0

    def _item(self, envelope: bytes, event_type: str, event_id: str, previous: str) -> bytes | None:
        self._items_made += self.data_items
        if self._items_made < 1.0:
            return None
        self._items_made -= 1.0
        from verifier.anchor.dataitem import Ed25519Signer, build_event_item
        if self._item_signer is None:
            self._item_signer = Ed25519Signer(ITEM_SEED)
        n = self.n
        return build_event_item(envelope, self._item_signer, event_type=event_type,
                                event_id=event_id, chain_prev=previous,
                                random_bytes=lambda k: n.to_bytes(8, "big") * (k // 8))

    def add(self, event_type: str, subject: dict, payload: bytes, previous: str, surface: dict,
            *, store_payload: bool = True, exact: bool = False) -> str:
        self.n += 1
        n = self.n
        event_id = f"0b6c1f0e-7a1d-4c3e-9b2a-{n:012d}"
        env = {"event_id": event_id, "event_type": event_type, "subject": subject,
               "payload_hash": sha(payload), "previous_hash": previous,
               "signed_at": f"2026-06-15T12:{n // 60000 % 60:02d}:{n // 1000 % 60:02d}."
                            f"{n % 1000:03d}000+00:00",
               "spec_version": "ario.mlflow/v1", "public_key": self.pk}
        msg = rfc8785.dumps(env) if exact else jcs_fast(env)
        sig = crypto_sign(msg, self.secret)[:64]
        env["signature"] = sig.hex()
        envelope = rfc8785.dumps(env) if exact else jcs_fast(env)
        self.bare.append((msg, sig))
        item = self._item(envelope, event_type, event_id, previous)
        tx_id = b64u(hashlib.sha256(item[2:66] if item else envelope).digest())
        self.col.records.append(EventRecord(
            tx_id=tx_id, envelope=envelope, envelope_origin="gateway:https://arweave.net",
            payload=payload if store_payload else None, data_item=item, surface=surface,
            hints={"event_type": event_type}))
        return tx_id

    def lineage(self) -> str:
        """dataset -> training -> registration -> promotion; returns the registration tx."""
        schema = json.dumps({"mlflow_colspec": [{"type": "double", "name": "income"}]})
        ds = {"name": "loans", "digest": "9f8e7d6c", "source": json.dumps({"uri": "s3://b/loans.csv"}),
              "source_type": "s3", "schema": schema}
        ds_payload = rfc8785.dumps(mp.build_dataset_payload(**ds))
        self.add(mp.DATASET, {"type": "mlflow_dataset", "name": "loans", "digest": "9f8e7d6c"},
                 ds_payload, "GENESIS", dict(ds), store_payload=False, exact=True)
        params, metrics = {"lr": "0.05", "max_depth": "6"}, {"auc": 0.912345, "loss": 0.2}
        tags = {"mlflow.source.name": "train.py", "mlflow.source.git.commit": "c0ffee1"}
        inputs = [dict(ds, context="training")]
        training = mp.build_training_payload(
            run_id=RUN, params=params, metrics=metrics, artifact_checksums=MODEL_FILES,
            source_name="train.py", git_commit="c0ffee1",
            dataset_inputs=[mp.dataset_input(i["name"], i["source"], i["source_type"], i["digest"],
                                             i["schema"], i["context"]) for i in inputs])
        train_tx = self.add(mp.TRAINING, {"type": "mlflow_run", "run_id": RUN}, rfc8785.dumps(training),
                            "GENESIS", {"run_id": RUN, "params": params, "metrics": metrics,
                                        "tags": tags, "dataset_inputs": inputs,
                                        "artifact_checksums": dict(MODEL_FILES)}, exact=True)
        ahash = mp.artifact_hash(MODEL_FILES)
        mv = {"type": "mlflow_model_version", "name": MODEL, "version": "3"}
        reg = mp.build_registration_payload(model_name=MODEL, model_version="3", source_run_id=RUN,
                                            source=f"runs:/{RUN}/model", artifact_verified=True,
                                            artifact_hash=ahash)
        reg_tx = self.add(mp.REGISTRATION, mv, rfc8785.dumps(reg), train_tx,
                          {"model_name": MODEL, "model_version": "3", "source": f"runs:/{RUN}/model",
                           "run_id": RUN, "tags": {}, "run_tags": {mp.TAG_ARTIFACT_HASH: ahash}},
                          exact=True)
        promo = mp.build_promotion_payload(model_name=MODEL, model_version="3", from_stage="Staging",
                                           to_stage="Production")
        self.add(mp.PROMOTION, mv, rfc8785.dumps(promo), reg_tx,
                 {"model_name": MODEL, "model_version": "3"}, exact=True)
        return reg_tx

    def predictions(self, count: int, reg_tx: str) -> None:
        for i in range(count):
            decision = f"{i:08d}-4b5c-4d6e-8f70-1a2b3c4d5e6f"
            trace = f"tr-{i:028x}"
            hundredths = 101 + i % 899
            hundredths += hundredths % 100 == 0  # keep a fraction: JSON and JCS agree on its text
            pred = mp.build_prediction_payload(
                decision_id=decision, model_name=MODEL, model_version="3", run_id=RUN,
                model_uri=f"models:/{MODEL}/3", input_hash=sha(b"in%d" % i),
                output_hash=sha(b"out%d" % i), latency_ms=hundredths / 100,
                artifact_verified=True, mlflow_trace_id=trace)
            data = jcs_fast(pred)
            if i < 64:  # the fast generator must agree with RFC 8785 on these shapes
                assert data == rfc8785.dumps(pred), "bench generator drifted from JCS"
            self.add(mp.PREDICTION, {"type": "mlflow_prediction", "decision_id": decision,
                                     "model_run_id": RUN, "trace_id": trace}, data, reg_tx,
                     {"trace_id": trace, "trace_tags": {mp.TAG_PAYLOAD_JSON: data.decode()}},
                     exact=i < 64)


def build(n: int, data_items: float) -> Builder:
    b = Builder(data_items)
    reg_tx = b.lineage()
    b.predictions(n, reg_tx)
    return b


def write_prefix(b: Builder, predictions: int, path: Path) -> int:
    """Write the lineage plus the first `predictions` predictions; returns the event count."""
    from verifier.sources.bundle import write_bundle

    col = Collection(target=b.col.target, records=b.col.records[:4 + predictions],
                     model_files=b.col.model_files)
    write_bundle(col, path, created_at="2026-06-15T13:00:00Z")
    return len(col.records)


# -- measurements ----------------------------------------------------------------------------


def bare_rate(b: Builder, repeat: int) -> float:
    vk = VerifyKey(bytes.fromhex(b.pk))
    best = float("inf")
    for _ in range(repeat):
        t = time.process_time()
        for msg, sig in b.bare:
            vk.verify(msg, sig)
        best = min(best, time.process_time() - t)
    return len(b.bare) / best


def _hwm_mib() -> float:
    """Peak RSS of this process since its exec (ru_maxrss would include the pre-exec
    copy of the parent, which holds the whole generated lineage)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(path: str, workers: int) -> int:
    """Run one audit in this (fresh) process and print its figures as JSON."""
    from verifier.audit import AuditPolicy, audit_collection
    from verifier.sources.bundle import read_bundle

    base_rss = _hwm_mib()
    w0, c0 = time.perf_counter(), time.process_time()
    col = read_bundle(path)
    w1, c1 = time.perf_counter(), time.process_time()
    result = audit_collection(col, AuditPolicy(), workers=workers)
    w2, c2 = time.perf_counter(), time.process_time()
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps({
        "events": result.subject.get("events"), "status": result.status.value,
        "reason": result.reason.value if result.reason else None,
        "read_wall": w1 - w0, "audit_wall": w2 - w1, "read_cpu": c1 - c0, "audit_cpu": c2 - c1,
        "workers_cpu": kids.ru_utime + kids.ru_stime,
        "rss_base_mib": base_rss, "rss_mib": _hwm_mib(),
        "worker_rss_mib": kids.ru_maxrss / 1024,
    }))
    return 0


def run_child(path: Path, workers: int) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--child", str(path), "--workers", str(workers)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"audit child failed ({proc.returncode}): {proc.stderr[-2000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    if out["status"] != "verified":
        raise SystemExit(f"bench bundle did not audit as verified: {out}")
    out["wall"] = out["read_wall"] + out["audit_wall"]
    out["cpu"] = out["read_cpu"] + out["audit_cpu"] + out["workers_cpu"]
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000, help="prediction events (default 100000)")
    ap.add_argument("--workers", default="1,2", help="comma-separated worker counts (default 1,2)")
    ap.add_argument("--data-items", type=float, default=0.0, metavar="F",
                    help="fraction of events that carry an ANS-104 data item (default 0)")
    ap.add_argument("--repeat", type=int, default=3, help="best-of for the bare verify loop")
    ap.add_argument("--keep", metavar="DIR", help="write the bundles here and keep them")
    ap.add_argument("--child", metavar="BUNDLE", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(args.child, int(args.workers))
    workers = [int(w) for w in args.workers.split(",") if w.strip()]
    if not 0.0 <= args.data_items <= 1.0:
        ap.error("--data-items is a fraction between 0 and 1")

    t = time.perf_counter()
    b = build(args.n, args.data_items)
    with tempfile.TemporaryDirectory() as tmp:
        where = Path(args.keep) if args.keep else Path(tmp)
        sizes = sorted({max(1, args.n // 4), max(1, args.n // 2), args.n})
        bundles = {}
        for k in sizes:
            path = where / f"bench-audit-{k}.zip"
            bundles[k] = (path, write_prefix(b, k, path))
        big = bundles[args.n][0]
        items = sum(1 for r in b.col.records if r.data_item is not None)
        print(f"generated {len(b.col.records)} events ({items} with data items) and "
              f"{len(bundles)} bundles in {time.perf_counter() - t:.1f}s; "
              f"N bundle {big.stat().st_size / 2**20:.1f} MiB")
        ceiling = bare_rate(b, args.repeat)
        verifies = 1 + args.data_items
        print(f"bare PyNaCl verify (ceiling): {ceiling:.0f}/s per core (CPU time, best of "
              f"{args.repeat}, {len(b.bare)} signatures)")
        if args.data_items:
            print(f"  with data items an event costs {verifies:.2f} signature checks: the ceiling "
                  f"for events is {ceiling / verifies:.0f}/s per core")
        del b

        print(f"\n{'events':>8} {'workers':>7} {'wall s':>7} {'events/s':>9} {'CPU s':>7} "
              f"{'ev/CPU-s':>9} {'ratio/core':>10} {'read s':>7} {'peak MiB':>9} {'worker MiB':>10} "
              f"{'us/event':>9}")
        rows = {}
        for w in workers:
            for k in sizes:
                path, events = bundles[k]
                r = run_child(path, w)
                rows[(w, k)] = r
                rate_cpu = events / r["cpu"]
                print(f"{events:>8} {w:>7} {r['wall']:>7.2f} {events / r['wall']:>9.0f} "
                      f"{r['cpu']:>7.2f} {rate_cpu:>9.0f} {rate_cpu / ceiling:>10.3f} "
                      f"{r['read_wall']:>7.2f} {r['rss_mib']:>9.0f} "
                      f"{r['worker_rss_mib'] if w > 1 else 0:>10.0f} "
                      f"{r['cpu'] / events * 1e6:>9.1f}")
        print("\nlinearity (CPU us per event at N/4, N/2, N; flat = linear)")
        for w in workers:
            per = [rows[(w, k)]["cpu"] / bundles[k][1] * 1e6 for k in sizes]
            print(f"  workers={w}: " + "  ".join(f"{bundles[k][1]}: {p:.1f}" for k, p in zip(sizes, per))
                  + f"   (N vs N/4: x{per[-1] / per[0]:.2f})")
        print("\nratio/core = (events per CPU-second of the audit process and its workers) / "
              "bare verifies per CPU-second; target >= 0.7.\npeak MiB = peak RSS of the auditing "
              "process; worker MiB = peak RSS of its largest worker (forked: shares pages with it).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

#!/usr/bin/env python3
"""Generate a large audit bundle v2 quickly, in bounded memory, for the audit benchmarks.

One model lineage -- a dataset proof, a training run, a registration, a promotion -- and N
prediction events, every one a real ario.mlflow/v1 envelope signed with its own Ed25519
signature over its own JCS bytes (nothing is reused between events), with its committed
payload and the MLflow surface the engine re-derives it from (the prediction trace tag
``ario.payload_json``). ``--data-items F`` adds a signed ANS-104 data item (a second
signature) to that fraction of the events. Records are generated one at a time and
streamed into `BundleWriter`, so memory stays at one shard whatever N is.

    python bench/make_bundle.py --n 1000000 -o /tmp/bench-1000000.zip

`make_bundle(path, n)` is the same from Python (bench_audit.py and bench_bundle.py use it).
The audit of the result is `verified` under `AuditPolicy()` (checked by tests/sources).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import rfc8785
from nacl.bindings import crypto_sign
from nacl.signing import SigningKey

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from verifier.core import mlflow_profile as mp  # noqa: E402
from verifier.sources.bundle_v2_write import BundleWriter  # noqa: E402
from verifier.sources.model import EventRecord  # noqa: E402

SEED = hashlib.sha256(b"ario-verifier bench_audit").digest()
ITEM_SEED = hashlib.sha256(b"ario-verifier bench_audit item").digest()
RUN = "4f1c2a9be0d34b7c8e21f0a9d3c6b5e7"
MODEL = "credit-scorer"
TARGET = f"models:/{MODEL}/3"
CREATED_AT = "2026-06-15T13:00:00Z"
MODEL_FILES = {
    "MLmodel": hashlib.sha256(b"artifact_path: model\n").hexdigest(),
    "model.pkl": hashlib.sha256(b"pickled model v3").hexdigest(),
    "requirements.txt": hashlib.sha256(b"scikit-learn\n").hexdigest(),
}
_dumps = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _b64u(data: bytes) -> str:
    import base64
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _jcs_fast(value: Any) -> bytes:
    """JCS for the generator's own values (ASCII, no escapes, floats with a short repr);
    checked against rfc8785 on the first events of each shape."""
    return _dumps(value).encode()


class Lineage:
    """Deterministic event generator: `records(n)` yields the lineage, then n predictions."""

    def __init__(self, data_items: float = 0.0) -> None:
        sk = SigningKey(SEED)
        self.secret = bytes(sk._signing_key)  # noqa: SLF001 (seed || public key)
        self.pk = sk.verify_key.encode().hex()
        self.data_items, self._items = data_items, 0.0
        self._item_signer: Any = None
        self.n = 0

    def _item(self, envelope: bytes, event_type: str, event_id: str, previous: str) -> bytes | None:
        self._items += self.data_items
        if self._items < 1.0:
            return None
        self._items -= 1.0
        from verifier.anchor.dataitem import Ed25519Signer, build_event_item
        if self._item_signer is None:
            self._item_signer = Ed25519Signer(ITEM_SEED)
        n = self.n
        return build_event_item(envelope, self._item_signer, event_type=event_type,
                                event_id=event_id, chain_prev=previous,
                                random_bytes=lambda k: n.to_bytes(8, "big") * (k // 8))

    def event(self, event_type: str, subject: dict, payload: bytes, previous: str,
              surface: dict, *, store_payload: bool = True, exact: bool = False) -> EventRecord:
        """One signed event; `exact` canonicalises with rfc8785 (else the checked fast path)."""
        self.n += 1
        n = self.n
        event_id = f"0b6c1f0e-7a1d-4c3e-9b2a-{n:012d}"
        env = {"event_id": event_id, "event_type": event_type, "subject": subject,
               "payload_hash": _sha(payload), "previous_hash": previous,
               "signed_at": f"2026-06-15T12:{n // 60000 % 60:02d}:{n // 1000 % 60:02d}."
                            f"{n % 1000:03d}000+00:00",
               "spec_version": "ario.mlflow/v1", "public_key": self.pk}
        msg = rfc8785.dumps(env) if exact else _jcs_fast(env)
        env["signature"] = crypto_sign(msg, self.secret)[:64].hex()
        envelope = rfc8785.dumps(env) if exact else _jcs_fast(env)
        item = self._item(envelope, event_type, event_id, previous)
        tx_id = _b64u(hashlib.sha256(item[2:66] if item else envelope).digest())
        return EventRecord(tx_id=tx_id, envelope=envelope, envelope_origin="gateway:https://arweave.net",
                           payload=payload if store_payload else None, data_item=item,
                           surface=surface, hints={"event_type": event_type})

    def head(self) -> Iterator[EventRecord]:
        """dataset -> training -> registration -> promotion; sets `self.reg_tx`."""
        schema = json.dumps({"mlflow_colspec": [{"type": "double", "name": "income"}]})
        ds = {"name": "loans", "digest": "9f8e7d6c", "source": json.dumps({"uri": "s3://b/loans.csv"}),
              "source_type": "s3", "schema": schema}
        yield self.event(mp.DATASET, {"type": "mlflow_dataset", "name": "loans", "digest": "9f8e7d6c"},
                         rfc8785.dumps(mp.build_dataset_payload(**ds)), "GENESIS", dict(ds),
                         store_payload=False, exact=True)
        params, metrics = {"lr": "0.05", "max_depth": "6"}, {"auc": 0.912345, "loss": 0.2}
        tags = {"mlflow.source.name": "train.py", "mlflow.source.git.commit": "c0ffee1"}
        inputs = [dict(ds, context="training")]
        training = mp.build_training_payload(
            run_id=RUN, params=params, metrics=metrics, artifact_checksums=MODEL_FILES,
            source_name="train.py", git_commit="c0ffee1",
            dataset_inputs=[mp.dataset_input(i["name"], i["source"], i["source_type"], i["digest"],
                                             i["schema"], i["context"]) for i in inputs])
        rec = self.event(mp.TRAINING, {"type": "mlflow_run", "run_id": RUN}, rfc8785.dumps(training),
                         "GENESIS", {"run_id": RUN, "params": params, "metrics": metrics,
                                     "tags": tags, "dataset_inputs": inputs,
                                     "artifact_checksums": dict(MODEL_FILES)}, exact=True)
        train_tx = rec.tx_id
        yield rec
        ahash = mp.artifact_hash(MODEL_FILES)
        mv = {"type": "mlflow_model_version", "name": MODEL, "version": "3"}
        reg = mp.build_registration_payload(model_name=MODEL, model_version="3", source_run_id=RUN,
                                            source=f"runs:/{RUN}/model", artifact_verified=True,
                                            artifact_hash=ahash)
        rec = self.event(mp.REGISTRATION, mv, rfc8785.dumps(reg), train_tx,
                         {"model_name": MODEL, "model_version": "3", "source": f"runs:/{RUN}/model",
                          "run_id": RUN, "tags": {}, "run_tags": {mp.TAG_ARTIFACT_HASH: ahash}},
                         exact=True)
        self.reg_tx = rec.tx_id
        yield rec
        promo = mp.build_promotion_payload(model_name=MODEL, model_version="3", from_stage="Staging",
                                           to_stage="Production")
        yield self.event(mp.PROMOTION, mv, rfc8785.dumps(promo), self.reg_tx,
                         {"model_name": MODEL, "model_version": "3"}, exact=True)

    def predictions(self, count: int) -> Iterator[EventRecord]:
        for i in range(count):
            decision = f"{i:08d}-4b5c-4d6e-8f70-1a2b3c4d5e6f"
            trace = f"tr-{i:028x}"
            hundredths = 101 + i % 899
            hundredths += hundredths % 100 == 0  # keep a fraction: JSON and JCS agree on its text
            pred = mp.build_prediction_payload(
                decision_id=decision, model_name=MODEL, model_version="3", run_id=RUN,
                model_uri=TARGET, input_hash=_sha(b"in%d" % i), output_hash=_sha(b"out%d" % i),
                latency_ms=hundredths / 100, artifact_verified=True, mlflow_trace_id=trace)
            data = _jcs_fast(pred)
            if i < 64:  # the fast path must agree with RFC 8785 on these shapes
                assert data == rfc8785.dumps(pred), "bench generator drifted from JCS"
            yield self.event(mp.PREDICTION, {"type": "mlflow_prediction", "decision_id": decision,
                                             "model_run_id": RUN, "trace_id": trace}, data,
                             self.reg_tx, {"trace_id": trace,
                                           "trace_tags": {mp.TAG_PAYLOAD_JSON: data.decode()}},
                             exact=i < 64)

    def records(self, predictions: int) -> Iterator[EventRecord]:
        yield from self.head()
        yield from self.predictions(predictions)


def make_bundle(path: str | Path, predictions: int, *, data_items: float = 0.0,
                shard_events: int = 1024, compresslevel: int = 6) -> dict[str, Any]:
    """Write the lineage plus `predictions` predictions as a v2 bundle at `path`; returns
    {path, events, sha256, bytes, seconds}."""
    t0 = time.perf_counter()
    with BundleWriter(path, TARGET, created_at=CREATED_AT, shard_events=shard_events,
                      compresslevel=compresslevel) as writer:
        for record in Lineage(data_items).records(predictions):
            writer.add(record)
        writer.finish({RUN: dict(MODEL_FILES)}, [])
    return {"path": str(path), "events": writer.events, "sha256": writer.sha256,
            "bytes": Path(path).stat().st_size, "seconds": round(time.perf_counter() - t0, 2)}


def bench_bundle(description: str) -> tuple[argparse.Namespace, Path]:
    """The options the per-stage benchmarks share (--n, --repeat, --bundles) and the bundle
    of --n predictions in the bundles directory (written here the first time)."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--n", type=int, default=25_000, help="prediction events (default 25,000)")
    ap.add_argument("--repeat", type=int, default=3, help="best of (default 3)")
    ap.add_argument("--bundles", type=Path, help="directory to keep (and reuse) the bundle in")
    args = ap.parse_args()
    where = args.bundles or Path(os.environ.get("TMPDIR", "/tmp")) / "ario-bench-audit"
    where.mkdir(parents=True, exist_ok=True)
    path = where / f"bench-{args.n}.zip"
    if not path.exists():
        make_bundle(path, args.n)
    return args, path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000, help="prediction events (default 100000)")
    ap.add_argument("--data-items", type=float, default=0.0, help="fraction with a data item")
    ap.add_argument("-o", "--output", type=Path, required=True, help="bundle to write")
    args = ap.parse_args()
    print(json.dumps(make_bundle(args.output, args.n, data_items=args.data_items)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

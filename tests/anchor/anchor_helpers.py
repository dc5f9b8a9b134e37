"""Shared pieces for the anchoring tests: a real MLflow store in a temporary directory, a
tiny pyfunc model, the local gateway and hand-made expectations (no builder under test is
used to compute an expected value)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
from pathlib import Path
from typing import Any, Iterator

import mlflow
import numpy as np
import rfc8785

from verifier.anchor import config
from verifier.anchor.keys import signing_key_from_seed
from verifier.anchor.outbox import Outbox
from verifier.anchor.publish import Anchorer
from verifier.anchor.wallets import resolve_wallet

SEED = bytes.fromhex("0123456789abcdef" * 4)
PUBLIC_KEY = "207a067892821e25d770f1fba0c47c11ff4b813e54162ece9eb839e076231ab6"


def H(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class SumModel(mlflow.pyfunc.PythonModel):
    """Sums each row. With `marker`, loading the model writes that file (model code ran)."""

    def __init__(self, marker: str | None = None) -> None:
        self.marker = marker

    def load_context(self, context: Any) -> None:
        if self.marker:
            Path(self.marker).write_text("model code ran")

    def predict(self, context, model_input, params=None):  # no hints: MLflow warns on them
        return np.asarray(model_input, dtype=float).sum(axis=1)


@contextlib.contextmanager
def mlflow_store(mp: Any, root: Path, kind: str = "sqlite") -> Iterator[tuple[str, str]]:
    """Point MLflow (env vars only) at a fresh store under `root`; yields (uri, experiment)."""
    root.mkdir(parents=True, exist_ok=True)
    if kind == "sqlite":
        uri = f"sqlite:///{root / 'mlflow.db'}"
    else:
        uri = (root / "mlruns").as_uri()
        mp.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    mp.setenv("MLFLOW_TRACKING_URI", uri)
    mp.delenv("MLFLOW_EXPERIMENT_ID", raising=False)
    mp.delenv("MLFLOW_EXPERIMENT_NAME", raising=False)
    mp.chdir(root)
    client = mlflow.tracking.MlflowClient(uri)
    exp = client.create_experiment("anchoring", artifact_location=(root / "artifacts").as_uri())
    mp.setenv("MLFLOW_EXPERIMENT_ID", exp)
    # MLflow binds its trace exporter to the tracking URI the first time it traces and
    # re-binds only through set_tracking_uri (an env change is not noticed), so use the
    # public setter here and clear it again afterwards.
    mlflow.set_tracking_uri(uri)
    try:
        yield uri, exp
    finally:
        mlflow.flush_trace_async_logging()
        mlflow.set_tracking_uri(None)


def numpy_dataset(name: str, n: int = 4, source: str | None = None) -> Any:
    data = np.arange(n * 3, dtype=float).reshape(n, 3)
    return mlflow.data.from_numpy(data, source=source or f"s3://bucket/{name}.npy", name=name)


def train_run(exp: str, *, datasets: list[tuple[Any, str]], marker: str | None = None,
              model: bool = True) -> str:
    """A finished run with params, metrics, logged datasets and (optionally) a model."""
    with mlflow.start_run(experiment_id=exp) as run:
        mlflow.log_params({"lr": "0.1", "depth": "3"})
        mlflow.log_metrics({"acc": 0.123456789, "loss": 1.0 / 3.0})
        for ds, context in datasets:
            mlflow.log_input(ds, context=context)
        if model:
            mlflow.pyfunc.log_model(name="model", python_model=SumModel(marker), pip_requirements=["mlflow"])
    return run.info.run_id


def anchorer_for(home: Path, upload_url: str | None, **options: Any) -> Anchorer:
    env = {config.HOME_ENV: str(home)}
    wallet = resolve_wallet(environ=env, create=True)
    return Anchorer(signing_key=signing_key_from_seed(SEED), wallet=wallet,
                    upload_url=upload_url, gateway_url=upload_url or "https://turbo-gateway.com",
                    outbox=Outbox(home / "outbox"),
                    backoff=options.pop("backoff", 0.01), **options)


def dead_url() -> str:
    """A loopback URL nobody listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def read_artifact(client: Any, run_id: str, path: str, tmp: Path) -> bytes:
    local = client.download_artifacts(run_id, path, str(tmp))
    return Path(local).read_bytes()


def model_files_by_hand(client: Any, run_id: str) -> tuple[dict[str, str], Path]:
    """Checksums of the logged model's files, found through MLflow 3's logged-model record
    and hashed with os.walk + hashlib, plus the directory holding them."""
    run = client.get_run(run_id)
    model_id = run.outputs.model_outputs[0].model_id
    location = client.get_logged_model(model_id).artifact_location
    root = Path(location.replace("file://", ""))
    out = {}
    for dirpath, _d, files in os.walk(root):
        for f in files:
            if f == "registered_model_meta":
                continue
            p = Path(dirpath) / f
            out[p.relative_to(root).as_posix()] = H(p.read_bytes())
    return out, root


def dataset_inputs_by_hand(run: Any) -> list[dict[str, Any]]:
    """The documented dataset_inputs list, built from the run's inputs by hand."""
    out = []
    for di in run.inputs.dataset_inputs:
        ds = di.dataset
        context = next((t.value for t in di.tags if t.key == "mlflow.data.context"), None)
        schema = ds.schema or ""
        if schema:
            try:
                sh = H(rfc8785.dumps(json.loads(schema)))
            except ValueError:
                sh = H(schema.encode())
        else:
            sh = ""
        out.append({"name": ds.name, "source": ds.source, "source_type": ds.source_type,
                    "digest": ds.digest, "schema_hash": sh, "context": context})
    out.sort(key=lambda d: (d["name"] or "", d["source"] or "", d["context"] or "",
                            d["digest"] or ""))
    return out


def training_bytes_by_hand(client: Any, run_id: str) -> bytes:
    run = client.get_run(run_id)
    checks, _ = model_files_by_hand(client, run_id)
    payload = {
        "event_type": "training_complete", "run_id": run_id, "params": dict(run.data.params),
        "metrics": {k: round(v, 6) for k, v in run.data.metrics.items()},
        "artifact_checksums": checks,
        "source_name": run.data.tags.get("mlflow.source.name", ""),
        "git_commit": run.data.tags.get("mlflow.source.git.commit", ""),
        "dataset_inputs": dataset_inputs_by_hand(run),
    }
    return rfc8785.dumps(payload)

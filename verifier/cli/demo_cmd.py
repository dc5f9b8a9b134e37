"""`ario-verifier demo`: the whole story on a fresh machine, with no network.

A local gateway on loopback, a temporary MLflow sqlite store, a tiny numpy model logged with
its dataset; training, registration, a promotion and predictions anchored through
`verifier.anchor`; the lineage exported as an audit bundle and audited offline; then three
doctored copies (a changed metric, a swapped model file, an edited payload), each of which
the audit must catch. Exit 0 only if the clean audit verified and every tamper was caught.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any
from verifier.cli.exitcodes import EXIT_FAILED, EXIT_USAGE, EXIT_VERIFIED

MODEL_NAME = "ario-demo-model"
PREDICTIONS = 3


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo", help="run the end-to-end demo (anchor, export, audit, tamper) locally",
        description="Anchor a small model's lineage on a local gateway, export it, audit it "
        "offline and show three tampered copies being caught. Needs the mlflow extra.",
        epilog="exit codes: 0 the clean audit verified and every tamper was caught, 1 otherwise, "
        "2 usage error or missing dependency")
    p.add_argument("--workdir", metavar="DIR",
                   help="write everything here (must be empty; default: a new temporary directory)")
    p.add_argument("--clean", action="store_true",
                   help="remove the working directory afterwards (default: keep it to inspect)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import shutil
    import tempfile

    try:
        import mlflow  # noqa: F401
        import numpy  # noqa: F401
    except ImportError as exc:
        sys.stderr.write(f"ario-verifier demo: needs MLflow and numpy ({exc.name} is missing): "
                         "pip install 'ario-verifier[mlflow]'\n")
        return EXIT_USAGE
    if args.workdir:
        work = Path(args.workdir).resolve()
        if work.exists() and any(work.iterdir()):
            sys.stderr.write(f"ario-verifier demo: error: {work} is not empty\n")
            return EXIT_USAGE
        work.mkdir(parents=True, exist_ok=True)
    else:
        work = Path(tempfile.mkdtemp(prefix="ario-demo-")).resolve()
    keep = not args.clean
    try:
        ok = Demo(work, keep).run()
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
    say(f"\nEverything was written under {work}"
        + ("" if keep else " and removed again (--clean)"))
    return EXIT_VERIFIED if ok else EXIT_FAILED


def say(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _model_class() -> Any:
    """A tiny linear threshold classifier as an MLflow pyfunc model (numpy only)."""
    import mlflow
    import numpy as np

    def __init__(self: Any, weights: list[float], bias: float) -> None:
        self.weights, self.bias = list(weights), float(bias)

    def predict(self: Any, context: Any, model_input: Any, params: Any = None) -> Any:
        x = np.asarray(model_input, dtype=float)
        return (x @ np.asarray(self.weights) + self.bias > 0).astype(int)

    # A real ndarray hint, set before the class exists (MLflow reads it at class creation):
    # it then skips signature inference without warning.
    predict.__annotations__ = {"model_input": np.ndarray}
    Threshold = type("Threshold", (mlflow.pyfunc.PythonModel,),
                     {"__init__": __init__, "predict": predict, "__module__": __name__})
    return Threshold


class Demo:
    """The demo's steps; every path it writes is under `work`."""

    def __init__(self, work: Path, keep: bool = True) -> None:
        self.work, self.keep = work, keep
        self.reports = work / "reports"
        self.bundle = work / "audit-bundle.zip"

    def run(self) -> bool:
        import logging
        import warnings

        for name in ("mlflow", "alembic", "urllib3"):
            logging.getLogger(name).setLevel(logging.ERROR)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return self._run()

    def _run(self) -> bool:
        from verifier.gateway.server import GatewayServer

        say("ario-verifier demo: anchor a model lineage locally, export it, audit it offline, "
            "then tamper with copies.\n")
        gw = GatewayServer("127.0.0.1", 0, db_path=str(self.work / "gateway.sqlite3")).start()
        try:
            say(f"[1/6] local gateway     {gw.url}  (receipt signer {gw.signer_address}; "
                f"store {self.work / 'gateway.sqlite3'})")
            anchorer = self._anchorer(gw)
            uri = self._lineage(anchorer)
            self._export(uri, gw)
        finally:
            gw.stop()
        return self._audits(anchorer.public_key, gw.signer_address)

    def _anchorer(self, gw: Any) -> Any:
        import os

        from verifier.anchor.publish import Anchorer

        env = dict(os.environ, ARIO_VERIFIER_HOME=str(self.work / "producer"))
        return Anchorer.from_environment(environ=env, upload_url=gw.url, gateway_url=gw.url)

    def _lineage(self, anchorer: Any) -> str:
        import mlflow
        import numpy as np

        from verifier.anchor.mlflow_model import VerifiedModel
        from verifier.anchor.mlflow_registry import AnchoringClient
        from verifier.anchor.mlflow_runs import anchor_run

        uri = f"sqlite:///{self.work / 'mlflow.db'}"
        mlflow.set_tracking_uri(uri)
        exp = mlflow.create_experiment("ario-demo", artifact_location=(self.work / "artifacts").as_uri())
        mlflow.set_experiment(experiment_id=exp)  # runs and traces land here, not in ./mlruns
        say(f"[2/6] MLflow store      {uri}  (artifacts {self.work / 'artifacts'})")
        rng = np.random.default_rng(7)
        x = rng.normal(size=(60, 3))
        weights, bias = [1.0, -0.5, 0.25], 0.0
        y = (x @ np.asarray(weights) + rng.normal(scale=0.3, size=60) > 0).astype(int)
        np.savetxt(self.work / "train.csv", np.column_stack([x, y]), delimiter=",")
        model = _model_class()(weights, bias)
        with mlflow.start_run(experiment_id=exp) as run:
            mlflow.log_input(mlflow.data.from_numpy(x, targets=y, name="demo-train",
                                                    source=str(self.work / "train.csv")),
                             context="training")
            mlflow.log_params({"weights": json.dumps(weights), "bias": bias})
            mlflow.log_metric("accuracy", float((model.predict(None, x) == y).mean()))
            mlflow.pyfunc.log_model(name="model", python_model=model, pip_requirements=["numpy"])
            trained = anchor_run(anchorer=anchorer)
        run_id = run.info.run_id
        self.swapped_model = _swapped_model_bytes(_model_class()([-1.0, 0.5, -0.25], 0.1))
        say(f"[3/6] training          run {run_id}: {len(trained.datasets)} dataset + training "
            f"anchored (tx {trained.training.tx_id})")
        with AnchoringClient(uri, anchorer=anchorer) as client:
            client.create_registered_model(MODEL_NAME)
            mv = client.create_model_version(MODEL_NAME, f"runs:/{run_id}/model", run_id)
            client.transition_model_version_stage(MODEL_NAME, mv.version, "Production")
            client.wait(120)
        self.target = f"models:/{MODEL_NAME}/{mv.version}"
        with VerifiedModel(self.target, anchorer=anchorer, tracking_uri=uri) as served:
            for row in x[:PREDICTIONS]:
                served.predict([float(v) for v in row])
            served.wait(120)
        say(f"[4/6] registry          {MODEL_NAME} v{mv.version} registered and promoted to "
            f"Production; {PREDICTIONS} predictions served and anchored")
        return uri

    def _export(self, uri: str, gw: Any) -> None:
        from verifier.sources.bundle_v2_write import write_bundle_v2
        from verifier.sources.gateway import GatewayClient
        from verifier.sources.mlflow_reader import read_mlflow

        with GatewayClient([gw.url]) as client:
            collection = read_mlflow(uri, self.target, gateway=client)
        summary = write_bundle_v2(collection, self.bundle)
        say(f"[5/6] export            {self.bundle}  ({summary.events} events, sha256 "
            f"{summary.sha256[:16]}...)")
        for what, why in collection.gaps:
            say(f"      gap: {what}: {why}")

    def _audits(self, public_key: str, receipt_signer: str) -> bool:
        from verifier.audit import AuditPolicy
        from verifier.cli.demo_tamper import make_tampered

        keys = self.work / "trusted-keys.txt"
        keys.write_text(public_key + "\n")
        policy = AuditPolicy(trusted_keys=frozenset({bytes.fromhex(public_key)}),
                             trusted_receipt_signers=frozenset({receipt_signer}),
                             require_binding=True)
        self.reports.mkdir(exist_ok=True)
        clean = self._audit(self.bundle, policy, "clean")
        s = clean.subject
        say(f"[6/6] offline audit     {clean.status.value.upper()}: {s.get('events')} events, "
            f"{s.get('bound')} bound to their tx ids, signer and receipt signer pinned "
            f"(report {self.reports / 'clean.json'})")
        ok = clean.ok
        if not ok:
            _explain(clean)
        say("\nTampering with copies of the bundle (each rebuilt consistently):")
        for t in make_tampered(self.bundle, self.work / "tampered", self.swapped_model):
            result = self._audit(t.path, policy, t.path.stem)
            caught = not result.ok and result.reason is t.expected
            ok = ok and caught
            reason = result.reason.value if result.reason else "none"
            mark = "caught" if caught else "NOT CAUGHT"
            say(f"  {t.name:<19} {t.path}\n      {t.description}\n      {mark}: "
                f"{result.status.value.upper()} [{reason}] {_first_problem(result)}")
        if self.keep:
            say(f"\nRe-run the clean audit yourself:\n  ario-verifier audit {self.bundle} "
                f"--trusted-keys {keys} --receipt-signer {receipt_signer} --require-binding")
        say(f"\nFiles: producer key and wallet {self.work / 'producer'}, trusted keys {keys}, "
            f"audit reports {self.reports}, tampered bundles {self.work / 'tampered'}")
        say("\n" + ("DEMO OK: the clean lineage verified offline and every tamper was caught."
                    if ok else "DEMO FAILED: see above."))
        return ok

    def _audit(self, path: Path, policy: Any, name: str) -> Any:
        from verifier.audit import audit_collection
        from verifier.sources.bundle import read_bundle

        result = audit_collection(read_bundle(path), policy)
        (self.reports / f"{name}.json").write_text(json.dumps(result.to_json(), indent=1))
        return result


def _swapped_model_bytes(model: Any) -> bytes:
    import cloudpickle

    return cloudpickle.dumps(model)


def _first_problem(result: Any) -> str:
    for ev in result.children:
        for c in ev.checks:
            if c.reason is result.reason:
                return f"{ev.subject.get('label')}: {c.detail}"
    return ""


def _explain(result: Any) -> None:
    for ev in result.children:
        for c in ev.checks:
            if c.reason is not None:
                say(f"      {ev.subject.get('label')}: {c.id} [{c.reason.value}] {c.detail}")
    for c in result.checks:
        if c.reason is not None:
            say(f"      {c.id} [{c.reason.value}] {c.detail}")

"""Manual interop check (not collected by pytest): the real ar-io-mlflow 0.3.0 and our
producer anchor the same MLflow state; their payload bytes must be identical per event type.

    pip install --no-deps --target /tmp/plugin ar-io-mlflow==0.3.0
    python tests/anchor/plugin_interop_check.py /tmp/plugin

The plugin is kept off the normal path on purpose: installed, it adds run tags to every
MLflow run through its run-context provider. Everything happens under a temporary HOME
with a fixed signing key and uploads disabled. Last run: every event type IDENTICAL.
"""
import os, sys, tempfile, json, base64
tmp = tempfile.mkdtemp()
os.environ["HOME"] = tmp
os.environ["ARIO_MLFLOW_SIGNING_KEY"] = base64.b64encode(bytes.fromhex("0123456789abcdef"*4)).decode()
os.environ["ARIO_MLFLOW_CAPTURE_OTEL"] = "false"
uri = "sqlite:///" + os.path.join(tmp, "m.db")
os.environ["MLFLOW_TRACKING_URI"] = uri
sys.path.insert(0, sys.argv[1]); sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.chdir(tmp)
import mlflow, numpy as np
import anchor_helpers as AH
import ario_mlflow
from ario_mlflow.anchoring import anchor as plugin_anchor
from ario_mlflow.client import ArioMlflowClient
from ario_mlflow.model import VerifiedModel as PluginVM
from verifier.anchor import mlflow_integration as mi
from verifier.anchor.mlflow_registry import anchor_promotion
class Off:  # the plugin's ArweaveAnchor, disabled
    enabled = False; wallet_mode = None; wallet_type = None
    def upload_proof(self, *a, **k): return None
mlflow.set_tracking_uri(uri)
exp = mlflow.tracking.MlflowClient(uri).create_experiment("e", artifact_location=f"file://{tmp}/art")
an = AH.anchorer_for(__import__("pathlib").Path(tmp)/"vh", None)
ok = True
def cmp(label, a, b):
    global ok
    same = a == b; ok &= same
    print(f"{label:22s} {'IDENTICAL' if same else 'DIFFERENT'} ({len(a)} bytes)")
    if not same: print(" plugin:", a[:400]); print(" ours:  ", b[:400])
with mlflow.start_run(experiment_id=exp) as run:
    mlflow.log_params({"lr": "0.1", "depth": "3"}); mlflow.log_metrics({"acc": 0.123456789, "loss": 1/3})
    mlflow.log_input(AH.numpy_dataset("train"), context="training")
    mlflow.log_input(AH.numpy_dataset("val", 2), context="validation")
    mlflow.pyfunc.log_model(name="model", python_model=AH.SumModel(), pip_requirements=["mlflow"])
    pr = plugin_anchor(arweave=Off(), metadata={"team": "risk"})
    ours = mi.anchor_run(anchorer=an, metadata={"team": "risk"})
cmp("training_complete", pr["payload_bytes"], ours.training.payload.data)
pd = {d["dataset_name"]: d["payload_bytes"] for d in pr["dataset_anchors"]}
for d in ours.datasets:
    cmp("dataset " + d.extra["dataset_name"], pd[d.extra["dataset_name"]], d.payload.data)
rid = run.info.run_id
pc = ArioMlflowClient(anchor=Off())
pc.create_registered_model("m")
mv = pc.create_model_version("m", f"runs:/{rid}/model", run_id=rid, metadata={"team": "risk"})
pc.wait_for_anchor("registration", "m", mv.version, timeout=60)
client = mlflow.tracking.MlflowClient(uri)
import tempfile as T
plugin_reg = open(client.download_artifacts(rid, "ario/registration_payload.json", T.mkdtemp()), "rb").read()
ours_reg = mi.anchor_model_version("m", mv.version, anchorer=an, tracking_uri=uri, metadata={"team": "risk"})
cmp("model_registered", plugin_reg, ours_reg.payload.data)
pc.transition_model_version_stage("m", mv.version, "Staging")
pc.wait_for_anchor("promotion", "m", mv.version, timeout=60)
tags = client.get_model_version("m", mv.version).tags
ph = tags["ario.promotion_payload_hash"]
ours_p = anchor_promotion(client, an, "m", mv.version, from_stage="None", to_stage="Staging", tracking_uri=uri)
cmp("stage_transition", ph.encode(), ours_p.envelope["payload_hash"].encode())
pvm = PluginVM("models:/m/1", anchor=Off())
res = pvm.predict({"a": 1.0, "b": 2.0, "c": 3.5}, metadata={"svc": "x"})
with mi.VerifiedModel("models:/m/1", anchorer=an) as vm:
    mine = vm.predict({"a": 1.0, "b": 2.0, "c": 3.5}, metadata={"svc": "x"}); vm.wait(60)
p_rec = dict(res.record); o_rec = dict(mine.record)
for k in ("decision_id", "latency_ms", "mlflow_trace_id"):  # per-call values
    print(f"  per-call {k}: plugin {str(p_rec.pop(k, None))[:12]!r} ours {str(o_rec.pop(k, None))[:12]!r}")
import rfc8785
cmp("prediction (rest)", rfc8785.dumps(p_rec), rfc8785.dumps(o_rec))
print("key sets equal:", set(res.record) == set(mine.record))
print("ALL IDENTICAL" if ok else "MISMATCH")
sys.exit(0 if ok else 1)

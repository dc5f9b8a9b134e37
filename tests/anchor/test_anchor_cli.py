"""`ario-verifier keys ...` and `ario-verifier anchor ...` on a real file store and the local
gateway: output, exit codes (0 ok, 1 upload failed but signed, 2 usage/bad input), no
tracebacks, and the same MLflow tags/artifacts as the in-process integration."""

from __future__ import annotations

import json
import stat

import mlflow
import pytest

import anchor_helpers as AH
from verifier.cli.main import main
from verifier.core.envelope import verify_envelope_bytes
from verifier.core.reasons import Status
from verifier.gateway.server import GatewayServer


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("anchor-cli")
    with pytest.MonkeyPatch.context() as mp, AH.mlflow_store(mp, root / "store", "file") as (uri, exp):
        gw = GatewayServer(db_path=str(root / "gateway.db")).start()
        try:
            yield {"uri": uri, "exp": exp, "gw": gw, "client": mlflow.tracking.MlflowClient(uri)}
        finally:
            gw.stop()


@pytest.fixture
def home(tmp_path, monkeypatch):
    h = tmp_path / "home"
    monkeypatch.setenv("ARIO_VERIFIER_HOME", str(h))
    monkeypatch.delenv("ARIO_MLFLOW_SIGNING_KEY", raising=False)
    monkeypatch.delenv("ARIO_MLFLOW_ARWEAVE_WALLET", raising=False)
    return h


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def test_keys_generate_and_show(tmp_path, capsys):
    path = tmp_path / "k.json"
    code, out, _ = _run(capsys, "keys", "generate", "--out", str(path))
    assert code == 0 and "public key" in out
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    pub = json.loads(path.read_text())["public_key"]
    assert _run(capsys, "keys", "show", str(path))[1].strip() == pub
    code, _, err = _run(capsys, "keys", "generate", "--out", str(path))
    assert code == 2 and "already exists; pass --force" in err
    code, out, _ = _run(capsys, "keys", "generate", "--out", str(tmp_path / "p.json"),
                        "--format", "ario-mlflow", "--json")
    assert code == 0 and set(json.loads(out)) == {"file", "format", "public_key"}
    assert _run(capsys, "keys")[0] == 2


def test_anchor_run_then_model(world, home, tmp_path, capsys):
    key = tmp_path / "key.json"
    assert _run(capsys, "keys", "generate", "--out", str(key))[0] == 0
    run_id = AH.train_run(world["exp"], datasets=[(AH.numpy_dataset("cli"), "training")])
    code, out, err = _run(capsys, "anchor", "run", run_id, "--tracking-uri", world["uri"],
                          "--key", str(key), "--upload-url", world["gw"].url, "--json")
    assert code == 0, err
    assert "created upload wallet" in err and (home / "wallet.json").is_file()
    doc = json.loads(out)
    assert doc["status"] == "anchored" and doc["wallet"]["created"] is True
    assert [e["event_type"] for e in doc["events"]] == ["dataset", "training_complete"]
    tags = world["client"].get_run(run_id).data.tags
    assert tags["ario.training_tx"] == doc["events"][1]["tx_id"]
    assert tags["ario.public_key"] == doc["public_key"]
    world["client"].create_registered_model("cli-model")
    world["client"].create_model_version("cli-model", f"runs:/{run_id}/model", run_id=run_id)
    code, out, err = _run(capsys, "anchor", "model", "cli-model/1", "--tracking-uri",
                          world["uri"], "--key", str(key), "--upload-url", world["gw"].url)
    assert code == 0, err
    assert "created upload wallet" not in err  # reused from the config directory
    line = out.strip().splitlines()[0].split()
    assert line[:2] == ["anchored", "model_registered"]
    mv_tags = world["client"].get_model_version("cli-model", "1").tags
    assert mv_tags["ario.registration_tx"] == line[2]
    assert mv_tags["ario.artifact_verified"] == "true"


def test_anchor_refuses_a_run_without_datasets_or_already_anchored(world, home, capsys):
    bare = AH.train_run(world["exp"], datasets=[])
    code, _, err = _run(capsys, "anchor", "run", bare, "--tracking-uri", world["uri"], "--offline")
    assert code == 2 and "--allow-empty-dataset-inputs" in err
    assert "allow_empty_dataset_inputs" not in err  # the CLI flag, not the Python keyword
    run_id = AH.train_run(world["exp"], datasets=[(AH.numpy_dataset("again"), "training")])
    code, out, _ = _run(capsys, "anchor", "run", run_id, "--tracking-uri", world["uri"],
                        "--upload-url", world["gw"].url, "--json")
    assert code == 0
    first = world["client"].get_run(run_id).data.tags["ario.training_tx"]
    code, out, err = _run(capsys, "anchor", "run", run_id, "--tracking-uri", world["uri"],
                          "--upload-url", world["gw"].url)
    assert (code, out) == (2, "") and "already anchored" in err and first in err
    assert world["client"].get_run(run_id).data.tags["ario.training_tx"] == first
    code, out, err = _run(capsys, "anchor", "run", run_id, "--tracking-uri", world["uri"],
                          "--upload-url", world["gw"].url, "--force")
    assert code == 0 and "warning:" in err and "already anchored" in err
    assert world["client"].get_run(run_id).data.tags["ario.training_tx"] != first
    signed = AH.train_run(world["exp"], datasets=[(AH.numpy_dataset("pending"), "training")])
    assert _run(capsys, "anchor", "run", signed, "--tracking-uri", world["uri"], "--offline")[0] == 0
    code, _, err = _run(capsys, "anchor", "run", signed, "--tracking-uri", world["uri"], "--offline")
    assert code == 2 and "already signed" in err and "anchor retry" in err


def test_anchor_subcommands_have_descriptions_and_exit_codes(capsys):
    for sub in ("run", "model", "retry"):
        with pytest.raises(SystemExit):
            _run(capsys, "anchor", sub, "--help")
        text = capsys.readouterr().out
        assert "exit codes: 0 anchored" in text and ("Sign" in text or "Upload" in text)


def test_upload_failure_exits_1_and_retry_exits_0(world, home, capsys):
    run_id = AH.train_run(world["exp"], datasets=[(AH.numpy_dataset("cli2"), "training")])
    code, out, _ = _run(capsys, "anchor", "run", run_id, "--tracking-uri", world["uri"],
                        "--upload-url", AH.dead_url())
    assert code == 1
    assert "signed    training_complete" in out and "anchor retry" in out
    assert (home / "keys" / "ed25519.json").is_file()  # signing key created on first use
    tags = world["client"].get_run(run_id).data.tags
    assert tags["ario.verify_status"] == "signed"
    code, out, _ = _run(capsys, "anchor", "retry", "--upload-url", world["gw"].url, "--json")
    assert code == 0
    events = json.loads(out)["events"]
    assert len(events) == 2 and all(e["status"] == "anchored" for e in events)
    tags = world["client"].get_run(run_id).data.tags
    assert tags["ario.verify_status"] == "anchored" and tags["ario.training_tx"]
    assert _run(capsys, "anchor", "retry", "--upload-url", world["gw"].url)[1].strip() == \
        "nothing to anchor"


def test_offline_signs_only_and_exits_0(world, home, capsys, tmp_path):
    run_id = AH.train_run(world["exp"], datasets=[(AH.numpy_dataset("off"), "training")])
    code, out, _ = _run(capsys, "anchor", "run", run_id, "--tracking-uri", world["uri"],
                        "--offline", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["status"] == "signed" and doc["wallet"] is None
    assert {e["error_kind"] for e in doc["events"]} == {"offline"}
    payload = AH.read_artifact(world["client"], run_id, "ario/payload.json", tmp_path / "p")
    proof = AH.read_artifact(world["client"], run_id, "ario/proof.json", tmp_path / "e")
    import rfc8785

    assert verify_envelope_bytes(rfc8785.dumps(json.loads(proof)), payload).status is Status.VERIFIED


@pytest.mark.parametrize("argv, fragment", [
    (["anchor", "run", "0123456789abcdef0123456789abcdef"], "MLflow"),
    (["anchor", "model", "no-version"], "NAME/VERSION"),
    (["anchor", "model", "ghost/7"], "MLflow"),
    (["anchor"], "choose"),
])
def test_bad_input_exits_2_with_one_clear_line(world, home, capsys, argv, fragment):
    extra = ["--tracking-uri", world["uri"], "--offline"] if len(argv) > 1 else []
    code, _, err = _run(capsys, *argv, *extra)
    assert code == 2 and fragment in err


def test_missing_store_key_and_uri_are_usage_errors(world, home, capsys, tmp_path, monkeypatch):
    code, _, err = _run(capsys, "anchor", "run", "r", "--tracking-uri",
                        f"sqlite:///{tmp_path / 'absent.db'}")
    assert code == 2 and "no MLflow database" in err and not (tmp_path / "absent.db").exists()
    bad_key = tmp_path / "bad.json"
    bad_key.write_text("{}")
    code, _, err = _run(capsys, "anchor", "run", "r", "--tracking-uri", world["uri"],
                        "--key", str(bad_key), "--offline")
    assert code == 2 and "seed" in err
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    code, _, err = _run(capsys, "anchor", "run", "r")
    assert code == 2 and "MLFLOW_TRACKING_URI" in err

"""`ario-verifier verify` end to end through a real subprocess: exit codes, JSON shape,
human output, colour rules, bad input, stdin and streaming."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from vectors_util import load_vectors

ENVELOPES = {v["id"]: v for v in load_vectors("envelope")}


def cli(*args: str, stdin: bytes | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, "-m", "verifier", *args], input=stdin,
                          capture_output=True, env=full_env, timeout=120)


def write_vector(tmp_path, vid: str):
    inp = ENVELOPES[vid]["input"]
    env = tmp_path / f"{vid}.json"
    env.write_bytes(bytes.fromhex(inp["document_hex"]))
    payload = None
    if "payload_hex" in inp:
        payload = tmp_path / f"{vid}.payload"
        payload.write_bytes(bytes.fromhex(inp["payload_hex"]))
    return env, payload


@pytest.mark.parametrize("vid,code", [
    ("mlflow-training-complete-ok", 0),
    ("mlflow-signature-flipped", 1),
    ("field-missing-payload-hash", 2),
    ("mlflow-training-no-payload", 3),
])
def test_exit_codes_and_json(tmp_path, vid, code):
    env, payload = write_vector(tmp_path, vid)
    args = ["verify", str(env), "--json"]
    if payload and vid != "mlflow-training-no-payload":
        args += ["--payload", str(payload)]
    proc = cli(*args)
    assert proc.returncode == code, proc.stderr
    out = json.loads(proc.stdout)
    exp = ENVELOPES[vid]["expected"]
    assert out["status"] == exp["status"] and out["reason"] == exp["reason"]
    assert all({"id", "outcome", "reason"} <= set(c) for c in out["checks"])
    assert proc.stdout.count(b"\n") == 1  # exactly one JSON object


def test_human_output_names_checks_and_explains(tmp_path):
    env, payload = write_vector(tmp_path, "mlflow-signature-flipped")
    proc = cli("verify", str(env), "--payload", str(payload))
    text = proc.stdout.decode()
    assert proc.returncode == 1
    assert "FAILED" in text and "signature" in text and "signature_invalid" in text
    assert "\033[" not in text  # not a TTY: no colour


def test_no_color_is_honoured_even_when_forced_tty(tmp_path):
    env, payload = write_vector(tmp_path, "mlflow-training-complete-ok")
    code = ("import sys, io; from verifier.cli.render import use_colour\n"
            "class T(io.StringIO):\n    def isatty(self): return True\n"
            "print(use_colour(T()))")
    on = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                        env={k: v for k, v in os.environ.items() if k != "NO_COLOR"})
    off = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=dict(os.environ, NO_COLOR="1"))
    assert on.stdout.strip() == "True" and off.stdout.strip() == "False"


def test_stdin_input(tmp_path):
    inp = ENVELOPES["agent-inline-ok"]["input"]
    proc = cli("verify", "-", "--json", stdin=bytes.fromhex(inp["document_hex"]))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["status"] == "verified"


@pytest.mark.parametrize("content,reason", [
    (b'{"spec_version": "ario.mlflow/v1", "payload_hash": "', "invalid_json"),
    (b"\xff\xfe{}", "invalid_utf8"),
    (b"", "invalid_json"),
    (b"[1,2]", "not_an_object"),
])
def test_bad_input_is_malformed_without_traceback(tmp_path, content, reason):
    f = tmp_path / "bad.json"
    f.write_bytes(content)
    proc = cli("verify", str(f), "--json")
    assert proc.returncode == 2
    assert json.loads(proc.stdout)["reason"] == reason
    assert b"Traceback" not in proc.stderr


def test_missing_file_and_directory(tmp_path):
    for path in (tmp_path / "nope.json", tmp_path):
        proc = cli("verify", str(path), "--json")
        assert proc.returncode == 2
        assert json.loads(proc.stdout)["reason"] == "input_unreadable"
        human = cli("verify", str(path))
        assert human.returncode == 2 and b"cannot read" in human.stderr
        assert b"Traceback" not in human.stderr


def test_input_too_large(tmp_path):
    env, _ = write_vector(tmp_path, "mlflow-training-complete-ok")
    proc = cli("verify", str(env), "--json", "--max-bytes", "100")
    assert proc.returncode == 2
    assert json.loads(proc.stdout)["reason"] == "input_too_large"


def test_usage_errors_exit_2():
    assert cli("verify").returncode == 2
    assert cli("no-such-command").returncode == 2
    assert cli("verify", "x.json", "--no-such-flag").returncode == 2


def test_trusted_keys_file(tmp_path):
    env, payload = write_vector(tmp_path, "mlflow-training-complete-ok")
    signer = json.loads(env.read_text())["public_key"]
    keys = tmp_path / "keys.txt"
    keys.write_text(f"# auditors' allow-list\n{signer}\n")
    assert cli("verify", str(env), "--payload", str(payload), "--trusted-keys", str(keys)).returncode == 0
    keys.write_text("aa" * 32 + "\n")
    proc = cli("verify", str(env), "--payload", str(payload), "--trusted-keys", str(keys), "--json")
    assert proc.returncode == 1 and json.loads(proc.stdout)["reason"] == "untrusted_signer"
    keys.write_text("not-a-key\n")
    proc = cli("verify", str(env), "--trusted-keys", str(keys), "--json")
    assert proc.returncode == 2 and json.loads(proc.stdout)["reason"] == "bad_hex"


def test_legacy_hint_and_allow_legacy(tmp_path):
    vec = ENVELOPES["legacy-refused"]
    env = tmp_path / "legacy.json"
    env.write_bytes(bytes.fromhex(vec["input"]["document_hex"]))
    payload = tmp_path / "legacy.payload"
    payload.write_bytes(bytes.fromhex(vec["input"]["payload_hex"]))
    refused = cli("verify", str(env), "--payload", str(payload))
    assert refused.returncode == 1 and b"--allow-legacy" in refused.stderr
    assert cli("verify", str(env), "--payload", str(payload), "--allow-legacy").returncode == 0


def test_jsonl_streaming(tmp_path):
    lines = []
    for vid in ("mlflow-training-complete-ok", "mlflow-prediction-ok", "mlflow-signature-flipped"):
        inp = ENVELOPES[vid]["input"]
        lines.append(json.dumps({"envelope": bytes.fromhex(inp["document_hex"]).decode(),
                                 "payload_hex": inp["payload_hex"]}))
    lines.append("{not json")
    f = tmp_path / "batch.jsonl"
    f.write_text("\n".join(lines) + "\n")
    proc = cli("verify", "--jsonl", str(f), "--workers", "2")
    rows = [json.loads(x) for x in proc.stdout.decode().splitlines()]
    assert [r.get("status") for r in rows[:4]] == ["verified", "verified", "failed", "malformed"]
    assert rows[-1]["summary"] and rows[-1]["total"] == 4
    assert proc.returncode == 2  # worst status wins

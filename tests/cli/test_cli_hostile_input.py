"""`verify` on hostile or awkward input (issue 8 defect 1 and the small problems): huge
numbers, --jsonl isolation, trusted-key files, stdin forms, `{}`."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from verifier.cli.main import main
from verifier.sources.bundle import write_bundle
from verifier.sources.model import Collection, EventRecord

BIG = "1" + "0" * 5000
KEY_A = "3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29"


def cli(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "verifier", *args], input=stdin,
                          capture_output=True, timeout=120, env=dict(os.environ))


def run_main(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_huge_integer_is_malformed_with_one_json_object(tmp_path):
    doc = tmp_path / "big.json"
    doc.write_text(BIG)
    proc = cli("verify", str(doc), "--json")
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout.count(b"\n") == 1 and b"Traceback" not in proc.stderr
    out = json.loads(proc.stdout)
    assert (out["status"], out["reason"]) == ("malformed", "number_out_of_range")


def test_huge_numbers_negative_and_inside_an_envelope(tmp_path, capsys):
    for i, text in enumerate(["-" + BIG, '{"spec_version":"ario.agent/v1","x":' + BIG + "}",
                              '{"x":1e999999}', "[" + BIG + ".5]"]):
        doc = tmp_path / f"d{i}.json"
        doc.write_text(text)
        code, out, err = run_main(capsys, "verify", str(doc), "--json")
        assert code == 2 and json.loads(out)["reason"] == "number_out_of_range", (text[:40], err)


def test_jsonl_only_the_bad_line_is_malformed(tmp_path, capsys):
    lines = ['{"spec_version":"ario.agent/v1"}', BIG,
             json.dumps({"envelope": "{}", "note": 0})[:-1] + ', "n": ' + BIG + "}",
             json.dumps({"envelope": '{"x":' + BIG + "}"}), "{}"]
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(lines) + "\n")
    for workers in ("1", "2"):
        code, out, _ = run_main(capsys, "verify", "--jsonl", str(path), "--workers", workers)
        rows = [json.loads(x) for x in out.splitlines()]
        assert [r.get("reason") for r in rows[:-1]] == [
            "missing_payload_hash", "number_out_of_range", "number_out_of_range",
            "number_out_of_range", "unknown_document"]
        assert rows[-1]["total"] == 5 and code == 2


def test_trusted_keys_json_with_a_huge_number_blames_the_keys_file(tmp_path, capsys):
    doc = tmp_path / "doc.json"
    doc.write_text("{}")
    keys = tmp_path / "keys.json"
    keys.write_text(f'["{KEY_A}", {BIG}]')
    code, out, _ = run_main(capsys, "verify", str(doc), "--trusted-keys", str(keys), "--json")
    res = json.loads(out)
    assert code == 2 and out.count("\n") == 1
    assert (res["kind"], res["reason"], res["trusted_keys"]) == (
        "trusted_keys", "number_out_of_range", str(keys))
    assert str(keys) in res["checks"][0]["detail"]
    code, out, err = run_main(capsys, "verify", str(doc), "--trusted-keys", str(keys))
    assert code == 2 and out == "" and f"--trusted-keys {keys}" in err
    assert "set_int_max_str_digits" not in err


def test_bad_keys_file_is_named_not_the_document(tmp_path, capsys):
    doc = tmp_path / "doc.json"
    doc.write_text('{"spec_version":"ario.agent/v1"}')
    keys = tmp_path / "keys.txt"
    keys.write_text(f"{KEY_A}\nnot-a-key\n")
    code, out, err = run_main(capsys, "verify", str(doc), "--trusted-keys", str(keys))
    assert code == 2 and out == ""
    assert err.startswith(f"ario-verifier verify: error: --trusted-keys {keys}: line 2 ")


def test_keys_generate_file_and_uppercase_hex_are_accepted(tmp_path, capsys):
    key_file = tmp_path / "producer.key"
    assert main(["keys", "generate", "--out", str(key_file), "--json"]) == 0
    public = json.loads(capsys.readouterr().out)["public_key"]
    seed = json.loads(key_file.read_text())["seed"]
    from verifier.cli.inputs import load_trusted_keys

    assert load_trusted_keys(str(key_file)) == frozenset({bytes.fromhex(public)})
    err = capsys.readouterr().err
    assert "also holds a private seed" in err and seed not in err
    upper = tmp_path / "upper.txt"
    upper.write_text(public.upper() + "  # the producer\n")
    assert load_trusted_keys(str(upper)) == frozenset({bytes.fromhex(public)})
    # The plugin's seed-only file holds no public key: refused, naming the file, seed unseen.
    plugin = tmp_path / "plugin.json"
    assert main(["keys", "generate", "--out", str(plugin), "--format", "ario-mlflow"]) == 0
    capsys.readouterr()
    doc = tmp_path / "doc.json"
    doc.write_text("{}")
    code, out, err = run_main(capsys, "verify", str(doc), "--trusted-keys", str(plugin))
    plugin_seed = json.loads(plugin.read_text())["seed"]
    assert code == 2 and str(plugin) in err and "keys show" in err
    assert plugin_seed not in err + out and seed not in err + out


def test_document_and_payload_both_from_stdin_is_a_usage_error():
    proc = cli("verify", "-", "--payload", "-", stdin=b"{}")
    assert proc.returncode == 2
    assert b"stdin" in proc.stderr and proc.stdout == b""


def test_zip_on_stdin_is_audited_like_the_file(tmp_path):
    col = Collection(target="models:/m/1")
    col.records.append(EventRecord(tx_id="T" * 43, envelope=b'{"spec_version":"ario.agent/v1"}',
                                   hints={"event_type": "training_complete"}))
    path = write_bundle(col, tmp_path / "b.zip").path
    from_file = cli("verify", str(path), "--json")
    from_stdin = cli("verify", "-", "--json", stdin=path.read_bytes())
    a, b = json.loads(from_file.stdout), json.loads(from_stdin.stdout)
    assert from_stdin.returncode == from_file.returncode != 0
    assert (b["kind"], b["status"], b["reason"]) == (a["kind"], a["status"], a["reason"])
    assert b["kind"] == "audit" and b["input"] == "-"
    assert b"no such file" not in from_stdin.stderr


def test_empty_object_is_not_a_legacy_envelope(tmp_path, capsys):
    doc = tmp_path / "empty.json"
    doc.write_text("{}")
    code, out, err = run_main(capsys, "verify", str(doc))
    assert code == 2
    assert "unknown_document" in out and "legacy" not in out + err
    assert "Policy(" not in out + err
    legacy = tmp_path / "legacy.json"
    legacy.write_text('{"payload_hash":"' + "0" * 64 + '"}')
    code, out, err = run_main(capsys, "verify", str(legacy))
    assert "legacy_not_allowed" in out and "--allow-legacy" in out + err
    assert "Policy(" not in out + err


def test_jsonl_overlong_line_is_refused_without_holding_it(tmp_path, capsys):
    path = tmp_path / "long.jsonl"
    path.write_bytes(b"{}\n" + b'{"x":"' + b"a" * 3_000_000 + b'"}\n' + b"{}\r\n" + b"[" * 5000)
    code, out, _ = run_main(capsys, "verify", "--jsonl", str(path), "--max-bytes", "1000",
                            "--workers", "1")
    rows = [json.loads(x) for x in out.splitlines()]
    assert [r.get("reason") for r in rows[:-1]] == [
        "unknown_document", "input_too_large", "unknown_document", "input_too_large"]
    assert code == 2


def test_zip_through_a_pipe_path_is_audited_like_the_file(tmp_path, capsys):
    """`verify <(cat b.zip)` names a pipe: its first bytes cannot be read twice."""
    import threading

    col = Collection(target="models:/m/1")
    col.records.append(EventRecord(tx_id="T" * 43, envelope=b'{"spec_version":"ario.agent/v1"}',
                                   hints={"event_type": "training_complete"}))
    path = write_bundle(col, tmp_path / "b.zip").path
    code_file, out_file, _ = run_main(capsys, "verify", str(path), "--json")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_bytes(path.read_bytes()))
    writer.start()
    code_pipe, out_pipe, err = run_main(capsys, "verify", str(fifo), "--json")
    writer.join(timeout=30)
    a, b = json.loads(out_file), json.loads(out_pipe)
    assert code_pipe == code_file != 0 and b["input"] == str(fifo)
    assert (b["kind"], b["status"], b["reason"]) == (a["kind"], a["status"], a["reason"])
    assert b["kind"] == "audit"

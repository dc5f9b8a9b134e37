"""Usage defects a new user hits (issue 8, smaller problems): one JSON object for a usage
error under --json, precise messages for a missing file or a directory, the one rule for
files a command creates, option validation shared by every auditing command."""

from __future__ import annotations

import json
import stat

import pytest

from verifier.cli.main import main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse, without --json
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("argv", [
    ["verify", "--json"],                                   # missing PATH (argparse)
    ["verify", "x.json", "--json", "--bogus"],              # unknown option (argparse)
    ["verify", "x.json", "--json", "--summary"],            # command-level check
    ["audit", "--json"],
    ["audit", "x.zip", "--json", "--quorum", "0"],
    ["audit", "fraud/3", "--json"],                         # no MLflow store named
    ["export", "models:/m/1", "--json", "-o", "/nonexistent-dir/x.zip",
     "--tracking-uri", "sqlite:///nowhere.db"],
    ["export", "models:/m/1", "--json", "-o", "out.zip", "--offline",  # no such store
     "--tracking-uri", "sqlite:///nowhere.db"],
    ["keys", "generate", "--json", "--out", "/nonexistent-dir/k.key"],
    ["anchor", "run", "--json"],
    ["cache", "info", "--json", "--bogus"],
    ["conformance", "--json", "--bogus"],
])
def test_usage_error_under_json_is_one_object(capsys, tmp_path, monkeypatch, argv):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.json").write_text("{}")
    code, out, err = run(capsys, *argv)
    assert code == 2
    lines = out.splitlines()
    assert len(lines) == 1, out
    doc = json.loads(lines[0])
    assert (doc["status"], doc["reason"]) == ("malformed", "usage_error")
    assert doc["kind"] == argv[0]
    assert doc["error"] and "error" in err  # the message is on stderr too


def test_usage_error_without_json_prints_nothing_on_stdout(capsys):
    code, out, _ = run(capsys, "audit", "x.zip", "--quorum", "0")
    assert (code, out) == (2, "")


def test_missing_file_and_directory_are_named(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "dir.zip").mkdir()
    for source, why in (("dir.zip", "is a directory"), ("nonexist.json", "no such file"),
                        ("sub/none", "no such file")):
        code, out, _ = run(capsys, "audit", source, "--json")
        doc = json.loads(out)
        assert (code, doc["reason"]) == (2, "input_unreadable")
        assert doc["checks"][0]["detail"].endswith(why), doc["checks"][0]["detail"]


@pytest.mark.parametrize("argv, message", [
    (["audit", "x.zip", "--workers", "0"], "--workers: must be at least 1"),
    (["verify", "x.json", "--workers", "0"], "--workers: must be at least 1"),
    (["export", "m/1", "-o", "o.zip", "--quorum", "0"], "--quorum: must be at least 1"),
    (["audit", "x.zip", "--gateway", "https://a.example", "--gateway", "https://a.example/",
      "--quorum", "2"], "1 repeated --gateway value(s) count once"),
    (["verify", "x.json", "--tracking-uri", "sqlite:///m.db"], "verify run|model|trace"),
    # the audit's options are parsed once by `verify`, and refused for a single document
    (["verify", "x.json", "--offline"], "--offline applies to audit bundles (ZIP)"),
    (["verify", "x.json", "-q"], "-q applies to audit bundles (ZIP)"),
    (["verify", "x.json", "--jsonl", "--events-out", "e.jsonl"], "--events-out applies"),
    (["verify", "x.json", "extra"], "unexpected argument 'extra'"),
    (["verify", "run", "abc123"], "set MLFLOW_TRACKING_URI or pass --tracking-uri"),
])
def test_option_validation(capsys, tmp_path, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    (tmp_path / "x.json").write_text("{}")
    (tmp_path / "x.zip").write_bytes(b"PK\x05\x06" + b"\0" * 18)
    code, out, err = run(capsys, *argv)
    assert (code, out) == (2, "")
    assert message in err


def test_verify_summary_needs_jsonl_or_a_bundle(capsys, tmp_path):
    doc = tmp_path / "e.json"
    doc.write_text("{}")
    code, out, err = run(capsys, "verify", str(doc), "--summary")
    assert (code, out) == (2, "")
    assert "--summary applies to --jsonl" in err


def test_verify_help_lists_tracking_uri(capsys):
    with pytest.raises(SystemExit):
        main(["verify", "--help"])
    assert "--tracking-uri" in capsys.readouterr().out


# -- files a command creates: export -o and keys generate --out follow one rule ----------


def test_keys_generate_refuses_missing_directory_and_existing_file(capsys, tmp_path):
    missing = tmp_path / "no" / "such" / "k.key"
    code, _, err = run(capsys, "keys", "generate", "--out", str(missing))
    assert code == 2 and "does not exist" in err
    assert not (tmp_path / "no").exists()  # no directory created
    key = tmp_path / "k.key"
    assert run(capsys, "keys", "generate", "--out", str(key))[0] == 0
    first = key.read_bytes()
    code, _, err = run(capsys, "keys", "generate", "--out", str(key))
    assert code == 2 and "--force" in err and key.read_bytes() == first
    code, out, _ = run(capsys, "keys", "generate", "--out", str(key), "--force", "--json")
    assert code == 0 and key.read_bytes() != first
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert json.loads(out)["public_key"] in key.read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["k.key"]  # no temporary file left


def test_export_refuses_missing_directory_and_existing_file(capsys, tmp_path):
    store = tmp_path / "mlflow.db"
    store.write_bytes(b"")  # never opened: the output is checked first
    missing = tmp_path / "no" / "b.zip"
    code, _, err = run(capsys, "export", "models:/m/1", "--tracking-uri", f"sqlite:///{store}",
                       "-o", str(missing), "--offline")
    assert code == 2 and "does not exist" in err and not (tmp_path / "no").exists()
    existing = tmp_path / "b.zip"
    existing.write_bytes(b"precious")
    code, _, err = run(capsys, "export", "models:/m/1", "--tracking-uri", f"sqlite:///{store}",
                       "-o", str(existing), "--offline")
    assert code == 2 and "--force" in err and existing.read_bytes() == b"precious"
    code, _, err = run(capsys, "export", "models:/m/1", "--tracking-uri", f"sqlite:///{store}",
                       "-o", str(tmp_path), "--offline")
    assert code == 2 and "is a directory" in err

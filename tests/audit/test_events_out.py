"""`--events-out FILE` follows the output rule of `export -o` and `keys generate --out`:
the directory must exist, an existing file is replaced only with --force, only regular
files are replaced, and FILE appears whole once the audit has finished (temp + rename)."""

from __future__ import annotations

import json
import os

import pytest

from audit_factory import build_lineage
from verifier.cli.main import build_parser, main
from verifier.cli.auditrun import open_audit
from verifier.sources.bundle_v2_write import write_bundle_v2


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    col = build_lineage(predictions=4, data_items=False).collection()
    path = tmp_path_factory.mktemp("b") / "b.zip"
    write_bundle_v2(col, path, created_at="2026-06-15T13:00:00Z", shard_events=3)
    return path


def _audit(bundle, out, *extra):
    return main(["audit", str(bundle), "-q", "--offline", "--events-out", str(out), *extra])


def _seqs(path):
    return [json.loads(line)["seq"] for line in path.read_text().splitlines()]


def test_new_file_is_written_and_no_temporary_file_stays(bundle, tmp_path):
    out = tmp_path / "events.jsonl"
    assert _audit(bundle, out) == 0
    assert _seqs(out) == list(range(len(_seqs(out)))) and len(_seqs(out)) > 4
    assert sorted(os.listdir(tmp_path)) == ["events.jsonl"]


def test_existing_file_needs_force(bundle, tmp_path, capsys):
    out = tmp_path / "events.jsonl"
    out.write_text("keep\n")
    assert _audit(bundle, out) == 2
    assert "already exists; pass --force" in capsys.readouterr().err
    assert out.read_text() == "keep\n"
    assert _audit(bundle, out, "--force") == 0
    assert _seqs(out)[:2] == [0, 1]
    assert sorted(os.listdir(tmp_path)) == ["events.jsonl"]


def test_missing_directory_and_directory_target_are_usage_errors(bundle, tmp_path, capsys):
    assert _audit(bundle, tmp_path / "nope" / "e.jsonl") == 2
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "nope").exists()
    assert _audit(bundle, tmp_path, "--force") == 2
    assert "is a directory" in capsys.readouterr().err


@pytest.mark.parametrize("kind", ["symlink", "fifo"])
def test_force_never_replaces_a_non_regular_file(bundle, tmp_path, capsys, kind):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    out = tmp_path / "events.jsonl"
    if kind == "symlink":
        out.symlink_to(victim)
    else:
        os.mkfifo(out)
    assert _audit(bundle, out, "--force") == 2
    assert "not a regular file" in capsys.readouterr().err
    assert victim.read_text() == "precious\n"
    if kind == "symlink":
        assert out.is_symlink() and os.readlink(out) == str(victim)
    else:
        assert not out.is_file() and out.exists()
    assert sorted(os.listdir(tmp_path)) == ["events.jsonl", "victim.txt"]


def test_file_appears_only_when_the_audit_has_finished(bundle, tmp_path):
    out = tmp_path / "events.jsonl"
    args = build_parser().parse_args(["audit", str(bundle), "--offline", "--events-out", str(out)])
    with open_audit(args) as run:
        seen = []
        for ev in run:
            seen.append(ev.seq)
            assert not out.exists()  # written beside it, renamed on success
    assert _seqs(out) == seen


def test_interrupted_audit_leaves_the_old_file(bundle, tmp_path):
    out = tmp_path / "events.jsonl"
    out.write_text("old\n")
    args = build_parser().parse_args(["audit", str(bundle), "--offline", "--force",
                                      "--events-out", str(out)])
    with open_audit(args) as run:
        next(iter(run))  # stop after the first event
    assert out.read_text() == "old\n"
    assert sorted(os.listdir(tmp_path)) == ["events.jsonl"]


def test_file_mode_follows_the_umask_like_a_plain_open(bundle, tmp_path):
    out = tmp_path / "events.jsonl"
    old = os.umask(0o027)
    try:
        assert _audit(bundle, out) == 0
    finally:
        os.umask(old)
    assert out.stat().st_mode & 0o777 == 0o640

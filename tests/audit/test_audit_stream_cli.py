"""The CLI on the stream: --json lists events only up to a threshold (then the failures and
a pointer to --events-out), the human summary counts every event, --events-out writes
one line per event for any consumer of `open_audit`."""

from __future__ import annotations

import argparse
import contextlib
import io
import json

from audit_factory import build_lineage
from verifier.cli import audit_cmd
from verifier.cli.main import build_parser
from verifier.cli.auditrun import open_audit
from verifier.sources.bundle_v2_write import write_bundle_v2


def _bundle(tmp_path, tamper=(3, 9)):
    col = build_lineage(predictions=12, data_items=False).collection()
    for i in tamper:
        col.records[i].payload = b'{"tampered": true}'
    path = tmp_path / "b.zip"
    write_bundle_v2(col, path, created_at="2026-06-15T13:00:00Z", shard_events=5)
    return path


def _args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["audit", *argv])


def _drive(args, json_max):
    out = io.StringIO()
    with open_audit(args) as run, contextlib.redirect_stdout(out):
        code = audit_cmd._drive(run, args, "b.zip", json_max=json_max)
    return code, out.getvalue()


def test_json_above_the_threshold_lists_failures_only(tmp_path):
    path = _bundle(tmp_path)
    small = json.loads(_drive(_args(str(path), "--offline", "--json", "-q"), 1000)[1])
    code, text = _drive(_args(str(path), "--offline", "--json", "-q"), 5)
    big = json.loads(text)
    assert code == 1 and big["events"] is None and big["events_omitted"] == 16
    assert "--events-out" in big["note"]
    failing = [dict(e, seq=i) for i, e in enumerate(small["events"]) if e["status"] != "verified"]
    assert big["failures"] == failing and big["failures_omitted"] == 0
    for key in ("status", "reason", "checks", "subject"):
        assert big[key] == small[key]


def test_human_summary_above_the_threshold_counts_every_event(tmp_path):
    path = _bundle(tmp_path)
    code, text = _drive(_args(str(path), "--offline", "-q"), 5)
    assert code == 1
    assert "status: 14 verified, 2 failed" in text
    assert "[3] " in text and "[9] " in text  # positions in the source, not in the failure list


def test_events_out_reaches_any_consumer_of_open_audit(tmp_path):
    path = _bundle(tmp_path, tamper=())
    out = tmp_path / "events.jsonl"
    with open_audit(_args(str(path), "--offline", "--events-out", str(out))) as run:
        seen = [ev.seq for ev in run]
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert [x["seq"] for x in lines] == seen and sorted(seen) == list(range(16))
    assert all(x["kind"] == "event" and x["status"] == "verified" for x in lines)

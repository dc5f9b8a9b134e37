"""A v2 shard line whose fields have the wrong shape is a bundle-level malformed verdict
(bundle_malformed, naming the shard line), whichever worker reads the shard; never a
per-event invalid_json for the events of that shard."""

from __future__ import annotations

import hashlib
import json

import pytest

from audit_factory import build_lineage, rewrite_bundle
from verifier.cli.main import main
from verifier.sources.bundle_v2_write import write_bundle_v2


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    col = build_lineage(predictions=4, data_items=False).collection()
    path = tmp_path_factory.mktemp("b") / "b.zip"
    write_bundle_v2(col, path, created_at="2026-06-15T13:00:00Z", shard_events=3)
    return path.read_bytes()


def _with_line(data: bytes, field: str, value) -> bytes:
    """The bundle with line 2 of its second shard given `field: value` (digests fixed up,
    so only the line's shape is wrong)."""
    def edit(manifest, members):
        shard = manifest["shards"][1]
        lines = members[shard["name"]].split(b"\n")
        line = json.loads(lines[1])
        line[field] = value
        lines[1] = json.dumps(line, separators=(",", ":")).encode()
        body = b"\n".join(lines)
        members[shard["name"]] = body
        shard["sha256"], shard["size"] = hashlib.sha256(body).hexdigest(), len(body)
    return rewrite_bundle(data, edit)


@pytest.mark.parametrize("field, value", [
    ("envelope", 5), ("envelope", ["e"]), ("payload", {"b64": "AA=="}),
    ("hints", {"a": 1}), ("receipt", "x"), ("tx_id", 7),
])
@pytest.mark.parametrize("workers", ["1", "2"])
def test_shape_error_is_a_bundle_verdict(good, tmp_path, capsys, field, value, workers):
    path = tmp_path / "bad.zip"
    path.write_bytes(_with_line(good, field, value))
    code = main(["audit", str(path), "--json", "-q", "--workers", workers])
    doc = json.loads(capsys.readouterr().out)
    assert (code, doc["status"], doc["reason"]) == (2, "malformed", "bundle_malformed")
    bundle = next(c for c in doc["checks"] if c["id"] == "bundle")
    assert "events/000001.jsonl line 2" in bundle["detail"] and field in bundle["detail"]
    assert "invalid_json" not in json.dumps(doc)

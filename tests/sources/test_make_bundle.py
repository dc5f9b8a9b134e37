"""bench/make_bundle.py: the streaming generator the audit benchmarks use writes a v2 bundle
of real signed events that audits `verified`, deterministically."""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

from verifier.audit import AuditPolicy, audit_collection
from verifier.sources.bundle import read_bundle
from verifier.sources.bundle_source import open_bundle

ROOT = Path(__file__).resolve().parents[2]


def _make_bundle():
    spec = importlib.util.spec_from_file_location("make_bundle", ROOT / "bench" / "make_bundle.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.make_bundle


def test_generated_bundle_audits_verified(tmp_path):
    make_bundle = _make_bundle()
    info = make_bundle(tmp_path / "a.zip", 70, data_items=0.5, shard_events=16)
    again = make_bundle(tmp_path / "b.zip", 70, data_items=0.5, shard_events=16)
    data = (tmp_path / "a.zip").read_bytes()
    assert info["events"] == 74 and info["sha256"] == hashlib.sha256(data).hexdigest()
    assert again["sha256"] == info["sha256"]
    with open_bundle(tmp_path / "a.zip") as src:
        assert (src.format, src.total, len(src.shards())) == ("v2", 74, 5)
        records = list(src.records())
    assert len({r.envelope for r in records}) == 74  # every event signed on its own
    assert sum(r.data_item is not None for r in records) == 37
    result = audit_collection(read_bundle(tmp_path / "a.zip"), AuditPolicy())
    assert (result.status.value, result.subject.get("events")) == ("verified", 74)

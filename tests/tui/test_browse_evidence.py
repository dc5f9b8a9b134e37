"""The detail's evidence: the record diff, which side may be called anchored, hostile bytes."""

from __future__ import annotations

import json

from verifier.core.reasons import ReasonCode
from verifier.core.result import make_result, passed, problem
from verifier.sources.model import EventRecord
from verifier.tui.evidence import build_detail, record_diff

PAYLOAD = {"run_id": "r1", "params": {"lr": "0.1"}, "metrics": {"acc": 0.9, "loss": 0.2},
           "source_name": "train.py", "git_commit": ""}
SURFACE = {"params": {"lr": "0.1"}, "metrics": {"acc": 0.95, "loss": 0.2},
           "tags": {"mlflow.source.name": "train.py"}}


def event(payload_ok: bool):
    checks = [passed("payload_hash") if payload_ok else problem("payload_hash",
                                                                ReasonCode.PAYLOAD_HASH_MISMATCH),
              problem("record", ReasonCode.RECORD_MISMATCH, "differs: metrics")]
    return make_result("event", checks, {"event_type": "training_complete"})


def test_diff_names_only_the_fields_that_differ_one_level_down():
    diff = record_diff("training_complete", json.dumps(PAYLOAD).encode(), SURFACE)
    assert diff == [("metrics.acc", "0.9", "0.95")]


def test_the_payload_is_called_anchored_only_when_it_hashes_to_payload_hash():
    record = EventRecord("tx", envelope=b"{}", payload=json.dumps(PAYLOAD).encode(), surface=SURFACE)
    assert build_detail(0, event(True), record).diff_anchored is True
    detail = build_detail(0, event(False), record)
    assert detail.diff == [("metrics.acc", "0.9", "0.95")] and detail.diff_anchored is False


def test_hostile_evidence_becomes_notes_not_exceptions():
    record = EventRecord("tx", envelope=b"\xff{not json", payload=b"[" * 100_000,
                         data_item=b"\x01\x00garbage", receipt={"id": "x"}, surface={"metrics": 5})
    detail = build_detail(0, event(True), record)
    assert detail.envelope is not None and detail.data_item is None and detail.diff == []
    assert any("envelope is not valid JSON" in n for n in detail.notes)
    assert any("data item does not parse" in n for n in detail.notes)
    assert build_detail(1, None, None).notes  # no evidence at all: said so

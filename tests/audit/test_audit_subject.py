"""Issue 8, defects 2 and 7: the audited subject comes from signed events (A12), and a
recorded registry state without its anchored event is missing evidence (A13).

Bundles are edited the way an exporter could: the manifest's `target` (not a listed member,
so nothing else changes), or an event dropped with its members and index entry.
"""

from __future__ import annotations

import json

from audit_factory import rewrite_bundle
from vectors_util import load_vectors
from verifier.audit import audit_collection
from verifier.audit.completeness import CompletenessFold
from verifier.audit.subject import SubjectFold, parse_target
from verifier.cli.main import main
from verifier.core.reasons import ReasonCode, Status
from verifier.core.result import Result
from verifier.sources.bundle import read_bundle

BASE = next(v for v in load_vectors("audit_bundle") if v["id"] == "audit-bundle-ok-stored-unpinned")


def _retarget(target: str):
    def edit(manifest, _members):
        manifest["target"] = target
    return edit


def _drop(event_type: str):
    def edit(manifest, members):
        gone = [e for e in manifest["events"] if e["event_type"] == event_type]
        manifest["events"] = [e for e in manifest["events"] if e["event_type"] != event_type]
        names = {e[s] for e in gone for s in ("envelope", "payload", "data_item", "receipt", "surface")
                 if e.get(s)}
        for n in names:
            del members[n]
        manifest["members"] = [m for m in manifest["members"] if m["path"] not in names]
    return edit


def _audit_cli(tmp_path, capsys, data: bytes, *extra: str) -> tuple[int, dict, str]:
    path = tmp_path / "b.zip"
    path.write_bytes(data)
    code = main(["audit", str(path), "--offline", "--json", "-q", "--workers", "1", *extra])
    doc = json.loads(capsys.readouterr().out)
    main(["audit", str(path), "--offline", "-q", "--workers", "1", *extra])
    return code, doc, capsys.readouterr().out


def test_renamed_target_fails_and_subject_names_the_signed_model(tmp_path, capsys):
    data = rewrite_bundle(bytes.fromhex(BASE["input"]["document_hex"]), _retarget("models:/fraud-prod/42"))
    code, doc, text = _audit_cli(tmp_path, capsys, data)
    assert (code, doc["status"], doc["reason"]) == (1, "failed", "target_mismatch")
    subject = doc["subject"]["subject"]
    assert (subject["model"], subject["version"]) != ("fraud-prod", "42")
    assert subject["model"] and subject["version"] == "1"
    heading = text.splitlines()[0]
    assert "fraud-prod" not in heading and f"model {subject['model']} v1" in heading
    assert "claimed target (the source's claim, not evidence): models:/fraud-prod/42" in text
    assert "FAILED [target_mismatch]" in text


def test_matching_target_passes_its_check():
    col = read_bundle(bytes.fromhex(BASE["input"]["document_hex"]))
    result = audit_collection(col)
    check = next(c for c in result.checks if c.id == "target")
    assert result.status is Status.VERIFIED and check.reason is None
    assert result.subject["subject"]["datasets"] and result.subject["subject"]["run_id"]


def test_omitted_promotion_is_incomplete(tmp_path, capsys):
    data = rewrite_bundle(bytes.fromhex(BASE["input"]["document_hex"]), _drop("stage_transition"))
    code, doc, text = _audit_cli(tmp_path, capsys, data)
    assert (code, doc["status"], doc["reason"]) == (3, "incomplete", "event_omitted")
    check = next(c for c in doc["checks"] if c["id"] == "completeness")
    assert "'Production'" in check["detail"] and "ario.promotion_tx" in check["detail"]
    assert "VERIFIED" not in text.splitlines()[-1]


def test_stage_needs_a_promotion_to_that_stage():
    """A surface stage alone (no tx tag) is enough: Production needs a transition to Production."""
    fold = CompletenessFold()
    reg = Result("event", Status.VERIFIED, None, (), {"event_type": "model_registered", "tx_id": "a"})
    promo = Result("event", Status.VERIFIED, None, (), {"event_type": "stage_transition", "tx_id": "b"})
    fold.observe(reg, {}, {"model_name": "m", "model_version": "1", "current_stage": "Production"})
    fold.observe(promo, {"model_name": "m", "model_version": "1", "to_stage": "Staging"}, None)
    assert fold.finish().reason is ReasonCode.EVENT_OMITTED
    fold.observe(promo, {"model_name": "m", "model_version": "1", "to_stage": "Production"}, None)
    assert fold.finish().reason is None


def test_unverified_events_do_not_name_the_subject():
    fold = SubjectFold("models:/m/1")
    bad = Result("event", Status.FAILED, ReasonCode.SIGNATURE_INVALID, (),
                 {"event_type": "model_registered", "entity": {"name": "m", "version": "1"}})
    fold.observe(bad)
    assert fold.finish().reason is ReasonCode.TARGET_UNCONFIRMED
    assert fold.to_json()["model"] is None
    assert parse_target("models:/m@champion")[0] == "alias"
    assert parse_target("hello")[0] == "unknown"
    # the forms the MLflow reader accepts (sources/mlflow_reader.parse_target)
    assert parse_target("models:/team/fraud/3") == ("model", ("team/fraud", "3"))
    assert parse_target("traces:/tr-1/") == ("trace", ("tr-1",))


def test_folds_never_raise_on_hostile_values():
    """Whatever JSON values a bundle puts in signed subjects, payloads and surfaces, the
    A12/A13 folds decide without raising (spec/audit.md §1, principle 3)."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from verifier.core.reasons import Status as S

    scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=8)
    values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                          | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=8)
    keyed = st.dictionaries(st.sampled_from(["name", "version", "run_id", "trace_id", "digest",
                                             "model_name", "model_version", "to_stage",
                                             "current_stage", "tags", "run_tags"]), values, max_size=6)
    types = st.sampled_from(["model_registered", "stage_transition", "training_complete",
                             "dataset", "prediction", None, 7])

    @settings(max_examples=60, deadline=None, database=None)
    @given(st.lists(st.tuples(types, keyed, keyed | st.none(), keyed | st.none(),
                              st.sampled_from(list(S)), values), max_size=6), values)
    def run(events, target):
        subject, complete = SubjectFold(target), CompletenessFold()
        for etype, entity, facts, surface, status, tx in events:
            r = Result("event", status, None, (), {"event_type": etype, "entity": entity, "tx_id": tx})
            subject.observe(r, facts)
            complete.observe(r, facts, surface)
        assert subject.finish().id == "target" and complete.finish().id == "completeness"
        json.dumps(subject.to_json())

    run()

"""Huge numbers in a bundle's envelope or payload members are that event's
`number_out_of_range`, and wrongly typed evidence fields failed checks: never a crash of
the audit (issue 8 defect 1)."""

from __future__ import annotations

import copy
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from verifier.audit import AuditPolicy, audit_collection
from verifier.cli.main import main
from verifier.core.reasons import Status
from verifier.sources.bundle import write_bundle

BIG = b"1" + b"0" * 5000


def test_huge_numbers_in_envelope_and_payload_members(tmp_path, capsys, lineage):
    col = lineage.collection()
    col.records[1].envelope = b'{"spec_version":"ario.mlflow/v1","n":' + BIG + b"}"
    col.records[2].payload = b'{"n":' + BIG + b"}"
    col.records[3].payload = b"-" + BIG
    path = write_bundle(col, tmp_path / "bignum.zip").path
    code = main(["audit", str(path), "--json", "-q"])
    doc = json.loads(capsys.readouterr().out)
    assert (code, doc["status"], doc["reason"]) == (2, "malformed", "number_out_of_range")
    reasons = [{c["id"]: c["reason"] for c in ev["checks"]} for ev in doc["events"]]
    assert reasons[1]["intake"] == "number_out_of_range"
    assert reasons[2]["record"] == "number_out_of_range"
    assert reasons[3]["record"] == "number_out_of_range"
    assert doc["events"][0]["status"] == "verified"


def _audit_json(capsys, col, tmp_path, name):
    path = write_bundle(col, tmp_path / name).path
    code = main(["audit", str(path), "--json", "-q"])
    return code, json.loads(capsys.readouterr().out)


def test_wrongly_typed_evidence_fields_never_crash_the_audit(tmp_path, capsys, lineage):
    """Found by fuzzing bundle members: an unhashable `event_type`, a dataset input whose
    name is an object, a surface schema that is not a string."""
    col = lineage.collection()
    env = json.loads(col.records[3].envelope)
    env["event_type"] = {"x": 1}
    col.records[3].envelope = json.dumps(env).encode()
    payload = json.loads(col.records[1].payload)
    payload["dataset_inputs"][0]["name"] = {"x": [1]}
    col.records[1].payload = json.dumps(payload).encode()
    col.records[1].surface["dataset_inputs"][0]["schema"] = ["not", "a", "string"]
    code, doc = _audit_json(capsys, col, tmp_path, "typed.zip")
    assert code == 1 and doc["status"] == "failed"
    checks = [{c["id"]: c["reason"] for c in ev["checks"]} for ev in doc["events"]]
    assert checks[3]["signature"] == "signature_invalid"
    assert checks[1]["payload_hash"] == "payload_hash_mismatch"


#: Type confusers first (hypothesis shrinks towards the front), then odd values.
VALUES = [{}, [], None, {"a": [1]}, [{"b": {}}], 1, True, "", -1, 10**30, 1.5, "x" * 300,
          "\x1b[2K", "2026-99-99", "A" * 43, "0" * 64]


def _paths(value, path=()):
    yield path
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, path + (i,))


@st.composite
def hostile_collections(draw, lineage):
    col = copy.deepcopy(lineage.collection())
    for _ in range(draw(st.integers(1, 4))):
        record = draw(st.sampled_from(col.records))
        slot = draw(st.sampled_from(["surface", "receipt", "envelope", "payload"]))
        value = getattr(record, slot)
        if value is None:
            continue
        doc = json.loads(value) if isinstance(value, bytes) else value
        paths = [p for p in _paths(doc) if 0 < len(p) <= 3]  # fields and their members
        if not paths:
            continue
        path = draw(st.sampled_from(paths))
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        parent[path[-1]] = copy.deepcopy(draw(st.sampled_from(VALUES)))
        setattr(record, slot, json.dumps(doc).encode() if isinstance(value, bytes) else doc)
    return col


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_wrongly_typed_fields_anywhere_give_a_typed_verdict(lineage, data):
    col = data.draw(hostile_collections(lineage))
    result = audit_collection(col, AuditPolicy())
    assert isinstance(result.status, Status)
    assert all(isinstance(ev.status, Status) for ev in result.children)

"""A5-A6: the committed record and its re-derivation from a second surface (spec/audit.md).

`derive` decides which bytes are the committed payload (stored bytes; for predictions
without a stored payload the trace tag ``ario.payload_json``; for dataset proofs, whose
payload the producer never stores, the payload re-derived from the dataset surface) and
compares the record with what the MLflow surface says today. A mismatch names the fields
that differ. Fields that depend on the model files (`artifact_checksums`,
`artifact_verified`) are left to A9 (lineage.py), which names the files. Surfaces are
plain dicts (spec/audit-bundle.md §4); nothing here does I/O.
"""

from __future__ import annotations

import hashlib
from typing import Any, Mapping, NamedTuple

from verifier.core import mlflow_profile as mp
from verifier.core.errors import Malformed
from verifier.core.intake import parse
from verifier.core.reasons import ReasonCode as R
from verifier.core.result import Check, passed, problem, skipped

CHECK = "record"
_OK_TAG = passed(CHECK, "trace tag ario.payload_json equals the committed payload")
_OK_STORED_TAG = passed(CHECK, "committed payload matches the trace tag ario.payload_json")


class Derived(NamedTuple):
    """Outcome of A5/A6 for one event.

    `committed`: the payload bytes to bind against `payload_hash` (None if unknown).
    `facts`: the parsed committed payload (dict) for the lineage checks, when it parsed.
    """

    check: Check
    committed: bytes | None
    facts: dict[str, Any] | None


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _jcs(value: Any) -> bytes | None:
    return mp.payload_bytes(value)


def _same(a: Any, b: Any) -> bool:
    """Equality as the bytes would see it (1 == 1.0, but True != 1)."""
    if a is b:
        return True
    ja, jb = _jcs(a), _jcs(b)
    return ja is not None and ja == jb


def derive(
    event_type: Any,
    subject: Any,
    payload_hash: Any,
    stored: bytes | None,
    surface: Mapping[str, Any] | None,
) -> Derived:
    """A5 (committed bytes) and A6 (record matches the surface) for one event."""
    surface = surface if isinstance(surface, dict) else None
    committed = stored
    if event_type == mp.PREDICTION:
        tag = _trace_tag(surface)
        if committed is None or (tag is not None and committed == tag):
            if tag is None:
                return Derived(problem(CHECK, R.SURFACE_UNAVAILABLE,
                                       "no payload bytes and no trace tag ario.payload_json"),
                               None, None)
            if committed is not None:  # stored bytes equal the tag; A4 hashes them
                return Derived(_OK_STORED_TAG, committed, None)
            if _sha(tag) != payload_hash:
                return Derived(problem(CHECK, R.RECORD_MISMATCH,
                                       "trace tag ario.payload_json does not hash to payload_hash"),
                               None, None)
            return Derived(_OK_TAG, tag, None)
    if event_type == mp.DATASET and committed is None:
        return _derive_dataset(subject, payload_hash, surface)
    if committed is None:
        return Derived(skipped(CHECK, "payload bytes unavailable; record not compared"), None, None)
    try:
        payload = parse(committed).value
    except Malformed as exc:
        return Derived(problem(CHECK, exc.reason, f"committed payload: {exc.detail}"), committed, None)
    if not isinstance(payload, dict):
        return Derived(problem(CHECK, R.NOT_AN_OBJECT, "committed payload is not a JSON object"),
                       committed, None)
    return Derived(_compare(event_type, subject, payload, committed, surface), committed, payload)


def _trace_tag(surface: Mapping[str, Any] | None) -> bytes | None:
    tags = surface.get("trace_tags") if surface else None
    value = tags.get(mp.TAG_PAYLOAD_JSON) if isinstance(tags, dict) else None
    return value.encode("utf-8", "surrogatepass") if isinstance(value, str) else None


def dataset_payload(surface: Mapping[str, Any]) -> dict[str, Any]:
    """The dataset payload the producer would have committed for this surface."""
    def s(key: str) -> str | None:
        v = surface.get(key)
        return v if isinstance(v, str) else None
    return mp.build_dataset_payload(name=s("name"), source=s("source"), source_type=s("source_type"),
                                    digest=s("digest"), schema=s("schema"))


def _derive_dataset(subject: Any, payload_hash: Any, surface: Mapping[str, Any] | None) -> Derived:
    if not surface:
        return Derived(problem(CHECK, R.SURFACE_UNAVAILABLE,
                               "dataset payload is never stored and no dataset surface is available"),
                       None, None)
    candidates = [surface] + [c for c in surface.get("candidates") or () if isinstance(c, dict)]
    for candidate in candidates:  # the run may have logged several inputs of that name
        payload = dataset_payload(candidate)
        data = _jcs(payload)
        if data is not None and _sha(data) == payload_hash:
            diffs = _subject_diffs(mp.DATASET, subject, payload)
            if diffs:
                return Derived(_mismatch(diffs), data, payload)
            return Derived(passed(CHECK, "dataset payload re-derived from the dataset surface"),
                           data, payload)
    return Derived(problem(CHECK, R.RECORD_MISMATCH,
                           "the payload re-derived from the dataset surface does not hash to "
                           "payload_hash"), None, None)


# -- per event type -----------------------------------------------------------------------


def _compare(event_type: Any, subject: Any, payload: dict[str, Any], committed: bytes,
             surface: Mapping[str, Any] | None) -> Check:
    diffs = _subject_diffs(event_type, subject, payload)
    if event_type == mp.PREDICTION:
        return _prediction(payload, committed, surface, diffs)
    if event_type == mp.DATASET:
        live = dataset_payload(surface) if surface else None
        return _rebuild(payload, committed, live, [], diffs, "dataset surface")
    if event_type == mp.PROMOTION:
        live, missing = _registry_fields(payload, surface)
        if not live and not diffs:
            return skipped(CHECK, "no live fields to re-derive for stage_transition")
        return _rebuild(payload, committed, live, missing, diffs, "model version")
    if surface is None:
        if diffs:
            return _mismatch(diffs)
        return problem(CHECK, R.SURFACE_UNAVAILABLE, f"no MLflow surface to re-derive {event_type}")
    if event_type == mp.TRAINING:
        live, missing = _training_live(payload, surface)
        return _rebuild(payload, committed, live, missing, diffs, "MLflow run")
    if event_type == mp.REGISTRATION:
        live, missing = _registration_live(payload, surface)
        return _rebuild(payload, committed, live, missing, diffs, "MLflow registry")
    return skipped(CHECK, f"no re-derivation rule for event type {event_type!r}")


def _prediction(payload: dict[str, Any], committed: bytes, surface: Mapping[str, Any] | None,
                diffs: list[str]) -> Check:
    tag = _trace_tag(surface)
    if tag is None:
        return _mismatch(diffs) if diffs else problem(
            CHECK, R.SURFACE_UNAVAILABLE, "trace tag ario.payload_json is not available")
    if tag == committed and not diffs:
        return _OK_STORED_TAG
    try:
        live = parse(tag).value
    except Malformed as exc:
        return problem(CHECK, R.RECORD_MISMATCH, f"trace tag ario.payload_json: {exc.detail}")
    if not isinstance(live, dict):
        return problem(CHECK, R.RECORD_MISMATCH, "trace tag ario.payload_json is not a JSON object")
    fields = sorted(k for k in set(payload) | set(live)
                    if k not in payload or k not in live or not _same(payload[k], live[k]))
    if fields or _jcs(live) != committed:
        return _mismatch(diffs + fields or ["(canonical form)"], "trace tag ario.payload_json")
    return _mismatch(diffs) if diffs else _OK_STORED_TAG


def _training_live(payload: dict[str, Any], surface: Mapping[str, Any]
                   ) -> tuple[dict[str, Any], list[str]]:
    live: dict[str, Any] = {}
    missing: list[str] = []
    params, metrics, tags = surface.get("params"), surface.get("metrics"), surface.get("tags")
    if isinstance(params, dict):
        live["params"] = dict(params)
    else:
        missing.append("params")
    if isinstance(metrics, dict):
        live["metrics"] = mp.normalize_floats(dict(metrics))
    else:
        missing.append("metrics")
    if isinstance(tags, dict):
        live["source_name"] = tags.get("mlflow.source.name") or ""
        live["git_commit"] = tags.get("mlflow.source.git.commit") or ""
    else:
        missing += ["source_name", "git_commit"]
    if "dataset_inputs" in payload:
        inputs = surface.get("dataset_inputs")
        if isinstance(inputs, list) and all(isinstance(i, dict) for i in inputs):
            live["dataset_inputs"] = mp.sort_dataset_inputs(_dataset_input(i) for i in inputs)
        else:
            missing.append("dataset_inputs")
    return live, missing


def _dataset_input(item: Mapping[str, Any]) -> dict[str, Any]:
    if "schema_hash" in item:
        return {k: item.get(k) for k in ("name", "source", "source_type", "digest", "schema_hash",
                                         "context")}
    return mp.dataset_input(item.get("name"), item.get("source"), item.get("source_type"),
                            item.get("digest"), item.get("schema"), item.get("context"))


def _registration_live(payload: dict[str, Any], surface: Mapping[str, Any]
                       ) -> tuple[dict[str, Any], list[str]]:
    live, missing = _registry_fields(payload, surface)
    run_tags = surface.get("run_tags")
    if isinstance(run_tags, dict):
        live["artifact_hash"] = run_tags.get(mp.TAG_ARTIFACT_HASH) or None
    else:
        missing.append("artifact_hash")
    return live, missing


def _registry_fields(payload: dict[str, Any], surface: Mapping[str, Any] | None
                     ) -> tuple[dict[str, Any], list[str]]:
    """model_name/model_version (and a registration's source run) as the registry has them."""
    live: dict[str, Any] = {}
    if not surface:
        return live, []
    for field, key in (("model_name", "model_name"), ("model_version", "model_version"),
                       ("source_run_id", "run_id")):
        if field in payload and isinstance(surface.get(key), (str, int)):
            live[field] = str(surface[key])
    return live, []


def _rebuild(payload: dict[str, Any], committed: bytes, live: dict[str, Any] | None,
             missing: list[str], diffs: list[str], where: str) -> Check:
    """The plugin's check 3: rebuilt = original | live, JCS(rebuilt) == committed bytes."""
    if live is None:
        return _mismatch(diffs) if diffs else problem(
            CHECK, R.SURFACE_UNAVAILABLE, f"no {where} surface to re-derive the record")
    fields = diffs + sorted(k for k, v in live.items() if k not in payload or not _same(payload[k], v))
    if not fields and _jcs({**payload, **live}) != committed:
        fields = ["(canonical form)"]
    if fields:
        return _mismatch(fields, where)
    if missing:
        return problem(CHECK, R.SURFACE_UNAVAILABLE,
                       f"{where} lacks {', '.join(missing)}; those fields were not re-derived")
    return passed(CHECK, f"re-derived from the {where}: " + ", ".join(sorted(live)) if live
                  else f"matches the {where}")


def current_record(event_type: Any, payload: Mapping[str, Any],
                   surface: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The re-derivable fields as the surface has them now (None: no surface or no rule),
    for views that show an anchored-vs-current diff; the verdict never uses this."""
    if not isinstance(surface, dict):
        return None
    if event_type == mp.TRAINING:
        return _training_live(dict(payload), surface)[0]
    if event_type == mp.REGISTRATION:
        return _registration_live(dict(payload), surface)[0]
    if event_type == mp.PROMOTION:
        return _registry_fields(dict(payload), surface)[0]
    if event_type == mp.DATASET:
        return dataset_payload(surface)
    if event_type == mp.PREDICTION:
        tag = _trace_tag(surface)
        try:
            live = parse(tag).value if tag is not None else None
        except Malformed:
            return None
        return live if isinstance(live, dict) else None
    return None


def _mismatch(fields: list[str], where: str = "MLflow") -> Check:
    return problem(CHECK, R.RECORD_MISMATCH, f"differs from the {where}: {', '.join(fields)}")


_SUBJECT_FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    mp.TRAINING: (("run_id", "run_id"),),
    mp.REGISTRATION: (("name", "model_name"), ("version", "model_version")),
    mp.PROMOTION: (("name", "model_name"), ("version", "model_version")),
    mp.PREDICTION: (("decision_id", "decision_id"), ("model_run_id", "run_id")),
    mp.DATASET: (("name", "name"), ("digest", "digest")),
}


def _subject_diffs(event_type: Any, subject: Any, payload: dict[str, Any]) -> list[str]:
    """Signed subject fields that contradict the committed payload."""
    if not isinstance(subject, dict) or not isinstance(event_type, str):
        return []
    return [f"subject.{s}" for s, p in _SUBJECT_FIELDS.get(event_type, ())
            if s in subject and p in payload and subject[s] != payload[p]]

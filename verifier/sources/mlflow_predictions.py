"""Registration, promotion and prediction records of one model version (see mlflow_reader).

The plugin writes these artifacts on the model version's *source run*: fixed-name
``registration_*`` files (a later registration of the same run overwrites them, so they
are attached only when they name this version), ``promotions/<event_id>/`` and
``predictions/<decision_id>/``. Promotion tx ids: ``ario.promotion_tx`` keeps only the
latest (matched through ``ario.promotion_payload_hash``); earlier ones are found through
our data items. Prediction tx ids come from the trace tag ``ario.prediction_tx`` (legacy
``ario.arweave_tx``) or from data items.
"""

from __future__ import annotations

import hashlib
import pickle
import tempfile
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from verifier.core import mlflow_profile as P
from verifier.sources.mlflow_models import logged_model_name
from verifier.sources.mlflow_runfiles import RunFiles, loose_json

if TYPE_CHECKING:
    from verifier.sources.mlflow_reader import LineageReader

_LEGACY_PREDICTION_TX = "ario.arweave_tx"


def _names_version(doc: dict[str, Any] | None, name: str, version: str) -> bool | None:
    """True/False if `doc` (payload) names a model version; None if it does not say."""
    if not doc or "model_name" not in doc or "model_version" not in doc:
        return None
    return doc.get("model_name") == name and str(doc.get("model_version")) == version


def _subject_names_version(env: dict[str, Any] | None, name: str, version: str) -> bool | None:
    subject = (env or {}).get("subject")
    if not isinstance(subject, dict) or "name" not in subject:
        return None
    return subject.get("name") == name and str(subject.get("version")) == version


def _mv_surface(mv: Any) -> dict[str, Any]:
    return {"model_name": mv.name, "model_version": str(mv.version),
            "current_stage": getattr(mv, "current_stage", None), "tags": dict(mv.tags or {})}


def _runs_uri_path(source: str | None) -> str | None:
    if not source or not source.startswith("runs:/"):
        return None
    rest = source[len("runs:/"):].lstrip("/")
    return (rest.split("/", 1)[1] or None) if "/" in rest else None


def add_registration(reader: LineageReader, mv: Any) -> None:
    """The model_registered event of `mv` (artifacts on its source run)."""
    name, version = mv.name, str(mv.version)
    ident = f"{name}/{version}"
    tags = dict(mv.tags or {})
    tx = tags.get(P.TAG_REGISTRATION_TX) or None
    rf = reader.files(mv.run_id) if mv.run_id else None
    run = reader.run(mv.run_id) if mv.run_id else None
    surface = _mv_surface(mv)
    path = (_runs_uri_path(mv.source) or logged_model_name(reader.store, mv.source, mv.run_id)
            or "model")
    checks, err = reader.checksums(mv.run_id, path) if mv.run_id else (None, "no source run")
    surface.update(source=mv.source, run_id=mv.run_id,
                   run_tags=dict(run.data.tags) if run is not None else None,
                   artifact_path=path, artifact_checksums=checks)
    if err:
        surface["artifact_error"] = err
    proof, payload = "registration_proof.json", "registration_payload.json"
    if rf is not None:
        owns_payload = _names_version(loose_json(rf.get(payload)), name, version)
        owns_proof = _subject_names_version(loose_json(rf.get(proof)), name, version)
        if owns_payload is False or owns_proof is False:
            reader.gap(f"registration {ident}", "the run's registration artifacts belong to "
                                                "another model version (overwritten)")
            proof = payload = None  # type: ignore[assignment]
    if not tx and (rf is None or proof is None or rf.get(proof) is None):
        reader.gap(f"registration {ident}",
                   "not anchored: no ario.registration_tx tag and no registration proof")
        return
    reader.add_record(P.REGISTRATION, ident, tx_id=tx, tx_source=f"tag:{P.TAG_REGISTRATION_TX}",
                      rf=rf, proof=proof, payload=payload,
                      fixed_receipts=("registration_receipt.json",), surface=surface,
                      hints={"model_name": name, "model_version": version,
                             "run_id": mv.run_id or "",
                             "payload_hash": tags.get(P.TAG_PAYLOAD_HASH, "")})


def add_promotions(reader: LineageReader, mv: Any) -> None:
    """Every stage_transition event of `mv` found on its source run or in its tags."""
    name, version = mv.name, str(mv.version)
    tags = dict(mv.tags or {})
    latest_tx = tags.get(P.TAG_PROMOTION_TX) or None
    latest_hash = tags.get(P.TAG_PROMOTION_PAYLOAD_HASH) or None
    rf = reader.files(mv.run_id) if mv.run_id else None
    mine: list[str] = []
    for eid in rf.subdirs("promotions") if rf else []:
        payload = rf.get(f"promotions/{eid}/payload.json")  # type: ignore[union-attr]
        if _names_version(loose_json(payload), name, version) is not False:
            mine.append(eid)
    latest_eid = None
    if latest_tx and rf is not None:
        by_hash = [e for e in mine if latest_hash and hashlib.sha256(
            rf.get(f"promotions/{e}/payload.json") or b"").hexdigest() == latest_hash]
        by_item = [e for e in mine if rf.tx_by_event.get(e) == latest_tx]
        pick = by_item or by_hash or (mine if len(mine) == 1 else [])
        latest_eid = pick[0] if pick else None
    surface = _mv_surface(mv)
    for eid in mine:
        tx = latest_tx if eid == latest_eid else None
        base = f"promotions/{eid}/"
        rec = reader.add_record(P.PROMOTION, eid, tx_id=tx, tx_source=f"tag:{P.TAG_PROMOTION_TX}",
                                rf=rf, proof=base + "proof.json", payload=base + "payload.json",
                                surface=surface, hints={"model_name": name,
                                                        "model_version": version,
                                                        "event_id": eid})
        if rec is not None and rec.tx_id is None:
            reader.gap(f"stage_transition {eid}", "no tx id recorded (ario.promotion_tx keeps "
                                                  "only the latest promotion)")
    if latest_tx and latest_eid is None:
        reader.add_record(P.PROMOTION, latest_tx, tx_id=latest_tx,
                          tx_source=f"tag:{P.TAG_PROMOTION_TX}", rf=rf, proof=None, payload=None,
                          surface=surface, hints={"model_name": name, "model_version": version,
                                                  "payload_hash": latest_hash or ""})
        reader.gap(f"stage_transition {latest_tx}", "no promotion payload artifact matches "
                                                    "ario.promotion_tx")


def _trace_tx(tags: dict[str, str]) -> tuple[str | None, str]:
    if tags.get(P.TAG_PREDICTION_TX):
        return tags[P.TAG_PREDICTION_TX], f"trace-tag:{P.TAG_PREDICTION_TX}"
    if tags.get(_LEGACY_PREDICTION_TX):
        return tags[_LEGACY_PREDICTION_TX], f"trace-tag:{_LEGACY_PREDICTION_TX}"
    return None, ""


def _decision_of(tags: dict[str, str]) -> str | None:
    did = tags.get(P.TAG_DECISION_ID) or (loose_json(
        tags.get(P.TAG_PAYLOAD_JSON, "").encode("utf-8", "surrogatepass")) or {}).get("decision_id")
    return did if isinstance(did, str) and did else None


def add_prediction(reader: LineageReader, rf: RunFiles | None, did: str, mv: Any,
                   trace: tuple[str, dict[str, str]] | None) -> None:
    """One prediction: artifacts ``predictions/<did>/`` plus its trace surface."""
    base = f"predictions/{did}/"
    has_files = rf is not None and (rf.get(base + "proof.json") or rf.get(base + "payload.json"))
    tx, source = _trace_tx(trace[1]) if trace else (None, "")
    if trace is None:
        payload = loose_json(rf.get(base + "payload.json")) if rf else None
        tid = (payload or {}).get("mlflow_trace_id")
        if isinstance(tid, str) and tid:
            tags, why = reader.store.trace_tags(tid)
            if tags is not None:
                trace = (tid, tags)
                tx, source = _trace_tx(tags)
            else:
                reader.gap(f"prediction {did}", f"trace {tid}: {why}")
    if not has_files and not tx:
        status = trace[1].get(P.TAG_PROOF_STATUS, "unknown") if trace else "unknown"
        reader.gap(f"prediction {did}", f"not anchored (proof_status={status})")
        return
    surface = {"trace_id": trace[0], "trace_tags": trace[1]} if trace else None
    if trace is None:
        reader.gap(f"prediction {did}", "no MLflow trace found for this decision")
    reader.add_record(P.PREDICTION, did, tx_id=tx, tx_source=source, rf=rf,
                      proof=base + "proof.json" if has_files else None,
                      payload=base + "payload.json", surface=surface,
                      hints={"decision_id": did, "model_name": mv.name if mv else "",
                             "model_version": str(mv.version) if mv else "",
                             "trace_id": trace[0] if trace else ""})


class TraceIndex:
    """The traces of one model version by decision id (the first trace of each wins):
    (trace id, tags) go to an unnamed temporary file as they are scanned and only
    decision id -> file offset stays in memory (one entry per prediction)."""

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile(prefix="ario-traces-")
        self._offsets: dict[str, int] = {}

    def add(self, did: str, tid: str, tags: dict[str, str]) -> None:
        """Remember `did`'s trace unless it already has one."""
        if did not in self._offsets:
            self._offsets[did] = self._file.tell()
            pickle.dump((tid, tags), self._file, protocol=pickle.HIGHEST_PROTOCOL)

    def get(self, did: str) -> tuple[str, dict[str, str]] | None:
        """(trace id, tags) of `did`'s trace, if any (our own file: safe to unpickle)."""
        offset = self._offsets.get(did)
        if offset is None:
            return None
        end = self._file.tell()
        self._file.seek(offset)
        trace = pickle.load(self._file)
        self._file.seek(end)
        return trace

    def __iter__(self) -> Iterator[str]:
        return iter(self._offsets)

    def close(self) -> None:
        """Remove the temporary file."""
        self._file.close()


def add_predictions(reader: LineageReader, mv: Any) -> None:
    """All predictions of `mv`: artifacts on its source run and traces tagged with it.
    A streaming reader (``reader.sink``) hands them on a chunk at a time."""
    name, version = mv.name, str(mv.version)
    rf = reader.files(mv.run_id) if mv.run_id else None
    traces = TraceIndex()
    try:
        def visit(tid: str, tags: dict[str, str]) -> None:
            did = _decision_of(tags)
            if did and tags.get("ario.model_version", version) == version:
                traces.add(did, tid, tags)

        why = reader.store.traces_for_model(name, visit)
        if why:
            reader.gap(f"traces of {name}", why)
        dids = []
        for did in rf.subdirs("predictions") if rf else []:
            payload = loose_json(rf.get(f"predictions/{did}/payload.json"))  # type: ignore[union-attr]
            if _names_version(payload, name, version) is not False:
                dids.append(did)
        dids += sorted(set(traces) - set(dids))
        limit = reader.limits.max_predictions
        if len(dids) > limit:
            reader.gap(f"predictions of {name}/{version}",
                       f"only the first {limit} of {len(dids)} read")
        start = len(reader.col.records)
        for did in dids[:limit]:
            add_prediction(reader, rf, did, mv, traces.get(did))
            reader.hand_on(start)
        reader.hand_on(start, final=True)
    finally:
        traces.close()


def add_trace_target(reader: LineageReader, trace_id: str) -> None:
    """``traces:/ID``: the model version lineage (without other predictions) and this one."""
    tags, why = reader.store.trace_tags(trace_id)
    if tags is None:
        reader.gap(f"trace {trace_id}", why or "unavailable")
        return
    payload = loose_json(tags.get(P.TAG_PAYLOAD_JSON, "").encode("utf-8", "surrogatepass")) or {}
    name = tags.get("ario.model_name") or payload.get("model_name")
    version = tags.get("ario.model_version") or payload.get("model_version")
    did = _decision_of(tags)
    mv = reader.add_model_version(name, str(version)) if name and version else None
    if mv is None:
        reader.gap(f"trace {trace_id}", "model version of this prediction could not be resolved")
    if did is None:
        reader.gap(f"trace {trace_id}", "no ario.decision_id tag or ario.payload_json")
        did = trace_id
    rf = reader.files(mv.run_id) if mv is not None and mv.run_id else None
    add_prediction(reader, rf, did, mv, (trace_id, tags))

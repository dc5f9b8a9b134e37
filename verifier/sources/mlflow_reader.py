"""Resolve an audit target in MLflow to the ario records of its lineage (a `Collection`).

Targets: ``models:/NAME/VERSION`` (or ``models:/NAME@ALIAS``) gives the model version's
training run (and earlier training runs its ``previous_hash`` chain names), dataset events,
registration, promotions and predictions; ``runs:/RUN_ID`` a run's training and datasets;
``traces:/TRACE_ID`` one prediction plus the lineage of its model version.

Where things are (ar-io-mlflow 0.1.0-0.3.0 and our anchoring module): see
spec/audit-bundle.md §4. Local proof artifacts are only hints: given a `GatewayClient`,
envelope bytes come from the gateways by tx id (``envelope_origin`` ``gateway:<url>``),
and the local copy is kept only when no gateway delivered. Anything missing becomes a
`Collection.gaps` entry, never an exception.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from verifier.core import mlflow_profile as P
from verifier.core.ans104 import parse_data_item
from verifier.core.errors import Malformed
from verifier.sources.fill import fill_from_gateways
from verifier.sources.mlflow_runfiles import RunFiles, loose_json
from verifier.sources.mlflow_models import logged_model_paths, model_checksums
from verifier.sources.mlflow_store import MlflowStore, ReaderLimits, short_error
from verifier.sources.model import Collection, EventRecord

_HEX64 = re.compile(r"[0-9a-f]{64}")
_SAFE_ID = re.compile(r"[A-Za-z0-9_.:-]{1,128}")


@dataclass(frozen=True)
class Target:
    """A parsed audit target."""

    kind: str  # "model" | "run" | "trace"
    name: str = ""
    version: str = ""
    run_id: str = ""
    trace_id: str = ""


def parse_target(text: str) -> Target:
    """Parse ``models:/NAME/VERSION``, ``models:/NAME@ALIAS``, ``runs:/ID`` or ``traces:/ID``."""
    if text.startswith("models:/"):
        rest = text[len("models:/"):]
        if "@" in rest:
            name, alias = rest.rsplit("@", 1)
            if name and alias and "/" not in alias:
                return Target("model", name=name, version="@" + alias)
        else:
            name, _, version = rest.rpartition("/")
            if name and version.isdigit():
                return Target("model", name=name, version=version)
    elif text.startswith("runs:/"):
        run_id = text[len("runs:/"):].strip("/")
        if _SAFE_ID.fullmatch(run_id):
            return Target("run", run_id=run_id)
    elif text.startswith("traces:/"):
        trace_id = text[len("traces:/"):].strip("/")
        if _SAFE_ID.fullmatch(trace_id):
            return Target("trace", trace_id=trace_id)
    raise ValueError(f"unsupported audit target {text!r}: expected models:/NAME/VERSION, "
                     "models:/NAME@ALIAS, runs:/RUN_ID or traces:/TRACE_ID")


def read_mlflow(tracking_uri: str, target: str, *, registry_uri: str | None = None,
                gateway: Any = None, limits: ReaderLimits = ReaderLimits(),
                include_predictions: bool = True) -> Collection:
    """Collect the lineage of `target`. `gateway` is an optional `GatewayClient`; an
    offline one makes the read offline too (no remote store, no remote artifacts).

    Raises ValueError for an unparseable target and `MlflowUnavailable` when the store
    cannot be opened; everything else missing becomes a gap.
    """
    parsed = parse_target(target)
    offline = bool(getattr(gateway, "offline", False))
    with MlflowStore(tracking_uri, registry_uri, limits=limits, offline=offline) as store:
        collection = LineageReader(store, gateway).read(parsed, target, include_predictions)
        collection.source = dict(store.details)
        return collection


def envelope_from_item(record: EventRecord) -> None:
    """Without gateway bytes, a data item's data (the uploaded ``JCS(envelope)``, bound
    to the tx id by the item's own signature) beats a local ``proof.json`` (indented, not
    the uploaded bytes). Origin ``dataitem:<where the item came from>``."""
    if record.data_item is None or (record.envelope_origin or "").startswith(("gateway:", "cache:")):
        return
    try:
        data = parse_data_item(record.data_item).data
    except Malformed:
        return  # the audit reports the broken item; keep whatever envelope hint there is
    if record.envelope_origin:
        record.hints["local_envelope_origin"] = record.envelope_origin
    record.envelope = data
    record.envelope_origin = f"dataitem:{record.hints.get('data_item_origin', 'unknown')}"


class LineageReader:
    """Builds one `Collection`; holds per-run caches while doing so.

    With a `sink`, a model version's predictions are not kept: each `chunk` of them is
    filled from the gateways and passed to ``sink(records)`` as soon as it is complete;
    the `Collection` then holds the lineage only (see `verifier.sources.mlflow_export`).
    Everything else happens in the same order as without a sink."""

    def __init__(self, store: MlflowStore, gateway: Any = None, *,
                 sink: Callable[[list[EventRecord]], None] | None = None,
                 chunk: int = 512) -> None:
        self.store = store
        self.gateway = gateway
        self.sink, self.chunk = sink, chunk
        self.limits = store.limits
        self._runs: dict[str, Any] = {}
        self._files: dict[str, RunFiles] = {}
        self._checksums: dict[tuple[str, str], tuple[dict[str, str] | None, str | None]] = {}
        self._keys: set[tuple[str, str]] = set()
        self._trainings: list[EventRecord] = []
        self.col = Collection(target="")

    # -- entry ----------------------------------------------------------------------------

    def read(self, target: Target, text: str, include_predictions: bool = True) -> Collection:
        """Collect everything for `target`, fill from gateways, follow the training chain."""
        from verifier.sources.mlflow_predictions import add_predictions, add_trace_target

        self.col = Collection(target=text)
        if target.kind == "run":
            self.add_training(target.run_id, required=True)
        elif target.kind == "model":
            mv = self.add_model_version(target.name, target.version)
            if mv is not None and include_predictions:
                add_predictions(self, mv)
        else:
            add_trace_target(self, target.trace_id)
        self.fill_from_gateway()
        self.follow_training_chain()
        return self.col

    def hand_on(self, start: int, final: bool = False) -> None:
        """With a sink: once `chunk` records were added after index `start` (or at the
        end, `final`), fill them from the gateways, pass them on and drop them."""
        records = self.col.records
        if self.sink is None or len(records) <= start:
            return
        if final or len(records) - start >= self.chunk:
            batch = records[start:]
            del records[start:]
            if self.gateway is not None:
                fill_from_gateways(batch, self.gateway)
            self.sink(batch)

    def gap(self, what: str, why: str) -> None:
        """Record something that could not be read."""
        self.col.gaps.append((what, why))

    # -- cached access ------------------------------------------------------------------------

    def run(self, run_id: str) -> Any | None:
        """The run, cached; a gap when it cannot be read."""
        if run_id not in self._runs:
            try:
                self._runs[run_id] = self.store.run(run_id)
            except Exception as exc:  # noqa: BLE001
                self._runs[run_id] = None
                self.gap(f"run {run_id}", f"cannot read run: {short_error(exc)}")
        return self._runs[run_id]

    def files(self, run_id: str) -> RunFiles:
        """The run's ario/ files, cached; problems become gaps."""
        if run_id not in self._files:
            files, problem = self.store.ario_files(run_id)
            if problem:
                self.gap(f"run {run_id} ario/ artifacts", problem)
            rf = RunFiles(run_id, files)
            for what, why in rf.problems:
                self.gap(what, why)
            self._files[run_id] = rf
        return self._files[run_id]

    def checksums(self, run_id: str, path: str) -> tuple[dict[str, str] | None, str | None]:
        """Model file checksums at `path` of a run, cached."""
        key = (run_id, path)
        if key not in self._checksums:
            self._checksums[key] = model_checksums(self.store, run_id, path)
        return self._checksums[key]

    # -- records ------------------------------------------------------------------------------

    def add_record(self, event_type: str, ident: str, *, tx_id: str | None, tx_source: str,
                   rf: RunFiles | None, proof: str | None, payload: str | None,
                   fixed_receipts: tuple[str, ...] = (), surface: dict[str, Any] | None,
                   hints: dict[str, str]) -> EventRecord | None:
        """Add one event; de-duplicated by tx id (else by type and identifier)."""
        envelope = rf.get(proof) if (rf and proof) else None
        env = loose_json(envelope) or {}
        if tx_id is None and rf is not None:
            legacy = env.get("_tx_id")
            if isinstance(legacy, str) and legacy:
                tx_id, tx_source = legacy, "proof:_tx_id"
            elif isinstance(env.get("event_id"), str) and env["event_id"] in rf.tx_by_event:
                tx_id, tx_source = rf.tx_by_event[env["event_id"]], "dataitem:Event-Id"
        key = ("tx", tx_id) if tx_id else (event_type, ident)
        if key in self._keys:
            return None
        self._keys.add(key)
        record = EventRecord(tx_id=tx_id, surface=surface)
        record.hints = {"event_type": event_type, **{k: v for k, v in hints.items() if v}}
        if tx_id:
            record.hints["tx_source"] = tx_source
        if isinstance(env.get("event_id"), str):
            record.hints.setdefault("event_id", env["event_id"])
        if envelope is not None and rf is not None and proof:
            record.envelope, record.envelope_origin = envelope, rf.origin(proof)
        if rf is not None and payload and rf.get(payload) is not None:
            record.payload, record.payload_origin = rf.get(payload), rf.origin(payload)
        elif payload:
            self.gap(f"{event_type} {ident}", f"payload artifact ario/{payload} is missing")
        if tx_id:
            for files in [rf, *self._files.values()] if rf else self._files.values():
                if files is not None and record.data_item is None and tx_id in files.items:
                    record.data_item = files.item(tx_id)
                    record.hints["data_item_origin"] = files.origin(f"dataitem/{tx_id}.bin")
            if rf is not None:
                record.receipt = rf.receipt_for(tx_id, *fixed_receipts)
        envelope_from_item(record)
        self.col.records.append(record)
        return record

    def add_training(self, run_id: str, *, required: bool) -> EventRecord | None:
        """The run's training event and its dataset events; model files as they are now."""
        run = self.run(run_id)
        if run is None:
            return None
        rf = self.files(run_id)
        tags = run.data.tags
        paths = logged_model_paths(self.store, run)
        path = paths[0] if len(paths) == 1 else "model"
        checks, err = self.checksums(run_id, path)
        if checks is not None:
            self.col.model_files[run_id] = checks
        else:
            self.gap(f"model files of run {run_id} at {path!r}", err or "unavailable")
        surface = self.store.run_surface(run)
        surface.update(artifact_path=path, logged_model_paths=paths, artifact_checksums=checks)
        if err:
            surface["artifact_error"] = err
        tx = tags.get(P.TAG_TRAINING_TX) or None
        record = None
        if tx or rf.get("proof.json") is not None or rf.get("payload.json") is not None:
            record = self.add_record(
                P.TRAINING, run_id, tx_id=tx, tx_source=f"tag:{P.TAG_TRAINING_TX}", rf=rf,
                proof="proof.json", payload="payload.json", fixed_receipts=("receipt.json",),
                surface=surface, hints={"run_id": run_id,
                                        "payload_hash": tags.get(P.TAG_PAYLOAD_HASH, "")})
            if record is not None:
                self._trainings.append(record)
        elif required:
            self.gap(f"training run {run_id}",
                     "not anchored: no ario.training_tx tag and no ario/proof.json")
        self._add_datasets(run, rf, surface["dataset_inputs"])
        return record

    def _add_datasets(self, run: Any, rf: RunFiles, inputs: list[dict[str, Any]]) -> None:
        prefix = P.TAG_DATASET_ANCHOR_TX_PREFIX
        for key, tx in sorted(run.data.tags.items()):
            if not key.startswith(prefix) or not tx:
                continue
            name = key[len(prefix):]
            matches = [d for d in inputs if d.get("name") == name]
            surface = None
            if matches:
                first = matches[0]
                surface = {k: first.get(k) for k in ("name", "digest", "source", "source_type",
                                                     "schema")}
                surface["run_id"] = run.info.run_id
                if len({m.get("digest") for m in matches}) > 1:
                    surface["candidates"] = [{k: m.get(k) for k in surface if k != "run_id"}
                                             for m in matches]
            else:
                self.gap(f"dataset {name}", f"run {run.info.run_id} has no dataset input named "
                                            f"{name!r} (tag {key})")
            self.add_record(P.DATASET, f"{run.info.run_id}:{name}", tx_id=tx,
                            tx_source=f"tag:{key}", rf=rf, proof=None, payload=None,
                            surface=surface, hints={"dataset_name": name,
                                                    "run_id": run.info.run_id})

    def add_model_version(self, name: str, version: str) -> Any | None:
        """Training, datasets, registration and promotions of one model version."""
        try:
            mv = self.store.model_version(name, version)
        except Exception as exc:  # noqa: BLE001
            self.gap(f"model version {name}/{version}", f"cannot read: {short_error(exc)}")
            return None
        from verifier.sources.mlflow_predictions import add_promotions, add_registration

        if not mv.run_id:
            self.gap(f"model version {name}/{mv.version}", "has no source run id")
        else:
            self.add_training(mv.run_id, required=True)
        add_registration(self, mv)
        add_promotions(self, mv)
        return mv

    # -- gateways and chain -------------------------------------------------------------------

    def fill_from_gateway(self) -> None:
        """Gateway bytes for the records, bound data items, lost tx ids (sources/fill.py)."""
        if self.gateway is not None:
            fill_from_gateways(self.col.records, self.gateway)

    def follow_training_chain(self) -> None:
        """Add earlier training runs named by training ``previous_hash`` (payload hashes)."""
        done: set[str] = set()
        for _ in range(self.limits.max_chain_depth):
            pending = []
            for rec in self._trainings:
                prev = (loose_json(rec.envelope) or {}).get("previous_hash")
                if isinstance(prev, str) and _HEX64.fullmatch(prev) and prev not in done:
                    pending.append(prev)
            if not pending:
                return
            known = {r.hints.get("payload_hash") for r in self._trainings}
            for prev in pending:
                done.add(prev)
                if prev in known:
                    continue
                try:
                    runs = self.store.runs_with_tag(P.TAG_PAYLOAD_HASH, prev)
                except Exception as exc:  # noqa: BLE001
                    self.gap("training chain", f"run search failed: {short_error(exc)}")
                    return
                if not runs:
                    self.gap("training chain", f"no run carries ario.payload_hash {prev}")
                for run in runs:
                    self._runs.setdefault(run.info.run_id, run)
                    self.add_training(run.info.run_id, required=False)
            self.fill_from_gateway()
        self.gap("training chain", f"stopped after {self.limits.max_chain_depth} earlier runs")

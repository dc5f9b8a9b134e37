"""Anchor a training run (with its logged datasets) and stand-alone datasets.

`anchor_run` does what ar-io-mlflow's ``anchor()`` does, from inside
``mlflow.start_run()`` or for a finished run by id: each logged dataset input is anchored
first as a ``dataset`` event (GENESIS), then the ``training_complete`` event, with the
plugin's tags and artifacts plus ``ario/dataitem/<id>.bin`` and ``ario/receipts/<tx>.json``
(spec/anchoring.md §7). `anchor_dataset` is the publisher pattern: one ``dataset`` event,
no run, returning the tx id.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any, Mapping

from . import mlflow_access as mx
from . import payloads as P
from .envelopes import proof_json_bytes
from .publish import AnchorResult, Anchorer

logger = logging.getLogger(__name__)


@dataclass
class RunAnchoring:
    """What `anchor_run` did. ``status`` is ``anchored`` only if every event was uploaded."""

    run_id: str
    training: AnchorResult
    datasets: list[AnchorResult] = field(default_factory=list)
    artifact_path: str = "model"
    artifact_status: str = "no_artifacts"  # hashed | no_artifacts | hash_failed
    artifact_error: str | None = None
    registered_model: str | None = None
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def status(self) -> str:
        ok = self.training.anchored and all(d.anchored for d in self.datasets)
        return "anchored" if ok else "signed"

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id, "status": self.status,
            "training": self.training.to_json(),
            "datasets": [d.to_json() for d in self.datasets],
            "artifact_path": self.artifact_path, "artifact_status": self.artifact_status,
            "artifact_error": self.artifact_error, "registered_model": self.registered_model,
        }


def default_anchorer(anchorer: Anchorer | None) -> Anchorer:
    """The given anchorer, or one from the process environment (creates key/wallet once)."""
    if anchorer is not None:
        return anchorer
    made = Anchorer.from_environment(environ=os.environ)
    if made.wallet is not None and made.wallet.created:
        logger.warning("created upload wallet %s at %s", made.wallet.address, made.wallet.path)
    return made


def _dataitem_files(result: AnchorResult) -> dict[str, bytes]:
    if result.data_item is None or result.item_id is None:
        return {}
    return {f"ario/dataitem/{result.item_id}.bin": result.data_item}


def _anchored_files(result: AnchorResult, receipt_name: str | None) -> dict[str, bytes]:
    if not result.anchored:
        return {}
    receipt = mx.receipt_bytes(result.receipt or {})
    files = {f"ario/receipts/{result.tx_id}.json": receipt}
    if receipt_name:
        files[f"ario/{receipt_name}"] = receipt
    if result.data_item is not None:
        files[f"ario/dataitem/{result.tx_id}.bin"] = result.data_item
    return files


def _pending_files_action(run_id: str, receipt_name: str | None) -> dict[str, Any]:
    files = {"ario/receipts/{tx_id}.json": "receipt", "ario/dataitem/{tx_id}.bin": "data_item"}
    if receipt_name:
        files[f"ario/{receipt_name}"] = "receipt"
    return {"op": "run_files", "run_id": run_id, "files": files}


def finish(anchorer: Anchorer, result: AnchorResult, *, tracking_uri: str,
           actions: list[dict[str, Any]]) -> None:
    """After the upload attempt: queue `actions` in the outbox if it did not succeed."""
    if not result.anchored:
        anchorer.record_pending(result, tracking_uri=tracking_uri, actions=actions)


# -- datasets -----------------------------------------------------------------------------


def seal_dataset(anchorer: Anchorer, dataset: Any) -> AnchorResult:
    ident = mx.dataset_identity(dataset)
    payload = P.Payload.of(P.dataset_payload(**ident))
    result = anchorer.seal(event_type=P.DATASET, subject=P.dataset_subject(ident["name"], ident["digest"]),
                           payload=payload, previous_hash=P.GENESIS)
    result.extra["dataset_name"] = ident["name"]
    return result


def anchor_dataset(dataset: Any, *, anchorer: Anchorer | None = None) -> AnchorResult:
    """Anchor one ``mlflow.data`` dataset (or dataset entity / mapping) with no run.

    Returns the result; ``result.tx_id`` is what a publisher hands to downstream trainers.
    If the upload fails the signed event waits in the outbox (``result.pending_path``).
    """
    anchorer = default_anchorer(anchorer)
    result = anchorer.upload(seal_dataset(anchorer, dataset))
    if not result.anchored:
        anchorer.record_pending(result, tracking_uri=None, actions=[])
    return result


def _anchor_run_dataset(anchorer: Anchorer, client: Any, run_id: str, tracking_uri: str,
                        dataset: Any) -> AnchorResult:
    result = anchorer.upload(seal_dataset(anchorer, dataset))
    name = result.extra["dataset_name"]
    tag = f"{P.TAG_DATASET_ANCHOR_TX_PREFIX}{name}"
    files = {**_dataitem_files(result), **_anchored_files(result, None)}
    try:
        mx.log_files(client, run_id, files)
        if result.anchored:
            client.set_tag(run_id, tag, result.tx_id)
    except Exception as exc:  # noqa: BLE001 - the plugin also only warns here
        logger.warning("could not record dataset %r anchor on run %s: %s", name, run_id, exc)
    finish(anchorer, result, tracking_uri=tracking_uri, actions=[
        {"op": "run_tags", "run_id": run_id, "tags": {tag: "{tx_id}"}},
        _pending_files_action(run_id, None),
    ])
    return result


# -- training -----------------------------------------------------------------------------


def _registered_model_for(client: Any, run_id: str) -> str | None:
    try:
        found = client.search_model_versions(f"run_id='{run_id}'")
    except Exception:  # noqa: BLE001
        return None
    return found[0].name if found else None


def anchor_run(
    run_id: str | None = None,
    *,
    anchorer: Anchorer | None = None,
    tracking_uri: str | None = None,
    artifact_path: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    capture_otel: bool = True,
    allow_empty_dataset_inputs: bool = False,
) -> RunAnchoring:
    """Anchor a training run: its dataset inputs first, then ``training_complete``.

    Without `run_id` the active run (``mlflow.active_run()``) is anchored and the tracking
    URI defaults to MLflow's current one. Refuses a run without logged dataset inputs
    unless `allow_empty_dataset_inputs` (the plugin's rule). Upload failures leave every
    event signed, tagged ``signed`` and queued for `retry_pending`.
    """
    import mlflow

    if run_id is None:
        active = mlflow.active_run()
        if active is None:
            raise RuntimeError("anchor_run() needs a run id or an active MLflow run")
        run_id = active.info.run_id
    uri = mx.resolved_tracking_uri(tracking_uri)
    client = mx.client_for(uri)
    run = client.get_run(run_id)
    anchorer = default_anchorer(anchorer)

    path = mx.resolve_artifact_path(client, run, artifact_path)
    status, error = "no_artifacts", None
    try:
        checksums, _ = mx.model_checksums(client, run, path)
        status = "hashed" if checksums else "no_artifacts"
    except mx.ArtifactAccessError as exc:
        logger.warning("no artifact hash for run %s: %s", run_id, exc)
        checksums, status, error = {}, "hash_failed", str(exc)
    art_hash = P.artifact_hash(checksums)

    inputs = mx.run_dataset_inputs(run)
    if not inputs and not allow_empty_dataset_inputs:
        raise ValueError("run has no logged dataset inputs; call mlflow.log_input(dataset, "
                         "context=...) first or pass allow_empty_dataset_inputs=True")
    datasets = []
    for entity, _entry in inputs:
        try:
            datasets.append(_anchor_run_dataset(anchorer, client, run_id, uri, entity))
        except Exception as exc:  # noqa: BLE001 - the training proof still inlines the dataset
            logger.warning("dataset %r of run %s not anchored: %s",
                           getattr(entity, "name", None), run_id, exc)

    include_uri = P.wants_tracking_uri(metadata)
    meta = P.combine_metadata(mx.otel_context(capture_otel, os.environ), metadata)
    payload = P.Payload.of(P.training_payload(
        run_id=run_id, params=run.data.params, metrics=run.data.metrics,
        artifact_checksums=checksums,
        source_name=run.data.tags.get("mlflow.source.name", ""),
        git_commit=run.data.tags.get("mlflow.source.git.commit", ""),
        dataset_inputs=[entry for _e, entry in inputs], mlflow_trace_id=mx.active_trace_id(),
        tracking_uri=uri, metadata=meta,
    ))
    registered = _registered_model_for(client, run_id)
    rm_tags = None
    if registered:
        try:
            rm_tags = client.get_registered_model(registered).tags
        except Exception:  # noqa: BLE001
            rm_tags = None
    previous = P.training_previous_hash(rm_tags)
    subject = P.run_subject(run_id, include_tracking_uri=include_uri, tracking_uri=uri)

    result = anchorer.upload(anchorer.seal(event_type=P.TRAINING, subject=subject,
                                           payload=payload, previous_hash=previous))
    tags = {"ario.public_key": anchorer.public_key,
            "ario.verify_status": "anchored" if result.anchored else "signed",
            "ario.payload_hash": payload.hash}
    if art_hash is not None:
        tags["ario.artifact_hash"] = art_hash
    if result.anchored:
        tags["ario.training_tx"] = result.tx_id or ""
        tags["ario.arweave_url"] = result.url or ""
    if anchorer.wallet_mode:
        tags["ario.wallet_mode"] = anchorer.wallet_mode
    if anchorer.wallet_type:
        tags["ario.wallet_type"] = anchorer.wallet_type
    for key, value in tags.items():
        client.set_tag(run_id, key, value)
    if registered and result.anchored:
        try:
            client.set_registered_model_tag(registered, P.TAG_LAST_TRAINING_HASH, payload.hash)
        except Exception as exc:  # noqa: BLE001
            logger.warning("could not move %s on %r: %s", P.TAG_LAST_TRAINING_HASH, registered, exc)
    files = {"ario/payload.json": payload.data, "ario/proof.json": proof_json_bytes(result.envelope),
             **_dataitem_files(result), **_anchored_files(result, "receipt.json")}
    mx.log_files(client, run_id, files)

    actions: list[dict[str, Any]] = [
        {"op": "run_tags", "run_id": run_id, "tags": {
            "ario.verify_status": "anchored", "ario.training_tx": "{tx_id}",
            "ario.arweave_url": "{url}"}},
        _pending_files_action(run_id, "receipt.json"),
    ]
    if registered:
        actions.append({"op": "registered_model_tags", "name": registered,
                        "tags": {P.TAG_LAST_TRAINING_HASH: payload.hash}})
    finish(anchorer, result, tracking_uri=uri, actions=actions)
    return RunAnchoring(run_id, result, datasets, path, status, error, registered, tags)

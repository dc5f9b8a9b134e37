"""Anchor model registrations and stage transitions (ar-io-mlflow's ``ArioMlflowClient``).

`anchor_registration` / `anchor_promotion` do the work synchronously (the CLI's
``anchor model NAME/VERSION`` uses the first). `AnchoringClient` wraps an ``MlflowClient``:
`create_model_version` and `transition_model_version_stage` return as soon as MLflow has
answered and anchor on one background worker. One worker, first in first out, so a
promotion queued right after a registration sees the registration's ``ario.registration_tx``
(the plugin starts a thread per event and can race here).
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from . import mlflow_access as mx
from . import payloads as P
from .envelopes import proof_json_bytes
from .mlflow_runs import _anchored_files, _dataitem_files, _pending_files_action, default_anchorer
from .publish import AnchorResult, Anchorer

logger = logging.getLogger(__name__)

REGISTRATION = "registration"
PROMOTION = "promotion"


def anchor_registration(
    client: Any, anchorer: Anchorer, name: str, version: str, *,
    source: str | None, run_id: str | None = None,
    metadata: Mapping[str, Any] | None = None, tracking_uri: str | None = None,
) -> AnchorResult:
    """Anchor ``model_registered`` for an existing model version (plugin semantics)."""
    version = str(version)
    src_run, src_path = P.parse_runs_uri(source)
    if run_id and src_run and run_id != src_run:
        raise ValueError(f"run_id {run_id!r} does not match the source URI's run {src_run!r}")
    source_run_id = run_id or src_run
    run_tags: Mapping[str, str] = {}
    expected = verified = None
    if source_run_id:
        run = client.get_run(source_run_id)  # a failed read aborts: never mint a fresh GENESIS
        run_tags = run.data.tags
        expected = run_tags.get(P.TAG_ARTIFACT_HASH)
        try:
            checksums, _ = mx.model_checksums(client, run, src_path or "model")
        except mx.ArtifactAccessError as exc:
            logger.warning("cannot re-hash artifacts of %s/%s: %s", name, version, exc)
            checksums = {}
        if checksums and expected is not None:
            verified = P.artifact_hash(checksums) == expected
    payload = P.Payload.of(P.registration_payload(
        model_name=name, model_version=version, source_run_id=source_run_id, source=source,
        artifact_verified=verified, artifact_hash=expected, metadata=metadata))
    result = anchorer.upload(anchorer.seal(
        event_type=P.REGISTRATION, subject=P.model_version_subject(name, version),
        payload=payload, previous_hash=P.registration_previous_hash(run_tags)))
    tags = {"ario.verify_status": "anchored" if result.anchored else "signed",
            "ario.public_key": anchorer.public_key, "ario.payload_hash": payload.hash}
    if verified is not None:
        tags["ario.artifact_verified"] = str(verified).lower()
    if result.anchored:
        tags["ario.registration_tx"] = result.tx_id or ""
        tags["ario.arweave_url"] = result.url or ""
    if anchorer.wallet_mode:
        tags["ario.wallet_mode"] = anchorer.wallet_mode
    for key, value in tags.items():
        client.set_model_version_tag(name, version, key, value)
    actions: list[dict[str, Any]] = [{"op": "model_version_tags", "name": name, "version": version,
                                      "tags": {"ario.verify_status": "anchored",
                                               "ario.registration_tx": "{tx_id}",
                                               "ario.arweave_url": "{url}"}}]
    if source_run_id:
        mx.log_files(client, source_run_id, {
            "ario/registration_payload.json": payload.data,
            "ario/registration_proof.json": proof_json_bytes(result.envelope),
            **_dataitem_files(result), **_anchored_files(result, "registration_receipt.json")})
        actions.append(_pending_files_action(source_run_id, "registration_receipt.json"))
    if not result.anchored:
        anchorer.record_pending(result, tracking_uri=tracking_uri, actions=actions)
    result.extra.update(model_name=name, model_version=version, artifact_verified=verified)
    return result


def anchor_promotion(
    client: Any, anchorer: Anchorer, name: str, version: str, *,
    from_stage: str, to_stage: str, metadata: Mapping[str, Any] | None = None,
    tracking_uri: str | None = None,
) -> AnchorResult:
    """Anchor ``stage_transition`` (chained to the version's ``ario.registration_tx``)."""
    version = str(version)
    mv = client.get_model_version(name, version)
    payload = P.Payload.of(P.promotion_payload(model_name=name, model_version=version,
                                               from_stage=from_stage, to_stage=to_stage,
                                               metadata=metadata))
    result = anchorer.upload(anchorer.seal(
        event_type=P.PROMOTION, subject=P.model_version_subject(name, version), payload=payload,
        previous_hash=P.promotion_previous_hash(mv.tags)))
    actions: list[dict[str, Any]] = [{"op": "model_version_tags", "name": name, "version": version,
                                      "tags": {"ario.promotion_tx": "{tx_id}"}}]
    if mv.run_id:
        base = f"ario/promotions/{result.event_id}/"
        try:
            mx.log_files(client, mv.run_id, {
                base + "payload.json": payload.data,
                base + "proof.json": proof_json_bytes(result.envelope),
                **_dataitem_files(result), **_anchored_files(result, None)})
        except Exception as exc:  # noqa: BLE001 - the plugin also only warns here
            logger.warning("could not write promotion artifacts for %s/%s: %s", name, version, exc)
        actions.append(_pending_files_action(mv.run_id, None))
    client.set_model_version_tag(name, version, "ario.promotion_payload_hash", payload.hash)
    if result.anchored:
        client.set_model_version_tag(name, version, "ario.promotion_tx", result.tx_id or "")
    else:
        anchorer.record_pending(result, tracking_uri=tracking_uri, actions=actions)
    result.extra.update(model_name=name, model_version=version, from_stage=from_stage,
                        to_stage=to_stage)
    return result


@dataclass(frozen=True)
class AnchorHandle:
    """Names one queued anchoring job."""

    kind: str  # registration | promotion
    name: str
    version: str
    seq: int


@dataclass
class _Job:
    handle: AnchorHandle
    run: Callable[[], AnchorResult]
    done: threading.Event = field(default_factory=threading.Event)
    status: str = "anchoring"
    result: AnchorResult | None = None
    error: str | None = None


class AnchoringClient:
    """An MLflow client whose registrations and promotions are anchored in the background.

    Other ``MlflowClient`` methods are delegated unchanged (``client.get_model_version``…).
    """

    def __init__(self, tracking_uri: str | None = None, *, anchorer: Anchorer | None = None,
                 capture_otel: bool = True) -> None:
        self.tracking_uri = mx.resolved_tracking_uri(tracking_uri)
        self.mlflow = mx.client_for(self.tracking_uri)
        self._anchorer = anchorer
        self._capture_otel = capture_otel
        self._jobs: dict[AnchorHandle, _Job] = {}
        self._latest: dict[tuple[str, str, str], AnchorHandle] = {}
        self._lock = threading.Lock()
        self._seq = itertools.count(1)
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._worker: threading.Thread | None = None
        self.last_handle: AnchorHandle | None = None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name == "mlflow":  # not yet initialised: no recursion
            raise AttributeError(name)
        return getattr(self.mlflow, name)

    @property
    def anchorer(self) -> Anchorer:
        if self._anchorer is None:
            self._anchorer = default_anchorer(None)
        return self._anchorer

    # -- MLflow operations that anchor ---------------------------------------------------

    def create_model_version(self, name: str, source: str, run_id: str | None = None, *,
                             metadata: Mapping[str, Any] | None = None,
                             capture_otel: bool | None = None, **kwargs: Any) -> Any:
        """Register a version (returns MLflow's ``ModelVersion``) and queue its anchoring."""
        mv = self.mlflow.create_model_version(name, source, run_id=run_id, **kwargs)
        meta = self._metadata(metadata, capture_otel)
        anchorer = self.anchorer
        self._submit(REGISTRATION, name, str(mv.version), lambda: anchor_registration(
            self.mlflow, anchorer, name, str(mv.version), source=source, run_id=run_id,
            metadata=meta, tracking_uri=self.tracking_uri))
        return mv

    def transition_model_version_stage(self, name: str, version: Any, stage: str, *,
                                       metadata: Mapping[str, Any] | None = None,
                                       capture_otel: bool | None = None, **kwargs: Any) -> Any:
        """Move a version to `stage` (returns MLflow's answer) and queue its anchoring."""
        from_stage = self.mlflow.get_model_version(name, str(version)).current_stage
        out = self.mlflow.transition_model_version_stage(name, str(version), stage, **kwargs)
        meta = self._metadata(metadata, capture_otel)
        anchorer = self.anchorer
        self._submit(PROMOTION, name, str(version), lambda: anchor_promotion(
            self.mlflow, anchorer, name, str(version), from_stage=from_stage, to_stage=stage,
            metadata=meta, tracking_uri=self.tracking_uri))
        return out

    def _metadata(self, metadata: Mapping[str, Any] | None, capture: bool | None) -> dict[str, Any]:
        import os

        use = self._capture_otel if capture is None else capture
        return P.combine_metadata(mx.otel_context(use, os.environ), metadata)

    # -- status / wait --------------------------------------------------------------------

    def status(self, handle: AnchorHandle | tuple[str, str, Any]) -> dict[str, Any]:
        """``{status, tx_id, error, error_kind, done, event_id}`` of one job.

        `handle` is an `AnchorHandle` or ``(kind, name, version)`` (its latest job).
        Status is ``anchoring`` → ``anchored`` | ``signed`` (upload failed, queued for
        retry) | ``failed`` (nothing was signed); ``unknown`` if no such job.
        """
        job = self._job(handle)
        if job is None:
            return {"status": "unknown", "tx_id": None, "error": None, "error_kind": None,
                    "done": False, "event_id": None}
        r = job.result
        return {"status": job.status, "tx_id": r.tx_id if r else None,
                "error": job.error if job.error else (r.error or None if r else None),
                "error_kind": (r.error_kind or None) if r else None, "done": job.done.is_set(),
                "event_id": r.event_id if r else None}

    def result(self, handle: AnchorHandle | tuple[str, str, Any]) -> AnchorResult | None:
        job = self._job(handle)
        return job.result if job else None

    def wait(self, timeout: float | None = None,
             handle: AnchorHandle | tuple[str, str, Any] | None = None) -> bool:
        """Block until every queued job (or only `handle`'s) has finished; False on timeout."""
        import time

        if handle is not None:
            job = self._job(handle)
            return bool(job and job.done.wait(timeout))
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            jobs = list(self._jobs.values())
        for job in jobs:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not job.done.wait(left):
                return False
        return True

    def handles(self) -> list[AnchorHandle]:
        with self._lock:
            return list(self._jobs)

    def close(self, timeout: float | None = None) -> bool:
        """Wait for queued jobs, then stop the worker."""
        finished = self.wait(timeout=timeout)
        with self._lock:
            worker, self._worker = self._worker, None
        if worker is not None:
            self._queue.put(None)
            worker.join(timeout)
        return finished

    def __enter__(self) -> "AnchoringClient":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- worker ---------------------------------------------------------------------------

    def _job(self, handle: AnchorHandle | tuple[str, str, Any]) -> _Job | None:
        with self._lock:
            if not isinstance(handle, AnchorHandle):
                kind, name, version = handle
                handle = self._latest.get((kind, name, str(version)))  # type: ignore[assignment]
                if handle is None:
                    return None
            return self._jobs.get(handle)

    def _submit(self, kind: str, name: str, version: str, run: Callable[[], AnchorResult]) -> AnchorHandle:
        handle = AnchorHandle(kind, name, version, next(self._seq))
        job = _Job(handle, run)
        with self._lock:
            self._jobs[handle] = job
            self._latest[(kind, name, version)] = handle
            self.last_handle = handle
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._loop, name="ario-anchoring",
                                                daemon=True)
                self._worker.start()
        self._queue.put(job)
        return handle

    def _loop(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            try:
                job.result = job.run()
                job.status = job.result.status
            except Exception as exc:  # noqa: BLE001 - recorded as the job's status
                logger.error("anchoring %s %s/%s failed: %s", job.handle.kind, job.handle.name,
                             job.handle.version, exc)
                job.status, job.error = "failed", f"{type(exc).__name__}: {exc}"
            finally:
                job.done.set()

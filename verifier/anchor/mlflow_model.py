"""`VerifiedModel`: refuse tampered model files before any model code runs, then anchor
every prediction without making the caller wait (spec/anchoring.md §8).

Load: resolve the ``models:/`` (or ``runs:/``) URI, download the model directory once into
a private temporary directory, hash every file and compare with the anchored checksums —
the run's ``ario/payload.json`` ``artifact_checksums`` when its bytes hash to the run's
``ario.payload_hash`` tag, and always the ``ario.artifact_hash`` tag. Only if they agree is
``mlflow.pyfunc.load_model`` called, on the very files that were hashed (no second
download between check and load).

Predict: the model runs inside an MLflow trace span (as under the plugin's
``@mlflow.trace``); only the input and output hashes are computed before the prediction is
returned. A background worker builds the payload bytes, mirrors them on the trace
(``ario.payload_json`` and the other ``ario.*`` tags, written once MLflow has stored the
trace), signs, writes ``ario/predictions/<decision_id>/`` and uploads.
"""

from __future__ import annotations

import logging
import os
import queue
import shutil
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Mapping

from . import mlflow_access as mx
from . import payloads as P
from .envelopes import proof_json_bytes
from .mlflow_runs import _anchored_files, _dataitem_files, _pending_files_action, default_anchorer
from .publish import AnchorResult, Anchorer

logger = logging.getLogger(__name__)


class ArtifactIntegrityError(RuntimeError):
    """The model files differ from what was anchored; the model was not loaded."""

    def __init__(self, message: str, *, changed: list[str] = (), missing: list[str] = (),  # type: ignore[assignment]
                 added: list[str] = ()) -> None:  # type: ignore[assignment]
        super().__init__(message)
        self.changed, self.missing, self.added = list(changed), list(missing), list(added)


@dataclass
class VerifiedPrediction:
    """A prediction and the state of its background anchoring."""

    prediction: Any
    decision_id: str
    proof_status: str  # anchoring | anchored | signed | failed
    record: dict[str, Any] | None = None
    payload_hash: str | None = None
    trace_id: str | None = None
    tx_id: str | None = None
    event_id: str | None = None
    anchor_error: str | None = None
    error_kind: str | None = None
    _done: threading.Event = field(default_factory=threading.Event, repr=False, compare=False)

    def wait_for_anchor(self, timeout: float | None = None) -> bool:
        """Block until the background anchoring finished; False on timeout."""
        return self._done.wait(timeout)


def _resolve(client: Any, uri: str) -> tuple[Any | None, str | None, str | None]:
    """``(model_version or None, source_run_id, artifact_path)`` for a model URI."""
    if uri.startswith("runs:/"):
        run_id, path = P.parse_runs_uri(uri)
        return None, run_id, path or "model"
    if not uri.startswith("models:/") or len(uri) <= len("models:/"):
        return None, None, None
    rest = uri[len("models:/"):]
    if "@" in rest:
        name, alias = rest.split("@", 1)
        mv = client.get_model_version_by_alias(name, alias)
    else:
        name, _, suffix = rest.partition("/")
        if not suffix:  # MLflow 3 logged model id
            lm = client.get_logged_model(name)
            return None, lm.source_run_id, lm.name
        if suffix.isdigit():
            mv = client.get_model_version(name, suffix)
        else:
            found = [m for m in client.search_model_versions(f"name='{name}'")
                     if getattr(m, "current_stage", None) == suffix]
            if not found:
                raise LookupError(f"no version of {name!r} is in stage {suffix!r}")
            mv = max(found, key=lambda m: int(m.version))
    _run, path = P.parse_runs_uri(mv.source)
    return mv, mv.run_id, path or "model"


class _Background:
    """One daemon thread running submitted jobs in order; `wait` until the queue is idle."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._queue: queue.Queue[tuple[Any, threading.Event | None] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._pending = 0
        self._idle = threading.Condition()

    def submit(self, job: Any, done: threading.Event | None = None) -> None:
        with self._idle:
            self._pending += 1
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
                self._thread.start()
        self._queue.put((job, done))

    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            job, done = item
            try:
                job()
            except Exception as exc:  # noqa: BLE001 - jobs record their own outcome
                logger.error("%s job failed: %s", self.name, exc)
            finally:
                if done is not None:
                    done.set()
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()

    def wait(self, timeout: float | None = None) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def stop(self, timeout: float | None = None) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout)


class VerifiedModel:
    """Load a model only if its files match the anchor; anchor each prediction."""

    def __init__(self, model_uri: str, *, anchorer: Anchorer | None = None,
                 tracking_uri: str | None = None, require_anchor: bool = False,
                 trace: bool = True, capture_otel: bool = True) -> None:
        self.model_uri = model_uri
        self.tracking_uri = mx.resolved_tracking_uri(tracking_uri)
        self._client = mx.client_for(self.tracking_uri)
        self._anchorer = anchorer
        self._capture_otel = capture_otel
        mv, run_id, path = _resolve(self._client, model_uri)
        self.model_name = mv.name if mv is not None else "unknown"
        self.model_version = str(mv.version) if mv is not None else "unknown"
        self.run_id = run_id or "unknown"
        self.artifact_path = path or "model"
        self._dir = tempfile.mkdtemp(prefix="ario-model-")
        try:
            local, self.artifact_verified = self._verify(require_anchor)
            import mlflow

            self._model = mlflow.pyfunc.load_model(str(local) if local else model_uri)
        except BaseException:
            shutil.rmtree(self._dir, ignore_errors=True)
            raise
        self.previous_hash = P.prediction_previous_hash(mv.tags if mv is not None else None)
        import mlflow

        self._trace = trace and mlflow.get_tracking_uri() == self.tracking_uri
        self._anchoring = _Background("ario-predictions")
        self._tagging = _Background("ario-trace-tags")
        #: seconds the tag writer waits for MLflow to store a finished trace
        self.trace_wait = 120.0

    # -- load-time integrity ------------------------------------------------------------

    def _verify(self, require_anchor: bool) -> tuple[Any, bool | None]:
        """Download the model once, hash it, compare; returns (local dir, artifact_verified)."""
        if self.run_id == "unknown":
            if require_anchor:
                raise ArtifactIntegrityError(f"{self.model_uri}: no source run to check against")
            return None, None
        run = self._client.get_run(self.run_id)
        expected_hash = run.data.tags.get(P.TAG_ARTIFACT_HASH)
        if not expected_hash and require_anchor:
            raise ArtifactIntegrityError(f"{self.model_uri}: run {self.run_id} carries no "
                                         "ario.artifact_hash; the model was never anchored")
        expected_files = self._anchored_checksums(run) if expected_hash else None
        if expected_files is not None and P.artifact_hash(expected_files) != expected_hash:
            raise ArtifactIntegrityError(f"{self.model_uri}: ario/payload.json and the "
                                         "ario.artifact_hash tag disagree; refusing to load")
        try:
            checksums, local = mx.model_checksums(self._client, run, self.artifact_path,
                                                  keep_dir=self._dir)
        except mx.ArtifactAccessError as exc:
            if require_anchor:
                raise ArtifactIntegrityError(f"{self.model_uri}: cannot read the model files: {exc}") from exc
            logger.warning("%s: cannot re-hash the model files (%s); loading unverified",
                           self.model_uri, exc)
            return None, None
        if not expected_hash:
            logger.warning("%s: no anchored artifact hash; loading unverified", self.model_uri)
            return local, None
        if P.artifact_hash(checksums) != expected_hash:
            ref = expected_files or {}
            changed = sorted(k for k in checksums.keys() & ref.keys() if checksums[k] != ref[k])
            missing = sorted(ref.keys() - checksums.keys())
            added = sorted(checksums.keys() - ref.keys())
            detail = "; ".join(f"{label}: {', '.join(names)}" for label, names in
                               (("changed", changed), ("missing", missing), ("added", added)) if names)
            raise ArtifactIntegrityError(
                f"{self.model_uri}: model files do not match the anchored hash "
                f"{expected_hash}" + (f" ({detail})" if detail else "") + "; the model was not loaded",
                changed=changed, missing=missing, added=added)
        return local, True

    def _anchored_checksums(self, run: Any) -> dict[str, str] | None:
        """The training payload's ``artifact_checksums`` if its bytes match the tag."""
        import json

        want = run.data.tags.get("ario.payload_hash")
        if not want:
            return None
        with tempfile.TemporaryDirectory(prefix="ario-pl-") as tmp:
            try:
                path = self._client.download_artifacts(self.run_id, "ario/payload.json", tmp)
                with open(path, "rb") as fh:
                    data = fh.read()
            except Exception:  # noqa: BLE001 - the tag remains the reference
                return None
        if P.payload_hash_of(data) != want:
            raise ArtifactIntegrityError(f"{self.model_uri}: ario/payload.json does not hash to "
                                         "the run's ario.payload_hash; refusing to load")
        try:
            value = json.loads(data).get("artifact_checksums")
        except (ValueError, AttributeError, RecursionError):
            return None
        return value if isinstance(value, dict) else None

    # -- predict ----------------------------------------------------------------------------

    @property
    def anchorer(self) -> Anchorer:
        if self._anchorer is None:
            self._anchorer = default_anchorer(None)
        return self._anchorer

    def predict(self, input_data: Any, *, metadata: Mapping[str, Any] | None = None,
                capture_otel: bool | None = None) -> VerifiedPrediction:
        """Run the model; the anchoring of this decision continues in the background."""
        decision_id = str(uuid.uuid4())
        if isinstance(input_data, dict):
            import numpy as np

            model_input: Any = np.array([list(input_data.values())])
        elif isinstance(input_data, (list, tuple)):
            import numpy as np

            model_input = np.array([input_data])
        else:
            model_input = input_data
        use_otel = self._capture_otel if capture_otel is None else capture_otel
        meta = P.combine_metadata(mx.otel_context(use_otel, os.environ), metadata)
        if self._trace:
            import mlflow

            with mlflow.start_span(name="VerifiedModel.predict") as span:
                result, payload = self._predict(decision_id, input_data, model_input, meta,
                                                span.trace_id)
        else:
            result, payload = self._predict(decision_id, input_data, model_input, meta, None)
        if payload is not None:  # woken only now, so the worker never delays the span's end
            self._anchoring.submit(lambda: self._anchor(result, payload), result._done)
        return result

    def _predict(self, decision_id: str, input_data: Any, model_input: Any, meta: dict[str, Any],
                 trace_id: str | None) -> tuple[VerifiedPrediction, dict[str, Any] | None]:
        start = time.perf_counter()
        prediction = self._model.predict(model_input)
        latency_ms = (time.perf_counter() - start) * 1000
        # Only what binds the served decision is computed here; canonical payload bytes,
        # trace tags, signing, artifacts and the upload happen on the worker.
        try:
            in_hash, out_hash = P.input_hash(input_data), P.output_hash(prediction)
        except P.PayloadError as exc:  # the caller still gets the prediction
            logger.error("prediction %s cannot be anchored: %s", decision_id, exc)
            failed = VerifiedPrediction(prediction, decision_id, "failed", None, None, trace_id,
                                        anchor_error=str(exc), error_kind="unhashable")
            failed._done.set()
            return failed, None
        payload = P.prediction_payload(
            decision_id=decision_id, model_name=self.model_name, model_version=self.model_version,
            run_id=self.run_id, model_uri=self.model_uri, input_hash=in_hash,
            output_hash=out_hash, latency_ms=latency_ms,
            artifact_verified=self.artifact_verified, mlflow_trace_id=trace_id, metadata=meta)
        return VerifiedPrediction(prediction, decision_id, "anchoring", payload, None, trace_id), payload

    # -- background anchoring -----------------------------------------------------------------

    def _anchor(self, pred: VerifiedPrediction, value: dict[str, Any]) -> None:
        try:
            self._anchor_event(pred, P.Payload.of(value))
        except Exception as exc:  # noqa: BLE001 - recorded on the prediction
            logger.error("prediction %s not anchored: %s", pred.decision_id, exc)
            pred.proof_status, pred.anchor_error = "failed", f"{type(exc).__name__}: {exc}"
            pred.error_kind = "internal"

    def _trace_tags(self, pred: VerifiedPrediction, payload: P.Payload, final: dict[str, str]) -> None:
        """Queue the plugin's trace tags; they are written once MLflow has stored the trace
        (a tag written earlier could be overwritten by MLflow's own export)."""
        value = payload.value
        tags = {"ario.payload_json": payload.data.decode("utf-8"),
                "ario.decision_id": pred.decision_id, "ario.model_name": self.model_name,
                "ario.model_version": self.model_version, "ario.input_hash": value["input_hash"],
                "ario.output_hash": value["output_hash"], "ario.payload_hash": payload.hash,
                **final}
        if self.artifact_verified is not None:
            tags["ario.artifact_verified"] = str(self.artifact_verified).lower()
        trace_id = pred.trace_id or ""

        def write() -> None:
            try:
                if not mx.wait_for_trace(self._client, trace_id, self.trace_wait):
                    raise TimeoutError(f"trace not stored within {self.trace_wait} s")
                mx.set_trace_tags(self._client, trace_id, tags)
            except Exception as exc:  # noqa: BLE001 - observability only, never blocks anchoring
                logger.warning("could not tag trace %s: %s", trace_id, exc)

        self._tagging.submit(write)

    def _anchor_event(self, pred: VerifiedPrediction, payload: P.Payload) -> None:
        anchorer = self.anchorer
        pred.payload_hash = payload.hash
        subject = P.prediction_subject(pred.decision_id, self.run_id, pred.trace_id)
        sealed = anchorer.seal(event_type=P.PREDICTION, subject=subject, payload=payload,
                               previous_hash=self.previous_hash)
        pred.event_id = sealed.event_id
        result: AnchorResult = anchorer.upload(sealed)
        base = f"ario/predictions/{pred.decision_id}/"
        can_write = self.run_id != "unknown"
        if can_write:  # one artifact write per prediction, after the upload attempt
            mx.log_files(self._client, self.run_id, {
                base + "payload.json": payload.data, base + "proof.json": proof_json_bytes(sealed.envelope),
                **_dataitem_files(result), **_anchored_files(result, None)})
        actions: list[dict[str, Any]] = []
        if pred.trace_id:
            actions.append({"op": "trace_tags", "trace_id": pred.trace_id, "tags": {
                "ario.prediction_tx": "{tx_id}", "ario.arweave_url": "{url}",
                "ario.proof_status": "anchored"}})
        if can_write:
            actions.append(_pending_files_action(self.run_id, None))
        if result.anchored:
            pred.tx_id, pred.proof_status = result.tx_id, "anchored"
            final = {"ario.prediction_tx": result.tx_id or "", "ario.arweave_url": result.url or "",
                     "ario.proof_status": "anchored"}
        else:
            pred.proof_status, pred.anchor_error, pred.error_kind = "signed", result.error, result.error_kind
            anchorer.record_pending(result, tracking_uri=self.tracking_uri, actions=actions)
            final = {"ario.proof_status": "signed"}
        if pred.trace_id:
            self._trace_tags(pred, payload, final)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until every prediction so far is anchored (or pending) and its trace tagged."""
        import time as _t

        deadline = None if timeout is None else _t.monotonic() + timeout
        if not self._anchoring.wait(timeout):
            return False
        left = None if deadline is None else max(0.0, deadline - _t.monotonic())
        return self._tagging.wait(left)

    def close(self, timeout: float | None = None) -> bool:
        """Wait for the background work, stop the workers and delete the verified copy."""
        done = self.wait(timeout)
        self._anchoring.stop(timeout)
        self._tagging.stop(timeout)
        shutil.rmtree(self._dir, ignore_errors=True)
        return done

    def __enter__(self) -> "VerifiedModel":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

"""Read-only access to an MLflow tracking store for the audit (mlflow-skinny, lazy import).

`MlflowStore` never creates a store: a ``sqlite:`` database file or ``file:`` directory that
does not exist is `MlflowUnavailable`, not a fresh empty store. Everything read is bounded
by `ReaderLimits`; what cannot be read is reported to the caller as an error string (the
reader turns it into a `Collection` gap), never as an exception from a missing artifact.
"""

from __future__ import annotations

import inspect
import math
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from verifier.sources.errors import MlflowUnavailable
from verifier.sources.mlflow_env import disable_mlflow_phone_home, remote_host
from verifier.sources.mlflow_runfiles import DiskFiles, copy_tree, files_under, remove_tree
from verifier.sources.mlflow_snapshot import StoreView, open_view

FILE_STORE_ENV = "MLFLOW_ALLOW_FILE_STORE"
_URI_ENV = "MLFLOW_TRACKING_URI"


@dataclass(frozen=True)
class ReaderLimits:
    """Bounds on what one audit reads from MLflow. Exceeding one becomes a gap."""

    max_ario_files: int = 300_000          # files under a run's ario/ directory
    max_ario_file_bytes: int = 16 * 1024**2  # one proof, payload, receipt or data item
    max_ario_bytes: int = 1024**3          # all of one run's ario/ files together
    max_model_files: int = 100_000
    max_model_bytes: int = 64 * 1024**3    # hashed streaming, never held in memory
    max_predictions: int = 100_000         # prediction events per model version
    max_traces: int = 100_000              # traces scanned per model version
    max_experiments: int = 10_000          # experiments searched for traces and runs
    max_chain_depth: int = 256             # earlier training runs followed via previous_hash


def sanitize_number(value: Any) -> Any:
    """Finite floats unchanged; NaN/Infinity become the strings "NaN", "Infinity", "-Infinity"
    so a surface snapshot stays strict JSON (the producer could not have hashed them)."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return value


def check_store_exists(uri: str) -> None:
    """Refuse URIs naming a local store that does not exist (MLflow would create one)."""
    parsed = urlparse(uri)
    if parsed.scheme == "sqlite":
        path = unquote(uri.split("sqlite:///", 1)[1]) if "sqlite:///" in uri else ""
        if path and path != ":memory:" and not Path(path).is_file():
            raise MlflowUnavailable(f"no MLflow database at {path}")
    elif parsed.scheme in ("file", ""):
        path = unquote(parsed.path) if parsed.scheme == "file" else uri
        if not Path(path).is_dir():
            raise MlflowUnavailable(f"no MLflow file store at {path}")


class MlflowStore:
    """A read-only view of one tracking (and registry) URI: MLflow is given only a private
    view of the store (verifier/sources/mlflow_snapshot.py), so nothing the audit does can
    write to the auditee's files. `close` (or ``with``) removes the private view and
    restores $MLFLOW_TRACKING_URI."""

    def __init__(self, tracking_uri: str, registry_uri: str | None = None, *,
                 limits: ReaderLimits = ReaderLimits(), allow_file_store: bool = True,
                 offline: bool = False) -> None:
        check_store_exists(tracking_uri)
        for uri in {tracking_uri, registry_uri or tracking_uri}:
            host = remote_host(uri) if offline else None
            if host:
                raise MlflowUnavailable(f"offline: the MLflow store {uri} is on the network "
                                        f"({host}); --offline reads only local stores")
        self.offline = offline
        self._artifact_uris: dict[str, str] = {}
        scheme = urlparse(tracking_uri).scheme
        if allow_file_store and scheme in ("file", "") and not os.environ.get(FILE_STORE_ENV):
            # Reading an existing file store is the point of the audit; MLflow 3 refuses
            # file stores unless this is set. Only this process is affected.
            os.environ[FILE_STORE_ENV] = "true"
        disable_mlflow_phone_home()
        try:
            from mlflow.tracking import MlflowClient
        except ImportError as exc:
            raise MlflowUnavailable(
                "MLflow is not installed (pip install 'ario-verifier[mlflow]')") from exc
        self.tracking_uri = tracking_uri
        self.limits = limits
        self._views: list[StoreView] = []
        self._tmpdirs: list[str] = []
        self._uri_before = os.environ.get(_URI_ENV)
        try:
            view = self._open(tracking_uri)
            registry = view if registry_uri in (None, tracking_uri) else self._open(registry_uri)
            self.details = dict(view.details)
            self.read_uri = view.uri
            # MLflow resolves some locations (MLflow 3 logged-model artifacts, models:/ URIs)
            # against its default tracking URI rather than the client's: point it at the view.
            os.environ[_URI_ENV] = view.uri
            self.client = MlflowClient(tracking_uri=view.uri, registry_uri=registry.uri)
        except MlflowUnavailable:
            self.close()
            raise
        except Exception as exc:  # noqa: BLE001 - any store start-up failure
            self.close()
            raise MlflowUnavailable(f"cannot open MLflow store {tracking_uri}: {exc}") from exc

    def _open(self, uri: str) -> StoreView:
        view = open_view(uri)
        self._views.append(view)
        return view

    def close(self) -> None:
        """Remove the private views and downloads; $MLFLOW_TRACKING_URI as it was before."""
        for view in self._views:
            view.close()
        self._views = []
        for tmp in self._tmpdirs:
            remove_tree(tmp)
        self._tmpdirs = []
        if self._uri_before is None:
            os.environ.pop(_URI_ENV, None)
        else:
            os.environ[_URI_ENV] = self._uri_before

    def __enter__(self) -> MlflowStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- entities ---------------------------------------------------------------------------

    def model_version(self, name: str, version: str) -> Any:
        """A model version by number, or by alias when `version` starts with ``@``."""
        if version.startswith("@"):
            return self.client.get_model_version_by_alias(name, version[1:])
        return self.client.get_model_version(name, version)

    def run(self, run_id: str) -> Any:
        """The run entity (data.params/metrics/tags, inputs, outputs)."""
        return self.client.get_run(run_id)

    def experiment_ids(self) -> list[str]:
        """All active experiment ids (bounded by `max_experiments`)."""
        out: list[str] = []
        token = None
        while len(out) < self.limits.max_experiments:
            page = self.client.search_experiments(max_results=1000, page_token=token)
            out.extend(e.experiment_id for e in page)
            token = getattr(page, "token", None)
            if not token:
                break
        return out[: self.limits.max_experiments]

    def runs_with_tag(self, key: str, value: str) -> list[Any]:
        """Runs in any experiment whose tag `key` equals `value` (hex/id values only)."""
        if not all(c.isalnum() or c in "._-" for c in value + key):
            return []
        ids = self.experiment_ids()
        found: list[Any] = []
        for i in range(0, len(ids), 50):
            found.extend(self.client.search_runs(ids[i:i + 50],
                                                 filter_string=f"tags.`{key}` = '{value}'",
                                                 max_results=100))
        return found

    # -- run surfaces -----------------------------------------------------------------------

    def run_surface(self, run: Any) -> dict[str, Any]:
        """params, metrics (latest values), tags and dataset inputs of a run."""
        return {
            "run_id": run.info.run_id,
            "experiment_id": run.info.experiment_id,
            "params": dict(run.data.params),
            "metrics": {k: sanitize_number(v) for k, v in run.data.metrics.items()},
            "tags": dict(run.data.tags),
            "dataset_inputs": dataset_inputs(run),
        }

    def refuse_offline(self, location: str) -> None:
        """Offline, refuse (as an error the caller turns into a gap) artifacts that live on
        the network (s3://, https://, a remote tracking server's mlflow-artifacts:)."""
        host = remote_host(location, self.tracking_uri) if self.offline else None
        if host:
            raise MlflowUnavailable(f"offline: artifacts at {location} are on the network "
                                    f"({host}) and were not read")

    def check_run_artifacts(self, run_id: str) -> None:
        """Offline, refuse a run whose artifacts live on the network (see `refuse_offline`)."""
        if self.offline:
            if run_id not in self._artifact_uris:
                self._artifact_uris[run_id] = self.client.get_run(run_id).info.artifact_uri or ""
            self.refuse_offline(self._artifact_uris[run_id])

    def ario_files(self, run_id: str) -> tuple[Mapping[str, bytes], str | None]:
        """Every file under the run's ``ario/`` artifact directory, keyed by path relative
        to ``ario/`` (e.g. ``predictions/<id>/payload.json``); plus a problem, if any. The
        files are downloaded into a private directory that lives until `close` and are
        read from there when asked for (`DiskFiles`), never all held in memory."""
        limits = self.limits
        try:
            self.check_run_artifacts(run_id)
            top = {f.path for f in self.client.list_artifacts(run_id)}
        except Exception as exc:  # noqa: BLE001
            return {}, f"cannot list artifacts: {short_error(exc)}"
        if "ario" not in top:
            return {}, None
        tmp = tempfile.mkdtemp(prefix="ario-audit-")
        self._tmpdirs.append(tmp)
        try:
            local = self._download_ario(run_id, tmp)
            names: list[str] = []
            total = 0
            for rel in files_under(local):
                if len(names) >= limits.max_ario_files:
                    return DiskFiles(local, names), \
                        f"more than {limits.max_ario_files} files under ario/"
                size = os.stat(os.path.join(local, rel)).st_size
                total += size
                if size > limits.max_ario_file_bytes or total > limits.max_ario_bytes:
                    return DiskFiles(local, names), f"ario/{rel} exceeds the byte limits"
                names.append(rel)
            return DiskFiles(local, names), None
        except Exception as exc:  # noqa: BLE001
            return {}, f"cannot download ario/: {short_error(exc)}"

    def _download_ario(self, run_id: str, tmp: str) -> str:
        """The run's ``ario/`` directory copied into `tmp`. MLflow's directory download
        submits one future per file, all at once (kilobytes each: the peak memory of an
        export with many predictions), so the ``ario/`` of a local artifact store is copied
        here one file at a time, following symlinks as MLflow's copy does."""
        from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository
        from mlflow.store.artifact.local_artifact_repo import LocalArtifactRepository

        repo = get_artifact_repository(self.client.get_run(run_id).info.artifact_uri or "")
        if not isinstance(repo, LocalArtifactRepository):
            return self.client.download_artifacts(run_id, "ario", tmp)
        dst = os.path.join(tmp, "ario")
        copy_tree(repo.download_artifacts("ario"), dst)  # no dst_path: the path, no copy
        return dst

    # -- traces -----------------------------------------------------------------------------

    def trace_tags(self, trace_id: str) -> tuple[dict[str, str] | None, str | None]:
        """A trace's tags without loading its spans, or (None, why)."""
        try:
            tracing = getattr(self.client, "_tracing_client", None)
            if tracing is not None and hasattr(tracing, "get_trace_info"):
                info = tracing.get_trace_info(trace_id)
            else:
                info = self.client.get_trace(trace_id).info
        except Exception as exc:  # noqa: BLE001
            return None, f"cannot read trace: {short_error(exc)}"
        if info is None:
            return None, "trace not found"
        return dict(getattr(info, "tags", None) or {}), None

    def traces_for_model(self, name: str, visit: Callable[[str, dict[str, str]], None]
                         ) -> str | None:
        """Call ``visit(trace id, tags)`` for each trace tagged ``ario.model_name = name``
        in all experiments, at most `max_traces`, one page at a time (nothing is kept
        here); returns why the scan stopped early, if it did."""
        if "'" in name or "\\" in name:
            return "model name cannot be used in a trace search filter"
        seen = 0
        params = inspect.signature(self.client.search_traces).parameters
        where = "locations" if "locations" in params else "experiment_ids"  # MLflow 3 renamed it
        try:
            ids = self.experiment_ids()
        except Exception as exc:  # noqa: BLE001
            return f"trace search failed: {short_error(exc)}"
        for i in range(0, len(ids), 50):
            token = None
            while True:
                try:
                    page = self.client.search_traces(
                        **{where: ids[i:i + 50]}, max_results=500, page_token=token,
                        filter_string=f"tag.`ario.model_name` = '{name}'", include_spans=False)
                    found = [(t.info.trace_id, dict(t.info.tags or {})) for t in page]
                except Exception as exc:  # noqa: BLE001
                    return f"trace search failed: {short_error(exc)}"
                for tid, tags in found:
                    if seen == self.limits.max_traces:
                        return f"more than {self.limits.max_traces} traces"
                    visit(tid, tags)
                    seen += 1
                token = getattr(page, "token", None)
                if not token:
                    break
        return None

def dataset_inputs(run: Any) -> list[dict[str, Any]]:
    """Raw dataset inputs: name, digest, source, source_type, schema (string), context."""
    out = []
    for di in getattr(getattr(run, "inputs", None), "dataset_inputs", None) or []:
        ds = di.dataset
        context = next((t.value for t in (di.tags or []) if t.key == "mlflow.data.context"), None)
        out.append({"name": ds.name, "digest": ds.digest, "source": ds.source,
                    "source_type": ds.source_type, "schema": getattr(ds, "schema", None) or "",
                    "context": context})
    return out


def short_error(exc: BaseException) -> str:
    """First line of an exception's message, at most 200 characters (for gaps)."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]

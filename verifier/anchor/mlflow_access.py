"""MLflow reads and writes used by the anchoring integration (mlflow imported lazily).

Every function takes an explicit `MlflowClient` (built for an explicit tracking URI), so
nothing depends on MLflow's global tracking URI. Model artifacts are fetched the way
``mlflow.artifacts.download_artifacts(run_id=..., artifact_path=...)`` does — the run's own
artifacts first, then (MLflow 3) the files of the logged model of that name whose source is
the run — but through the client's tracking URI (MLflow's own helper falls back to the
global URI for the logged-model step, which silently hashes nothing).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any, Iterable, Mapping

from .payloads import REGISTRATION_BOOKKEEPING, dataset_input_entry, CONTEXT_TAG

logger = logging.getLogger(__name__)

OTEL_OPTOUT_ENV = "ARIO_MLFLOW_CAPTURE_OTEL"


class ArtifactAccessError(RuntimeError):
    """Model artifacts could not be fetched or read; the hash state is unknown."""


def client_for(tracking_uri: str | None) -> Any:
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri) if tracking_uri else MlflowClient()


def resolved_tracking_uri(tracking_uri: str | None) -> str:
    import mlflow

    return tracking_uri or mlflow.get_tracking_uri()


# -- model artifacts --------------------------------------------------------------------


def logged_model_paths(client: Any, run: Any) -> list[str]:
    """Artifact paths of the models logged in `run` (MLflow 2 history tag, else MLflow 3
    logged-model outputs), de-duplicated in order."""
    paths: list[str] = []
    history = run.data.tags.get("mlflow.log-model.history")
    if history:
        try:
            for entry in json.loads(history):
                if isinstance(entry, dict) and entry.get("artifact_path"):
                    paths.append(entry["artifact_path"])
        except (ValueError, TypeError, RecursionError):
            pass
    if not paths:
        outputs = getattr(getattr(run, "outputs", None), "model_outputs", None) or []
        for output in outputs:
            model_id = getattr(output, "model_id", None)
            if not model_id:
                continue
            try:
                name = getattr(client.get_logged_model(model_id), "name", None)
            except Exception:  # noqa: BLE001 - best effort, like the plugin
                name = None
            if name:
                paths.append(name)
    return list(dict.fromkeys(paths))


def resolve_artifact_path(client: Any, run: Any, artifact_path: str | None) -> str:
    """The explicit path, else the run's single logged model path, else ``"model"``."""
    if artifact_path is not None:
        return artifact_path
    paths = logged_model_paths(client, run)
    if len(paths) > 1:
        raise ValueError(f"run {run.info.run_id} logged several models ({paths}); "
                         "pass artifact_path explicitly")
    return paths[0] if paths else "model"


def _repo(uri: str, tracking_uri: str | None) -> Any:
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    return get_artifact_repository(uri, tracking_uri=tracking_uri)


def _logged_model_for(client: Any, run: Any, name: str) -> Any | None:
    search = getattr(client, "search_logged_models", None)
    if search is None:  # MLflow 2
        return None
    token = None
    while True:
        page = search(experiment_ids=[run.info.experiment_id],
                      filter_string=f"name = '{name}'", page_token=token)
        for model in page:
            if model.source_run_id == run.info.run_id:
                return model
        token = getattr(page, "token", None)
        if not token:
            return None


def download_model_dir(client: Any, run: Any, artifact_path: str, dst: str) -> Path:
    """Fetch ``runs:/<run>/<artifact_path>`` into `dst`; returns the local directory."""
    tracking_uri = getattr(client, "tracking_uri", None)
    found: str | None = None
    try:
        found = _repo(run.info.artifact_uri, tracking_uri).download_artifacts(artifact_path, dst)
    except Exception:  # noqa: BLE001 - absent in the run: try the logged model
        found = None
    name, _, rest = artifact_path.partition("/")
    try:
        model = _logged_model_for(client, run, name)
    except Exception:  # noqa: BLE001
        model = None
    if model is not None:
        target = os.path.join(dst, name)
        os.makedirs(target, exist_ok=True)
        try:
            got = _repo(model.artifact_location, tracking_uri).download_artifacts(rest, target)
            found = found or got
        except Exception as exc:  # noqa: BLE001
            if found is None:
                raise ArtifactAccessError(f"cannot fetch logged model {name!r}: {exc}") from exc
    if found is None:
        raise ArtifactAccessError(f"run {run.info.run_id} has no artifacts at {artifact_path!r}")
    return Path(found)


def checksums_of_dir(root: str | os.PathLike[str]) -> dict[str, str]:
    """``{relative/posix/path: sha256 hex}`` of every file under `root`, minus MLflow's
    registration bookkeeping files."""
    out: dict[str, str] = {}
    base = Path(root)
    if base.is_file():
        return {base.name: _sha256_file(base)}
    for dirpath, _dirs, files in os.walk(base):
        for fname in files:
            if fname in REGISTRATION_BOOKKEEPING:
                continue
            path = Path(dirpath) / fname
            out[path.relative_to(base).as_posix()] = _sha256_file(path)
    return out


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise ArtifactAccessError(f"cannot read artifact file {path}: {exc}") from exc
    return digest.hexdigest()


def model_checksums(client: Any, run: Any, artifact_path: str,
                    keep_dir: str | None = None) -> tuple[dict[str, str], Path | None]:
    """Checksums of the model files; with `keep_dir`, the download stays there."""
    if keep_dir is not None:
        local = download_model_dir(client, run, artifact_path, keep_dir)
        return checksums_of_dir(local), local
    with tempfile.TemporaryDirectory(prefix="ario-art-") as tmp:
        local = download_model_dir(client, run, artifact_path, tmp)
        return checksums_of_dir(local), None


# -- datasets -----------------------------------------------------------------------------


def dataset_identity(dataset: Any) -> dict[str, Any]:
    """name/source/source_type/digest/schema of an MLflow dataset entity (as stored with a
    run), a live ``mlflow.data`` dataset (its serialised form, which is what logging it
    stores) or a mapping with those keys."""
    if isinstance(dataset, Mapping):
        d = dict(dataset)
    elif isinstance(getattr(dataset, "source", None), str) or not hasattr(dataset, "to_dict"):
        d = {k: getattr(dataset, k, None) for k in ("name", "source", "source_type", "digest", "schema")}
    else:
        d = dict(dataset.to_dict())
    schema = d.get("schema")
    if schema is not None and not isinstance(schema, str):
        schema = json.dumps(schema)
    return {"name": d.get("name"), "source": d.get("source"), "source_type": d.get("source_type"),
            "digest": d.get("digest"), "schema": schema}


def run_dataset_inputs(run: Any) -> list[tuple[Any, dict[str, Any]]]:
    """``(dataset entity, dataset_inputs entry)`` per logged input, in logged order."""
    inputs = getattr(getattr(run, "inputs", None), "dataset_inputs", None) or []
    out = []
    for di in inputs:
        ident = dataset_identity(di.dataset)
        context = next((t.value for t in (di.tags or []) if t.key == CONTEXT_TAG), None)
        entry = dataset_input_entry(name=ident["name"], source=ident["source"],
                                    source_type=ident["source_type"], digest=ident["digest"],
                                    schema=ident["schema"], context=context)
        out.append((di.dataset, entry))
    return out


# -- tracing / OTel ---------------------------------------------------------------------


def active_trace_id() -> str | None:
    """The active MLflow trace id (MLflow 3 API, else the MLflow 2 span's request id)."""
    import mlflow

    get_active = getattr(mlflow, "get_active_trace_id", None)
    if get_active is not None:
        try:
            tid = get_active()
            if tid:
                return tid
        except Exception:  # noqa: BLE001
            pass
    try:
        span = mlflow.get_current_active_span()
    except Exception:  # noqa: BLE001
        return None
    if span is None:
        return None
    return getattr(span, "trace_id", None) or getattr(span, "request_id", None)


def otel_context(capture: bool, environ: Mapping[str, str]) -> dict[str, str]:
    """``otel_trace_id``/``otel_span_id`` of an active OpenTelemetry span (plugin rule)."""
    if not capture or environ.get(OTEL_OPTOUT_ENV, "").lower() in ("false", "0", "no", "off"):
        return {}
    try:
        from opentelemetry import trace as otel
    except ImportError:
        return {}
    try:
        ctx = otel.get_current_span().get_span_context()
    except Exception:  # noqa: BLE001
        return {}
    if not getattr(ctx, "is_valid", False):
        return {}
    return {"otel_trace_id": format(ctx.trace_id, "032x"), "otel_span_id": format(ctx.span_id, "016x")}


# -- writes --------------------------------------------------------------------------------


def log_files(client: Any, run_id: str, files: Mapping[str, bytes]) -> None:
    """Write `files` (run-relative POSIX path -> bytes) as artifacts of `run_id`."""
    if not files:
        return
    with tempfile.TemporaryDirectory(prefix="ario-out-") as tmp:
        for rel, data in files.items():
            parts = [p for p in rel.split("/") if p]
            if not parts or any(p in (".", "..") for p in parts):
                raise ValueError(f"unsafe artifact path {rel!r}")
            target = Path(tmp, *parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        client.log_artifacts(run_id, tmp)


def receipt_bytes(receipt: Mapping[str, Any]) -> bytes:
    """Receipt artifacts are ``json.dump(receipt, indent=2)`` like the plugin's receipt.json."""
    return json.dumps(dict(receipt), indent=2).encode("utf-8")


def _fill(text: str, result: Any) -> str:
    return text.replace("{tx_id}", result.tx_id or "").replace("{url}", result.url or "")


def _content(kind: str, result: Any) -> bytes:
    if kind == "receipt":
        return receipt_bytes(result.receipt or {})
    if kind == "data_item":
        return result.data_item or b""
    raise ValueError(f"unknown artifact content {kind!r}")


def apply_actions(client: Any, actions: Iterable[Mapping[str, Any]], result: Any) -> list[str]:
    """Perform recorded MLflow updates for an anchored `result`; returns error messages.

    Ops: ``run_tags`` {run_id, tags}, ``run_files`` {run_id, files: {path: receipt|data_item}},
    ``model_version_tags`` {name, version, tags}, ``registered_model_tags`` {name, tags},
    ``trace_tags`` {trace_id, tags}. ``{tx_id}``/``{url}`` in paths and values are filled in.
    """
    errors: list[str] = []
    for action in actions:
        op = action.get("op")
        try:
            if op == "run_tags":
                for k, v in action["tags"].items():
                    client.set_tag(action["run_id"], k, _fill(v, result))
            elif op == "run_files":
                files = {_fill(p, result): _content(kind, result)
                         for p, kind in action["files"].items()
                         if kind != "data_item" or result.data_item}
                log_files(client, action["run_id"], files)
            elif op == "model_version_tags":
                for k, v in action["tags"].items():
                    client.set_model_version_tag(action["name"], action["version"], k, _fill(v, result))
            elif op == "registered_model_tags":
                for k, v in action["tags"].items():
                    client.set_registered_model_tag(action["name"], k, _fill(v, result))
            elif op == "trace_tags":
                set_trace_tags(client, action["trace_id"],
                               {k: _fill(v, result) for k, v in action["tags"].items()})
            else:
                errors.append(f"unknown action {op!r}")
        except Exception as exc:  # noqa: BLE001 - one failed write must not stop the rest
            logger.warning("could not apply %s for event %s: %s", op, result.event_id, exc)
            errors.append(f"{op}: {exc}")
    return errors


def wait_for_trace(client: Any, trace_id: str, timeout: float) -> bool:
    """Poll until MLflow has stored the finished trace (its export is asynchronous)."""
    import time

    deadline = time.monotonic() + timeout
    delay = 0.02
    while True:
        try:
            client.get_trace(trace_id)
            return True
        except Exception:  # noqa: BLE001 - not stored yet (or half stored): try again
            if time.monotonic() >= deadline:
                return False
            time.sleep(delay)
            delay = min(delay * 2, 0.5)


def set_trace_tags(client: Any, trace_id: str, tags: Mapping[str, str],
                   timeout: float = 60.0) -> None:
    """Set trace tags once the trace is stored (raises if it never is)."""
    if not wait_for_trace(client, trace_id, timeout):
        raise LookupError(f"trace {trace_id} is not stored")
    for k, v in tags.items():
        client.set_trace_tag(trace_id, k, v)

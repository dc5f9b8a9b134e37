"""The model files of a run, for A9: which artifact paths hold a logged model, the name of
a logged model, and the SHA-256 of every file of it as the store holds it now (downloaded
to a private temporary directory, bounded by `ReaderLimits`). Read through `MlflowStore`,
which keeps the offline rule; nothing here writes to the store."""

from __future__ import annotations

import hashlib
import inspect
import shutil
import tempfile
from pathlib import Path
from typing import Any

from verifier.core.errors import Malformed
from verifier.core.intake import load
from verifier.sources.mlflow_store import MlflowStore, short_error

#: MLflow's post-registration bookkeeping file, excluded from model checksums (as the plugin).
REGISTRATION_BOOKKEEPING = frozenset({"registered_model_meta"})


def logged_model_paths(store: MlflowStore, run: Any) -> list[str]:
    """Model artifact paths: MLflow 2 history tag, else MLflow 3 logged-model names."""
    paths: list[str] = []
    history = run.data.tags.get("mlflow.log-model.history")
    if history:
        try:  # the kernel's strict intake: never raises but Malformed on a hostile tag
            entries = load(history.encode("utf-8", "surrogatepass"))
        except Malformed:
            entries = []
        paths = [e["artifact_path"] for e in (entries if isinstance(entries, list) else [])
                 if isinstance(e, dict) and isinstance(e.get("artifact_path"), str)
                 and e["artifact_path"]]
    if not paths:
        for output in getattr(getattr(run, "outputs", None), "model_outputs", None) or []:
            model_id = getattr(output, "model_id", None)
            try:
                name = getattr(store.client.get_logged_model(model_id), "name", None)
            except Exception:  # noqa: BLE001 - best effort, as the producer
                name = None
            if name:
                paths.append(name)
    return list(dict.fromkeys(paths))


def _download_model(store: MlflowStore, run_id: str, artifact_path: str, dst: str) -> Path:
    """The run's artifacts at `artifact_path`, else (MLflow 3) the files of the run's
    logged model of that name, fetched from the logged model's own location."""
    try:
        store.check_run_artifacts(run_id)
        return Path(store.client.download_artifacts(run_id, artifact_path, dst))
    except Exception as first:  # noqa: BLE001 - not in the run's artifacts: try a logged model
        name, _, rest = artifact_path.partition("/")
        run = store.run(run_id)
        for output in getattr(getattr(run, "outputs", None), "model_outputs", None) or []:
            try:
                model = store.client.get_logged_model(output.model_id)
            except Exception:  # noqa: BLE001
                continue
            if getattr(model, "name", None) != name:
                continue
            from mlflow.store.artifact.artifact_repository_registry import (
                get_artifact_repository,
            )

            store.refuse_offline(model.artifact_location)
            target = Path(dst, name)
            target.mkdir(parents=True, exist_ok=True)
            accepts = inspect.signature(get_artifact_repository).parameters
            repo = (get_artifact_repository(model.artifact_location,
                                            tracking_uri=store.read_uri)
                    if "tracking_uri" in accepts else
                    get_artifact_repository(model.artifact_location))
            return Path(repo.download_artifacts(rest or "", str(target)))
        raise first

def logged_model_name(store: MlflowStore, model_uri: str | None, run_id: str | None) -> str | None:
    """For ``models:/<logged model id>`` of this run, the logged model's name."""
    if not model_uri or not model_uri.startswith("models:/"):
        return None
    model_id = model_uri[len("models:/"):].strip("/")
    if "/" in model_id or "@" in model_id:
        return None  # a registry URI (name/version or alias), not a logged model id
    try:
        model = store.client.get_logged_model(model_id)
    except Exception:  # noqa: BLE001
        return None
    if run_id and getattr(model, "source_run_id", run_id) != run_id:
        return None
    return getattr(model, "name", None)

def model_checksums(store: MlflowStore, run_id: str, artifact_path: str
                    ) -> tuple[dict[str, str] | None, str | None]:
    """``{relative POSIX path: sha256}`` of the model files now, or (None, why)."""
    limits = store.limits
    tmp = tempfile.mkdtemp(prefix="ario-audit-model-")
    try:
        try:
            local = _download_model(store, run_id, artifact_path, tmp)
        except Exception as exc:  # noqa: BLE001 - absent path and access failure alike
            return None, f"cannot download {artifact_path!r}: {short_error(exc)}"
        files = [local] if local.is_file() else sorted(
            p for p in local.rglob("*") if p.is_file() and p.name not in REGISTRATION_BOOKKEEPING)
        if len(files) > limits.max_model_files:
            return None, f"more than {limits.max_model_files} model files"
        if sum(p.stat().st_size for p in files) > limits.max_model_bytes:
            return None, f"model files exceed {limits.max_model_bytes} bytes"
        base = local.parent if local.is_file() else local
        return {p.relative_to(base).as_posix(): _sha256_file(p) for p in files}, None
    except OSError as exc:
        return None, f"cannot read model files: {short_error(exc)}"
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()

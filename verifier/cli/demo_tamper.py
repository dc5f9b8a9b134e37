"""The demo's tampering: doctored copies of a clean audit bundle, each rebuilt consistently
(the manifest is recomputed, as a careful forger would), and the reason the audit must give."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from verifier.core.jcs import canonical
from verifier.core.reasons import ReasonCode as R
from verifier.sources.bundle import read_bundle
from verifier.sources.bundle_v2_write import write_bundle_v2
from verifier.sources.model import Collection, EventRecord


@dataclass(frozen=True)
class Tamper:
    """One doctored copy: what was changed, where it was written, what must catch it."""

    name: str
    description: str
    path: Path
    expected: R


def _training(col: Collection) -> EventRecord:
    return next(r for r in col.records if r.hints.get("event_type") == "training_complete")


def change_metric(col: Collection) -> str:
    """The MLflow run's first metric, as exported, is nudged by +0.05."""
    surface = _training(col).surface or {}
    name = sorted(surface["metrics"])[0]
    old = surface["metrics"][name]
    surface["metrics"][name] = round(old + 0.05, 6)
    return f"metric {name!r} changed from {old} to {surface['metrics'][name]} in the MLflow snapshot"


def swap_model_file(swapped: bytes) -> Callable[[Collection], str]:
    """The model file is replaced by `swapped` (its hash is what the files re-hash to now)."""
    def apply(col: Collection) -> str:
        run = _training(col).hints.get("run_id") or next(iter(col.model_files))
        files = col.model_files[run]
        name = "python_model.pkl" if "python_model.pkl" in files else sorted(files)[0]
        files[name] = hashlib.sha256(swapped).hexdigest()
        return f"model file {name!r} of run {run} swapped for another model"
    return apply


def edit_payload(col: Collection) -> str:
    """The committed training payload is edited (a metric improved) and re-canonicalised."""
    rec = _training(col)
    payload = json.loads(rec.payload or b"{}")
    name = sorted(payload["metrics"])[0]
    payload["metrics"][name] = round(payload["metrics"][name] + 0.05, 6)
    rec.payload = canonical(payload)
    return f"training payload edited: metric {name!r} raised to {payload['metrics'][name]}"


def make_tampered(clean: Path, outdir: Path, swapped_model: bytes) -> list[Tamper]:
    """Write the three doctored bundles next to each other; returns what was done."""
    outdir.mkdir(parents=True, exist_ok=True)
    plan = [("changed metric", "metric.zip", change_metric, R.RECORD_MISMATCH),
            ("swapped model file", "model-file.zip", swap_model_file(swapped_model),
             R.ARTIFACT_HASH_MISMATCH),
            ("edited payload", "payload.zip", edit_payload, R.PAYLOAD_HASH_MISMATCH)]
    out = []
    for name, filename, apply, expected in plan:
        col = read_bundle(clean)
        description = apply(col)
        path = outdir / filename
        write_bundle_v2(col, path)
        out.append(Tamper(name, description, path, expected))
    return out

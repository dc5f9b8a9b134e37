"""The MLflow integration points of the companion anchoring module, in one place.

* `anchor_run` — a training run and its logged datasets, from inside ``mlflow.start_run()``
  or for a finished run by id;
* `anchor_dataset` — the publisher pattern: a dataset on its own, returning the tx id;
* `AnchoringClient` — registrations and stage transitions anchored in the background,
  with ``status(handle)`` / ``wait(timeout)``;
* `anchor_model_version` — a registration anchored after the fact (the CLI's
  ``anchor model NAME/VERSION``);
* `VerifiedModel` — integrity-checked loading and background-anchored predictions;
* `retry_pending` — upload what earlier failures left signed in the outbox and apply the
  MLflow updates they were waiting for.

MLflow is imported only when one of these is called (the ``mlflow`` extra).
"""

from __future__ import annotations

from typing import Any, Mapping

from . import mlflow_access as mx
from .mlflow_model import ArtifactIntegrityError, VerifiedModel, VerifiedPrediction
from .mlflow_registry import AnchorHandle, AnchoringClient, anchor_promotion, anchor_registration
from .mlflow_runs import RunAnchoring, anchor_dataset, anchor_run, default_anchorer
from .publish import AnchorResult, Anchorer

__all__ = [
    "AnchorHandle", "AnchorResult", "Anchorer", "AnchoringClient", "ArtifactIntegrityError",
    "RunAnchoring", "VerifiedModel", "VerifiedPrediction", "anchor_dataset",
    "anchor_model_version", "anchor_promotion", "anchor_registration", "anchor_run",
    "retry_pending",
]


def anchor_model_version(name: str, version: Any, *, anchorer: Anchorer | None = None,
                         tracking_uri: str | None = None,
                         metadata: Mapping[str, Any] | None = None) -> AnchorResult:
    """Anchor ``model_registered`` for an already registered version, synchronously."""
    uri = mx.resolved_tracking_uri(tracking_uri)
    client = mx.client_for(uri)
    mv = client.get_model_version(name, str(version))
    return anchor_registration(client, default_anchorer(anchorer), name, str(mv.version),
                               source=mv.source, run_id=mv.run_id, metadata=metadata,
                               tracking_uri=uri)


def retry_pending(*, anchorer: Anchorer | None = None,
                  event_ids: set[str] | None = None) -> list[AnchorResult]:
    """Retry every pending upload in the anchorer's outbox (or those in `event_ids`).

    Each record uploads the data item signed the first time (same tx id); on success its
    recorded MLflow updates (tx tags, ``anchored`` status, receipt artifacts, chain-head
    tag) are applied against the tracking URI it was recorded with, and the record moves
    to ``outbox/done/``. Failed retries stay pending with the new error.
    """
    anchorer = default_anchorer(anchorer)
    clients: dict[str, Any] = {}

    def apply(actions: list[dict[str, Any]], result: AnchorResult) -> None:
        record = anchorer.outbox.get(result.event_id) if anchorer.outbox else None
        uri = record.tracking_uri if record is not None else None
        if not uri:
            return
        client = clients.get(uri) or clients.setdefault(uri, mx.client_for(uri))
        errors = mx.apply_actions(client, actions, result)
        if errors:
            result.extra["apply_errors"] = errors

    return anchorer.retry_pending(apply=apply, event_ids=event_ids)

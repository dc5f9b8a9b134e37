"""`--write-tags`: write audit results back to MLflow tags, as the seed's CLI does.

Per event: training run tags, model version tags (registration), trace tags (prediction):
``ario.verify_status`` ("verified", else the event's status), and when ar.io Verify
answered ``ario.attestation_level``, ``ario.attested_by``, ``ario.attested_at``,
``ario.report_url``. Failures to write are reported on stderr; they never change the verdict.
This is the only place an audit writes to MLflow, and it says so on stderr; it refuses a
store whose schema differs from the installed MLflow's (opening it to write would migrate it).
"""

from __future__ import annotations

import sys
from typing import Any

from verifier.core.textsafe import shown

_ATTESTATION_TAGS = (("attestation_level", "ario.attestation_level"),
                     ("attested_by", "ario.attested_by"), ("attested_at", "ario.attested_at"),
                     ("report_url", "ario.report_url"))


def tags_for(event: Any) -> dict[str, str]:
    """The tags one event result writes."""
    s = event.subject
    tags = {"ario.verify_status": event.status.value}
    for key, tag in _ATTESTATION_TAGS:
        if s.get(key) is not None:
            tags[tag] = str(s[key])
    return tags


def write_back(tracking_uri: str, result: Any, collection: Any) -> int:
    """Write tags for every training, registration and prediction event; returns #written."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    surfaces = {r.tx_id: (r.surface or {}) for r in collection.records if r.tx_id}
    written = 0
    for ev in result.children:
        s = ev.subject
        entity = s.get("entity") if isinstance(s.get("entity"), dict) else {}
        etype = s.get("event_type")
        try:
            if etype == "training_complete" and entity.get("run_id"):
                setter = lambda k, v: client.set_tag(entity["run_id"], k, v)  # noqa: E731
            elif etype == "model_registered" and entity.get("name") and entity.get("version"):
                setter = lambda k, v: client.set_model_version_tag(  # noqa: E731
                    entity["name"], str(entity["version"]), k, v)
            elif etype == "prediction":
                trace = entity.get("trace_id") or surfaces.get(s.get("tx_id"), {}).get("trace_id")
                if not trace:
                    continue
                setter = lambda k, v: client.set_trace_tag(trace, k, v)  # noqa: E731
            else:
                continue
            for key, value in tags_for(ev).items():
                setter(key, value)
            written += 1
        except Exception as exc:  # noqa: BLE001 - best effort, reported, never fatal
            sys.stderr.write(f"warning: could not write MLflow tags for {shown(s.get('label'))}: "
                             f"{type(exc).__name__}: {shown(exc)}\n")
    return written


def write_tags(tracking_uri: str, result: Any, collection: Any, details: Any) -> int:
    """`write_back`, announced on stderr; 0 without writing when the store's schema is not
    the installed MLflow's (MLflow would migrate the auditee's store on opening it)."""
    from verifier.cli.options import redact_uri

    where = shown(redact_uri(tracking_uri))
    schema, installed = details.get("mlflow_schema"), details.get("mlflow_schema_installed")
    if schema and installed and schema != installed:
        sys.stderr.write(f"--write-tags: not writing to {where}: its schema {shown(schema)} is "
                         f"not the installed MLflow's {shown(installed)} and opening it to "
                         "write would migrate it\n")
        return 0
    written = write_back(tracking_uri, result, collection)
    sys.stderr.write(f"--write-tags: wrote ario.verify_status tags of {written} event(s) to "
                     f"{where}\n")
    return written

"""`ario-verifier audit`: audit a whole model lineage from an audit bundle or from MLflow.

Forms: ``audit FILE.zip`` (offline unless --gateway), ``audit --tracking-uri URI TARGET``
(TARGET = models:/NAME/VERSION | runs:/RUN_ID | traces:/TRACE_ID | NAME/VERSION), and
the seed's ``audit NAME/VERSION`` against $MLFLOW_TRACKING_URI. Same exit codes and JSON
shape as `verify`, plus per-event results ("events") and the lineage graph. The options
and the source handling live in `options.py`, shared with browse and report.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from verifier.cli.auditrun import open_audit
from verifier.cli.options import UsageError, add_policy_options, add_source_options, classify
from verifier.core.textsafe import shown


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "audit", help="audit a model lineage (audit bundle ZIP or MLflow)",
        description="Audit every event of a model lineage (datasets, training, registration, "
        "promotions, predictions): proof found and bound, signature, record re-derivation, "
        "chain, dataset proofs, model files, optional ar.io Verify attestation.",
        epilog="exit codes: 0 verified, 1 failed, 2 malformed input or usage error, 3 incomplete")
    p.add_argument("source", metavar="FILE.zip|TARGET",
                   help="audit bundle, or models:/NAME/VERSION, runs:/ID, traces:/ID, NAME/VERSION")
    add_source_options(p)
    add_policy_options(p)
    p.add_argument("--claims", metavar="FILE",
                   help="an ar-io-mlflow `audit --format json` report (ario.mlflow.audit/v1): "
                   "compare its per-stage claims with this audit (a claimed pass that fails "
                   "here fails the audit)")
    shown = p.add_mutually_exclusive_group()
    shown.add_argument("--summary", dest="listing", action="store_const", const="summary",
                       help="print the verdict, counts and failing checks only (the default "
                       "for audits of more than 40 events)")
    shown.add_argument("--full", dest="listing", action="store_const", const="full",
                       help="print every event with every check, however many events")
    p.add_argument("--write-tags", action="store_true",
                   help="write ario.verify_status / ario.attestation_* tags back to MLflow")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, source: str | None = None, label: str | None = None) -> int:
    """Audit `source` (default `args.source`) and print the verdict, naming the input
    `label` (default: the source); the exit code."""
    from verifier.cli.exitcodes import EXIT_USAGE

    source = source if source is not None else args.source
    try:
        kind, where, _ = classify(source, getattr(args, "tracking_uri", None))
        if kind == "bundle" and getattr(args, "write_tags", False):
            raise UsageError("--write-tags needs a live MLflow audit (--tracking-uri)")
        audit = open_audit(args, source)
    except UsageError as exc:
        sys.stderr.write(f"ario-verifier audit: error: {shown(exc)}\n")
        return EXIT_USAGE
    with audit:
        return _drive(audit, args, label or (where if kind == "bundle" else audit.source.label))


#: `--json` lists every event only for audits of at most this many events; above, it lists
#: the non-verified ones (up to the stream's FAILURE_CAP) and points to --events-out.
JSON_EVENTS_MAX = 10_000


def _drive(audit: Any, args: argparse.Namespace, label: str, json_max: int = JSON_EVENTS_MAX) -> int:
    """Consume the stream: keep the events only while they are few (or for --write-tags,
    whose MLflow source is in memory anyway), then print the verdict."""
    from verifier.cli.audit_render import render_audit_human, render_audit_json
    from verifier.cli.exitcodes import exit_code
    from verifier.cli.options import Progress
    from verifier.core.result import Result

    progress = Progress("auditing events", getattr(args, "quiet", False))
    total = audit.total or 0
    keep_all = bool(getattr(args, "write_tags", False))
    events: list[Any] | None = []
    for ev in audit:
        if events is not None:
            events.append(ev)
            if len(events) > json_max and not keep_all:
                events = None  # from here on the summary's bounded roll-up is all we keep
        progress(audit.done, total)
    summary = audit.summary
    listed = events is not None
    shown_events = sorted(events if listed else summary.failures, key=lambda e: e.seq)  # type: ignore[arg-type]
    r = summary.result
    result = Result(r.kind, r.status, r.reason, r.checks, r.subject,
                    tuple(e.result for e in shown_events))
    extra = {"source": audit.source.kind, **audit.source.details}
    read_from = extra.get("mlflow_read_from")
    if read_from and "upgraded" in str(read_from) and not getattr(args, "json", False):
        sys.stderr.write(f"note: MLflow store schema {shown(extra.get('mlflow_schema'))} read "
                         f"through a {shown(read_from)}; the store itself was not changed\n")
    if getattr(args, "write_tags", False) and getattr(audit, "tracking_uri", None):
        from verifier.cli.mlflow_tags import write_tags

        extra["wrote_tags"] = write_tags(audit.tracking_uri, result, audit.collection,
                                         audit.source.details)
    if getattr(args, "json", False):
        if not listed:
            extra.update({"events": None, "events_omitted": summary.events,
                          "failures": [e.to_json() for e in shown_events],
                          "failures_omitted": summary.failures_omitted,
                          "note": f"more than {json_max} events: per-event results are "
                                  "not listed here; use --events-out FILE.jsonl"})
            result = Result(r.kind, r.status, r.reason, r.checks, r.subject, ())
        render_audit_json(result, {"input": label, **extra})
    else:
        listing = getattr(args, "listing", None) or ("summary" if getattr(args, "summary", False)
                                                      else None)  # verify X.zip --summary
        render_audit_human(result, label, summary=True if not listed else
                           {"summary": True, "full": False}.get(listing),
                           seqs=None if listed else [e.seq for e in shown_events])
    return exit_code(result.status)

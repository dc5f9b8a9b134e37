"""`ario-verifier export`: write the audit bundle of an MLflow target (spec/audit-bundle.md).

``export --tracking-uri URI TARGET -o FILE.zip [--gateway URL]... [--offline]``. Envelope
bytes come from the gateways (or the cache); offline, the producer's data items and local
copies are exported with their origins, and the audit says what could not be confirmed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from verifier.core.textsafe import shown
from verifier.cli.exitcodes import EXIT_INCOMPLETE, EXIT_USAGE, EXIT_VERIFIED


def register(sub: argparse._SubParsersAction) -> None:
    from verifier.cli.options import add_source_options

    p = sub.add_parser(
        "export", help="export an MLflow lineage as an offline audit bundle (ZIP)",
        description="Collect everything an offline audit of TARGET needs (envelopes, payloads, "
        "data items, receipts, MLflow surfaces, model file hashes) into one ZIP: an audit bundle "
        "v2 (ario-verifier.audit-bundle/v2), evidence in digested shards written one at a time.",
        epilog="exit codes: 0 written, 2 usage error or unreadable store, 3 written with gaps "
        "(listed on stderr)")
    p.add_argument("target", metavar="TARGET",
                   help="models:/NAME/VERSION, runs:/RUN_ID, traces:/TRACE_ID or NAME/VERSION")
    p.add_argument("-o", "--output", required=True, metavar="FILE.zip",
                   help="bundle to write (its directory must exist)")
    p.add_argument("--force", action="store_true", help="replace FILE.zip if it exists")
    add_source_options(p)
    p.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from verifier.cli.options import (
        UsageError, check_offline_store, check_output_path, gateway_client, redact_uri, to_target,
    )
    from verifier.sources.errors import SourceError
    from verifier.sources.mlflow_export import BundleWriteError, export_mlflow

    uri = args.tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
    try:
        if not uri:
            raise UsageError("pass --tracking-uri or set MLFLOW_TRACKING_URI")
        target = to_target(args.target)
        check_output_path(args.output, args.force)
        check_offline_store(args, uri)
        client = gateway_client(args)
    except UsageError as exc:
        sys.stderr.write(f"ario-verifier export: error: {exc}\n")
        return EXIT_USAGE
    try:  # predictions stream into the bundle a chunk at a time (sources/mlflow_export.py)
        summary, collection = export_mlflow(uri, target, args.output, gateway=client)
    except BundleWriteError as exc:
        sys.stderr.write(f"ario-verifier export: error: cannot write {shown(args.output)}: "
                         f"{shown(exc.args[0])}\n")
        return EXIT_USAGE
    except ValueError as exc:
        sys.stderr.write(f"ario-verifier export: error: {exc}\n")
        return EXIT_USAGE
    except SourceError as exc:
        sys.stderr.write(f"ario-verifier export: error: {shown(exc)}\n")
        return EXIT_USAGE
    finally:
        if client is not None:
            client.close()
    for what, why in collection.gaps:
        sys.stderr.write(f"gap: {shown(what)}: {shown(why)}\n")  # names from the store
    info = {"output": str(summary.path), "sha256": summary.sha256, "events": summary.events,
            "members": summary.members, "gaps": len(collection.gaps), "target": target,
            "tracking_uri": redact_uri(uri), **collection.source}
    if args.json:
        sys.stdout.write(json.dumps(info) + "\n")
    else:
        sys.stdout.write(f"wrote {summary.path} ({summary.events} event(s), {summary.members} "
                         f"member(s), sha256 {summary.sha256})\n")
        if collection.gaps:
            sys.stdout.write(f"{len(collection.gaps)} gap(s) recorded; the audit will report them\n")
    return EXIT_INCOMPLETE if collection.gaps or not summary.events else EXIT_VERIFIED

"""The seed CLI's forms, `verify run <run_id>`, `verify model <name>/<version>` and
`verify trace <trace_id>`: each is an audit of that MLflow target against
$MLFLOW_TRACKING_URI (or --tracking-uri), with the audit's options and exit codes."""

from __future__ import annotations

import argparse
import sys
from verifier.cli.exitcodes import EXIT_USAGE, EXIT_VERIFIED

_TARGETS = {"run": "runs:/{}", "trace": "traces:/{}"}


def run_seed_verify(kind: str, ident: str, argv_rest: list[str]) -> int:
    """Audit `ident` as a run, model version or trace; parses its own flags from `argv_rest`."""
    import os

    from verifier.cli import audit_cmd
    from verifier.cli.options import add_policy_options, add_source_options

    parser = argparse.ArgumentParser(prog=f"ario-verifier verify {kind}", add_help=True)
    add_source_options(parser)
    add_policy_options(parser)
    parser.add_argument("--write-tags", action="store_true",
                        help="write ario.verify_status / ario.attestation_* tags back to MLflow")
    try:
        args = parser.parse_args(argv_rest)
    except SystemExit as exc:
        return EXIT_VERIFIED if exc.code == 0 else EXIT_USAGE
    if kind == "model":
        name, _, version = ident.rpartition("/")
        if not name:  # the seed's default: `verify model NAME` means version 1
            name, version = ident, "1"
        target = f"models:/{name}/{version}"
    elif kind in _TARGETS:
        target = _TARGETS[kind].format(ident)
    else:
        sys.stderr.write(f"ario-verifier verify: error: unknown form {kind!r}\n")
        return EXIT_USAGE
    uri = args.tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
    if not uri:
        sys.stderr.write(f"ario-verifier verify {kind}: error: set MLFLOW_TRACKING_URI or pass "
                         "--tracking-uri\n")
        return EXIT_USAGE
    args.tracking_uri = uri
    return audit_cmd.run(args, target)

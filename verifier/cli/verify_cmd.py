"""`ario-verifier verify PATH|-`: verify one envelope, inclusion bundle, evidence bundle or
audit bundle (ZIP) offline; `verify --jsonl` streams one envelope per line; the ar-io-mlflow
CLI's forms `verify run|model|trace ID` audit that MLflow target. One parser takes every
option (the audit's come from options.py) and `run` routes the input. Exit codes come from
the status (cli/exitcodes.py)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from verifier.cli.options import add_policy_options, add_source_options
from verifier.core.textsafe import shown

SEED_FORMS = ("run", "model", "trace")
#: options only an audit uses (a seed form or an audit bundle ZIP); given with a single
#: document or --jsonl they are usage errors, not silently ignored.
_AUDIT_ONLY = ("gateway", "quorum", "offline", "no_cache", "require_binding",
               "require_receipts", "receipt_signer", "ario_verify_url",
               "min_attestation_level", "events_out", "force", "quiet", "write_tags")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "verify",
        help="verify an envelope, proof bundle, evidence bundle or audit bundle",
        description="Verify one document offline. PATH may be '-' for stdin. The kind is "
        "detected: envelope, ario.agent.proof/v1 bundle, ario.evidence/v1 bundle, or an "
        "audit bundle ZIP. Seed forms `verify run|model|trace ID` audit from MLflow.",
        epilog="exit codes: 0 verified, 1 failed, 2 malformed input or usage error, 3 incomplete",
    )
    p.add_argument("path", metavar="PATH", help="file to verify, or '-' for stdin")
    p.add_argument("ident", nargs="?", help=argparse.SUPPRESS)
    p.add_argument("--payload", metavar="FILE", help="committed payload bytes (external binding)")
    p.add_argument("--jsonl", action="store_true",
                   help="PATH holds one envelope per line; stream-verify on all cores")
    p.add_argument("--summary", action="store_true",
                   help="with --jsonl or an audit bundle: print only the summary")
    p.add_argument("--write-tags", action="store_true",
                   help="with `verify run|model|trace ID`: write ario.verify_status / "
                   "ario.attestation_* tags back to MLflow")
    # The audit's options, once (options.py): the seed forms and audit bundles use them all;
    # a single document or --jsonl refuses those in _AUDIT_ONLY.
    add_source_options(p)
    add_policy_options(p)
    p.set_defaults(func=run, audit_defaults={d: p.get_default(d) for d in _AUDIT_ONLY})


def run(args: argparse.Namespace) -> int:
    from verifier.cli.inputs import InputError, document_input, load_trusted_keys, read_input
    from verifier.cli.exitcodes import EXIT_USAGE, exit_code
    from verifier.cli.render import render_human, render_json
    from verifier.core.detect import verify_document
    from verifier.core.limits import Limits
    from verifier.core.policy import Policy
    from verifier.core.reasons import ReasonCode
    from verifier.core.result import malformed_result

    if args.path in SEED_FORMS and args.ident is not None and not Path(args.path).exists():
        return _run_seed(args)
    if args.ident:
        sys.stderr.write(f"ario-verifier verify: error: unexpected argument {shown(args.ident)!r}\n")
        return EXIT_USAGE
    if args.tracking_uri:
        sys.stderr.write("ario-verifier verify: error: --tracking-uri applies to "
                         "`verify run|model|trace ID` only\n")
        return EXIT_USAGE
    if args.max_bytes <= 0:
        sys.stderr.write("ario-verifier verify: error: --max-bytes must be positive\n")
        return EXIT_USAGE
    if args.path == "-" and args.payload == "-":
        sys.stderr.write("ario-verifier verify: error: the document and --payload cannot both "
                         "be read from stdin; give one of them as a file\n")
        return EXIT_USAGE
    limits = Limits(max_document_bytes=args.max_bytes)
    if args.jsonl:
        return EXIT_USAGE if _audit_only_given(args) else _run_jsonl(args, limits)
    try:
        trusted = load_trusted_keys(args.trusted_keys) if args.trusted_keys else None
    except InputError as exc:  # the keys file is at fault, not the document
        result = malformed_result("trusted_keys", "trusted_keys", exc.reason, exc.detail)
        return _emit(args, result, args.path, render_human, render_json, exit_code,
                     error=str(exc), extra={"trusted_keys": args.trusted_keys}, show=False)
    try:
        with document_input(args.path, limits.max_document_bytes) as doc:
            if isinstance(doc, Path):  # an audit bundle: audited exactly as `audit` would
                from verifier.cli import audit_cmd

                return audit_cmd.run(args, str(doc), label=args.path)
            data = doc
        if _audit_only_given(args):
            return EXIT_USAGE
        payload = read_input(args.payload, limits.max_document_bytes) if args.payload else None
    except InputError as exc:
        result = malformed_result("document", "intake", exc.reason, exc.detail)
        return _emit(args, result, args.path, render_human, render_json, exit_code, error=str(exc))
    if args.summary:
        sys.stderr.write("ario-verifier verify: error: --summary applies to --jsonl and to "
                         "audit bundles (ZIP) only\n")
        return EXIT_USAGE
    policy = Policy(allow_legacy=args.allow_legacy, trusted_keys=trusted)
    result = verify_document(data, payload, policy=policy, limits=limits)
    if result.reason is ReasonCode.LEGACY_NOT_ALLOWED and not args.json:
        sys.stderr.write("hint: this is a legacy envelope; re-run with --allow-legacy to accept it\n")
    return _emit(args, result, args.path, render_human, render_json, exit_code)


def _run_jsonl(args: argparse.Namespace, limits) -> int:
    from verifier.cli.exitcodes import EXIT_USAGE
    from verifier.cli.inputs import InputError, load_trusted_keys
    from verifier.cli.jsonl import run_jsonl
    from verifier.core.policy import Policy

    if args.payload:
        sys.stderr.write("ario-verifier verify: error: --payload does not apply to --jsonl "
                         "(put payloads in the lines)\n")
        return EXIT_USAGE
    try:
        trusted = load_trusted_keys(args.trusted_keys) if args.trusted_keys else None
        if args.path != "-":
            open(args.path, "rb").close()
    except InputError as exc:
        sys.stderr.write(f"ario-verifier verify: error: {shown(exc)}\n")
        return EXIT_USAGE
    except OSError as exc:
        sys.stderr.write(f"ario-verifier verify: error: cannot read {shown(args.path)}: {exc.strerror}\n")
        return EXIT_USAGE
    policy = Policy(allow_legacy=args.allow_legacy, trusted_keys=trusted)
    return run_jsonl(args.path, policy=policy, limits=limits, workers=args.workers,
                     summary_only=args.summary, scheduler=args.scheduler)


def _emit(args, result, label, render_human, render_json, exit_code, error: str | None = None,
          extra: dict | None = None, show: bool = True) -> int:
    """One JSON object under --json; otherwise the error (if any) on stderr and, when `show`,
    the result as text."""
    if args.json:
        render_json(result, {"input": label, **(extra or {})})
    else:
        if error:
            sys.stderr.write(f"ario-verifier verify: error: {shown(error)}\n")
        if show:
            render_human(result, label)
    return exit_code(result.status)


def _audit_only_given(args: argparse.Namespace) -> bool:
    """Whether an audit-only option was given for a single document or --jsonl (the error
    line is then written)."""
    for dest, default in args.audit_defaults.items():
        if getattr(args, dest) != default:
            flag = "-q" if dest == "quiet" else "--" + dest.replace("_", "-")
            sys.stderr.write(f"ario-verifier verify: error: {flag} applies to audit bundles (ZIP) "
                             "and `verify run|model|trace ID` only\n")
            return True
    return False


def _run_seed(args: argparse.Namespace) -> int:
    """`verify run RUN_ID`, `verify model NAME[/VERSION]` (version 1 by default, as the
    ar-io-mlflow CLI), `verify trace TRACE_ID`: an audit of that MLflow target against
    --tracking-uri or $MLFLOW_TRACKING_URI, with the audit's options and exit codes."""
    import os

    from verifier.cli import audit_cmd
    from verifier.cli.exitcodes import EXIT_USAGE

    kind, ident = args.path, args.ident
    if kind == "model":
        name, _, version = ident.rpartition("/")
        target = f"models:/{name}/{version}" if name else f"models:/{ident}/1"
    else:
        target = f"{'runs' if kind == 'run' else 'traces'}:/{ident}"
    args.tracking_uri = args.tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
    if not args.tracking_uri:
        sys.stderr.write(f"ario-verifier verify {kind}: error: set MLFLOW_TRACKING_URI or pass "
                         "--tracking-uri\n")
        return EXIT_USAGE
    return audit_cmd.run(args, target)

"""`ario-verifier verify PATH|-`: verify one envelope, inclusion bundle, evidence bundle or
audit bundle (ZIP) offline. Exit codes come from the status (cli/exitcodes.py)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from verifier.cli.options import positive_int
from verifier.core.textsafe import shown

SEED_FORMS = ("run", "model", "trace")


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
    p.add_argument("--allow-legacy", action="store_true",
                   help="accept envelopes without spec_version (ar-io-mlflow 0.1.0)")
    p.add_argument("--trusted-keys", metavar="FILE",
                   help="file of allowed Ed25519 public keys: hex one per line, a JSON list, "
                   "or a key file from `keys generate` (only its public key is read)")
    p.add_argument("--max-bytes", type=int, default=64 * 1024 * 1024, metavar="N",
                   help="refuse a document larger than N bytes; in an audit bundle ZIP, each "
                   "envelope, payload, data item, receipt and surface (uncompressed, checked "
                   "before inflating), as `audit --max-bytes` (default 64 MiB)")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--jsonl", action="store_true",
                   help="PATH holds one envelope per line; stream-verify on all cores")
    p.add_argument("--summary", action="store_true",
                   help="with --jsonl or an audit bundle: print only the summary")
    p.add_argument("--workers", type=positive_int, default=None, metavar="N",
                   help="with --jsonl: worker processes (default: CPU count)")
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                   help="with --jsonl: verify on this Dask distributed cluster instead of local "
                   "processes (needs the cluster extra; docs/cluster.md)")
    p.add_argument("--tracking-uri", metavar="URI",
                   help="with `verify run|model|trace ID` (the ar-io-mlflow CLI's forms, "
                   "audits; see `audit --help` for their options): the MLflow store "
                   "(default $MLFLOW_TRACKING_URI)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from verifier.cli.inputs import InputError, document_input, load_trusted_keys, read_input
    from verifier.cli.exitcodes import EXIT_USAGE, exit_code
    from verifier.cli.render import render_human, render_json
    from verifier.core.detect import verify_document
    from verifier.core.limits import Limits
    from verifier.core.policy import Policy
    from verifier.core.reasons import ReasonCode
    from verifier.core.result import malformed_result

    if args.path in SEED_FORMS and args.ident and not Path(args.path).exists():
        from verifier.cli.seed_forms import run_seed_verify

        return run_seed_verify(args.path, args.ident, _passthrough(args))
    if args.ident:
        sys.stderr.write(f"ario-verifier verify: error: unexpected argument {args.ident!r}\n")
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
        return _run_jsonl(args, limits)
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
    if args.workers is not None and args.workers < 1:
        sys.stderr.write("ario-verifier verify: error: --workers must be at least 1\n")
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


def _passthrough(args: argparse.Namespace) -> list[str]:
    rest: list[str] = []
    if args.allow_legacy:
        rest.append("--allow-legacy")
    if args.trusted_keys:
        rest += ["--trusted-keys", args.trusted_keys]
    if args.json:
        rest.append("--json")
    if args.tracking_uri:
        rest += ["--tracking-uri", args.tracking_uri]
    return rest

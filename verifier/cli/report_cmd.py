"""`ario-verifier report`: a PDF/A-3u compliance report of an audit (verifier/report).

Takes every source and policy option of `audit` and reaches the same verdict; writes the
report for every verdict, then exits with the audit's code. WeasyPrint (the `pdf` extra)
is imported only when a PDF is asked for; without it the command says so and exits 2.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from datetime import datetime, timezone
from pathlib import Path

from verifier.cli.options import (
    DEFAULT_MAX_BYTES, UsageError, add_policy_options, add_source_options, classify, redact_uri,
)

DEFAULT_ATTACH_MAX = 32 * 1024 * 1024


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report", help="write a PDF/A compliance report of an audit (pdf extra)",
        description="Audit a model lineage (as `audit` does) and write a PDF/A-3u report an "
        "auditor can file: verdict, subject, period, policy and digests on page 1, findings, "
        "lineage diagram, event register, what was and was not checked, compliance mapping, "
        "re-verify recipe. The verdict JSON, one JSON line per event and the bundle (when "
        "small enough) are attached to the PDF. Set SOURCE_DATE_EPOCH for a byte-identical "
        "PDF from the same inputs.",
        epilog="exit codes (after the report is written): 0 verified, 1 failed, 2 malformed "
        "input or usage error, 3 incomplete")
    p.add_argument("source", metavar="FILE.zip|TARGET",
                   help="audit bundle, or models:/NAME/VERSION, runs:/ID, traces:/ID, NAME/VERSION")
    p.add_argument("-o", "--output", metavar="REPORT.pdf", help="the PDF to write")
    p.add_argument("--html", metavar="REPORT.html", help="also (or only) write the report as HTML")
    p.add_argument("--attach-max-bytes", type=int, default=DEFAULT_ATTACH_MAX, metavar="N",
                   help="attach the audit bundle only when at most N bytes (default 32 MiB)")
    add_source_options(p)
    add_policy_options(p)
    p.set_defaults(func=run)


def _generated_at() -> tuple[datetime, bool]:
    """SOURCE_DATE_EPOCH when set (reproducible builds), else now; UTC, whole seconds."""
    raw = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if raw:
        try:
            return datetime.fromtimestamp(int(raw), tz=timezone.utc), True
        except (ValueError, OverflowError, OSError):
            raise UsageError(f"SOURCE_DATE_EPOCH={raw!r} is not a Unix time in seconds") from None
    return datetime.now(timezone.utc).replace(microsecond=0), False


def _options(args: argparse.Namespace, kind: str, where: str) -> list[str]:
    """The audit options of this command line, as flags (for the re-check command)."""
    out: list[str] = []
    if kind == "mlflow":
        out += ["--tracking-uri", redact_uri(where)]
    for g in args.gateway or []:
        out += ["--gateway", g]
    if args.quorum != 1:
        out += ["--quorum", str(args.quorum)]
    if args.offline:
        out.append("--offline")
    if args.trusted_keys:
        out += ["--trusted-keys", args.trusted_keys]
    for s in args.receipt_signer or []:
        out += ["--receipt-signer", s]
    for flag in ("allow_legacy", "require_binding"):
        if getattr(args, flag):
            out.append("--" + flag.replace("_", "-"))
    if args.ario_verify_url:
        out += ["--ario-verify-url", args.ario_verify_url]
    if args.min_attestation_level:
        out += ["--min-attestation-level", str(args.min_attestation_level)]
    if args.max_bytes != DEFAULT_MAX_BYTES:
        out += ["--max-bytes", str(args.max_bytes)]
    return out


def run(args: argparse.Namespace) -> int:
    from verifier.cli.exitcodes import EXIT_USAGE, exit_code

    def fail(msg: str) -> int:
        sys.stderr.write(f"ario-verifier report: error: {msg}\n")
        return EXIT_USAGE

    if not args.output and not args.html:
        return fail("name the report to write: -o REPORT.pdf and/or --html REPORT.html")
    pdf = Path(args.output) if args.output else None
    html = Path(args.html) if args.html else None
    if pdf is not None and html is not None and pdf.resolve() == html.resolve():
        return fail("-o and --html name the same file")
    for t in (pdf, html):
        if t is not None and t.resolve() == Path(args.source).resolve():
            return fail(f"{t} is the evidence being audited; write the report elsewhere")
        if t is not None and (t.is_symlink() or (t.exists() and not t.is_file())):
            return fail(f"{t} is not a regular file; the report replaces only regular files")
        if t is not None and t.exists() and not args.force:
            return fail(f"{t} exists; pass --force to overwrite it")
        if t is not None and not t.parent.is_dir():
            return fail(f"cannot write {t}: no such directory")
    if pdf is not None:
        try:
            import weasyprint  # noqa: F401
        except ImportError:
            return fail("a PDF needs WeasyPrint: pip install 'ario-verifier[pdf]' "
                        "(or write only --html)")
    if args.attach_max_bytes < 0:
        return fail("--attach-max-bytes must not be negative")
    from verifier.cli.auditrun import open_audit
    from verifier.cli.options import Progress
    from verifier.report.build import OutputExists, ReportRequest, build_report

    try:
        generated_at, reproducible = _generated_at()
        kind, where, _ = classify(args.source, args.tracking_uri)
        audit = open_audit(args)
    except UsageError as exc:
        return fail(str(exc))
    flags = _options(args, kind, where)
    source = [args.source]
    outputs = (["-o", args.output] if args.output else []) + (["--html", args.html] if args.html else [])
    progress = Progress("auditing events", args.quiet)
    req = ReportRequest(
        pdf=pdf, html=html, force=args.force, generated_at=generated_at, reproducible=reproducible,
        gateways=tuple(args.gateway or ()), quorum=args.quorum, trusted_keys_file=args.trusted_keys,
        command=shlex.join(["ario-verifier", "report", *source, *outputs, *flags]),
        recheck=shlex.join(["ario-verifier", "audit", *source, *flags]),
        attach_max=args.attach_max_bytes,
        progress=(lambda n: progress(n, audit.total or 0)))
    with audit:
        try:
            status = build_report(audit, req)
        except OutputExists as exc:
            return fail(f"{exc} exists; pass --force to overwrite it")
        except OSError as exc:
            return fail(f"cannot write the report: {exc.strerror or exc}")
    if req.refused:
        sys.stderr.write(f"ario-verifier report: refused {len(req.refused)} non-package resource(s)\n")
    written = ", ".join(str(p) for p in (pdf, html) if p is not None)
    if args.json:
        import json

        sys.stdout.write(json.dumps({"status": status.value, "written": [str(p) for p in (pdf, html) if p]}) + "\n")
    elif not args.quiet:
        sys.stdout.write(f"{status.value.upper()}: report written to {written}\n")
    return exit_code(status)

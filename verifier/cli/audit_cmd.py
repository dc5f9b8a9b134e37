"""`ario-verifier audit`: audit a whole model lineage from an audit bundle or from MLflow.

Forms: ``audit FILE.zip`` (offline unless --gateway), ``audit --tracking-uri URI TARGET``
(TARGET = models:/NAME/VERSION | runs:/RUN_ID | traces:/TRACE_ID | NAME/VERSION), and
the seed's ``audit NAME/VERSION`` against $MLFLOW_TRACKING_URI. Same exit codes and JSON
shape as `verify`, plus per-event results ("events") and the lineage graph.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
from pathlib import Path
from typing import Any, Iterator

_URI_ENV = "MLFLOW_TRACKING_URI"
DEFAULT_GATEWAYS = ("https://turbo-gateway.com", "https://ardrive.net")
_NAME_VERSION = re.compile(r"[^/:@\s][^/@]*/[0-9]+")
_TARGET_PREFIXES = ("models:/", "runs:/", "traces:/")


def add_source_options(p: argparse.ArgumentParser) -> None:
    """Options shared by audit, export and the seed forms: where bytes come from."""
    p.add_argument("--tracking-uri", metavar="URI", help="MLflow tracking URI (live audit)")
    p.add_argument("--gateway", action="append", default=[], metavar="URL",
                   help="ar.io gateway to fetch anchored bytes from (repeatable, in order)")
    p.add_argument("--quorum", type=int, default=1, metavar="N",
                   help="N gateways must return identical bytes (default 1)")
    p.add_argument("--offline", action="store_true", help="open no network connection at all")
    p.add_argument("--no-cache", action="store_true", help="do not use the local byte cache")


def add_policy_options(p: argparse.ArgumentParser) -> None:
    """The trust policy (spec/audit.md §2) and output options."""
    p.add_argument("--trusted-keys", metavar="FILE",
                   help="file of allowed Ed25519 envelope keys (hex, one per line, or JSON list)")
    p.add_argument("--allow-legacy", action="store_true",
                   help="accept envelopes without spec_version (ar-io-mlflow 0.1.0)")
    p.add_argument("--require-binding", action="store_true",
                   help="an event without a data item binding tx id and bytes is incomplete")
    p.add_argument("--receipt-signer", action="append", default=[], metavar="ADDRESS",
                   help="trusted Turbo receipt signer address (repeatable)")
    p.add_argument("--ario-verify-url", metavar="URL",
                   help="ask this ar.io Verify service about each tx (online only)")
    p.add_argument("--min-attestation-level", type=int, choices=(1, 2, 3), metavar="N",
                   help="ar.io Verify level below N makes the event incomplete")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1, metavar="N",
                   help="processes for large audits (default: CPU count)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")


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
    p.add_argument("--write-tags", action="store_true",
                   help="write ario.verify_status / ario.attestation_* tags back to MLflow")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from verifier.cli.exitcodes import EXIT_USAGE

    try:
        kind, where, target = classify(args.source, args.tracking_uri)
    except UsageError as exc:
        sys.stderr.write(f"ario-verifier audit: error: {exc}\n")
        return EXIT_USAGE
    if kind == "bundle":
        if args.write_tags:
            sys.stderr.write("ario-verifier audit: error: --write-tags needs a live MLflow audit "
                             "(--tracking-uri)\n")
            return EXIT_USAGE
        return audit_bundle_file(where, args)
    return audit_mlflow(where, target, args)


class UsageError(Exception):
    """A command line that cannot be acted on (exit 2)."""


def classify(source: str, tracking_uri: str | None) -> tuple[str, str, str]:
    """("bundle", path, "") or ("mlflow", tracking uri, target)."""
    if tracking_uri:
        return "mlflow", tracking_uri, to_target(source)
    if Path(source).is_file() or source.lower().endswith(".zip"):
        return "bundle", source, ""
    target = to_target(source)
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if not uri:
        raise UsageError(f"{source!r} is not a file; to audit it from MLflow pass --tracking-uri "
                         "or set MLFLOW_TRACKING_URI")
    return "mlflow", uri, target


def to_target(text: str) -> str:
    """models:/..., runs:/..., traces:/... as given; NAME/VERSION as models:/NAME/VERSION."""
    if text.startswith(_TARGET_PREFIXES):
        return text
    if _NAME_VERSION.fullmatch(text):
        return f"models:/{text}"
    raise UsageError(f"{text!r} is not a target: expected models:/NAME/VERSION, runs:/RUN_ID, "
                     "traces:/TRACE_ID or NAME/VERSION")


# -- shared plumbing --------------------------------------------------------------------------


def build_policy(args: argparse.Namespace) -> Any:
    """AuditPolicy from the options (raises InputError for an unreadable key file)."""
    from verifier.audit import AuditPolicy
    from verifier.cli.inputs import load_trusted_keys

    keys = getattr(args, "trusted_keys", None)
    signers = getattr(args, "receipt_signer", None) or []
    return AuditPolicy(
        trusted_keys=load_trusted_keys(keys) if keys else None,
        allow_legacy=bool(getattr(args, "allow_legacy", False)),
        require_binding=bool(getattr(args, "require_binding", False)),
        trusted_receipt_signers=frozenset(signers) if signers else None,
        min_attestation_level=getattr(args, "min_attestation_level", None),
    )


def gateway_client(args: argparse.Namespace, default: tuple[str, ...] = DEFAULT_GATEWAYS) -> Any:
    """A GatewayClient for the options; offline -> an offline client; None without gateways.

    Raises UsageError for options that cannot work (a quorum larger than the list...)."""
    from verifier.sources.cache import ByteCache
    from verifier.sources.gateway import GatewayClient

    if getattr(args, "offline", False):
        return GatewayClient([], offline=True)
    gateways = list(getattr(args, "gateway", None) or default)
    if not gateways:
        return None
    quorum = getattr(args, "quorum", 1)
    try:
        cache = None if getattr(args, "no_cache", False) else ByteCache()
        return GatewayClient(gateways, quorum=quorum, cache=cache)
    except ValueError as exc:  # bad URL scheme, quorum larger than the gateway list...
        raise UsageError(str(exc)) from None


class Progress:
    """Progress on stderr for long audits: a rewritten line on a TTY, sparse lines otherwise."""

    def __init__(self, what: str, quiet: bool, minimum: int = 2000) -> None:
        self.what, self.quiet, self.minimum = what, quiet, minimum
        self.tty = sys.stderr.isatty()
        self._last = -1

    def __call__(self, done: int, total: int) -> None:
        if self.quiet or total < self.minimum:
            return
        pct = done * 100 // max(total, 1)
        if self.tty:
            sys.stderr.write(f"\r{self.what}: {done}/{total} ({pct}%)")
            if done >= total:
                sys.stderr.write("\n")
        elif pct // 10 != self._last // 10 or done >= total:
            sys.stderr.write(f"{self.what}: {done}/{total} ({pct}%)\n")
        self._last = pct
        sys.stderr.flush()


def _emit(args: argparse.Namespace, result: Any, label: str, extra: dict[str, Any] | None = None) -> int:
    from verifier.cli.audit_render import render_audit_human, render_audit_json
    from verifier.cli.exitcodes import exit_code

    if getattr(args, "json", False):
        render_audit_json(result, {"input": label, **(extra or {})})
    else:
        render_audit_human(result, label)
    return exit_code(result.status)


def _failure(check_id: str, reason: Any, detail: str, target: str = "") -> Any:
    from verifier.core.result import make_result, problem

    return make_result("audit", [problem(check_id, reason, detail)], {"target": target})


def _audit(collection: Any, args: argparse.Namespace, policy: Any) -> Any:
    from verifier.audit import ArioVerifyClient, audit_collection

    url = getattr(args, "ario_verify_url", None)
    service = ArioVerifyClient(url) if url else None
    try:
        return audit_collection(collection, policy, workers=max(1, getattr(args, "workers", 1) or 1),
                                verify_service=service.query if service else None,
                                progress=Progress("auditing events", getattr(args, "quiet", False)))
    finally:
        if service is not None:
            service.close()


# -- the two sources ----------------------------------------------------------------------------


def audit_bundle_file(path: str, args: argparse.Namespace) -> int:
    """Audit an audit bundle (also used by `verify FILE.zip`)."""
    from verifier.cli.inputs import InputError
    from verifier.core.reasons import ReasonCode
    from verifier.sources.bundle import read_bundle
    from verifier.sources.errors import BundleError

    policy = _policy_or_exit(args, path)
    if isinstance(policy, int):
        return policy
    if not Path(path).is_file():
        return _emit(args, _failure("intake", ReasonCode.INPUT_UNREADABLE,
                                    f"cannot read {path}: no such file"), path)
    try:
        collection = read_bundle(path)
    except BundleError as exc:
        return _emit(args, _failure("bundle", exc.reason, exc.message), path)
    except OSError as exc:
        return _emit(args, _failure("intake", ReasonCode.INPUT_UNREADABLE,
                                    f"cannot read {path}: {exc.strerror or exc}"), path)
    if getattr(args, "gateway", None) and not getattr(args, "offline", False):
        from verifier.audit.collect import confirm_on_gateways

        try:
            client = gateway_client(args, ())
        except UsageError as exc:
            sys.stderr.write(f"ario-verifier audit: error: {exc}\n")
            return 2
        with client:
            confirm_on_gateways(collection, client,
                                Progress("confirming on gateways", getattr(args, "quiet", False), 200))
    result = _audit(collection, args, policy)
    return _emit(args, result, path, {"source": "bundle"})


def audit_mlflow(tracking_uri: str, target: str, args: argparse.Namespace) -> int:
    """Audit a target straight from an MLflow tracking server or store."""
    from verifier.cli.inputs import InputError
    from verifier.sources.errors import SourceError
    from verifier.sources.mlflow_reader import read_mlflow

    policy = _policy_or_exit(args, target, target)
    if isinstance(policy, int):
        return policy
    try:
        client = gateway_client(args)
    except UsageError as exc:
        sys.stderr.write(f"ario-verifier audit: error: {exc}\n")
        return 2
    try:
        with use_tracking_uri(tracking_uri):
            collection = read_mlflow(tracking_uri, target, gateway=client)
    except ValueError as exc:
        sys.stderr.write(f"ario-verifier audit: error: {exc}\n")
        return 2
    except SourceError as exc:
        return _emit(args, _failure("collection", exc.reason, exc.message, target), target)
    finally:
        if client is not None:
            client.close()
    result = _audit(collection, args, policy)
    if getattr(args, "write_tags", False):
        from verifier.cli.mlflow_tags import write_back

        write_back(tracking_uri, result, collection)
    return _emit(args, result, target, {"source": "mlflow", "tracking_uri": redact_uri(tracking_uri)})


@contextlib.contextmanager
def use_tracking_uri(uri: str) -> Iterator[None]:
    """$MLFLOW_TRACKING_URI = `uri` while reading a store, restored exactly afterwards.

    MLflow resolves some locations (MLflow 3 logged-model artifacts) against its default
    tracking URI rather than the client's, so without this a store given by --tracking-uri
    could be read partly from another one.
    """
    before = os.environ.get(_URI_ENV)
    os.environ[_URI_ENV] = uri
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(_URI_ENV, None)
        else:
            os.environ[_URI_ENV] = before


def redact_uri(uri: str) -> str:
    """A URI fit for output: any user:password@ part is replaced by ***@."""
    return re.sub(r"^([a-zA-Z][a-zA-Z0-9+.-]*://)[^/@]*@", r"\1***@", uri)


def _policy_or_exit(args: argparse.Namespace, label: str, target: str | None = None):
    """The audit policy from the flags, or the exit code after reporting why not."""
    from verifier.cli.inputs import InputError

    if getattr(args, "ario_verify_url", None) and getattr(args, "offline", False):
        sys.stderr.write("ario-verifier audit: error: --ario-verify-url needs the network; "
                         "drop --offline\n")
        return 2
    try:
        return build_policy(args)
    except InputError as exc:
        return _emit(args, _failure("policy", exc.reason, exc.detail, target or ""), label)

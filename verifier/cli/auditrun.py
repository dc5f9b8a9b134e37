"""From parsed options to an `AuditRun` (verifier/audit/stream.py): `open_audit` reads the
source the options name (an audit bundle, streamed shard by shard, or an MLflow store),
builds the policy, adds the `--events-out` sink, and turns every unreadable or hostile
input into a run whose verdict says so. Shared by audit, verify's bundle and seed forms,
browse and report, so they reach the same verdict for the same input.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Callable

from verifier.cli.options import (
    DEFAULT_GATEWAYS, Progress, UsageError, build_policy, check_gateway_options,
    check_offline_store, check_output_path, classify, gateway_client, input_limits, redact_uri,
    why_not_file,
)


def failure_result(check_id: str, reason: Any, detail: str, target: str = "") -> Any:
    """A one-check audit `Result` for a run that could not start."""
    from verifier.core.result import make_result, problem

    return make_result("audit", [problem(check_id, reason, detail)], {"target": target})


def open_audit(args: argparse.Namespace, source: str | None = None) -> Any:
    """An `AuditRun` for the parsed options: `source` (default `args.source`) is an audit
    bundle path or an MLflow target. Unreadable or hostile input gives a run whose verdict
    says so (malformed / incomplete); only a command line that cannot be acted on raises
    `UsageError`. The caller iterates the run, then closes it."""
    from verifier.audit.stream import AuditRun, SourceInfo
    from verifier.cli.inputs import InputError

    source = source if source is not None else args.source
    if getattr(args, "ario_verify_url", None) and getattr(args, "offline", False):
        raise UsageError("--ario-verify-url needs the network; drop --offline")
    kind, where, target = classify(source, getattr(args, "tracking_uri", None))
    limits, zip_limits = input_limits(args)
    check_gateway_options(args, () if kind == "bundle" else DEFAULT_GATEWAYS)
    if kind == "mlflow":
        check_offline_store(args, where)
    offline = bool(getattr(args, "offline", False)) or (kind == "bundle" and not getattr(args, "gateway", None))
    if kind == "bundle":
        info = SourceInfo("bundle", where, offline, {})
    else:
        info = SourceInfo("mlflow", target, offline, {"tracking_uri": redact_uri(where)})
    try:
        policy = build_policy(args)
    except InputError as exc:
        return AuditRun.failed(info, failure_result("policy", exc.reason, exc.detail, target))
    claims = _read_claims(getattr(args, "claims", None))
    if isinstance(claims, tuple):  # (reason, detail): unreadable or not a report
        return AuditRun.failed(info, failure_result("claims", claims[0], claims[1], target), policy)
    online = bool(getattr(args, "gateway", None)) and not getattr(args, "offline", False)
    if kind == "bundle" and not online and not getattr(args, "ario_verify_url", None):
        # streamed shard by shard (A10 asks a service about each record: in memory)
        run = _stream_bundle(where, args, info, policy, limits, zip_limits, claims)
    else:
        if kind == "bundle":
            collection = _read_bundle(where, args, info, policy, zip_limits)
        else:
            collection = _read_mlflow(where, target, args, info, policy)
        if isinstance(collection, AuditRun):
            return collection
        if collection.source:  # the MLflow store as read: kind, schema revision (never changed)
            info = SourceInfo(info.kind, info.label, info.offline,
                              {**info.details, **collection.source})
        run = _stream(collection, args, info, policy, limits, claims)
    run.tracking_uri = where if kind == "mlflow" else None  # for --write-tags; never printed
    _events_out(run, getattr(args, "events_out", None), bool(getattr(args, "force", False)))
    return run


def _events_out(run: Any, path: str | None, force: bool) -> None:
    """`--events-out FILE.jsonl`: one `EventResult.to_json()` line per event, as decided,
    into a temporary file that becomes FILE when the audit has finished (the output rule of
    outfile.py; an interrupted audit leaves FILE as it was)."""
    if not path:
        return
    import json

    from verifier.cli.outfile import AtomicText

    try:
        check_output_path(path, force)
        out = AtomicText(path, force)
    except OSError as exc:
        run.close()
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    except UsageError:
        run.close()
        raise

    def close() -> None:
        if not run.finished:
            out.discard()
            return
        try:
            out.commit()
        except (OSError, UsageError) as exc:
            from verifier.core.textsafe import shown

            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            sys.stderr.write(f"ario-verifier: error: cannot write {shown(path)}: {shown(str(why))}\n")

    dumps, write = json.dumps, out.fh.write
    run.add_sink(lambda ev: write(dumps(ev.to_json(), ensure_ascii=True) + "\n"), close)


def _opened(path: str, opener: Callable[[str, Any], Any], limits: Any, info: Any,
            policy: Any) -> Any:
    """`opener(path, limits)`, or a failed `AuditRun` saying why the bundle cannot be read."""
    from verifier.audit.stream import AuditRun
    from verifier.core.reasons import ReasonCode
    from verifier.sources.errors import BundleError

    if not Path(path).is_file():
        return AuditRun.failed(info, failure_result("intake", ReasonCode.INPUT_UNREADABLE,
                                                    f"cannot read {path}: {why_not_file(path)}"),
                               policy)
    try:
        return opener(path, limits)
    except BundleError as exc:
        return AuditRun.failed(info, failure_result("bundle", exc.reason, exc.message), policy)
    except OSError as exc:
        return AuditRun.failed(info, failure_result("intake", ReasonCode.INPUT_UNREADABLE,
                                                    f"cannot read {path}: {exc.strerror or exc}"), policy)


def _stream_bundle(path: str, args: argparse.Namespace, info: Any, policy: Any, limits: Any,
                   zip_limits: Any, claims: Any) -> Any:
    from verifier.audit.engine import stream_bundle
    from verifier.audit.stream import AuditRun
    from verifier.sources.bundle_source import open_bundle

    bundle = _opened(path, open_bundle, zip_limits, info, policy)
    if isinstance(bundle, AuditRun):
        return bundle
    run = stream_bundle(bundle, path, info, policy, limits=limits, claims=claims,
                        workers=max(1, getattr(args, "workers", 1) or 1),
                        scheduler=getattr(args, "scheduler", None))
    run.collection = None
    return run


def _read_bundle(path: str, args: argparse.Namespace, info: Any, policy: Any, limits: Any) -> Any:
    from verifier.audit.stream import AuditRun
    from verifier.sources.bundle import read_bundle

    collection = _opened(path, read_bundle, limits, info, policy)
    if isinstance(collection, AuditRun):
        return collection
    if getattr(args, "gateway", None) and not getattr(args, "offline", False):
        from verifier.audit.collect import confirm_on_gateways

        client = gateway_client(args, ())
        with client:
            confirm_on_gateways(collection, client,
                                Progress("confirming on gateways", getattr(args, "quiet", False), 200))
    return collection


def _read_mlflow(uri: str, target: str, args: argparse.Namespace, info: Any, policy: Any) -> Any:
    from verifier.audit.stream import AuditRun
    from verifier.sources.errors import SourceError
    from verifier.sources.mlflow_reader import read_mlflow

    client = gateway_client(args)
    try:
        return read_mlflow(uri, target, gateway=client)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    except SourceError as exc:
        return AuditRun.failed(info, failure_result("collection", exc.reason, exc.message, target),
                               policy)
    finally:
        if client is not None:
            client.close()


def _read_claims(path: str | None) -> Any:
    """The plugin's audit report for `--claims` (A14): Claims, None without the option, or
    (reason, detail) when the file cannot be read or is not a well-formed report."""
    if not path:
        return None
    from verifier.audit.claims import MAX_BYTES, ClaimsError, parse_claims
    from verifier.cli.inputs import InputError, read_input

    try:
        return parse_claims(read_input(path, MAX_BYTES))
    except InputError as exc:
        return exc.reason, f"claims file: {exc.detail}"
    except ClaimsError as exc:
        return exc.reason, f"{path}: {exc.detail}"


def _stream(collection: Any, args: argparse.Namespace, info: Any, policy: Any, limits: Any,
            claims: Any = None) -> Any:
    from verifier.audit import ArioVerifyClient
    from verifier.audit.engine import stream_collection

    url = getattr(args, "ario_verify_url", None)
    service = ArioVerifyClient(url) if url else None
    run = stream_collection(collection, info, policy, limits=limits, claims=claims,
                            workers=max(1, getattr(args, "workers", 1) or 1),
                            scheduler=getattr(args, "scheduler", None),
                            verify_service=service.query if service else None)
    run.collection = collection  # for --write-tags
    if service is not None:
        run._close = service.close
    return run

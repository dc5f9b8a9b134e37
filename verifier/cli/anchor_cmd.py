"""`ario-verifier anchor run RUN_ID | model NAME/VERSION | retry`: anchor after the fact.

For pipelines that cannot change training code: anchors a finished run (its logged
datasets first, then ``training_complete``) or a registered model version
(``model_registered``) exactly as the in-process integration does, writing the same MLflow
tags and artifacts; `retry` uploads what earlier failures left signed in the outbox.
Exit codes: 0 every event anchored (or signed, with --offline), 1 an upload failed but the
event is signed and recorded locally for `anchor retry`, 2 usage error or bad input.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from typing import Any
from verifier.cli.exitcodes import EXIT_VERIFIED

_NAME_VERSION = re.compile(r"(?P<name>[^/@\s][^/@]*)/(?P<version>[0-9]+)")
EXIT_UPLOAD_FAILED = 1
_EXIT_CODES = ("exit codes: 0 anchored (or signed with --offline), 1 upload failed but signed "
               "and queued for `anchor retry`, 2 usage error or bad input")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "anchor", help="anchor a finished MLflow run or a registered model version",
        description="Sign ario.mlflow/v1 envelopes for a finished run (with its datasets) or "
        "a registered model version, upload them as ANS-104 data items and record tags and "
        "artifacts in MLflow like ar-io-mlflow does.",
        epilog=_EXIT_CODES)
    asub = p.add_subparsers(dest="anchor_command", metavar="TARGET")
    r = asub.add_parser(
        "run", help="anchor a finished run and its logged datasets",
        description="Sign and upload a dataset event per logged dataset input of RUN_ID, then "
        "its training_complete event (params, metrics, model file hashes, datasets); record "
        "the tx ids as run tags and the proofs under the run's ario/ artifacts. A run already "
        "anchored (ario.training_tx set) is refused unless --force.", epilog=_EXIT_CODES)
    r.add_argument("run_id", metavar="RUN_ID")
    r.add_argument("--artifact-path", metavar="PATH",
                   help="model artifact directory to hash (default: the run's logged model)")
    r.add_argument("--allow-empty-dataset-inputs", action="store_true",
                   help="anchor a run that logged no dataset inputs")
    m = asub.add_parser(
        "model", help="anchor the registration of a model version",
        description="Sign and upload the model_registered event of a registered model version "
        "(chained to its source run's training event) and record it as model version tags "
        "and artifacts. A version already anchored (ario.registration_tx set) is refused "
        "unless --force.", epilog=_EXIT_CODES)
    m.add_argument("model", metavar="NAME/VERSION")
    t = asub.add_parser(
        "retry", help="upload events left signed by earlier failures",
        description="Upload every event an earlier anchor left signed in the outbox (an upload "
        "failed, or --offline), with the same signed bytes and tx id, then apply its recorded "
        "MLflow tags and artifacts to the store it names.", epilog=_EXIT_CODES)
    for q in (r, m):
        q.add_argument("--force", action="store_true",
                       help="anchor again although already anchored: a new event is signed "
                       "and the MLflow tags and ario/ artifacts then name it (the earlier "
                       "proof stays where it was uploaded)")
    for q in (r, m, t):
        _common(q)
    p.set_defaults(func=run, anchor_parser=p)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tracking-uri", metavar="URI",
                   help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI)")
    p.add_argument("--key", metavar="FILE", help="Ed25519 signing key file "
                   "(default: $ARIO_MLFLOW_SIGNING_KEY, then the config directory)")
    p.add_argument("--wallet", metavar="FILE", help="upload wallet: Arweave JWK or Solana "
                   "id.json (default: created on first use in the config directory)")
    p.add_argument("--upload-url", metavar="URL",
                   help="Turbo-compatible upload service (default https://upload.ardrive.io)")
    p.add_argument("--gateway-url", metavar="URL",
                   help="gateway for the ario.arweave_url links (default: the upload URL if "
                   "given, else https://turbo-gateway.com)")
    p.add_argument("--offline", action="store_true",
                   help="sign and record only; upload nothing (use `anchor retry` later)")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")


class _Usage(Exception):
    pass


def run(args: argparse.Namespace) -> int:
    from verifier.cli.exitcodes import EXIT_USAGE

    action = getattr(args, "anchor_command", None)
    if action not in ("run", "model", "retry"):
        args.anchor_parser.print_usage(sys.stderr)
        sys.stderr.write("ario-verifier anchor: error: choose run RUN_ID, model NAME/VERSION "
                         "or retry\n")
        return EXIT_USAGE
    try:
        return _run(action, args)
    except _Usage as exc:
        sys.stderr.write(f"ario-verifier anchor: error: {exc}\n")
        return EXIT_USAGE


def _run(action: str, args: argparse.Namespace) -> int:
    uri = args.tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
    if action != "retry":
        if not uri:
            raise _Usage("no MLflow store: pass --tracking-uri or set MLFLOW_TRACKING_URI")
        _check_store(uri)
    if action == "model" and not _NAME_VERSION.fullmatch(args.model):
        raise _Usage(f"{args.model!r} is not NAME/VERSION (e.g. fraud-model/3)")
    try:
        from verifier.anchor import mlflow_integration as mi
        from verifier.anchor.keys import KeyFileError
        from verifier.anchor.publish import Anchorer
        from verifier.anchor.wallets import WalletError
    except ImportError as exc:  # pragma: no cover - missing extras
        raise _Usage(f"anchoring needs the mlflow and net extras ({exc.name} is missing)") from None
    try:
        anchorer = Anchorer.from_environment(
            environ=os.environ, key_path=args.key, wallet_path=args.wallet,
            upload_url=args.upload_url, gateway_url=args.gateway_url, offline=args.offline)
    except (KeyFileError, WalletError, OSError) as exc:
        raise _Usage(str(exc)) from None
    if action in ("run", "model"):
        _preflight(action, args, uri)  # before anything is signed or uploaded
    if anchorer.wallet is not None and anchorer.wallet.created:
        sys.stderr.write(f"created upload wallet {anchorer.wallet.address} "
                         f"({anchorer.wallet.wallet_type}) at {anchorer.wallet.path}\n")
    try:
        if action == "run":
            done = mi.anchor_run(args.run_id, anchorer=anchorer, tracking_uri=uri,
                                 artifact_path=args.artifact_path,
                                 allow_empty_dataset_inputs=args.allow_empty_dataset_inputs,
                                 capture_otel=False)
            events = [*done.datasets, done.training]
            target: dict[str, Any] = {"run_id": done.run_id}
        elif action == "model":
            m = _NAME_VERSION.fullmatch(args.model)
            assert m is not None
            res = mi.anchor_model_version(m["name"], m["version"], anchorer=anchorer,
                                          tracking_uri=uri)
            events = [res]
            target = {"model": m["name"], "version": m["version"]}
        else:
            if anchorer.outbox is not None:  # records name their own stores
                for record in anchorer.outbox.pending():
                    if record.tracking_uri:
                        _allow_file_store(record.tracking_uri)
            events = mi.retry_pending(anchorer=anchorer)
            target = {"outbox": str(anchorer.outbox.directory) if anchorer.outbox else None}
    except Exception as exc:  # noqa: BLE001 - one clear line, never a traceback
        raise _Usage(_describe(exc)) from None
    return _report(events, target, anchorer, args)


def _preflight(action: str, args: argparse.Namespace, uri: str) -> None:
    """Refuse, before signing anything, what the command would get wrong: a run without
    dataset inputs (named by its CLI flag) and, without --force, anchoring a run or model
    version again; with --force, say on stderr what is replaced."""
    from verifier.anchor import mlflow_access as mx
    from verifier.core.textsafe import shown

    try:
        client = mx.client_for(uri)
        if action == "run":
            entity = client.get_run(args.run_id)
            tags, tag, what = dict(entity.data.tags), "ario.training_tx", f"run {args.run_id}"
        else:
            m = _NAME_VERSION.fullmatch(args.model)
            assert m is not None
            entity = client.get_model_version(m["name"], m["version"])
            tags, tag, what = dict(entity.tags or {}), "ario.registration_tx", f"model version {args.model}"
    except Exception as exc:  # noqa: BLE001 - one clear line, never a traceback
        raise _Usage(_describe(exc)) from None
    if action == "run" and not mx.run_dataset_inputs(entity) and not args.allow_empty_dataset_inputs:
        raise _Usage(f"run {shown(args.run_id)} has no logged dataset inputs; log them with "
                     "mlflow.log_input(dataset, context=...) or pass --allow-empty-dataset-inputs")
    if tags.get(tag):
        state = f"already anchored ({tag} = {shown(tags[tag])})"
    elif tags.get("ario.verify_status") == "signed":
        state = "already signed, its upload pending (`anchor retry` uploads it)"
    else:
        return
    if not args.force:
        raise _Usage(f"{shown(what)} is {state}; pass --force to sign a new event that "
                     "replaces its tags and ario/ artifacts")
    sys.stderr.write(f"warning: {shown(what)} is {state}; signing a new event that replaces "
                     "it (--force)\n")


def _check_store(uri: str) -> None:
    """Refuse a local store that does not exist (MLflow would silently create an empty one)."""
    from urllib.parse import urlparse

    from verifier.sources.errors import MlflowUnavailable
    from verifier.sources.mlflow_store import check_store_exists

    try:
        check_store_exists(uri)
    except MlflowUnavailable as exc:
        raise _Usage(str(exc)) from None
    if urlparse(uri).scheme in ("file", ""):
        _allow_file_store(uri)


def _allow_file_store(uri: str) -> None:
    """MLflow refuses file stores unless told; naming one on the command line is telling."""
    from urllib.parse import urlparse

    if urlparse(uri).scheme in ("file", ""):
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")


def _describe(exc: BaseException) -> str:
    name = type(exc).__name__
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else name
    if name == "MlflowException":
        return f"MLflow: {text}"
    return text if isinstance(exc, (ValueError, LookupError, RuntimeError)) else f"{name}: {text}"


def _report(events: list[Any], target: dict[str, Any], anchorer: Any,
            args: argparse.Namespace) -> int:
    failed = [e for e in events if not e.anchored]
    offline = bool(args.offline)
    if args.json:
        doc = {"status": "anchored" if not failed else "signed", **target,
               "public_key": anchorer.public_key,
               "wallet": None if anchorer.wallet is None else {
                   "address": anchorer.wallet.address, "type": anchorer.wallet.wallet_type,
                   "mode": anchorer.wallet.mode, "created": anchorer.wallet.created},
               "events": [e.to_json() for e in events]}
        sys.stdout.write(json.dumps(doc, sort_keys=True) + "\n")
    else:
        for e in events:
            label = e.event_type + (f" {e.extra['dataset_name']}" if "dataset_name" in e.extra else "")
            if e.anchored:
                sys.stdout.write(f"anchored  {label}  {e.tx_id}\n")
                for problem in e.extra.get("apply_errors", []):
                    sys.stderr.write(f"warning: {e.event_id}: MLflow not updated: {problem}\n")
            else:
                why = "offline" if e.error_kind == "offline" else f"upload failed ({e.error_kind}): {e.error}"
                sys.stdout.write(f"signed    {label}  event {e.event_id}  {why}\n")
        if not events:
            sys.stdout.write("nothing to anchor\n")
        if failed:
            where = failed[0].pending_path.parent if failed[0].pending_path else "the outbox"
            sys.stdout.write(f"{len(failed)} event(s) signed and kept in {where}; "
                             "upload later with `ario-verifier anchor retry`\n")
    if failed and not offline:
        return EXIT_UPLOAD_FAILED
    return EXIT_VERIFIED

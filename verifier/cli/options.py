"""Option plumbing shared by every auditing command (audit, export, verify's bundle and seed
forms, browse, report): the options and their validation, and the policy, limits and
gateway client they build. `auditrun.open_audit` turns them into an `AuditRun`.

One place, so `audit`, `browse` and `report` accept the same options and decide the same
verdict for the same input.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path
from typing import Any

# re-exported: the commands import them from here
from verifier.cli.outfile import UsageError, check_output_path

DEFAULT_GATEWAYS = ("https://turbo-gateway.com", "https://ardrive.net")
_NAME_VERSION = re.compile(r"[^/:@\s][^/@]*/[0-9]+")
_TARGET_PREFIXES = ("models:/", "runs:/", "traces:/")
#: The one document size rule of `verify` and `audit` (core Limits.max_document_bytes).
DEFAULT_MAX_BYTES = 64 * 1024 * 1024


def positive_int(text: str) -> int:
    """argparse type: an integer of at least 1 (--quorum, --workers), else a usage error."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 (got {value})")
    return value


def add_source_options(p: argparse.ArgumentParser) -> None:
    """Options shared by audit, export and the seed forms: where bytes come from."""
    p.add_argument("--tracking-uri", metavar="URI", help="MLflow tracking URI (live audit)")
    p.add_argument("--gateway", action="append", default=[], metavar="URL",
                   help="ar.io gateway to fetch anchored bytes from (repeatable, in order)")
    p.add_argument("--quorum", type=positive_int, default=1, metavar="N",
                   help="N gateways must return identical bytes (default 1)")
    p.add_argument("--offline", action="store_true", help="open no network connection at all")
    p.add_argument("--no-cache", action="store_true", help="do not use the local byte cache")



def add_policy_options(p: argparse.ArgumentParser) -> None:
    """The trust policy (spec/audit.md §2) and output options."""
    p.add_argument("--trusted-keys", metavar="FILE",
                   help="file of allowed Ed25519 envelope keys: hex one per line, a JSON list, "
                   "or a key file from `keys generate` (only its public key is read)")
    p.add_argument("--allow-legacy", action="store_true",
                   help="accept envelopes without spec_version (ar-io-mlflow 0.1.0)")
    p.add_argument("--require-binding", action="store_true",
                   help="an event without a data item binding tx id and bytes is incomplete")
    p.add_argument("--require-receipts", action="store_true",
                   help="an event without a valid Turbo upload receipt is incomplete")
    p.add_argument("--receipt-signer", action="append", default=[], metavar="ADDRESS",
                   help="trusted Turbo receipt signer address (repeatable)")
    p.add_argument("--ario-verify-url", metavar="URL",
                   help="ask this ar.io Verify service about each tx (online only)")
    p.add_argument("--min-attestation-level", type=int, choices=(1, 2, 3), metavar="N",
                   help="ar.io Verify level below N makes the event incomplete")
    p.add_argument("--max-bytes", type=int, default=DEFAULT_MAX_BYTES, metavar="N",
                   help="refuse any document larger than N bytes: in an audit bundle each "
                   "envelope, payload, data item, receipt and surface (uncompressed size, "
                   "checked before inflating); default 64 MiB, as `verify`")
    p.add_argument("--workers", type=positive_int, default=os.cpu_count() or 1, metavar="N",
                   help="processes for large audits (default: CPU count)")
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                   help="run the per-event checks on this Dask distributed cluster (needs the "
                   "cluster extra: pip install 'ario-verifier[cluster]'); the lineage checks "
                   "and the verdict stay in this process (docs/cluster.md)")
    p.add_argument("--events-out", metavar="FILE.jsonl",
                   help="write one JSON object per event to FILE as the events are decided "
                   "(FILE appears once the audit has finished)")
    p.add_argument("--force", action="store_true",
                   help="replace existing output files (regular files only)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")





def classify(source: str, tracking_uri: str | None) -> tuple[str, str, str]:
    """("bundle", path, "") or ("mlflow", tracking uri, target). Something that exists, ends
    in .zip, or is no target but looks like a file name (a suffix, a path separator) is a
    bundle path, so a missing file or a directory is named as such, not as "not a target"."""
    if tracking_uri:
        return "mlflow", tracking_uri, to_target(source)
    if Path(source).exists() or source.lower().endswith(".zip"):
        return "bundle", source, ""
    try:
        target = to_target(source)
    except UsageError:
        if Path(source).suffix or os.sep in source:
            return "bundle", source, ""
        raise
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if not uri:
        raise UsageError(f"{source!r} is not a file; to audit it from MLflow pass --tracking-uri "
                         "or set MLFLOW_TRACKING_URI")
    return "mlflow", uri, target



def why_not_file(path: str) -> str:
    p = Path(path)
    return "is a directory" if p.is_dir() else ("not a regular file" if p.exists()
                                                 else "no such file")


def to_target(text: str) -> str:
    """models:/..., runs:/..., traces:/... as given; NAME/VERSION as models:/NAME/VERSION."""
    if text.startswith(_TARGET_PREFIXES):
        return text
    if _NAME_VERSION.fullmatch(text):
        return f"models:/{text}"
    raise UsageError(f"{text!r} is not a target: expected models:/NAME/VERSION, runs:/RUN_ID, "
                     "traces:/TRACE_ID or NAME/VERSION")



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
        require_receipts=bool(getattr(args, "require_receipts", False)),
        trusted_receipt_signers=frozenset(signers) if signers else None,
        min_attestation_level=getattr(args, "min_attestation_level", None),
    )



def input_limits(args: argparse.Namespace) -> tuple[Any, Any]:
    """(core Limits, bundle ZipLimits) from `--max-bytes`: the same bound for a document
    given alone and for every document inside an audit bundle, whichever command reads it.
    Raises UsageError for a bound below 1."""
    from verifier.core.limits import Limits
    from verifier.sources.zipguard import ZipLimits

    n = getattr(args, "max_bytes", None)
    n = DEFAULT_MAX_BYTES if n is None else n
    if n < 1:
        raise UsageError("--max-bytes must be positive")
    return Limits(max_document_bytes=n), ZipLimits(max_evidence_bytes=n)


def check_gateway_options(args: argparse.Namespace,
                          default: tuple[str, ...] = DEFAULT_GATEWAYS) -> None:
    """Raise UsageError for gateway options that cannot work: a bad URL, or a --quorum
    above the number of different gateways (a repeated --gateway counts once)."""
    if getattr(args, "offline", False):
        return
    gateways = list(getattr(args, "gateway", None) or default)
    if not gateways:
        return  # nothing to check (and httpx stays unimported, for a bundle audit)
    from verifier.sources.gateway import normalize_gateway

    quorum = getattr(args, "quorum", 1) or 1
    try:
        distinct = list(dict.fromkeys(normalize_gateway(g) for g in gateways))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if gateways and quorum > len(distinct):
        repeated = len(gateways) - len(distinct)
        raise UsageError(f"--quorum {quorum} needs {quorum} different gateways; "
                         f"{len(distinct)} given" + (f" ({repeated} repeated --gateway value(s) "
                                                     "count once)" if repeated else ""))


def check_offline_store(args: argparse.Namespace, uri: str) -> None:
    """--offline with an MLflow store on the network (an http(s) tracking server or a
    database on another host) cannot be acted on: UsageError. Loopback hosts are local."""
    from verifier.sources.mlflow_env import remote_host

    host = remote_host(uri) if getattr(args, "offline", False) else None
    if host:
        raise UsageError(f"--offline reads only local MLflow stores; {redact_uri(uri)} is on "
                         f"the network ({host})")


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
    check_gateway_options(args, default)
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



def redact_uri(uri: str) -> str:
    """A URI fit for output: any user:password@ part is replaced by ***@."""
    return re.sub(r"^([a-zA-Z][a-zA-Z0-9+.-]*://)[^/@]*@", r"\1***@", uri)




# -- from options to an AuditRun -----------------------------------------------------------------

"""`ario-verifier keys generate --out FILE` and `keys show FILE`: envelope-signing keys.

A key is written only by `generate` (0600, atomic), into an existing directory and never
over an existing file unless --force (the same rule as `export -o`). `show` prints the public key of a key file in our format or ar-io-mlflow's.
Exit codes: 0 done, 2 usage error or unusable file.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from verifier.cli.exitcodes import EXIT_VERIFIED


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "keys", help="create or inspect an Ed25519 envelope-signing key",
        description="Create or inspect the Ed25519 key that signs anchored envelopes.",
        epilog="exit codes: 0 done, 2 usage error, existing file or unusable key file")
    ksub = p.add_subparsers(dest="keys_command", metavar="ACTION")
    g = ksub.add_parser("generate", help="write a new signing key to a new file",
                        description="Generate an Ed25519 signing key and write it to FILE "
                        "(mode 0600, atomically; its directory must exist; an existing FILE "
                        "only with --force). Prints the public key.")
    g.add_argument("--out", required=True, metavar="FILE", help="where to write the key")
    g.add_argument("--force", action="store_true",
                   help="replace FILE if it exists (the old key is lost)")
    g.add_argument("--format", choices=("ario-verifier", "ario-mlflow"), default="ario-verifier",
                   help="ario-verifier: {format, seed hex, public_key hex} (default); "
                   "ario-mlflow: the plugin's {\"seed\": base64} file")
    g.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    s = ksub.add_parser("show", help="print the public key of a key file",
                        description="Print the public key of a key file (ours or ar-io-mlflow's).")
    s.add_argument("file", metavar="FILE")
    s.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.set_defaults(func=run, keys_parser=p)


def run(args: argparse.Namespace) -> int:
    from verifier.cli.exitcodes import EXIT_USAGE

    action = getattr(args, "keys_command", None)
    if action not in ("generate", "show"):
        args.keys_parser.print_usage(sys.stderr)
        sys.stderr.write("ario-verifier keys: error: choose an action: generate or show\n")
        return EXIT_USAGE
    from verifier.anchor import keys as K
    from verifier.cli.options import UsageError, check_output_path

    try:
        if action == "generate":
            check_output_path(args.out, args.force)
            key = K.generate_signing_key()
            fmt = K.KEY_FORMAT if args.format == "ario-verifier" else K.PLUGIN_FORMAT
            path = (_replace(key, args.out, fmt) if args.force and os.path.lexists(args.out)
                    else K.save_signing_key(key, args.out, fmt))
            info = {"file": str(path), "format": args.format, "public_key": K.public_key_hex(key)}
        else:
            key = K.load_signing_key(args.file)
            info = {"file": args.file, "public_key": K.public_key_hex(key)}
    except (K.KeyFileError, OSError, UsageError) as exc:
        from verifier.core.textsafe import shown

        sys.stderr.write(f"ario-verifier keys: error: {shown(_message(exc))}\n")
        return EXIT_USAGE
    if args.json:
        sys.stdout.write(json.dumps(info, sort_keys=True) + "\n")
    elif action == "generate":
        sys.stdout.write(f"public key {info['public_key']}\nwrote {info['file']} (mode 0600)\n")
    else:
        sys.stdout.write(info["public_key"] + "\n")
    return EXIT_VERIFIED


def _replace(key: object, out: str, fmt: str) -> Path:
    """--force over an existing file: a fresh 0600 file renamed over it (atomic)."""
    from verifier.anchor import keys as K

    target = Path(out)
    tmp = K.synced_temp_file(target, K.key_file_json(key, fmt))  # type: ignore[arg-type]
    try:
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def _message(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.filename or ''}: {exc.strerror}".lstrip(": ")
    return str(exc)

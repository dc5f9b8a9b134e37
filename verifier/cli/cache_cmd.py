"""`ario-verifier cache info|clear`: show or empty the local cache of bound data items.

The cache (verifier/sources/cache.py) holds only data items whose id and signature bind
them to their tx id; audits and exports with gateways fill it, ``--no-cache`` bypasses it.
Exit codes: 0 done, 2 usage error or unusable cache file.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

_WHERE = ("Location: $ARIO_VERIFIER_CACHE if set, else <user cache dir>/ario-verifier/"
          "cache.sqlite3 ($XDG_CACHE_HOME or ~/.cache on Linux, ~/Library/Caches on macOS, "
          "%LOCALAPPDATA% on Windows).")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "cache", help="show or empty the local cache of bound data items",
        description="The byte cache holds only signed data items whose id and signature "
        "were verified against their tx id, so a later audit may use them in place of the "
        "gateways (reported as origin cache:bound). Bytes a gateway served without such "
        "proof are never cached. " + _WHERE,
        epilog="exit codes: 0 done, 2 usage error or unusable cache file")
    csub = p.add_subparsers(dest="cache_command", metavar="ACTION")
    for name, helptext in (("info", "print the cache's location, entries and size"),
                           ("clear", "delete every cached entry")):
        c = csub.add_parser(name, help=helptext, description=helptext[0].upper() + helptext[1:]
                            + ". " + _WHERE)
        c.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.set_defaults(func=run, cache_parser=p)


def run(args: argparse.Namespace) -> int:
    import sqlite3

    from verifier.cli.exitcodes import EXIT_USAGE, EXIT_VERIFIED
    from verifier.sources.cache import ENV_VAR, ByteCache, default_cache_path

    action = getattr(args, "cache_command", None)
    if action not in ("info", "clear"):
        args.cache_parser.print_help(sys.stderr)
        return EXIT_USAGE
    path = default_cache_path()
    out: dict[str, object] = {"path": str(path), "entries": 0, "item_bytes": 0,
                              "file_bytes": 0}
    try:
        if path.exists():
            with ByteCache(path) as cache:
                out = cache.info()
                if action == "clear":
                    out["cleared"] = cache.clear()
                    out.update({k: v for k, v in cache.info().items() if k != "path"})
        elif action == "clear":
            out["cleared"] = 0
    except (OSError, sqlite3.Error) as exc:
        msg = f"cannot use the cache at {path}: {exc}"
        if args.json:
            print(json.dumps({"error": "cache_unusable", "detail": msg, "path": str(path)}))
        sys.stderr.write(f"ario-verifier cache: {msg}\n")
        return EXIT_USAGE
    if args.json:
        print(json.dumps(out, sort_keys=True))
        return EXIT_VERIFIED
    source = f" (from ${ENV_VAR})" if os.environ.get(ENV_VAR) else ""
    print(f"cache:   {out['path']}{source}")
    if action == "clear":
        print(f"cleared: {out['cleared']} entries")
    print(f"entries: {out['entries']} bound data items, {out['item_bytes']:,} bytes "
          f"(file {out['file_bytes']:,} bytes)")
    return EXIT_VERIFIED

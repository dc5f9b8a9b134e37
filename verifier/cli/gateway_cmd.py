"""`ario-verifier gateway serve`: run the local Turbo-style gateway (tests, demo, air-gapped)."""

from __future__ import annotations

import argparse
import sys
from verifier.cli.exitcodes import EXIT_USAGE, EXIT_VERIFIED


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("gateway", help="run a local gateway that accepts and serves data items",
                       description="A local gateway persisted in SQLite: accepts Turbo-style "
                       "uploads (POST /tx/<token>), seals them into ANS-104 bundles and serves "
                       "the routes real ar.io gateways and Turbo have: GET|HEAD /raw/<id> "
                       "(Range, root offset headers), /v1/tx/<id>/offsets, /v1/tx/<id>/status "
                       "and POST /graphql (transaction, transactions by tags). Prints its base "
                       "URL as the first line on stdout.",
                       epilog="exit codes: 0 stopped, 2 usage error or cannot listen")
    gsub = p.add_subparsers(dest="gateway_command", metavar="ACTION")
    serve = gsub.add_parser(
        "serve", help="serve in the foreground until interrupted",
        description="Serve the local gateway in the foreground until interrupted (Ctrl-C). "
        "The first stdout line is its base URL. Receipts are signed by the gateway's own "
        "RSA key (kept in --db): they attest nothing about Arweave. Every answer is JSON; "
        "upload bodies are capped at 32 MiB each and --max-uploads at a time.",
        epilog="exit codes: 0 stopped, 2 usage error or cannot listen")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=0, help="port; 0 picks a free one (default)")
    serve.add_argument("--db", metavar="FILE", help="SQLite file to persist items (default: in memory)")
    serve.add_argument("--max-uploads", type=int, default=4, metavar="N",
                       help="uploads read at once, each up to 32 MiB; more get 503 (default 4)")
    serve.set_defaults(func=run)
    p.set_defaults(func=lambda args: (p.print_help(sys.stderr), 2)[1])


def run(args: argparse.Namespace) -> int:
    if not 0 <= args.port <= 65535:
        sys.stderr.write("ario-verifier gateway serve: error: --port must be 0..65535\n")
        return EXIT_USAGE
    if args.max_uploads < 1:
        sys.stderr.write("ario-verifier gateway serve: error: --max-uploads must be at least 1\n")
        return EXIT_USAGE
    from verifier.gateway.server import serve

    try:
        serve(args.host, args.port, args.db, max_uploads=args.max_uploads)
    except OSError as exc:
        sys.stderr.write(f"ario-verifier gateway serve: cannot listen on {args.host}:{args.port}: "
                         f"{exc.strerror or exc}\n")
        return EXIT_USAGE
    return EXIT_VERIFIED

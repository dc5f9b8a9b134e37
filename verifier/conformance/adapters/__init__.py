"""Implementations speaking the conformance protocol, and the loop they share.

`serve` reads requests (one JSON object per line) from stdin and writes one answer line
per request to stdout, which is all both protocol modes need: in streaming mode stdin
stays open for many requests, in one-case-per-process mode it carries one request and
then ends. Anything a handler prints goes to stderr, so stdout carries only answers.
"""

from __future__ import annotations

import json
import sys
from typing import Any, BinaryIO, Callable

PROTOCOL_VERSION = 1

Handler = Callable[[str, dict[str, Any]], dict[str, Any]]


def serve(hello: dict[str, Any], handle: Handler,
          stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> int:
    """Answer requests until stdin ends. `handle(family, input)` returns
    ``{"status", "reason", "outputs"?}``; an exception becomes an ``error`` answer."""
    inp = stdin if stdin is not None else sys.stdin.buffer
    out = stdout if stdout is not None else sys.stdout.buffer
    sys.stdout = sys.stderr  # stray prints must never corrupt the answer stream
    for line in inp:
        if not line.strip():
            continue
        answer = _answer(line, hello, handle)
        out.write(json.dumps(answer, ensure_ascii=True, separators=(",", ":")).encode("ascii") + b"\n")
        out.flush()
    return 0


def _answer(line: bytes, hello: dict[str, Any], handle: Handler) -> dict[str, Any]:
    try:
        request = json.loads(line)
    except ValueError:
        return {"id": None, "error": "request is not JSON"}
    if not isinstance(request, dict):
        return {"id": None, "error": "request is not a JSON object"}
    if "hello" in request:
        return {"hello": {"protocol": PROTOCOL_VERSION, **hello}}
    case_id = request.get("id")
    try:
        family, inp = request["family"], request["input"]
        if not isinstance(family, str) or not isinstance(inp, dict):
            raise TypeError("family must be a string and input an object")
        answer = handle(family, inp)
    except Exception as exc:  # noqa: BLE001 - reported to the runner as a failed case
        return {"id": case_id, "error": f"{type(exc).__name__}: {exc}"}
    return {"id": case_id, **answer}

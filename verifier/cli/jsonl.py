"""`verify --jsonl FILE|-`: stream-verify one envelope per line with bounded memory.

A line is either an envelope object, or a wrapper {"envelope": "<envelope JSON text>",
"payload": "<payload text>"} / {"envelope": ..., "payload_hex": "<hex>"} carrying the exact
bytes. Results are printed one JSON object per line (or only a summary with --summary);
the exit code is that of the worst status seen.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from typing import Iterator, TextIO

from verifier.batch import verify_many
from verifier.cli.exitcodes import exit_code
from verifier.core.errors import Malformed
from verifier.core.intake import load
from verifier.core.limits import Limits
from verifier.core.policy import Policy
from verifier.core.reasons import SEVERITY, Status

_BAD_LINE = b'{"__unparseable_line__":'  # forces a malformed verdict with the kernel's reason
_HEX = re.compile(rb"(?:[0-9a-fA-F]{2})*")


def bounded_lines(stream, cap: int) -> Iterator[bytes]:
    """Lines of at most `cap` bytes (+ line end). A longer line is never held whole: its
    first cap + 1 bytes stand for it (the kernel calls them input_too_large), the rest is
    read past in bounded pieces."""
    while True:
        raw = stream.readline(cap + 2)
        if not raw:
            return
        if len(raw) == cap + 2 and not raw.endswith(b"\n"):
            rest = raw
            while rest and not rest.endswith(b"\n"):
                rest = stream.readline(1 << 20)
            yield raw[:cap + 1]
        else:
            yield raw


def line_items(stream, limits: Limits) -> Iterator[tuple[bytes, bytes | None]]:
    """(envelope bytes, payload bytes | None) per non-blank line: a wrapper line is
    unwrapped to its exact bytes, any other line is the envelope itself. A line the kernel
    would reject is passed on (or replaced by a bad-line marker) so its verdict names why."""
    for raw in bounded_lines(stream, limits.max_document_bytes):
        line = raw.rstrip(b"\r\n")
        if not line.strip():
            continue
        if line.startswith(b'{"envelope"'):
            try:
                wrapper = load(line, limits)
            except Malformed:  # the kernel reads the line again and names the same reason
                yield line, None
                continue
            yield _unwrap(wrapper)
        else:
            yield line, None


def _unwrap(wrapper: dict) -> tuple[bytes, bytes | None]:
    """(envelope bytes, payload bytes | None) from a strictly parsed wrapper line, or the
    bad-line marker when its fields have the wrong types."""
    env, hex_text, text = wrapper.get("envelope"), wrapper.get("payload_hex"), wrapper.get("payload")
    if not isinstance(env, str):
        return _BAD_LINE, None
    if "payload_hex" in wrapper:
        if not isinstance(hex_text, str) or not _HEX.fullmatch(hex_text.encode("ascii", "replace")):
            return _BAD_LINE, None
        return env.encode("utf-8"), bytes.fromhex(hex_text)
    if "payload" in wrapper:
        if not isinstance(text, str):
            return _BAD_LINE, None
        return env.encode("utf-8"), text.encode("utf-8")
    return env.encode("utf-8"), None


def run_jsonl(path: str, *, policy: Policy, limits: Limits, workers: int | None,
              summary_only: bool, out: TextIO | None = None,
              scheduler: str | None = None) -> int:
    """Verify every line; print per-line results and a summary (on `out`, default the
    current stdout); return the exit code."""
    out = sys.stdout if out is None else out
    stream = sys.stdin.buffer if path == "-" else open(path, "rb")
    counts: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    worst = Status.VERIFIED
    try:
        for n, verdict in enumerate(verify_many(line_items(stream, limits), policy=policy,
                                                limits=limits, workers=workers,
                                                scheduler=scheduler), 1):
            counts[verdict.status.value] += 1
            if verdict.reason is not None:
                reasons[verdict.reason.value] += 1
            if SEVERITY[verdict.status] > SEVERITY[worst]:
                worst = verdict.status
            if not summary_only:
                out.write(json.dumps({"line": n, "status": verdict.status.value,
                                      "reason": verdict.reason.value if verdict.reason else None,
                                      "event_id": verdict.event_id}) + "\n")
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()
    total = sum(counts.values())
    out.write(json.dumps({"summary": True, "total": total, "status": worst.value,
                          "counts": dict(counts), "reasons": dict(reasons)}) + "\n")
    return exit_code(worst)

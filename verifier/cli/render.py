"""Human and JSON rendering of results. Wording lives here, never in the kernel.

Every string that can come from evidence (labels, subject fields, check ids and details,
which quote evidence) passes through `shown` before it is written as text: a document
cannot move the cursor, recolour the screen or start a line of its own."""

from __future__ import annotations

import json
import os
import sys
from typing import Any, TextIO

from verifier.core.reasons import Status, meaning
from verifier.core.result import Check, Outcome, Result
from verifier.core.textsafe import shown

_MARK = {
    Outcome.PASSED: "✓",
    Outcome.SKIPPED: "-",
    Outcome.INCOMPLETE: "~",
    Outcome.FAILED: "✗",
    Outcome.MALFORMED: "!",
}
_COLOUR = {
    Outcome.PASSED: "32", Outcome.SKIPPED: "2", Outcome.INCOMPLETE: "33",
    Outcome.FAILED: "31", Outcome.MALFORMED: "35",
}
_STATUS_COLOUR = {
    Status.VERIFIED: "1;32", Status.INCOMPLETE: "1;33", Status.FAILED: "1;31",
    Status.MALFORMED: "1;35",
}


def use_colour(stream: TextIO) -> bool:
    """Colour only on a TTY and only when NO_COLOR is unset (https://no-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _paint(text: str, code: str, colour: bool) -> str:
    return f"\033[{code}m{text}\033[0m" if colour else text


def check_line(check: Check, colour: bool, indent: str = "  ", width: int = 22) -> str:
    """One line per check: mark, id (padded to `width`), outcome and, for problems, reason
    and explanation."""
    mark = _paint(_MARK[check.outcome], _COLOUR[check.outcome], colour)
    line = f"{indent}{mark} {shown(check.id):<{width}} {check.outcome.value}"
    if check.reason is not None:
        line += f"  [{check.reason.value}] {shown(check.detail or meaning(check.reason))}"
    elif check.detail:
        line += f"  ({shown(check.detail)})"
    return line


def render_human(result: Result, label: str, stream: TextIO | None = None, depth: int = 0) -> None:
    """Print a result as readable text, children indented below their parent."""
    stream = sys.stdout if stream is None else stream
    colour = use_colour(stream)
    indent = "  " * depth
    status = _paint(result.status.value.upper(), _STATUS_COLOUR[result.status], colour)
    stream.write(f"{indent}{shown(label)}: {result.kind} {status}\n")
    for key in ("profile", "event_type", "event_id", "tx_id", "public_key"):
        value = result.subject.get(key)
        if isinstance(value, str) and value:
            stream.write(f"{indent}  {key}: {shown(value)}\n")
    for check in result.checks:
        stream.write(check_line(check, colour, indent + "  ") + "\n")
    for i, child in enumerate(result.children):
        render_human(child, f"[{i}]", stream, depth + 1)


def render_json(result: Result, extra: dict[str, Any] | None = None, stream: TextIO | None = None) -> None:
    """Print exactly one JSON object (status, reason, checks, ...) and a newline."""
    stream = sys.stdout if stream is None else stream
    out = result.to_json()
    if extra:
        out.update(extra)
    # ASCII only: C1 controls, bidi overrides and lone surrogates leave as \u escapes.
    stream.write(json.dumps(out, ensure_ascii=True, sort_keys=False) + "\n")

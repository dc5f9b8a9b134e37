"""The conformance wire (spec/conformance.md P1, H1): request lines encoded, answer lines
decoded through the kernel's strict intake, the hello answer validated. Process handling
lives in `runner`, judging in `judge`."""

from __future__ import annotations

import json
from typing import Any

from verifier.core.errors import Malformed
from verifier.core.intake import load
from verifier.core.limits import Limits

from .model import CAPABILITIES, FAMILIES, PROTOCOL_VERSION, Hello, Problem

MAX_LINE = 16 * 1024 * 1024  # longest answer line accepted
_ANSWER_LIMITS = Limits(max_document_bytes=MAX_LINE + 2)


class HandshakeError(Exception):
    """The implementation did not complete the hello exchange."""

    def __init__(self, problem: Problem, detail: str) -> None:
        super().__init__(detail)
        self.problem = problem
        self.detail = detail


def hello_request() -> dict[str, Any]:
    """The hello request (H1): our protocol version, families and capabilities."""
    return {"hello": {"protocol": PROTOCOL_VERSION, "families": list(FAMILIES),
                      "capabilities": list(CAPABILITIES)}}


def parse_hello(answer: Any) -> Hello:
    """Validate a hello answer; raises HandshakeError(INVALID_ANSWER)."""
    def bad(msg: str) -> HandshakeError:
        return HandshakeError(Problem.INVALID_ANSWER, f"bad hello answer: {msg}")

    if not isinstance(answer, dict) or not isinstance(answer.get("hello"), dict):
        raise bad('expected {"hello": {...}}')
    h = answer["hello"]
    if h.get("protocol") != PROTOCOL_VERSION:
        raise bad(f"protocol {h.get('protocol')!r}, runner speaks {PROTOCOL_VERSION}")
    fams, caps = h.get("families"), h.get("capabilities", [])
    if not isinstance(fams, list) or not all(isinstance(f, str) for f in fams):
        raise bad("families must be a list of strings")
    if not isinstance(caps, list) or not all(isinstance(c, str) for c in caps):
        raise bad("capabilities must be a list of strings")
    name, version = h.get("name", "unnamed"), h.get("version", "")
    return Hello(str(name), str(version), frozenset(fams) & set(FAMILIES),
                 frozenset(caps) & set(CAPABILITIES))


def read_answer(line: bytes) -> tuple[Any, Problem | None, str]:
    """One answer line through the kernel's strict intake (spec/envelope.md I1): invalid
    JSON, nesting past 128, lone surrogates, out-of-range numbers are INVALID_ANSWER, never
    an exception in the runner."""
    try:
        return load(line, _ANSWER_LIMITS), None, ""
    except Malformed as exc:
        text = line.decode("utf-8", "replace").strip()
        text = text if len(text) <= 80 else text[:77] + "..."
        return None, Problem.INVALID_ANSWER, f"answer is not strict JSON [{exc.reason.value}]: {text}"


def encode(obj: dict[str, Any]) -> bytes:
    """One request line: compact ASCII JSON and a newline (P1)."""
    return json.dumps(obj, ensure_ascii=True, separators=(",", ":")).encode("ascii") + b"\n"

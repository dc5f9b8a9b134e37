"""Judging answers against cases (spec/conformance.md §4): protocol validity of an answer,
then status, reason and declared byte outputs compared with the vector."""

from __future__ import annotations

import json
from typing import Any

from verifier.core.textsafe import shown

from .model import OUTPUT_CAPABILITY, REASON_RE, REJECTED, STATUSES, Case, CaseResult, Hello, Outcome, Problem


def _short(value: Any, limit: int = 80) -> str:
    """A value from an answer for a detail line: JSON for non-strings, at most `limit`
    characters, terminal-safe (details are printed)."""
    text = json.dumps(value) if not isinstance(value, str) else shown(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_answer(answer: Any, case: Case) -> tuple[Problem | None, str]:
    """Protocol-level validity of a case answer (not its correctness)."""
    if not isinstance(answer, dict):
        return Problem.INVALID_ANSWER, "answer is not a JSON object"
    if answer.get("id") != case.id:
        return Problem.INVALID_ANSWER, f"answer id {_short(answer.get('id'))} is not {case.id!r}"
    if "error" in answer:
        return Problem.ERROR, "implementation error: " + _short(answer["error"], 300)
    status, reason = answer.get("status"), answer.get("reason", "<absent>")
    if status not in STATUSES:
        return Problem.INVALID_ANSWER, f"status {_short(status)} is not one of {', '.join(STATUSES)}"
    if status == "verified" and reason is not None:
        return Problem.INVALID_ANSWER, f"status verified needs reason null, got {_short(reason)}"
    if status != "verified" and not (isinstance(reason, str) and REASON_RE.fullmatch(reason)):
        return Problem.INVALID_ANSWER, f"status {status} needs a reason code, got {_short(reason)}"
    if "outputs" in answer and not isinstance(answer["outputs"], dict):
        return Problem.INVALID_ANSWER, "outputs must be an object"
    return None, ""


def _diff(expected: Any, actual: Any) -> str:
    if isinstance(expected, str) and isinstance(actual, str):
        n = next((i for i, (a, b) in enumerate(zip(expected, actual)) if a != b), min(len(expected), len(actual)))
        return (f"differs at char {n} (expected {len(expected)} chars, got {len(actual)}): "
                f"expected ...{shown(expected[max(0, n - 8):n + 24])}... "
                f"got ...{shown(actual[max(0, n - 8):n + 24])}...")
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return f"expected {len(expected)} items, got {len(actual)}"
        for i, (a, b) in enumerate(zip(expected, actual)):
            if a != b:
                return f"item {i}: expected {_short(a)}, got {_short(b)}"
    return f"expected {_short(expected)}, got {_short(actual)}"


def compare(case: Case, answer: dict[str, Any], hello: Hello) -> tuple[bool, list[str], tuple[str, ...], tuple[str, ...]]:
    """Compare a valid answer with the case: status, reason, then declared outputs."""
    exp = case.expected
    lines: list[str] = []
    status, reason = answer["status"], answer.get("reason")
    if exp.status == REJECTED:
        if status == "verified":
            lines.append("status: expected a rejection (anything but verified), got verified")
    elif status != exp.status:
        lines.append(f"status: expected {exp.status}, got {status}")
    if exp.reason_known and reason != exp.reason:
        lines.append(f"reason: expected {exp.reason}, got {_short(reason)}")
    compared, na = [], []
    outputs = answer.get("outputs") or {}
    for key in sorted(exp.outputs):
        if OUTPUT_CAPABILITY.get(key) not in hello.capabilities:
            na.append(key)
            continue
        compared.append(key)
        if key not in outputs:
            lines.append(f"output {key}: missing (capability {OUTPUT_CAPABILITY[key]} declared)")
        elif outputs[key] != exp.outputs[key]:
            lines.append(f"output {key}: " + _diff(exp.outputs[key], outputs[key]))
    return not lines, lines, tuple(compared), tuple(na)


def judge(case: Case, hello: Hello, answer: Any, problem: Problem | None, detail: str, seconds: float) -> CaseResult:
    if problem is not None:
        return CaseResult(case, Outcome.FAILED, problem, detail,
                          answer if isinstance(answer, dict) else None, seconds=seconds)
    ok, lines, compared, na = compare(case, answer, hello)
    return CaseResult(case, Outcome.PASSED if ok else Outcome.FAILED,
                      None if ok else Problem.MISMATCH, "\n".join(lines), answer,
                      compared, na, seconds=seconds)

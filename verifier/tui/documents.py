"""`browse proof.json [--payload]` and `browse envelopes.jsonl`: documents as an `AuditRun`.

Each document goes through the verify path (`verify_document`, the same as `verify`) and
becomes one event of the stream, so the browser shows documents and audit events alike.
The run's verdict is the worst document's status with its reason.
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path
from typing import Any, Iterator

from verifier.audit.stream import AuditRun, EventResult, SourceInfo, worst
from verifier.cli.inputs import InputError, read_input
from verifier.cli.jsonl import bounded_lines, line_items
from verifier.cli.auditrun import failure_result
from verifier.cli.options import build_policy
from verifier.core.detect import verify_document
from verifier.core.limits import Limits
from verifier.core.reasons import ReasonCode, Status
from verifier.core.result import Result, make_result, passed, problem
from verifier.sources.model import EventRecord

KIND = "documents"


def _label(result: Result, label: str) -> Result:
    result.subject = {**result.subject, "label": label}
    return result


def _finish(results: list[tuple[Status, Any]], what: str) -> Result:
    statuses = [s for s, _ in results]
    status = worst(statuses)
    counts = ", ".join(f"{statuses.count(s)} {s.value}" for s in Status if s in statuses)
    detail = f"{len(results)} {what}(s)" + (f": {counts}" if counts else "")
    if not results:
        return make_result(KIND, [problem("documents", ReasonCode.INPUT_UNREADABLE, f"no {what}s found")])
    if status is Status.VERIFIED:
        return make_result(KIND, [passed("documents", detail)])
    reason = next(r for s, r in results if s is status)
    return make_result(KIND, [problem("documents", reason, detail)])


def open_documents(args: argparse.Namespace, jsonl: bool) -> AuditRun:
    """An `AuditRun` over one document (`args.source`, `args.payload`) or a JSONL file."""
    path = args.source
    info = SourceInfo("jsonl" if jsonl else "document", path, True, {})
    limits = Limits(max_document_bytes=getattr(args, "max_bytes", None) or 64 * 1024 * 1024)
    try:
        policy = build_policy(args)
    except InputError as exc:
        return AuditRun.failed(info, failure_result("policy", exc.reason, exc.detail))
    env_policy = policy.envelope_policy()
    if jsonl:
        return _jsonl_run(path, info, policy, env_policy, limits)
    try:
        data = read_input(path, limits.max_document_bytes)
        payload = read_input(args.payload, limits.max_document_bytes) if args.payload else None
    except InputError as exc:
        return AuditRun.failed(info, failure_result("intake", exc.reason, exc.detail), policy)
    seen: list[tuple[Status, Any]] = []

    def events() -> Iterator[EventResult]:
        result = _label(verify_document(data, payload, policy=env_policy, limits=limits),
                        Path(path).name)
        seen.append((result.status, result.reason))
        yield EventResult(0, result)

    return AuditRun(info, policy, events, lambda: _finish(seen, "document"), total=1,
                    loader=lambda seq: EventRecord(None, envelope=data, payload=payload)
                    if seq == 0 else None)


def _jsonl_run(path: str, info: SourceInfo, policy: Any, env_policy: Any,
               limits: Limits) -> AuditRun:
    try:
        fh = open(path, "rb")
    except OSError as exc:
        return AuditRun.failed(info, failure_result(
            "intake", ReasonCode.INPUT_UNREADABLE, f"cannot read {path}: {exc.strerror or exc}"),
            policy)
    offsets: list[int] = []
    seen: list[tuple[Status, Any]] = []

    def events() -> Iterator[EventResult]:
        lines = bounded_lines(fh, limits.max_document_bytes)  # bounded, as verify --jsonl
        while True:
            start = fh.tell()  # the generator reads only when asked: this is the line's start
            raw = next(lines, None)
            if raw is None:
                return
            item = next(line_items(io.BytesIO(raw), limits), None)
            if item is None:  # a blank line
                continue
            seq = len(offsets)
            offsets.append(start)
            result = _label(verify_document(item[0], item[1], policy=env_policy, limits=limits),
                            f"line {seq + 1}")
            seen.append((result.status, result.reason))
            yield EventResult(seq, result)

    def load(seq: int) -> EventRecord | None:
        if not 0 <= seq < len(offsets):
            return None
        with open(path, "rb") as again:
            again.seek(offsets[seq])
            item = next(line_items(again, limits), None)
        return EventRecord(None, envelope=item[0], payload=item[1]) if item else None

    return AuditRun(info, policy, events, lambda: _finish(seen, "line"), loader=load,
                    close=fh.close)

"""The audit runs in a child process; the app receives compact rows through a pipe.

Verification holds the GIL about half the time, so an audit in a thread would freeze the
UI. `Feed` starts `serve` in a spawned process: it opens the `AuditRun` from the parsed
options (the same `open_audit` as `audit`), iterates it, sends each batch of events as
`Row`s, keeps each full event result in a temporary file (so neither process holds every
result in memory), and answers requests for one event's detail or for an export, between
events while the audit runs and until the app closes the pipe afterwards.

Messages child -> app (tuples): ("start", SourceInfo, total, policy json), ("rows", packed rows,
done), ("summary", Result, counts, by_reason), ("detail", Detail), ("exported", what,
path, error), ("usage", text), ("error", text). App -> child: ("detail", seq),
("export", "json"|"pdf", path).
"""

from __future__ import annotations

import argparse
import pickle
import tempfile
import time
from array import array
from dataclasses import dataclass
from typing import Any

#: Rows are sent at least this often (seconds) and at most this many at a time.
FLUSH_SECONDS = 0.1
FLUSH_ROWS = 2000


@dataclass(frozen=True)
class Spec:
    """What to open: `mode` "audit" (bundle or MLflow), "document" or "jsonl"."""

    mode: str
    args: argparse.Namespace


def open_run(spec: Spec) -> Any:
    """The `AuditRun` for a spec (raises UsageError for a command line that cannot work)."""
    if spec.mode == "audit":
        from verifier.cli.auditrun import open_audit

        return open_audit(spec.args)
    from .documents import open_documents

    return open_documents(spec.args, jsonl=spec.mode == "jsonl")


class ResultStore:
    """Event results by seq in an anonymous temporary file, pickled a batch at a time (the
    checks events share are written once per batch), block offsets and positions in memory."""

    def __init__(self) -> None:
        self._fh = tempfile.TemporaryFile()
        self._blocks: list[tuple[int, int]] = []  # (offset, length) per pickled batch
        # seq -> block and index in it, as flat arrays (seqs are positions: dense from 0)
        self._block_of, self._index_of = array("l"), array("l")
        self._pending: list[tuple[int, Any]] = []
        self._end = 0
        self._cached: tuple[int, list[Any]] = (-1, [])

    def put(self, seq: int, result: Any) -> None:
        self._pending.append((seq, result))

    def flush(self) -> None:
        if not self._pending:
            return
        data = pickle.dumps([r for _, r in self._pending], pickle.HIGHEST_PROTOCOL)
        self._fh.seek(self._end)
        self._fh.write(data)
        block = len(self._blocks)
        self._blocks.append((self._end, len(data)))
        self._end += len(data)
        for i, (seq, _) in enumerate(self._pending):
            if seq >= len(self._block_of):
                grow = seq + 1 - len(self._block_of)
                self._block_of.extend([-1] * grow)
                self._index_of.extend([-1] * grow)
            self._block_of[seq], self._index_of[seq] = block, i
        self._pending = []

    def get(self, seq: int) -> Any:
        self.flush()
        if not 0 <= seq < len(self._block_of) or self._block_of[seq] < 0:
            return None
        block, i = self._block_of[seq], self._index_of[seq]
        if self._cached[0] != block:
            offset, length = self._blocks[block]
            self._fh.seek(offset)
            self._cached = (block, pickle.loads(self._fh.read(length)))
        return self._cached[1][i]

    def seqs(self) -> list[int]:
        self.flush()
        return [seq for seq, block in enumerate(self._block_of) if block >= 0]

    def close(self) -> None:
        self._fh.close()


def serve(spec: Spec, out: Any, requests: Any) -> None:
    """Drive the audit, stream rows, answer requests until the app leaves; a bug arrives
    as an ("error", text) message, never as a traceback."""
    from verifier.cli.options import UsageError

    store = ResultStore()
    try:
        try:
            run = open_run(spec)
        except UsageError as exc:
            out.send(("usage", str(exc)))
            return
        with run:
            _drive(spec, run, store, out, requests)
            while True:
                try:
                    msg = requests.recv()
                except (EOFError, OSError):
                    break
                _answer(msg, spec, run, store, out)
    except (BrokenPipeError, EOFError, ConnectionResetError):
        pass  # the app went away
    except Exception as exc:  # a bug: report it inside the app, never as a traceback
        try:
            out.send(("error", f"internal error: {type(exc).__name__}: {exc}"))
        except OSError:
            pass
    finally:
        store.close()


def _drive(spec: Spec, run: Any, store: ResultStore, out: Any, requests: Any) -> None:
    from .rows import pack, row_of

    out.send(("start", run.source, run.total, run.policy.to_json()))
    batch: list[Any] = []
    last = time.monotonic()
    done = 0
    for ev in run:
        store.put(ev.seq, ev.result)
        batch.append(pack(row_of(ev.seq, ev.result)))
        done += 1
        now = time.monotonic()
        if len(batch) >= FLUSH_ROWS or now - last >= FLUSH_SECONDS:
            store.flush()
            out.send(("rows", batch, done))
            batch, last = [], now
            while requests.poll():
                _answer(requests.recv(), spec, run, store, out)
    store.flush()
    out.send(("rows", batch, done))
    s = run.summary
    out.send(("summary", s.result, dict(s.counts), dict(s.by_reason)))


class ExportError(Exception):
    """An export that cannot be written; the message is shown in the app."""


def _answer(msg: Any, spec: Spec, run: Any, store: ResultStore, out: Any) -> None:
    if not isinstance(msg, tuple) or not msg:
        return
    if msg[0] == "detail":
        from .evidence import build_detail

        seq = msg[1]
        out.send(("detail", build_detail(seq, store.get(seq), run.evidence(seq))))
    elif msg[0] == "export":
        what, path = msg[1], msg[2]
        try:
            _export(what, path, spec, run, store)
        except ExportError as exc:
            out.send(("exported", what, path, str(exc)))
        except OSError as exc:
            out.send(("exported", what, path, f"cannot write {path}: {exc.strerror or exc}"))
        else:
            out.send(("exported", what, path, None))


def full_result(run: Any, store: ResultStore) -> Any:
    """The audit `Result` with every event as a child, in source order (for exports)."""
    from verifier.core.result import Result

    r = run.summary.result
    return Result(r.kind, r.status, r.reason, r.checks, r.subject,
                  tuple(store.get(seq) for seq in store.seqs()))


def _export(what: str, path: str, spec: Spec, run: Any, store: ResultStore) -> None:
    from pathlib import Path

    if not run.finished:
        raise ExportError("the audit has not finished yet")
    if Path(path).exists():
        raise ExportError(f"{path} exists: choose another name")
    if what == "pdf":
        _export_pdf(path, spec)
        return
    from verifier.cli.audit_render import render_audit_json

    extra = {"input": run.source.label, "source": run.source.kind, **run.source.details}
    with open(path, "x", encoding="utf-8") as fh:
        render_audit_json(full_result(run, store), extra, fh)


def _export_pdf(path: str, spec: Spec) -> None:
    """The PDF is `ario-verifier report` itself on the same options (it drives its own run
    of the audit, so it states the same verdict with its own re-check recipe)."""
    import contextlib
    import copy
    import io
    from pathlib import Path

    if spec.mode != "audit":
        raise ExportError("the PDF report covers audits (bundle or MLflow), not single documents")
    try:
        from verifier.cli import report_cmd
    except ImportError:
        raise ExportError("the PDF report is not available in this installation") from None
    args = copy.copy(spec.args)
    args.output, args.html, args.force, args.json, args.quiet = path, None, False, False, True
    args.attach_max_bytes = getattr(args, "attach_max_bytes", report_cmd.DEFAULT_ATTACH_MAX)
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        report_cmd.run(args)
    if not Path(path).is_file():
        text = err.getvalue().strip().replace("ario-verifier report: error: ", "")
        raise ExportError(text or "no report was written")


class Feed:
    """The app's end of one audit child: `recv()` blocks for the next message (EOFError
    once the child is gone); `request()` never blocks the UI for long; `close()` ends it.

    The child is `python -m verifier.tui.feed` (not multiprocessing's spawn, which re-runs
    the caller's main module), importing the same `verifier` as this process, talking
    over two pipes wrapped as multiprocessing connections."""

    def __init__(self, spec: Spec) -> None:
        import os
        import subprocess
        import sys
        from multiprocessing.connection import Connection
        from pathlib import Path

        import verifier

        down_r, down_w = os.pipe()  # app -> child
        up_r, up_w = os.pipe()      # child -> app
        env = dict(os.environ)
        root = str(Path(verifier.__file__).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        # Not a daemon: the audit may start its own worker processes.
        self.process = subprocess.Popen(
            [sys.executable, "-m", "verifier.tui.feed", str(down_r), str(up_w)],
            pass_fds=(down_r, up_w), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, env=env, close_fds=True)
        os.close(down_r)
        os.close(up_w)
        self._inbox, self._outbox = Connection(up_r, writable=False), Connection(down_w, readable=False)
        self._outbox.send(spec)

    def recv(self) -> Any:
        return self._inbox.recv()

    def request(self, *msg: Any) -> bool:
        try:
            self._outbox.send(msg)
        except (OSError, ValueError):
            return False
        return True

    def close(self) -> None:
        """Close the request pipe (the child exits at its next look), then end it if busy."""
        import subprocess

        try:
            self._outbox.close()
        except OSError:
            pass
        try:
            self.process.wait(0.5)
        except subprocess.TimeoutExpired:  # still auditing: it is ours to end
            self.process.terminate()
            self.process.wait(5)
        try:
            self._inbox.close()
        except OSError:
            pass


def _child_main(argv: list[str]) -> None:
    """The child shares the app's terminal: its stdout and stderr go to /dev/null, so
    nothing it (or a library) prints can tear the screen."""
    import os
    from multiprocessing.connection import Connection

    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.dup2(null, 2)

    requests, out = Connection(int(argv[0]), writable=False), Connection(int(argv[1]), readable=False)
    try:
        spec = requests.recv()
    except (EOFError, OSError):
        return
    serve(spec, out, requests)


if __name__ == "__main__":
    import sys

    _child_main(sys.argv[1:])

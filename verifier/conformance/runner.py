"""Drive an implementation through cases over the conformance protocol (spec/conformance.md).

Two modes:

* ``stream``: one long-lived process; the runner writes one JSON request per line to its
  stdin and reads one JSON answer per line from its stdout, in lockstep, after a hello
  handshake. A crash, a timeout or an unusable answer fails that case; the process is then
  killed and a fresh one started (with a fresh handshake) for the next case.
* ``process``: one process per request (the hello included); the request is written to
  stdin, stdin is closed, and the answer is read from stdout.

Nothing the implementation does can crash the runner: every failure mode becomes a failed
case with a `Problem` and a detail line (stderr tail included).
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

from .judge import check_answer, judge
from .model import FAMILIES, Case, CaseResult, Hello, Outcome, Problem
from .protocol import (
    MAX_LINE, HandshakeError, encode as _encode, hello_request, parse_hello, read_answer,
)

STDERR_TAIL = 2000
DEFAULT_TIMEOUT = 10.0
MIN_STARTUP_TIMEOUT = 20.0
MAX_CONSECUTIVE_START_FAILURES = 3


def _kill(proc: subprocess.Popen) -> None:
    """Kill the implementation process (and its process group, which it leads)."""
    if proc.poll() is not None:
        return
    try:
        if os.name == "posix":
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except (ProcessLookupError, PermissionError, OSError):
        try:
            proc.kill()
        except OSError:
            pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


def _popen(argv: Sequence[str], cwd: str | None, env: dict[str, str] | None) -> subprocess.Popen:
    return subprocess.Popen(
        list(argv), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        cwd=cwd, env=env, start_new_session=(os.name == "posix"),
    )


@dataclass
class Implementation:
    """How to start the implementation under test."""

    argv: list[str]
    cwd: str | None = None
    env: dict[str, str] | None = None

    def display(self) -> str:
        import shlex

        return " ".join(shlex.quote(a) for a in self.argv)


class StreamSession:
    """One long-lived implementation process speaking JSON lines."""

    def __init__(self, impl: Implementation, timeout: float) -> None:
        self.impl = impl
        self.timeout = timeout
        self.proc: subprocess.Popen | None = None
        self.hello: Hello | None = None
        self._lines: queue.Queue = queue.Queue()
        self._stderr: deque[bytes] = deque()
        self._stderr_size = 0
        self._writes: queue.Queue = queue.Queue()
        self.starts = 0

    # -- process lifecycle ---------------------------------------------------------------

    def start(self) -> Hello:
        self.close()
        self.starts += 1
        self._lines = queue.Queue()
        self._writes = queue.Queue()
        self._stderr = deque()
        self._stderr_size = 0
        try:
            proc = _popen(self.impl.argv, self.impl.cwd, self.impl.env)
        except (OSError, ValueError) as exc:
            raise HandshakeError(Problem.NO_HANDSHAKE, f"cannot start {self.impl.display()}: {exc}") from None
        self.proc = proc
        threading.Thread(target=self._read_stdout, args=(proc, self._lines), daemon=True).start()
        threading.Thread(target=self._read_stderr, args=(proc,), daemon=True).start()
        threading.Thread(target=self._write_stdin, args=(proc, self._writes), daemon=True).start()
        answer, problem, detail = self._exchange(hello_request(), max(self.timeout, MIN_STARTUP_TIMEOUT))
        if problem is not None:
            self.close()
            raise HandshakeError(problem, "handshake: " + detail)
        try:
            self.hello = parse_hello(answer)
        except HandshakeError:
            self.close()
            raise
        return self.hello

    def close(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        self._writes.put(None)
        try:
            proc.stdin.close()  # type: ignore[union-attr]
        except OSError:
            pass
        try:
            proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            _kill(proc)

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    # -- I/O threads -----------------------------------------------------------------------

    @staticmethod
    def _read_stdout(proc: subprocess.Popen, lines: queue.Queue) -> None:
        stream = proc.stdout
        assert stream is not None
        try:
            while True:
                line = stream.readline(MAX_LINE)
                if not line:
                    break
                lines.put(line)
        except (OSError, ValueError):
            pass
        lines.put(None)

    def _read_stderr(self, proc: subprocess.Popen) -> None:
        stream = proc.stderr
        assert stream is not None
        try:
            while True:
                chunk = stream.read1(65536) if hasattr(stream, "read1") else stream.read(65536)
                if not chunk:
                    break
                if proc is not self.proc:
                    continue
                self._stderr.append(chunk)
                self._stderr_size += len(chunk)
                while self._stderr_size > 4 * STDERR_TAIL and len(self._stderr) > 1:
                    self._stderr_size -= len(self._stderr.popleft())
        except (OSError, ValueError):
            pass

    @staticmethod
    def _write_stdin(proc: subprocess.Popen, writes: queue.Queue) -> None:
        stream = proc.stdin
        assert stream is not None
        while True:
            data = writes.get()
            if data is None:
                return
            try:
                stream.write(data)
                stream.flush()
            except (OSError, ValueError):
                return

    def stderr_tail(self) -> str:
        text = b"".join(self._stderr).decode("utf-8", "replace").strip()
        if len(text) > STDERR_TAIL:
            text = "..." + text[-STDERR_TAIL:]
        return text

    # -- exchange --------------------------------------------------------------------------

    def _exchange(self, request: dict[str, Any], timeout: float) -> tuple[Any, Problem | None, str]:
        """Send one request, read one answer line. Kills the process on any problem."""
        proc = self.proc
        assert proc is not None
        self._writes.put(_encode(request))
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            _kill(proc)
            return None, Problem.TIMEOUT, f"no answer within {timeout:g}s" + self._stderr_note()
        if line is None:
            try:
                code = proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                _kill(proc)
                code = proc.returncode
            time.sleep(0.01)  # let the stderr reader catch the last words
            return None, Problem.CRASH, f"process ended (exit code {code}) without answering" + self._stderr_note()
        if not line.endswith(b"\n") and len(line) >= MAX_LINE:
            _kill(proc)
            return None, Problem.INVALID_ANSWER, f"answer line longer than {MAX_LINE} bytes"
        answer, problem, detail = read_answer(line)
        if problem is not None:
            _kill(proc)
        return answer, problem, detail

    def _stderr_note(self) -> str:
        tail = self.stderr_tail()
        return f"; stderr: {tail}" if tail else ""

    def ask(self, case: Case) -> tuple[dict[str, Any] | None, Problem | None, str]:
        if not self.alive:
            try:
                self.start()
            except HandshakeError as exc:
                return None, exc.problem, f"restart failed: {exc.detail}"
        answer, problem, detail = self._exchange(case.request(), self.timeout)
        if problem is not None:
            self.close()
            return None, problem, detail
        problem, detail = check_answer(answer, case)
        if problem is Problem.INVALID_ANSWER:
            self.close()  # resynchronise: the next case gets a fresh process
        return answer, problem, detail


def run_process(impl: Implementation, request: dict[str, Any], timeout: float) -> tuple[Any, Problem | None, str]:
    """One request in a fresh process: stdin gets the request line then EOF."""
    try:
        proc = _popen(impl.argv, impl.cwd, impl.env)
    except (OSError, ValueError) as exc:
        return None, Problem.CRASH, f"cannot start {impl.display()}: {exc}"
    try:
        out, err = proc.communicate(_encode(request), timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill(proc)
        try:
            proc.communicate(timeout=2)
        except (subprocess.TimeoutExpired, ValueError, OSError):
            pass
        return None, Problem.TIMEOUT, f"no answer within {timeout:g}s"
    tail = err.decode("utf-8", "replace").strip()
    tail = ("..." + tail[-STDERR_TAIL:]) if len(tail) > STDERR_TAIL else tail
    note = f"; stderr: {tail}" if tail else ""
    lines = [ln for ln in out.splitlines() if ln.strip()]
    if not lines:
        return None, Problem.CRASH, f"no answer (exit code {proc.returncode})" + note
    if len(lines) > 1:
        return None, Problem.INVALID_ANSWER, f"{len(lines)} lines on stdout, expected one answer" + note
    answer, problem, detail = read_answer(lines[0])
    return answer, problem, detail + (note if problem is not None else "")


@dataclass
class RunResult:
    """Everything one run produced."""

    implementation: Implementation
    mode: str
    hello: Hello | None
    handshake_error: str
    results: list[CaseResult]
    seconds: float
    starts: int = 0
    stale_expected: list[str] = field(default_factory=list)
    ignored_expected: list[str] = field(default_factory=list)

    @property
    def unexpected(self) -> list[CaseResult]:
        return [r for r in self.results if r.outcome.unexpected]

    @property
    def ok(self) -> bool:
        return not self.unexpected and not self.stale_expected and not self.handshake_error


def run_cases(
    cases: Sequence[Case],
    impl: Implementation,
    *,
    mode: str = "stream",
    timeout: float = DEFAULT_TIMEOUT,
    jobs: int = 1,
    on_result: Callable[[CaseResult], None] | None = None,
) -> RunResult:
    """Run every case; cases in undeclared families are not applicable (never sent)."""
    if mode not in ("stream", "process"):
        raise ValueError(f"unknown mode {mode!r}")
    started = time.perf_counter()
    jobs = max(1, jobs)
    results: list[CaseResult | None] = [None] * len(cases)
    starts = 0

    # The handshake decides what is applicable.
    if mode == "stream":
        first = StreamSession(impl, timeout)
        try:
            hello = first.start()
            handshake_error = ""
        except HandshakeError as exc:
            hello, handshake_error = None, exc.detail
        starts += first.starts
    else:
        answer, problem, detail = run_process(impl, hello_request(), max(timeout, MIN_STARTUP_TIMEOUT))
        starts += 1
        hello, handshake_error = None, ""
        if problem is not None:
            handshake_error = "handshake: " + detail
        else:
            try:
                hello = parse_hello(answer)
            except HandshakeError as exc:
                handshake_error = exc.detail

    if hello is None:
        out = [CaseResult(c, Outcome.FAILED, Problem.NO_HANDSHAKE, handshake_error) for c in cases]
        for r in out:
            if on_result:
                on_result(r)
        return RunResult(impl, mode, None, handshake_error, out, time.perf_counter() - started, starts)

    todo: list[int] = []
    for i, case in enumerate(cases):
        if case.family in hello.families:
            todo.append(i)
        else:
            results[i] = CaseResult(case, Outcome.NOT_APPLICABLE, None,
                                    f"family {case.family} not declared by {hello.name}")
            if on_result:
                on_result(results[i])  # type: ignore[arg-type]

    lock = threading.Lock()

    def record(i: int, r: CaseResult) -> None:
        results[i] = r
        if on_result:
            with lock:
                on_result(r)

    if mode == "stream":
        work: queue.Queue = queue.Queue()
        for i in todo:
            work.put(i)

        def worker(session: StreamSession) -> int:
            failures = 0
            while True:
                try:
                    i = work.get_nowait()
                except queue.Empty:
                    break
                case = cases[i]
                if failures >= MAX_CONSECUTIVE_START_FAILURES:
                    record(i, CaseResult(case, Outcome.FAILED, Problem.NO_HANDSHAKE,
                                         "implementation no longer starts; case not sent"))
                    continue
                t0 = time.perf_counter()
                answer, problem, detail = session.ask(case)
                failures = failures + 1 if problem is Problem.NO_HANDSHAKE else 0
                record(i, judge(case, hello, answer, problem, detail, time.perf_counter() - t0))
            session.close()
            return session.starts

        sessions = [first] + [StreamSession(impl, timeout) for _ in range(min(jobs, max(1, len(todo))) - 1)]
        if len(sessions) == 1:
            starts = worker(first)
        else:
            with ThreadPoolExecutor(max_workers=len(sessions)) as pool:
                counts = list(pool.map(worker, sessions))
            starts = sum(counts)
    else:
        def one(i: int) -> None:
            case = cases[i]
            t0 = time.perf_counter()
            answer, problem, detail = run_process(impl, case.request(), timeout)
            if problem is None:
                problem, detail = check_answer(answer, case)
            record(i, judge(case, hello, answer, problem, detail, time.perf_counter() - t0))

        starts += len(todo)
        if jobs == 1:
            for i in todo:
                one(i)
        else:
            with ThreadPoolExecutor(max_workers=jobs) as pool:
                list(pool.map(one, todo))

    final = [r for r in results if r is not None]
    assert len(final) == len(cases)
    return RunResult(impl, mode, hello, "", final, time.perf_counter() - started, starts)


def families_in(cases: Iterable[Case]) -> list[str]:
    seen = {c.family for c in cases}
    return [f for f in FAMILIES if f in seen]

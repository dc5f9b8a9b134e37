"""`BrowseApp`: the auditor's workbench over one audit (or one set of documents).

The audit runs in a child process (feed.py); an async worker receives its messages and
updates the index and the widgets, so the first screen shows before the audit finishes
and rows fill in as results arrive. Quitting returns the verdict's exit code (3 while the
audit is unfinished: never reported as verified).
"""

from __future__ import annotations

import argparse
import copy
import threading
import time
from collections import OrderedDict, deque
from pathlib import Path
from typing import Any, Iterable

from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer, Input, ProgressBar, Static, Tree

from verifier.cli.exitcodes import EXIT_INCOMPLETE, EXIT_USAGE, exit_code

from .detail import DetailScreen
from .dialogs import ChecksScreen, CopyScreen, FilterScreen, HelpScreen, PathScreen, PolicyScreen
from .evidence import Detail
from .feed import Feed, Spec
from .rows import SORTS, EventIndex, Query
from .text import safe
from .widgets import EventTable, LineageTree, VerdictHeader


class BrowseApp(App[int]):
    """Browse and verify one audit's proof chain."""

    CSS_PATH = "browse.tcss"
    TITLE = "ario-verifier browse"
    BINDINGS = [
        Binding("q", "quit", "quit"),
        Binding("question_mark,f1", "help", "help"),
        Binding("f", "filter", "filter"),
        Binding("slash", "search", "search"),
        Binding("escape", "clear", "clear", show=False),
        Binding("s", "sort", "sort", show=False),
        Binding("l", "lineage", "lineage"),
        Binding("a", "checks", "audit checks", show=False),
        Binding("y", "copy_tx", "copy tx", show=False),
        Binding("p", "policy", "policy", show=False),
        Binding("e", "export('json')", "export", show=False),
        Binding("E", "export('pdf')", "PDF", show=False),
        Binding("t", "toggle_theme", "theme", show=False),
    ]

    def __init__(self, spec: Spec, **kw: Any) -> None:
        super().__init__(**kw)
        self.spec = spec
        self.index = EventIndex()
        self.feed: Feed | None = None
        self._details: OrderedDict[int, Detail] = OrderedDict()
        self._inbox: deque[tuple] = deque()
        self._reset_state()

    def _reset_state(self) -> None:
        self.source: Any = None
        self.total: int | None = None
        self.policy: dict[str, Any] = {}
        self.summary: Any = None
        self.done = 0
        self.error = ""
        self.usage = False
        self._dirty = False
        self._drawn = 0.0
        self._subject: tuple[str, str] = ("", "")

    def _find_subject(self) -> tuple[str, str]:
        """(what, whose word): the subject as the audit's verified signed events name it
        (never the source's unsigned target); for documents, nothing."""
        from verifier.cli.audit_render import subject_text

        subject = self.summary.subject.get("subject") if isinstance(self.summary.subject, dict) else None
        if not isinstance(subject, dict):
            return "", ""
        return subject_text(subject), "verified signed events"

    # -- layout --------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield VerdictHeader(id="verdict")
        yield ProgressBar(id="progress", show_eta=False)
        with Horizontal(id="main"):
            yield LineageTree("lineage", id="lineage")
            yield EventTable(self.index, id="events")
        yield Static(id="query-line")
        yield Input(id="search", placeholder="tx id, event id, run id, decision id or hash prefix")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#search", Input).display = False
        self.query_one("#lineage", LineageTree).display = self.size.width >= 120
        self.query_one("#events", EventTable).focus()
        self._render_header()
        self.set_interval(0.05, self._drain)
        self._start()

    def _start(self) -> None:
        self.feed = Feed(self.spec)
        self._inbox: deque[tuple] = deque()
        threading.Thread(target=_read, args=(self.feed, self._inbox), daemon=True,
                         name="ario-browse-feed").start()

    def _drain(self) -> None:
        """Handle what the reader thread received (on the UI loop), then maybe redraw."""
        inbox = self._inbox
        while inbox:
            msg = inbox.popleft()
            if msg[0] != "eof":
                self._handle(msg)
            elif self.summary is None and not self.error and not self.usage:
                self.error = "the audit process ended without a verdict"
                self._render_header()
        self._tick()

    def _handle(self, msg: tuple) -> None:
        kind = msg[0]
        if kind == "rows":
            self.index.add_packed(msg[1])
            self.done = msg[2]
            self._dirty = True
        elif kind == "start":
            _, self.source, self.total, self.policy = msg
            self._render_header()
        elif kind == "summary":
            self.summary = msg[1]
            self._subject = self._find_subject()
            self._dirty = True
            self._tick()
            self.query_one("#lineage", LineageTree).rebuild(self.index)
        elif kind == "detail":
            detail: Detail = msg[1]
            self._details[detail.seq] = detail
            while len(self._details) > 64:
                self._details.popitem(last=False)
            if isinstance(self.screen, DetailScreen):
                self.screen.show(detail)
        elif kind == "exported":
            _, what, path, err = msg
            if err:
                self.notify(err, title=f"{what.upper()} export failed", severity="error")
            else:
                self.notify(str(path), title=f"{what.upper()} report written")
        elif kind in ("usage", "error"):
            self.error = msg[1]
            self.usage = kind == "usage"
            self._render_header()

    #: While the audit runs, the screen is redrawn at most this often (seconds): every frame
    #: costs CPU the audit, on the same cores, would otherwise use.
    LIVE_FRAME = 0.25

    def _tick(self, force: bool = False) -> None:
        if not self._dirty:
            return
        now = time.monotonic()
        if (not force and self.summary is None and not self.error
                and now - self._drawn < self.LIVE_FRAME):
            return
        self._drawn = now
        self._dirty = False
        table = self.query_one("#events", EventTable)
        if self.summary is not None and not len(self.index):
            table.empty_text = "no events: see the verdict above (a: audit-level checks)"
        table.reload()
        self._render_header()
        self._render_query()

    def _render_header(self) -> None:
        s = self.summary
        result = s if s is not None else None
        status = result.status if result is not None else None
        reason = result.reason.value if result is not None and result.reason is not None else ""
        detail = ""
        if result is not None and result.reason is not None:
            first = next((c for c in result.checks if c.reason is result.reason), None)
            detail = first.detail if first is not None else ""
        subject = self._subject if result is not None else ("", "")
        self.query_one("#verdict", VerdictHeader).show(
            status=status, reason=reason, detail=detail, counts=self.index.counts(),
            done=self.done, total=self.total, subject=subject,
            policy=self.policy, source=self.source, error=self.error)
        bar = self.query_one("#progress", ProgressBar)
        bar.display = s is None and not self.error
        bar.update(total=self.total, progress=self.done)

    def _render_query(self) -> None:
        q, n = self.index.query, len(self.index.view)
        parts = [f"{n} of {len(self.index)} shown", f"sort: {q.sort}"]
        if q.statuses:
            parts.append("status: " + ",".join(sorted(s.value for s in q.statuses)))
        if q.types:
            parts.append("type: " + ",".join(sorted(q.types)))
        if q.reasons:
            parts.append("reason: " + ",".join(sorted(q.reasons)))
        if q.search:
            parts.append(f"search: {q.search}")
        self.query_one("#query-line", Static).update(safe(" · ".join(parts), "dim"))

    # -- detail and copy -----------------------------------------------------------------

    def on_event_table_opened(self, event: EventTable.Opened) -> None:
        self.open_event(event.seq)

    def on_tree_node_selected(self, event: Tree.NodeSelected) -> None:
        if isinstance(event.node.data, int):
            self.open_event(event.node.data)

    def open_event(self, seq: int) -> None:
        if seq in self.index.rows:
            self.push_screen(DetailScreen(seq, self.index))

    def select_event(self, seq: int) -> None:
        """Select `seq` in the event table, if the current view shows it."""
        self.query_one("#events", EventTable).select_seq(seq)

    def request_detail(self, seq: int) -> Detail | None:
        """The cached detail of `seq`, or None after asking the audit child for it."""
        if seq in self._details:
            return self._details[seq]
        if self.feed is not None:
            self.feed.request("detail", seq)
        return None

    def copy_value(self, label: str, value: str) -> None:
        """OSC 52, and always the visible fallback (some terminals drop OSC 52 silently)."""
        if not value:
            self.notify(f"this event has no {label}", severity="warning", timeout=3)
            return
        self.copy_to_clipboard(value)
        self.push_screen(CopyScreen(label, value))

    # -- actions -------------------------------------------------------------------------

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_checks(self) -> None:
        self.push_screen(ChecksScreen(self.summary))

    def action_copy_tx(self) -> None:
        seq = self.query_one("#events", EventTable).current
        if seq is not None:
            self.copy_value("tx id", self.index.rows[seq].tx_id)

    def _set_query(self, query: Query | None) -> None:
        if query is None:
            return
        self.index.set_query(query)
        table = self.query_one("#events", EventTable)
        table.cursor, table.moved = 0, False
        table.scroll_to(y=0, animate=False)
        self._dirty = True
        self._tick(force=True)

    def action_filter(self) -> None:
        idx = self.index
        self.push_screen(FilterScreen(idx.query, idx.values("status"), idx.values("event_type"),
                                      idx.values("reason")), self._set_query)

    def action_search(self) -> None:
        box = self.query_one("#search", Input)
        box.display = True
        box.value = self.index.query.search
        box.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "search":
            q = self.index.query
            self._set_query(Query(q.statuses, q.types, q.reasons, event.value.strip(), q.sort))
            event.input.display = False
            self.query_one("#events", EventTable).focus()

    def action_clear(self) -> None:
        box = self.query_one("#search", Input)
        box.display = False
        self.query_one("#events", EventTable).focus()
        if self.index.query.narrowed:
            self._set_query(Query(sort=self.index.query.sort))

    def action_sort(self) -> None:
        q = self.index.query
        nxt = SORTS[(SORTS.index(q.sort) + 1) % len(SORTS)]
        self._set_query(Query(q.statuses, q.types, q.reasons, q.search, nxt))

    def action_lineage(self) -> None:
        tree = self.query_one("#lineage", LineageTree)
        tree.display = not tree.display
        if tree.display:
            tree.rebuild(self.index)

    def action_toggle_theme(self) -> None:
        self.theme = "textual-light" if self.current_theme.dark else "textual-dark"

    def action_policy(self) -> None:
        self.push_screen(PolicyScreen(self.spec.args), self._rerun)

    def _rerun(self, changes: dict[str, Any] | None) -> None:
        if changes is None:
            return
        args = copy.copy(self.spec.args)
        for key, value in changes.items():
            setattr(args, key, value)
        old = self.feed
        self.spec = Spec(self.spec.mode, args)
        self.feed = None
        if old is not None:
            old.close()
        self.index = EventIndex(query=self.index.query)
        self._details.clear()
        self._reset_state()
        table = self.query_one("#events", EventTable)
        table.index, table.cursor, table.moved = self.index, 0, False
        table.empty_text = "waiting for the first results…"
        self.query_one("#lineage", LineageTree).rebuild(self.index)
        self._dirty = True
        self._tick(force=True)
        self._start()
        self.notify("re-running the audit with the new policy")

    def action_export(self, what: str) -> None:
        if self.summary is None:
            self.notify("the audit has not finished yet", severity="warning", timeout=3)
            return
        stem = Path(self.source.label).stem if self.source is not None else "audit"
        default = f"{stem or 'audit'}-report.{what}"
        self.push_screen(PathScreen(f"Write the {what.upper()} report to", default),
                         lambda path: self._request_export(what, path))

    def _request_export(self, what: str, path: str | None) -> None:
        if path and self.feed is not None and self.feed.request("export", what, path):
            note = " (the report runs the audit again)" if what == "pdf" else ""
            self.notify(f"writing {path}{note}…", timeout=4)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for title, help_, cb in (
            ("Filter events", "by status, type and reason (f)", self.action_filter),
            ("Search events", "tx id, event id, run id, decision id, hash prefix (/)",
             self.action_search),
            ("Clear filter and search", "show every event (Esc)", self.action_clear),
            ("Sort events", "cycle status, type, time, tx id (s)", self.action_sort),
            ("Toggle lineage tree", "datasets → training → registration → promotions → "
             "predictions (l)", self.action_lineage),
            ("Audit-level checks", "completeness, chain and lineage checks (a)", self.action_checks),
            ("Copy tx id", "of the selected event (y)", self.action_copy_tx),
            ("Re-run with another policy", "trusted keys, receipt signers, binding (p)",
             self.action_policy),
            ("Export JSON report", "the same JSON as audit --json (e)",
             lambda: self.action_export("json")),
            ("Export PDF report", "the audit report as PDF (E)", lambda: self.action_export("pdf")),
            ("Help", "keys, statuses and reasons (?)", self.action_help),
        ):
            yield SystemCommand(title, help_, cb)

    #: Actions of the main screen only (hidden and inert on the detail and dialog screens).
    MAIN_ONLY = frozenset({"filter", "search", "clear", "sort", "lineage", "checks", "copy_tx",
                           "policy", "export"})

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in self.MAIN_ONLY and len(self.screen_stack) > 1:
            return False
        return True

    # -- exit ----------------------------------------------------------------------------

    def verdict_code(self) -> int:
        if self.usage:
            return EXIT_USAGE
        if self.summary is None:
            return EXIT_INCOMPLETE
        return exit_code(self.summary.status)

    async def action_quit(self) -> None:
        code = self.verdict_code()
        self.exit(code, return_code=code)

    def on_unmount(self) -> None:
        if self.feed is not None:
            self.feed.close()
            self.feed = None


def _read(feed: Feed, inbox: deque) -> None:
    """The reader thread: receive every message as soon as the child sends it, so the audit
    never waits for the UI loop (a batch is larger than the pipe's buffer)."""
    while True:
        try:
            inbox.append(feed.recv())
        except (EOFError, OSError):
            inbox.append(("eof",))
            return


def make_spec(mode: str, args: argparse.Namespace) -> Spec:
    """A picklable spec (drops the parser's handler)."""
    clean = argparse.Namespace(**{k: v for k, v in vars(args).items() if k != "func"})
    clean.quiet = True
    return Spec(mode, clean)

"""The browser's widgets: the verdict header, the virtualised event table, the lineage tree.

Widgets do no I/O: the app hands them rows and the verdict. The event table is a
`ScrollView` that renders only the visible lines from the index (the Line API), so 100k
events cost 100k small tuples and a screenful of rendering, not a widget per row.
"""

from __future__ import annotations

from typing import Any

from rich.cells import set_cell_size
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.events import Click
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Static, Tree

from verifier.core.reasons import Status

from .rows import MARK, EventIndex, Row
from .text import STATUS_STYLE, clean, explain, safe, short, status_text


class VerdictHeader(Static):
    """Always visible: verdict (symbol + word + colour), counts, subject, pins, source."""

    def show(self, *, status: Status | None, reason: str, detail: str, counts: dict[Status, int],
             done: int, total: int | None, subject: tuple[str, str], policy: dict[str, Any],
             source: Any, error: str = "") -> None:
        t = Text()
        if error:
            t.append("! ERROR ", style="bold reverse")
            t.append(" ")
            t.append_text(safe(error))
        elif status is None:
            t.append("… AUDITING ", style="bold reverse")
            t.append(f"  {done}" + (f"/{total}" if total is not None else "") + " event(s) decided")
        else:
            badge = status_text(status)
            badge.stylize("reverse")
            t.append(" ")
            t.append_text(badge)
            t.append(" ")
            if reason:
                t.append(f"  {reason}", style="bold")
                t.append(f": {explain(reason)}")
            else:
                t.append("  every event verified")
        t.append("\n")
        n = sum(counts.values())
        t.append(f"{n} event(s)", style="bold")
        for s in (Status.VERIFIED, Status.FAILED, Status.INCOMPLETE, Status.MALFORMED):
            if counts.get(s):
                t.append("  ")
                t.append(f"{MARK[s]} {counts[s]} {s.value}", style=STATUS_STYLE[s])
        if subject[0]:
            t.append("\nsubject: ", style="dim")
            t.append_text(safe(subject[0]))
            t.append(f" ({subject[1]})", style="dim")
        if detail and not n:
            t.append("\n")
            t.append_text(safe(detail, "italic"))
        t.append("\n")
        keys, signers = policy.get("trusted_keys"), policy.get("trusted_receipt_signers")
        t.append("signer ")
        t.append("pinned" if keys else "NOT pinned", style="green" if keys else "bold yellow")
        t.append(" · receipt signer ")
        t.append("pinned" if signers else "NOT pinned", style="green" if signers else "bold yellow")
        if source is not None:
            t.append(f" · {source.kind} ")
            label = source.label
            if source.kind != "mlflow":
                from pathlib import PurePath

                label = PurePath(label).name or label
            t.append_text(safe(label))
            t.append(" · offline" if source.offline else " · online")
        self.update(t)


_PARSED: dict[str, Style] = {}


def _parsed(style: str) -> Style:
    if style not in _PARSED:
        _PARSED[style] = Style.parse(style)
    return _PARSED[style]


class EventTable(ScrollView, can_focus=True):
    """Every event of the current view, one line each, worst first; Enter opens one."""

    BINDINGS = [
        Binding("up,k", "move(-1)", "up", show=False),
        Binding("down,j", "move(1)", "down", show=False),
        Binding("pageup", "page(-1)", "page up", show=False),
        Binding("pagedown", "page(1)", "page down", show=False),
        Binding("home,g", "edge(0)", "first", show=False),
        Binding("end,G", "edge(1)", "last", show=False),
        Binding("enter", "open", "open", show=True),
    ]
    COMPONENT_CLASSES = {"event-table--header", "event-table--cursor"}

    class Opened(Message):
        """The user asked for the detail of event `seq`."""

        def __init__(self, seq: int) -> None:
            super().__init__()
            self.seq = seq

    def __init__(self, index: EventIndex, **kw: Any) -> None:
        super().__init__(**kw)
        self.index = index
        self.cursor = 0
        self.moved = False
        self.empty_text = "waiting for the first results…"

    # -- data ----------------------------------------------------------------------------

    def reload(self) -> None:
        """Re-read the view from the index (after rows arrived or the query changed). Once
        the user has moved, the cursor stays on the same event as rows arrive above it;
        before that it stays on the first (worst) row."""
        keep = self.current if self.moved else None
        view = self.index.refresh()
        self.virtual_size = Size(self.size.width, len(view) + 1)
        if keep is not None and self.current != keep:
            try:
                self.cursor = view.index(keep)
            except ValueError:
                pass
            self._follow()
        self.cursor = max(0, min(self.cursor, len(view) - 1))
        self.refresh()

    @property
    def current(self) -> int | None:
        view = self.index.view
        return view[self.cursor] if 0 <= self.cursor < len(view) else None

    def select_seq(self, seq: int) -> None:
        """Move the cursor to event `seq` (as a user move: it then stays on it)."""
        try:
            self._go(self.index.view.index(seq))
        except ValueError:
            pass

    # -- keys ----------------------------------------------------------------------------

    def _follow(self) -> None:
        top, rows = round(self.scroll_offset.y), max(1, self.scrollable_content_region.height - 1)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + rows:
            self.scroll_to(y=self.cursor - rows + 1, animate=False, immediate=True)

    def _go(self, i: int) -> None:
        self.moved = True
        n = len(self.index.view)
        self.cursor = max(0, min(i, n - 1))
        self._follow()
        self.refresh()

    def action_move(self, delta: int) -> None:
        self._go(self.cursor + delta)

    def action_page(self, direction: int) -> None:
        self._go(self.cursor + direction * max(1, self.scrollable_content_region.height - 2))

    def action_edge(self, end: int) -> None:
        self._go(len(self.index.view) - 1 if end else 0)

    def action_open(self) -> None:
        if self.current is not None:
            self.post_message(self.Opened(self.current))

    def on_click(self, event: Click) -> None:
        if event.y < 1:
            return
        i = round(self.scroll_offset.y) + event.y - 1
        if 0 <= i < len(self.index.view):
            opened = i == self.cursor and event.chain >= 2
            self._go(i)
            if opened:
                self.action_open()

    # -- rendering -----------------------------------------------------------------------

    def _columns(self, width: int) -> list[tuple[str, int]]:
        cols = [("status", 13), ("type", 18), ("claimed at", 20 if width >= 100 else 15)]
        if width >= 112:
            cols.append(("witnessed at", 20))
        cols.append(("tx id", 44 if width >= 150 else 14))
        rest = width - sum(w for _, w in cols)
        cols.append(("reason", max(rest, 8)))
        return cols

    def _cells(self, row: Row, cols: list[tuple[str, int]]) -> list[tuple[str, Style | str]]:
        values = {
            "status": (f"{MARK[row.status]} {row.status.value}", STATUS_STYLE[row.status]),
            "type": (clean(row.event_type), ""),
            "claimed at": (clean(row.signed_at[:19].replace("T", " ")
                                       [0 if cols[2][1] >= 20 else 5:]), ""),
            "witnessed at": (clean(row.witnessed_at[:19].replace("T", " ")), ""),
            "tx id": (clean(row.tx_id if len(row.tx_id) <= 43 else short(row.tx_id, 43))
                      if cols[-2][1] >= 44 else short(clean(row.tx_id), 13), ""),
            "reason": (clean(row.reason) if row.reason else "", "bold" if row.reason else ""),
        }
        return [values[name] for name, _ in cols]

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles = None

    def _style_set(self) -> tuple[Style, Style, Style]:
        """(base, header, cursor), computed once per style change, not once per line."""
        if getattr(self, "_styles", None) is None:
            self._styles = (self.rich_style, self.get_component_rich_style("event-table--header"),
                            self.get_component_rich_style("event-table--cursor"))
        return self._styles

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        cols = self._columns(width)
        base, header, cursor = self._style_set()
        if y == 0:
            style = header
            text = "".join(set_cell_size(name, w - 1) + " " for name, w in cols)
            return Strip([Segment(set_cell_size(text, width), style)])
        view = self.index.view
        i = round(self.scroll_offset.y) + y - 1
        if not view:
            msg = self.empty_text if y == 1 else ""
            return Strip([Segment(set_cell_size(msg, width), base)])
        if i >= len(view):
            return Strip.blank(width, base)
        row = self.index.rows[view[i]]
        segments = []
        for (_, w), (value, style) in zip(cols, self._cells(row, cols)):
            segments.append(Segment(set_cell_size(value, w - 1) + " ",
                                    base + _parsed(style) if style else base))
        strip = Strip(segments).adjust_cell_length(width, base)
        if i == self.cursor:
            strip = strip.apply_style(cursor)
        return strip

    def on_resize(self) -> None:
        self.virtual_size = Size(self.size.width, len(self.index.view) + 1)


class LineageTree(Tree[int]):
    """Lineage stages (datasets → training → registration → promotions → predictions),
    grouped with counts and the worst status; each event node opens its detail."""

    PER_STAGE = 200

    def rebuild(self, index: EventIndex) -> None:
        self.clear()
        self.root.expand()
        for _etype, title, seqs in index.stages():
            statuses = [index.rows[s].status for s in seqs]
            worst = statuses[0] if statuses else Status.VERIFIED  # worst first
            label = Text()
            label.append(f"{MARK[worst]} ", style=STATUS_STYLE[worst])
            label.append_text(safe(title))
            label.append(f" ({len(seqs)})", style="dim")
            node = self.root.add(label, expand=worst is not Status.VERIFIED or len(seqs) <= 5)
            for seq in seqs[: self.PER_STAGE]:
                row = index.rows[seq]
                leaf = Text()
                leaf.append(f"{MARK[row.status]} ", style=STATUS_STYLE[row.status])
                leaf.append_text(safe(row.label or short(row.tx_id, 20) or f"event {seq}"))
                node.add_leaf(leaf, data=seq)
            if len(seqs) > self.PER_STAGE:
                node.add_leaf(Text(f"… {len(seqs) - self.PER_STAGE} more (use the event table)",
                                   style="dim"))

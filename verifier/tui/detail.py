"""The event detail screen: checks with reasons and explanations, the record diff, binding
and receipt, the chain (walk it with `[` and `]`), the envelope and payload as JSON.

The screen shows what the row already knows at once and the rest when the audit child
answers with the event's `Detail` (evidence.py). It does no I/O itself.
"""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from verifier.core.result import Outcome

from .evidence import Detail
from .rows import GENESIS, MARK, EventIndex
from .text import STATUS_STYLE, clean, explain, safe, short, status_text

_OUTCOME = {Outcome.PASSED: ("✓", "green"), Outcome.SKIPPED: ("-", "dim"),
            Outcome.INCOMPLETE: ("~", "yellow"), Outcome.FAILED: ("✗", "red"),
            Outcome.MALFORMED: ("!", "magenta")}


def _section(title: str, body: RenderableType) -> RenderableType:
    return Group(Text(title, style="bold underline"), body, Text(""))


def checks_table(result: Any) -> Table:
    """One line per check: mark, id, outcome, reason code with its explanation, detail."""
    table = Table(box=None, expand=True, show_header=True, header_style="bold", pad_edge=False)
    table.add_column("", width=1, no_wrap=True)
    table.add_column("check", no_wrap=True, min_width=12)
    table.add_column("outcome", no_wrap=True)
    table.add_column("reason and detail", ratio=1, overflow="fold")
    for c in result.checks:
        mark, style = _OUTCOME[c.outcome]
        why = Text()
        if c.reason is not None:
            why.append(c.reason.value, style="bold")
            why.append(f" {explain(c.reason)}")
            if c.detail:
                why.append("\n")
        if c.detail:
            why.append_text(safe(c.detail, "dim" if c.reason is None else ""))
        table.add_row(Text(mark, style=style), safe(c.id), Text(c.outcome.value, style=style), why)
    return table


def diff_table(diff: list[tuple[str, str, str]], anchored: bool = True) -> Table:
    """Field, the payload's value, MLflow's value now. `anchored` False: the payload does not
    hash to the signed payload_hash, so its column must not be called the anchored record."""
    table = Table(expand=True, show_lines=False, header_style="bold")
    table.add_column("field", max_width=32, overflow="fold")
    table.add_column("anchored (signed)" if anchored else "payload given (NOT the signed one)",
                     ratio=1, overflow="fold")
    table.add_column("current (MLflow)", ratio=1, overflow="fold")
    for name, anchored, current in diff:
        table.add_row(safe(name, "bold"), safe(anchored, "red"), safe(current, "green"))
    return table


def _json(text: str, dark: bool) -> Syntax:
    return Syntax(clean(text, multiline=True), "json", word_wrap=True,
                  theme="ansi_dark" if dark else "ansi_light", background_color="default")


def _facts(pairs: list[tuple[str, Any]]) -> Text:
    t = Text()
    for key, value in pairs:
        if value in (None, "", [], {}):
            continue
        t.append(f"{key}: ", style="dim")
        t.append_text(value if isinstance(value, Text) else safe(value))
        t.append("\n")
    return t


class DetailScreen(Screen[None]):
    """One event. `[` predecessor, `]` successor, `y` copy tx id, `h` hash, `J` JSON."""

    BINDINGS = [
        Binding("escape,backspace", "back", "back"),
        Binding("left_square_bracket", "walk(-1)", "predecessor"),
        Binding("right_square_bracket", "walk(1)", "successor"),
        Binding("y", "copy('tx')", "copy tx id"),
        Binding("h", "copy('hash')", "copy hash", show=False),
        Binding("J", "copy('json')", "copy JSON", show=False),
    ]

    def __init__(self, seq: int, index: EventIndex) -> None:
        super().__init__()
        self.index, self.seq = index, seq
        self.detail: Detail | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="detail-title")
        with VerticalScroll(id="detail-body"):
            yield Static(id="detail-checks")
            yield Static(id="detail-chain")
            yield Static(id="detail-evidence")
        yield Footer()

    def on_mount(self) -> None:
        self.load(self.seq)

    def load(self, seq: int) -> None:
        """Show event `seq`: the row at once, the evidence when the child answers."""
        self.seq, self.detail = seq, None
        row = self.index.rows[seq]
        title = Text()
        title.append_text(status_text(row.status))
        title.append("  ")
        title.append_text(safe(row.label or row.event_type or f"event {seq}", "bold"))
        title.append("\n")
        title.append_text(_facts([("type", row.event_type), ("tx", row.tx_id)]))
        title.append_text(_facts([("signed_at (claimed)", row.signed_at),
                                  ("witnessed (receipt)", row.witnessed_at)]))
        if row.reason:
            title.append(f"{row.reason}", style="bold " + STATUS_STYLE[row.status])
            title.append(f": {explain(row.reason)}")
        self.query_one("#detail-title", Static).update(title)
        self.query_one("#detail-checks", Static).update(Text("loading the event's checks…",
                                                             style="dim"))
        self.query_one("#detail-evidence", Static).update("")
        self.query_one("#detail-chain", Static).update(self._chain())
        self.query_one("#detail-body", VerticalScroll).scroll_home(animate=False)
        cached = self.app.request_detail(seq)  # type: ignore[attr-defined]
        if cached is not None:
            self.show(cached)

    def show(self, detail: Detail) -> None:
        """Show the evidence of the current event (a reply for another event, or one that
        arrives before the screen is composed, is ignored: `load` reads it from the cache)."""
        if detail.seq != self.seq or not self.query("#detail-checks"):
            return
        self.detail = detail
        parts: list[RenderableType] = []
        if detail.diff:
            title = ("Record: anchored vs current" if detail.diff_anchored else
                     "Record: the payload given (it fails payload_hash) vs current")
            parts.append(_section(title, diff_table(detail.diff, detail.diff_anchored)))
        if detail.result is not None:
            parts.append(_section("Checks", checks_table(detail.result)))
            for i, child in enumerate(detail.result.children[:50]):  # bundles' parts
                title = f"Part {i + 1}: {child.kind} {MARK[child.status]} {child.status.value}"
                parts.append(_section(title, checks_table(child)))
        self.query_one("#detail-checks", Static).update(Group(*parts) if parts else "")
        self.query_one("#detail-evidence", Static).update(self._evidence(detail))

    def _chain(self) -> RenderableType:
        idx, seq = self.index, self.seq
        path, start = idx.path(seq)
        line = Text()
        line.append({GENESIS: "GENESIS", "missing": "(predecessor not in this audit)",
                     "cycle": "(cycle)", "truncated": "…"}[start], style="dim")
        shown = path if len(path) <= 8 else path[:2] + [-1] + path[-5:]
        for s in shown:
            line.append(" → ")
            if s == -1:
                line.append("…")
                continue
            r = idx.rows[s]
            line.append(MARK[r.status], style=STATUS_STYLE[r.status])
            name = Text(f" {clean(r.event_type)} {short(clean(r.tx_id), 11)}",
                        style="bold reverse" if s == seq else "")
            line.append_text(name)
        prev, succ, row = idx.predecessor(seq), idx.successors_of(seq), idx.rows[seq]
        if prev is not None:
            before = Text(f"{MARK[idx.rows[prev].status]} ") + safe(idx.rows[prev].label
                                                                   or idx.rows[prev].tx_id)
        elif row.previous_hash == GENESIS:
            before = Text("GENESIS")
        else:
            before = safe(row.previous_hash or "(none)") + Text(" (not in this audit)", style="dim")
        after = Text("none")
        if succ:
            names = ", ".join(idx.rows[s].label or idx.rows[s].tx_id for s in succ[:5])
            after = safe(f"{len(succ)}: {names}" + (" …" if len(succ) > 5 else ""))
        facts = _facts([("predecessor ([)", before), ("successors (])", after)])
        return _section("Chain", Group(line, facts))

    def _evidence(self, d: Detail) -> RenderableType:
        dark = getattr(self.app, "current_theme", None) is None or self.app.current_theme.dark
        parts: list[RenderableType] = []
        s = d.result.subject if d.result is not None else {}
        item = d.data_item or {}
        tags = item.get("tags") or []
        tag_text = Text()
        for tag in tags[:40]:
            tag_text.append_text(safe(tag.get("name")))
            tag_text.append("=", style="dim")
            tag_text.append_text(safe(tag.get("value")))
            tag_text.append("  ")
        binding = _facts([
            ("data item", item.get("id")), ("owner", item.get("owner_address")),
            ("signature", item.get("signature_name")), ("tags", tag_text if tags else None),
            ("receipt signer", s.get("receipt_signer")),
            ("receipt signer pinned", "yes" if s.get("receipt_signer_pinned") else
             ("no" if "receipt_signer_pinned" in s else None)),
            ("witnessed at (receipt)", s.get("witnessed_at")),
            ("signing key", s.get("public_key")), ("payload hash", s.get("payload_hash")),
        ])
        if binding:
            parts.append(_section("Binding and receipt", binding))
        if d.notes:
            parts.append(_section("Notes", Text("\n".join(clean(n) for n in d.notes),
                                                style="yellow")))
        if d.envelope is not None:
            parts.append(_section("Envelope", _json(d.envelope, dark)))
        if d.payload is not None:
            parts.append(_section("Payload", _json(d.payload, dark)))
        if d.receipt is not None:
            parts.append(_section("Receipt", _json(d.receipt, dark)))
        return Group(*parts)

    def action_back(self) -> None:
        """Back to the table, with the event last shown here selected (after a walk too)."""
        seq = self.seq
        self.app.pop_screen()
        self.app.select_event(seq)  # type: ignore[attr-defined]

    def action_walk(self, direction: int) -> None:
        if direction < 0:
            target = self.index.predecessor(self.seq)
            what = "predecessor"
        else:
            succ = self.index.successors_of(self.seq)
            target = succ[0] if succ else None
            what = "successor"
        if target is None:
            self.notify(f"no {what} in this audit", severity="warning", timeout=3)
            return
        self.load(target)

    def action_copy(self, what: str) -> None:
        row = self.index.rows[self.seq]
        if what == "tx":
            self.app.copy_value("tx id", row.tx_id)  # type: ignore[attr-defined]
        elif what == "hash":
            self.app.copy_value("payload hash", row.payload_hash)  # type: ignore[attr-defined]
        elif self.detail is not None and self.detail.result is not None:
            import json

            text = json.dumps(self.detail.result.to_json(), ensure_ascii=False, indent=2)
            self.app.copy_value("event JSON", text)  # type: ignore[attr-defined]
        else:
            self.notify("the event is still loading", severity="warning", timeout=3)

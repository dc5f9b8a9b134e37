"""Modal dialogs: copy fallback, help, filter, re-run policy, export path, audit checks."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, SelectionList, Static

from verifier.core.reasons import SEVERITY, ReasonCode, Status, bucket, meaning

from .rows import MARK, STATUS_ORDER, Query
from .text import STATUS_STYLE, safe, status_text

KEYS = (
    ("↑ ↓ PgUp PgDn Home End", "move in the event table"),
    ("Enter / double-click", "open the selected event"),
    ("f", "filter by status, type and reason"),
    ("/", "search by tx id, event id, run id, decision id or hash prefix"),
    ("Esc", "clear the search and filter (or go back)"),
    ("s", "sort by status, type, time, tx id (cycles)"),
    ("l", "show or hide the lineage tree"),
    ("a", "the audit-level checks (completeness, chain, lineage)"),
    ("[ / ]", "in an event: walk to its predecessor / successor"),
    ("y / h / J", "copy the tx id / payload hash / event JSON"),
    ("p", "re-run the audit with another policy"),
    ("e / E", "export the JSON report / the PDF report (as `report` writes it)"),
    ("t", "switch between the dark and light theme"),
    ("Ctrl+P", "command palette (every action)"),
    ("? / F1", "this help"),
    ("q", "quit (the exit code is the verdict's: 0 1 2 3)"),
)
STATUS_HELP = {
    Status.VERIFIED: "every check passed",
    Status.INCOMPLETE: "something needed was unavailable: never reported as verified",
    Status.FAILED: "a check failed: the evidence contradicts the claim",
    Status.MALFORMED: "the input could not be read as what it claims to be",
}


class _Modal(ModalScreen[Any]):
    BINDINGS = [Binding("escape", "dismiss(None)", "close")]


class CopyScreen(_Modal):
    """The copied value shown for manual copy: OSC 52 is silently ignored by some terminals."""

    def __init__(self, label: str, value: str) -> None:
        super().__init__()
        self.label, self.value = label, value

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(Text(f"Copied the {self.label} to the clipboard (OSC 52)", style="bold"))
            with VerticalScroll(id="copy-body"):
                yield Static(safe(self.value, multiline=True), id="copy-value")
            yield Static(Text("Terminals that ignore OSC 52 copy nothing: select the text above "
                             "with the mouse (Shift+drag in most terminals). Esc closes.",
                             style="dim"))


class HelpScreen(_Modal):
    """Keys, what each status means, and every reason code with its explanation."""

    BINDINGS = [Binding("escape,q,question_mark,f1", "dismiss(None)", "close")]

    def compose(self) -> ComposeResult:
        keys = Table(box=None, show_header=False, pad_edge=False)
        keys.add_column(style="bold", no_wrap=True)
        keys.add_column()
        for k, v in KEYS:
            keys.add_row(k, v)
        statuses = Table(box=None, show_header=False, pad_edge=False)
        for s in (Status.VERIFIED, Status.INCOMPLETE, Status.FAILED, Status.MALFORMED):
            statuses.add_row(status_text(s), STATUS_HELP[s])
        reasons = Table(box=None, show_header=False, pad_edge=False)
        reasons.add_column(no_wrap=True)
        reasons.add_column(ratio=1)
        for code in sorted(ReasonCode, key=lambda c: (-SEVERITY[bucket(c)], c.value)):
            s = bucket(code)
            reasons.add_row(Text(f"{MARK[s]} {code.value}", style=STATUS_STYLE[s]), meaning(code))
        body = Group(Text("Keys", style="bold underline"), keys, Text(""),
                     Text("Statuses (exit codes 0 verified, 1 failed, 2 malformed, 3 incomplete)",
                          style="bold underline"), statuses, Text(""),
                     Text("Reasons", style="bold underline"), reasons)
        with Vertical(id="dialog", classes="wide"):
            with VerticalScroll():
                yield Static(body)

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()  # arrows and PgUp/PgDn scroll at once


class FilterScreen(_Modal):
    """Choose statuses, types and reasons to show (none chosen in a list = all)."""

    BINDINGS = [Binding("enter", "apply", "apply", priority=True)]

    def __init__(self, query: Query, statuses: dict[str, int], types: dict[str, int],
                 reasons: dict[str, int]) -> None:
        super().__init__()
        self.query_, self.counts = query, (statuses, types, reasons)

    def compose(self) -> ComposeResult:
        statuses, types, reasons = self.counts
        q = self.query_
        with Vertical(id="dialog", classes="wide"):
            yield Label(Text("Filter events (Space toggles, Tab moves, Enter applies)", style="bold"))
            with Horizontal(id="filter-lists"):
                yield SelectionList[str](*[
                    (Text(f"{MARK[s]} {s.value} ({statuses[s.value]})", style=STATUS_STYLE[s]),
                     s.value, s in q.statuses) for s in STATUS_ORDER if s.value in statuses],
                    id="filter-status")
                yield SelectionList[str](*[
                    (safe(f"{t or '(none)'} ({n})"), t, t in q.types) for t, n in sorted(types.items())],
                    id="filter-type")
                yield SelectionList[str](*[
                    (safe(f"{r} ({n})"), r, r in q.reasons) for r, n in sorted(reasons.items()) if r],
                    id="filter-reason")
            with Horizontal(classes="buttons"):
                yield Button("Apply", id="apply", variant="primary")
                yield Button("Clear", id="clear")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#filter-status").border_title = "status"
        self.query_one("#filter-type").border_title = "type"
        self.query_one("#filter-reason").border_title = "reason"

    def _chosen(self, wid: str) -> frozenset[str]:
        return frozenset(self.query_one(f"#{wid}", SelectionList).selected)

    def _apply(self) -> None:
        q = self.query_
        self.dismiss(Query(frozenset(Status(s) for s in self._chosen("filter-status")),
                           self._chosen("filter-type"), self._chosen("filter-reason"),
                           q.search, q.sort))

    def action_apply(self) -> None:
        self._apply()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "apply":
            self._apply()
        elif event.button.id == "clear":
            self.dismiss(Query(search=self.query_.search, sort=self.query_.sort))
        else:
            self.dismiss(None)


class PolicyScreen(_Modal):
    """Re-run the audit with another trust policy; returns the changed options."""

    def __init__(self, args: Any) -> None:
        super().__init__()
        self.args = args

    def compose(self) -> ComposeResult:
        a = self.args
        with Vertical(id="dialog", classes="wide"):
            yield Label(Text("Re-run the audit with this policy", style="bold"))
            yield Label("trusted keys file (--trusted-keys)")
            yield Input(getattr(a, "trusted_keys", None) or "", id="policy-keys",
                        placeholder="path to a file of hex Ed25519 keys")
            yield Label("trusted receipt signers (--receipt-signer, space separated)")
            yield Input(" ".join(getattr(a, "receipt_signer", None) or []), id="policy-signers")
            yield Checkbox("require a data item binding (--require-binding)",
                           bool(getattr(a, "require_binding", False)), id="policy-binding")
            yield Checkbox("require a Turbo upload receipt (--require-receipts)",
                           bool(getattr(a, "require_receipts", False)), id="policy-receipts")
            yield Checkbox("accept legacy envelopes (--allow-legacy)",
                           bool(getattr(a, "allow_legacy", False)), id="policy-legacy")
            with Horizontal(classes="buttons"):
                yield Button("Re-run", id="rerun", variant="primary")
                yield Button("Cancel", id="cancel")

    def on_input_submitted(self) -> None:
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "rerun":
            self._submit()
        else:
            self.dismiss(None)

    def _submit(self) -> None:
        keys = self.query_one("#policy-keys", Input).value.strip()
        signers = self.query_one("#policy-signers", Input).value.split()
        self.dismiss({"trusted_keys": keys or None, "receipt_signer": signers,
                      "require_binding": self.query_one("#policy-binding", Checkbox).value,
                      "require_receipts": self.query_one("#policy-receipts", Checkbox).value,
                      "allow_legacy": self.query_one("#policy-legacy", Checkbox).value})


class PathScreen(_Modal):
    """Ask for a file path (exports); returns it or None."""

    def __init__(self, title: str, default: str) -> None:
        super().__init__()
        self.title_, self.default = title, default

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(Text(self.title_, style="bold"))
            yield Input(self.default, id="path")
            yield Label(Text("Enter writes the file; Esc cancels.", style="dim"))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)


class ChecksScreen(_Modal):
    """The audit-level checks of the verdict (events roll-up, chain, lineage, gaps)."""

    def __init__(self, result: Any) -> None:
        super().__init__()
        self.result = result

    def compose(self) -> ComposeResult:
        from .detail import checks_table

        with Vertical(id="dialog", classes="wide"):
            yield Label(Text("Audit-level checks", style="bold"))
            with VerticalScroll():
                yield Static(checks_table(self.result) if self.result is not None
                             else Text("the audit has not finished yet", style="dim"))

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()

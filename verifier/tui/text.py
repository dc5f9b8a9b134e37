"""Untrusted strings made safe to show, and the status wording shared by the widgets.

Everything from a bundle, a gateway or a store is shown through `rich.text.Text` built
from `clean(...)`: never as markup (so "[bold]" in an envelope is shown as typed), and with
control, bidi and zero-width characters replaced by visible escapes (so a label cannot
move the cursor, reorder the line or hide characters).
"""

from __future__ import annotations

import re

from rich.text import Text

from verifier.core.reasons import ReasonCode, Status, meaning

from .rows import MARK

_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f"
                     "\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]")
_UNSAFE_LINE = re.compile("[\n\t]|" + _UNSAFE.pattern)

STATUS_STYLE = {Status.VERIFIED: "bold green", Status.INCOMPLETE: "bold yellow",
                Status.FAILED: "bold red", Status.MALFORMED: "bold magenta"}


def _escape(m: re.Match[str]) -> str:
    ch = m.group(0)
    return {"\n": "\\n", "\t": "\\t"}.get(ch) or f"\\u{ord(ch):04x}"


def clean(value: object, multiline: bool = False) -> str:
    """`value` as display text: unsafe characters escaped (newlines kept if `multiline`)."""
    text = value if isinstance(value, str) else str(value)
    return (_UNSAFE if multiline else _UNSAFE_LINE).sub(_escape, text)


def safe(value: object, style: str = "", multiline: bool = False) -> Text:
    """A `Text` of an untrusted value (never parsed as markup)."""
    return Text(clean(value, multiline), style=style)


def short(tx: str, width: int = 13) -> str:
    """A tx id or hash shortened to `width` cells as head…tail."""
    if len(tx) <= width:
        return tx
    head = (width - 1) // 2 + (width - 1) % 2
    return tx[:head] + "…" + tx[len(tx) - (width - 1 - head):]


def status_text(status: Status, upper: bool = True) -> Text:
    """The status as symbol and word in its colour (the symbol carries it without colour)."""
    word = status.value.upper() if upper else status.value
    return Text(f"{MARK[status]} {word}", style=STATUS_STYLE[status])


def explain(code: str | ReasonCode | None) -> str:
    """The one-line explanation of a reason code from the closed list ("" for none)."""
    if code is None or code == "":
        return ""
    try:
        return meaning(ReasonCode(code))
    except ValueError:
        return "(not a known reason code)"

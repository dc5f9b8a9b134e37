"""Untrusted text made safe to print on a terminal (docs/threat-model.md, "terminal output").

Every string that came from evidence, a gateway, a store, a corpus or an implementation
under test goes through `shown` before a human renderer writes it: a bundle must not be
able to move the cursor, clear a line, recolour the screen, reorder text with bidi
overrides or start a new line, so it cannot draw a fake "VERIFIED" under a FAILED heading.

Rule: a character is escaped iff ``str.isprintable()`` is false for it, i.e. every Unicode
"Other" (Cc controls incl. C0, DEL and C1; Cf format characters such as bidi overrides,
isolates and zero-width characters; Cs lone surrogates; Co private use; Cn unassigned)
and "Separator" character except the ASCII space. Escapes are Python's: ``\\n``, ``\\r``,
``\\t``, ``\\xNN``, ``\\uNNNN``, ``\\UNNNNNNNN``. Printable text, non-ASCII letters
included, is unchanged, so escaping is idempotent. JSON output needs none of this (the
encoder escapes controls); this is for text output only.
"""

from __future__ import annotations

_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(c: str) -> str:
    if c.isprintable():
        return c
    short = _SHORT.get(c)
    if short is not None:
        return short
    n = ord(c)
    if n < 0x100:
        return f"\\x{n:02x}"
    if n < 0x10000:
        return f"\\u{n:04x}"
    return f"\\U{n:08x}"


def shown(value: object) -> str:
    """`value` as one line of terminal-safe text (non-strings via ``str``)."""
    if value.__class__ is str:
        text = value
    elif isinstance(value, str):  # a str subclass (a str Enum): its characters, not its repr
        text = str.__str__(value)
    else:
        text = str(value)
    if text.isprintable():
        return text
    return "".join(map(_escape, text))

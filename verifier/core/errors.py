"""Internal control flow for undecodable input.

`Malformed` is raised inside the kernel when input cannot be decoded or has the wrong
shape; every public entry point catches it and returns a `malformed` result instead.
It never escapes `verifier.core`'s public functions.
"""

from __future__ import annotations

from .reasons import ReasonCode


class Malformed(Exception):
    """Input rejected before verification; carries its reason code."""

    def __init__(self, reason: ReasonCode, detail: str = "") -> None:
        super().__init__(f"{reason.value}: {detail}" if detail else reason.value)
        self.reason = reason
        self.detail = detail

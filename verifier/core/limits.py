"""Explicit limits for hostile input. Passed in by callers; never read from the environment."""

from __future__ import annotations

from dataclasses import dataclass

#: Normative nesting bound (spec/envelope.md §2.4): the root container is depth 1.
MAX_CANONICAL_DEPTH = 128


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds applied while reading and verifying untrusted documents."""

    max_document_bytes: int = 64 * 1024 * 1024
    max_depth: int = MAX_CANONICAL_DEPTH
    max_audit_path: int = 64
    max_trace_items: int = 100_000
    max_attestations: int = 10_000
    max_chain_events: int = 10_000_000

    def __post_init__(self) -> None:
        if not 1 <= self.max_depth <= MAX_CANONICAL_DEPTH:
            raise ValueError(f"max_depth must be 1..{MAX_CANONICAL_DEPTH}")


DEFAULT_LIMITS = Limits()

"""Injected misbehaviour for the local gateway (tests and demos of retry handling)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Fault:
    """One injected misbehaviour, consumed by the next request (admin routes excepted).

    `delay` seconds pass first; then `status` (if set) is answered instead of the real
    route, with `retry_after` as the Retry-After header when given.
    """

    status: int | None = None
    delay: float = 0.0
    retry_after: str | None = None

    @classmethod
    def of(cls, spec: "Fault | int | dict[str, Any]") -> "Fault":
        if isinstance(spec, Fault):
            return spec
        if isinstance(spec, int) and not isinstance(spec, bool):
            return cls(status=spec)
        if isinstance(spec, dict):
            status, delay, ra = spec.get("status"), spec.get("delay", 0), spec.get("retry_after")
            if status is not None and (not isinstance(status, int) or not 100 <= status <= 599):
                raise ValueError("fault status must be an HTTP status code")
            if not isinstance(delay, (int, float)) or not 0 <= delay <= 600:
                raise ValueError("fault delay must be 0..600 seconds")
            return cls(status, float(delay), None if ra is None else str(ra))
        raise ValueError("a fault is a Fault, an HTTP status or a dict")

"""Errors raised by sources. Each carries the reason code the audit layer reports.

Sources raise these (or return a `FetchResult` with a non-OK status) instead of leaking
library exceptions; callers catch `SourceError` and turn it into a check, never a traceback.
"""

from __future__ import annotations

from verifier.core.reasons import ReasonCode


class SourceError(Exception):
    """Base class: a source could not deliver what was asked. `reason` is a core code."""

    default_reason = ReasonCode.INPUT_UNREADABLE

    def __init__(self, message: str, reason: ReasonCode | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason or self.default_reason

    def __str__(self) -> str:
        return f"{self.reason.value}: {self.message}"


class Unreachable(SourceError):
    """No answer (connection refused, timeout, DNS) from a gateway or server."""

    default_reason = ReasonCode.GATEWAY_UNAVAILABLE


class NotFound(SourceError):
    """The thing asked for does not exist at the source."""

    default_reason = ReasonCode.ENVELOPE_NOT_FOUND


class TooLarge(SourceError):
    """A response, file or stream exceeded its configured byte cap."""

    default_reason = ReasonCode.INPUT_TOO_LARGE


class BadResponse(SourceError):
    """The source answered, but not with something usable (status, encoding, shape)."""

    default_reason = ReasonCode.GATEWAY_UNAVAILABLE


class OfflineViolation(SourceError):
    """Network access was requested while running with `offline=True`."""

    default_reason = ReasonCode.GATEWAY_UNAVAILABLE


class MlflowUnavailable(SourceError):
    """MLflow is not installed, or the tracking server/store could not be used."""

    default_reason = ReasonCode.SURFACE_UNAVAILABLE


_BUNDLE_REASONS = frozenset({
    ReasonCode.BUNDLE_MALFORMED, ReasonCode.BUNDLE_LIMIT_EXCEEDED, ReasonCode.BUNDLE_UNSAFE_PATH,
})


class BundleError(SourceError):
    """An audit bundle is unusable; `reason` is one of the three bundle codes."""

    default_reason = ReasonCode.BUNDLE_MALFORMED

    def __init__(self, reason: ReasonCode, message: str) -> None:
        if reason not in _BUNDLE_REASONS:
            raise ValueError(f"not a bundle reason code: {reason!r}")
        super().__init__(message, reason)

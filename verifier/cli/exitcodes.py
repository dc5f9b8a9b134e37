"""The only place exit codes are decided: from a `Status`, never from message text."""

from __future__ import annotations

from verifier.core.reasons import Status

EXIT_VERIFIED = 0
EXIT_FAILED = 1
EXIT_MALFORMED = 2  # malformed input, and usage errors
EXIT_INCOMPLETE = 3
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT), as shells report it

_BY_STATUS = {
    Status.VERIFIED: EXIT_VERIFIED,
    Status.FAILED: EXIT_FAILED,
    Status.MALFORMED: EXIT_MALFORMED,
    Status.INCOMPLETE: EXIT_INCOMPLETE,
}


def exit_code(status: Status) -> int:
    """Exit code for a verification status (0 verified, 1 failed, 2 malformed, 3 incomplete)."""
    return _BY_STATUS[status]

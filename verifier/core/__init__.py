"""The pure verification kernel: bytes and parsed values in, typed results out.

No network, file, clock, environment or UI access happens here; limits and policy come in
as arguments, and hostile input becomes a `malformed` or `failed` `Result`, never an
exception. See spec/ for the normative rules each module implements.
"""

from .limits import DEFAULT_LIMITS, Limits
from .policy import DEFAULT_POLICY, Policy
from .reasons import ReasonCode, Status
from .result import Check, Outcome, Result

__all__ = [
    "Check", "DEFAULT_LIMITS", "DEFAULT_POLICY", "Limits", "Outcome", "Policy",
    "ReasonCode", "Result", "Status",
]

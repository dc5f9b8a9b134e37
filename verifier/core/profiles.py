"""spec_version grammar, the accept-set and the signed scope per profile (spec/envelope.md §3).

Grammar: ``<namespace>/v<major>`` optionally followed by ``.<digits>``. A version is
accepted iff it equals an accepted major exactly or is that major plus ``.`` and one or
more ASCII digits. Envelopes with no `spec_version` key are *legacy* (ar-io-mlflow 0.1.0)
and are signed like `ario.mlflow/v1`.
"""

from __future__ import annotations

from enum import Enum
from typing import Any


class Profile(str, Enum):
    """Envelope profiles this verifier understands."""

    MLFLOW = "ario.mlflow/v1"
    AGENT = "ario.agent/v1"
    EVENTS = "ario.events/v1"
    LEGACY = "legacy"


ACCEPTED_MAJORS: tuple[Profile, ...] = (Profile.MLFLOW, Profile.AGENT, Profile.EVENTS)

#: Profiles whose signed scope also drops every top-level key starting with "_".
_STRIPS_UNDERSCORE = frozenset({Profile.MLFLOW, Profile.LEGACY})
_ALWAYS_UNSIGNED = ("signature", "co_signatures")


def match_major(spec_version: object, major: str) -> bool:
    """True iff `spec_version` is `major` or `major` + '.' + ASCII digits."""
    if not isinstance(spec_version, str):
        return False
    if spec_version == major:
        return True
    if not spec_version.startswith(major + "."):
        return False
    minor = spec_version[len(major) + 1 :]
    return minor.isascii() and minor.isdigit()


def profile_of(spec_version: object) -> Profile | None:
    """The accepted profile for a `spec_version` value, or None if unsupported."""
    for major in ACCEPTED_MAJORS:
        if match_major(spec_version, major.value):
            return major
    return None


def signed_scope(envelope: dict[str, Any], profile: Profile) -> dict[str, Any]:
    """The object whose JCS bytes the envelope signature covers."""
    if profile in _STRIPS_UNDERSCORE:
        return {
            k: v for k, v in envelope.items()
            if k not in _ALWAYS_UNSIGNED and not k.startswith("_")
        }
    return {k: v for k, v in envelope.items() if k not in _ALWAYS_UNSIGNED}

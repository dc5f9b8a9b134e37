"""Structural field readers for evidence bundles. Each raises `Malformed` naming the field.

`where` is a display path such as ``body.events[2].inclusion``; it ends up in check details.
"""

from __future__ import annotations

from typing import Any

from ..encoding import hex_bytes
from ..errors import Malformed
from ..reasons import ReasonCode as R


def get_object(parent: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    """A required JSON object member."""
    if key not in parent or parent[key] is None:
        raise Malformed(R.MISSING_FIELD, f"{where}.{key} is missing")
    value = parent[key]
    if not isinstance(value, dict):
        raise Malformed(R.BAD_FIELD_TYPE, f"{where}.{key} must be a JSON object")
    return value


def get_array(parent: dict[str, Any], key: str, where: str) -> list[Any]:
    """A required JSON array member."""
    if key not in parent or parent[key] is None:
        raise Malformed(R.MISSING_FIELD, f"{where}.{key} is missing")
    value = parent[key]
    if not isinstance(value, list):
        raise Malformed(R.BAD_FIELD_TYPE, f"{where}.{key} must be a JSON array")
    return value


def get_string(parent: dict[str, Any], key: str, where: str, *, non_empty: bool = False) -> str:
    """A required JSON string member (optionally non-empty)."""
    if key not in parent or parent[key] is None:
        raise Malformed(R.MISSING_FIELD, f"{where}.{key} is missing")
    value = parent[key]
    if not isinstance(value, str):
        raise Malformed(R.BAD_FIELD_TYPE, f"{where}.{key} must be a string")
    if non_empty and not value:
        raise Malformed(R.BAD_FIELD_TYPE, f"{where}.{key} must not be empty")
    return value


def get_int(parent: dict[str, Any], key: str, where: str) -> int:
    """A required JSON integer member; booleans and fractions are refused."""
    if key not in parent or parent[key] is None:
        raise Malformed(R.MISSING_FIELD, f"{where}.{key} is missing")
    value = parent[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise Malformed(R.BAD_FIELD_TYPE, f"{where}.{key} must be an integer")
    return value


def get_hex(parent: dict[str, Any], key: str, where: str, nbytes: int | None = None) -> bytes:
    """A required lowercase-hex string member, decoded."""
    if key not in parent or parent[key] is None:
        raise Malformed(R.MISSING_FIELD, f"{where}.{key} is missing")
    return hex_bytes(parent[key], nbytes, f"{where}.{key}")


def optional_hex(parent: dict[str, Any], key: str, where: str) -> bytes | None:
    """An optional lowercase-hex string member: absent or null gives None."""
    if parent.get(key) is None:
        return None
    return hex_bytes(parent[key], None, f"{where}.{key}")


def show(value: object, limit: int = 60) -> str:
    """A short printable rendering of a hostile value for check details."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."

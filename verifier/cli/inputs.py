"""Reading CLI inputs (files, stdin, trusted-key lists) with byte caps and clear errors."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from verifier.core.reasons import ReasonCode

_KEY = re.compile(r"[0-9a-f]{64}")


class InputError(Exception):
    """An input could not be read or understood; carries a reason code for --json."""

    def __init__(self, reason: ReasonCode, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def read_input(path: str, max_bytes: int) -> bytes:
    """Read a file (or stdin for '-') refusing more than `max_bytes`."""
    try:
        if path == "-":
            data = sys.stdin.buffer.read(max_bytes + 1)
        else:
            with open(path, "rb") as fh:
                data = fh.read(max_bytes + 1)
    except FileNotFoundError:
        raise InputError(ReasonCode.INPUT_UNREADABLE, f"cannot read {path}: no such file") from None
    except IsADirectoryError:
        raise InputError(ReasonCode.INPUT_UNREADABLE, f"cannot read {path}: is a directory") from None
    except PermissionError:
        raise InputError(ReasonCode.INPUT_UNREADABLE, f"cannot read {path}: permission denied") from None
    except OSError as exc:
        raise InputError(ReasonCode.INPUT_UNREADABLE, f"cannot read {path}: {exc.strerror}") from None
    if len(data) > max_bytes:
        raise InputError(ReasonCode.INPUT_TOO_LARGE, f"{path} is larger than {max_bytes} bytes")
    return data


def load_trusted_keys(path: str) -> frozenset[bytes]:
    """Trusted Ed25519 keys: lowercase hex, one per line ('#' comments) or a JSON list."""
    raw = read_input(path, 16 * 1024 * 1024)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(ReasonCode.INVALID_UTF8, f"{path}: trusted keys file is not UTF-8") from None
    stripped = text.strip()
    if stripped.startswith("["):
        try:
            items = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise InputError(ReasonCode.INVALID_JSON, f"{path}: {exc.msg}") from None
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise InputError(ReasonCode.BAD_FIELD_TYPE, f"{path}: expected a JSON list of hex strings")
        entries = [(n + 1, i) for n, i in enumerate(items)]
    else:
        entries = []
        for n, line in enumerate(text.splitlines(), 1):
            line = line.split("#", 1)[0].strip()
            if line:
                entries.append((n, line))
    keys = set()
    for n, entry in entries:
        if not _KEY.fullmatch(entry):
            raise InputError(ReasonCode.BAD_HEX,
                             f"{path}: entry {n} is not a 64-character lowercase hex Ed25519 key")
        keys.add(bytes.fromhex(entry))
    if not keys:
        raise InputError(ReasonCode.MISSING_FIELD, f"{path}: no trusted keys listed")
    return frozenset(keys)

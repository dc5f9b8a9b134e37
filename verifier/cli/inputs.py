"""Reading CLI inputs (files, stdin, trusted-key lists) with byte caps and clear errors."""

from __future__ import annotations

import contextlib
import re
import sys
import tempfile
from pathlib import Path
from typing import Iterator

from verifier.core.errors import Malformed
from verifier.core.intake import load
from verifier.core.reasons import ReasonCode

_KEY = re.compile(r"[0-9a-fA-F]{64}")


class InputError(Exception):
    """An input could not be read or understood; carries a reason code for --json."""

    def __init__(self, reason: ReasonCode, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def read_input(path: str, max_bytes: int, stdin_head: bytes = b"") -> bytes:
    """Read a file (or stdin for '-', after the `stdin_head` already taken from it)
    refusing more than `max_bytes`."""
    with _reading(path):
        if path == "-":
            data = stdin_head + sys.stdin.buffer.read(max(0, max_bytes + 1 - len(stdin_head)))
        else:
            with open(path, "rb") as fh:
                data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise InputError(ReasonCode.INPUT_TOO_LARGE, f"{path} is larger than {max_bytes} bytes")
    return data


def read_head(path: str, n: int) -> bytes:
    """The first `n` bytes of a file, or taken from stdin for '-' (pass them on to
    `read_input` or `spool_stdin`)."""
    with _reading(path):
        if path == "-":
            return sys.stdin.buffer.read(n)
        with open(path, "rb") as fh:
            return fh.read(n)


@contextlib.contextmanager
def _reading(path: str) -> Iterator[None]:
    """OSError while reading `path` -> InputError naming it."""
    try:
        yield
    except FileNotFoundError:
        raise InputError(ReasonCode.INPUT_UNREADABLE, f"cannot read {path}: no such file") from None
    except IsADirectoryError:
        raise InputError(ReasonCode.INPUT_UNREADABLE, f"cannot read {path}: is a directory") from None
    except PermissionError:
        raise InputError(ReasonCode.INPUT_UNREADABLE, f"cannot read {path}: permission denied") from None
    except OSError as exc:
        raise InputError(ReasonCode.INPUT_UNREADABLE, f"cannot read {path}: {exc.strerror}") from None


@contextlib.contextmanager
def spool_stdin(head: bytes, max_bytes: int = 4 * 1024**3) -> Iterator[Path]:
    """Copy `head` and the rest of stdin into a private temporary file (removed afterwards),
    for inputs that need seeking (a ZIP). More than `max_bytes` raises INPUT_TOO_LARGE."""
    with tempfile.TemporaryDirectory(prefix="ario-verifier-") as tmp:
        path = Path(tmp) / "stdin.zip"
        with _reading("-"), open(path, "wb") as out:
            out.write(head)
            total = len(head)
            for chunk in iter(lambda: sys.stdin.buffer.read(1 << 20), b""):
                total += len(chunk)
                if total > max_bytes:
                    raise InputError(ReasonCode.INPUT_TOO_LARGE, f"- is larger than {max_bytes} bytes")
                out.write(chunk)
        yield path


def load_trusted_keys(path: str) -> frozenset[bytes]:
    """Trusted Ed25519 public keys from `path`, in any of three forms:

    * hex, one key per line ('#' starts a comment);
    * a JSON list of hex strings;
    * a key file written by ``ario-verifier keys generate`` (only its ``public_key`` is
      read; the seed is never used, decoded or shown).

    Hex may be upper or lower case (normalised). Every error names the file (and entry),
    never the document being verified, and never quotes the file's contents.
    """
    raw = read_input(path, 16 * 1024 * 1024)
    where = f"--trusted-keys {path}"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(ReasonCode.INVALID_UTF8, f"{where}: the file is not UTF-8") from None
    stripped = text.strip()
    if stripped.startswith(("[", "{")):
        try:
            doc = load(raw)
        except Malformed as exc:
            raise InputError(exc.reason, f"{where}: not strict JSON [{exc.reason.value}]: "
                             f"{exc.detail}") from None
        entries = _json_entries(doc, where)
    else:
        entries = []
        for n, line in enumerate(text.splitlines(), 1):
            line = line.split("#", 1)[0].strip()
            if line:
                entries.append((f"line {n}", line))
    keys = set()
    for n, entry in entries:
        if not isinstance(entry, str) or not _KEY.fullmatch(entry):
            raise InputError(ReasonCode.BAD_HEX,
                             f"{where}: {n} is not a 64-character hex Ed25519 public key")
        keys.add(bytes.fromhex(entry))
    if not keys:
        raise InputError(ReasonCode.MISSING_FIELD, f"{where}: no trusted keys listed")
    return frozenset(keys)


def _json_entries(doc: object, where: str) -> list[tuple[str, object]]:
    if isinstance(doc, list):
        return [(f"entry {i + 1}", item) for i, item in enumerate(doc)]
    if isinstance(doc, dict) and "public_key" in doc:
        return [("public_key", doc["public_key"])]
    if isinstance(doc, dict) and "seed" in doc:
        raise InputError(ReasonCode.MISSING_FIELD,
                         f"{where}: a private key file without a public_key; list the key "
                         "that `ario-verifier keys show FILE` prints instead")
    raise InputError(ReasonCode.BAD_FIELD_TYPE, f"{where}: expected hex keys one per line, a "
                     "JSON list of hex strings, or a key file from `ario-verifier keys generate`")

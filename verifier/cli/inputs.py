"""Reading CLI inputs (files, stdin, trusted-key lists) with byte caps and clear errors."""

from __future__ import annotations

import contextlib
import os
import re
import stat
import sys
import tempfile
from pathlib import Path
from typing import BinaryIO, Iterator

from verifier.core.errors import Malformed
from verifier.core.intake import load
from verifier.core.reasons import ReasonCode
from verifier.core.textsafe import shown

_KEY = re.compile(r"[0-9a-fA-F]{64}")
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")  # a local header; an empty archive


class InputError(Exception):
    """An input could not be read or understood; carries a reason code for --json."""

    def __init__(self, reason: ReasonCode, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def read_input(path: str, max_bytes: int) -> bytes:
    """Read a file (or stdin for '-') refusing more than `max_bytes`."""
    with _reading(path):
        if path == "-":
            data = sys.stdin.buffer.read(max_bytes + 1)
        else:
            with open(path, "rb") as fh:
                data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise InputError(ReasonCode.INPUT_TOO_LARGE, f"{path} is larger than {max_bytes} bytes")
    return data


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
def document_input(path: str, max_bytes: int) -> Iterator[bytes | Path]:
    """The document at `path` ('-' is stdin), opened once: its bytes (more than
    `max_bytes` is INPUT_TOO_LARGE), or for a ZIP a path to seek in, which is the file
    itself when it is a regular file, else a private spooled copy removed afterwards
    (stdin, a pipe, process substitution: their first bytes cannot be read twice)."""
    with _reading(path):
        fh = sys.stdin.buffer if path == "-" else open(path, "rb")
    try:
        with _reading(path):
            head = fh.read(4)
            regular = path != "-" and stat.S_ISREG(os.fstat(fh.fileno()).st_mode)
        if head in ZIP_MAGICS:
            if regular:
                yield Path(path)
            else:
                with _spooled(fh, head, path) as copy:
                    yield copy
            return
        with _reading(path):
            data = head + fh.read(max(0, max_bytes + 1 - len(head)))
        if len(data) > max_bytes:
            raise InputError(ReasonCode.INPUT_TOO_LARGE, f"{path} is larger than {max_bytes} bytes")
        yield data
    finally:
        if fh is not sys.stdin.buffer:
            fh.close()


@contextlib.contextmanager
def _spooled(fh: BinaryIO, head: bytes, path: str, max_bytes: int = 4 * 1024**3) -> Iterator[Path]:
    """`head` and the rest of `fh` in a private temporary file (mode 0600 in a fresh 0700
    directory), removed afterwards. More than `max_bytes` is INPUT_TOO_LARGE."""
    with tempfile.TemporaryDirectory(prefix="ario-verifier-") as tmp:
        copy = Path(tmp) / "input.zip"
        with _reading(path), open(copy, "wb") as out:
            out.write(head)
            total = len(head)
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                total += len(chunk)
                if total > max_bytes:
                    raise InputError(ReasonCode.INPUT_TOO_LARGE, f"{path} is larger than {max_bytes} bytes")
                out.write(chunk)
        yield copy


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
        if isinstance(doc, dict) and "seed" in doc:  # accepted, but the secret should not travel
            sys.stderr.write(f"warning: {shown(where)} also holds a private seed (not read); give "
                             "auditors only its public key (`ario-verifier keys show FILE`)\n")
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

"""Read a local file, or stdin for ``-``, refusing more than a byte cap.

Errors are `SourceError`s carrying ``input_unreadable`` or ``input_too_large`` so the CLI
can report them like any other malformed input.
"""

from __future__ import annotations

import sys
from typing import BinaryIO

from verifier.core.reasons import ReasonCode
from verifier.sources.errors import SourceError, TooLarge

#: Default cap for one input document or bundle read into memory.
DEFAULT_MAX_INPUT_BYTES = 64 * 1024 * 1024


def read_capped(path: str, max_bytes: int = DEFAULT_MAX_INPUT_BYTES, *,
                stdin: BinaryIO | None = None) -> bytes:
    """The bytes of `path` (``-`` = `stdin`, default the process's binary stdin)."""
    unreadable = ReasonCode.INPUT_UNREADABLE
    try:
        if path == "-":
            stream = stdin if stdin is not None else sys.stdin.buffer
            data = _read_upto(stream, max_bytes + 1)
        else:
            with open(path, "rb") as fh:
                data = _read_upto(fh, max_bytes + 1)
    except FileNotFoundError:
        raise SourceError(f"cannot read {path}: no such file", unreadable) from None
    except IsADirectoryError:
        raise SourceError(f"cannot read {path}: is a directory", unreadable) from None
    except PermissionError:
        raise SourceError(f"cannot read {path}: permission denied", unreadable) from None
    except OSError as exc:
        raise SourceError(f"cannot read {path}: {exc.strerror or exc}", unreadable) from None
    if len(data) > max_bytes:
        raise TooLarge(f"{'stdin' if path == '-' else path} is larger than {max_bytes} bytes")
    return data


def _read_upto(stream: BinaryIO, limit: int) -> bytes:
    """Read until EOF or `limit` bytes (pipes may return short reads)."""
    buf = bytearray()
    while len(buf) < limit:
        chunk = stream.read(limit - len(buf))
        if not chunk:
            break
        buf += chunk
    return bytes(buf)

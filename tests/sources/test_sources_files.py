"""files.read_capped: files and stdin with a byte cap, typed errors."""

from __future__ import annotations

import io

import pytest

from verifier.core.reasons import ReasonCode
from verifier.sources.errors import SourceError, TooLarge
from verifier.sources.files import read_capped


class Trickle(io.RawIOBase):
    """A pipe-like stream returning short reads."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        out, self.data = self.data[:3], self.data[3:]
        return out


def test_file_and_cap(tmp_path):
    p = tmp_path / "a.json"
    p.write_bytes(b"x" * 10)
    assert read_capped(str(p), 10) == b"x" * 10
    with pytest.raises(TooLarge) as ei:
        read_capped(str(p), 9)
    assert ei.value.reason is ReasonCode.INPUT_TOO_LARGE


def test_stdin_short_reads_and_cap():
    assert read_capped("-", 100, stdin=Trickle(b"abcdefgh")) == b"abcdefgh"
    with pytest.raises(TooLarge):
        read_capped("-", 5, stdin=Trickle(b"abcdefgh"))


@pytest.mark.parametrize("kind", ["missing", "dir"])
def test_unreadable(tmp_path, kind):
    path = tmp_path / "nope" if kind == "missing" else tmp_path
    with pytest.raises(SourceError) as ei:
        read_capped(str(path))
    assert ei.value.reason is ReasonCode.INPUT_UNREADABLE

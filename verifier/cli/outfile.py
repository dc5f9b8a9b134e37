"""The one rule for files a command creates (`export -o`, `keys generate --out`,
`--events-out`): the directory must exist, an existing file is replaced only with
`--force`, only regular files are ever replaced (never a directory, device, FIFO or
symlink), and the file appears whole or not at all (a temporary file renamed into place
once the command succeeds)."""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path
from typing import TextIO


class UsageError(Exception):
    """A command line that cannot be acted on (exit 2)."""


def check_output_path(path: str, force: bool) -> None:
    """Refuse an output path the rule does not allow, before any work is done. Raises
    UsageError."""
    target = Path(path)
    if target.is_dir():
        raise UsageError(f"{path}: is a directory")
    if not target.parent.is_dir():
        raise UsageError(f"{path}: directory {target.parent} does not exist (create it first)")
    if os.path.lexists(target):
        if not force:
            raise UsageError(f"{path}: already exists; pass --force to replace it")
        if not stat.S_ISREG(os.lstat(target).st_mode):
            raise UsageError(f"{path}: not a regular file; it is never replaced")


class AtomicText:
    """A text file written to a temporary file beside `path`; `commit()` renames it into
    place (re-checking the rule), `discard()` deletes it. Call check_output_path first."""

    def __init__(self, path: str, force: bool) -> None:
        self.path, self.force = Path(path), force
        # O_EXCL with a random name, as mkstemp, but mode 0666 less the umask (what a plain
        # open() gives), not mkstemp's 0600: the output is shared like any report file.
        self.tmp = self.path.parent / f".{self.path.name}.{secrets.token_hex(8)}.tmp"
        fd = os.open(self.tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        self.fh: TextIO = os.fdopen(fd, "w", encoding="utf-8")

    def commit(self) -> None:
        """Publish the finished file; raises UsageError if the target changed meanwhile into
        something the rule does not replace (the temporary file is removed)."""
        self.fh.close()
        try:
            if self.force:
                check_output_path(str(self.path), True)
                os.replace(self.tmp, self.path)
            else:
                try:
                    os.link(self.tmp, self.path)  # never replaces what appeared meanwhile
                except FileExistsError:
                    raise UsageError(f"{self.path}: already exists; pass --force to replace it") from None
        finally:
            self.tmp.unlink(missing_ok=True)

    def discard(self) -> None:
        """Drop the unfinished file; the target is left as it was."""
        self.fh.close()
        self.tmp.unlink(missing_ok=True)

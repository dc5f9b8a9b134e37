"""Index of one run's ``ario/`` artifacts: proofs, payloads, receipts and data items.

Everything here is a hint for finding evidence; the audit re-verifies all of it. Data items
(``dataitem/<tx>.bin``, written by our anchoring module) map event ids to tx ids through
their ``Event-Id`` tag; receipts come from ``receipts/<tx>.json`` (ours) or the plugin's
fixed names (``receipt.json``, ``registration_receipt.json``), the latter only when their
``id`` names the tx in question (a later anchor overwrites the fixed names).

The files stay on disk (`DiskFiles`: the store's private download directory) and are read
when asked for, so a run with a million prediction artifacts costs its file names, not its
bytes; only the Event-Id index of the data items is kept.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator, Mapping
from typing import Any

from verifier.core.ans104 import parse_data_item
from verifier.core.errors import Malformed
from verifier.core.intake import load, parse

_DATAITEM = re.compile(r"dataitem/([A-Za-z0-9_-]{1,128})\.bin")
_RECEIPT = re.compile(r"receipts/([A-Za-z0-9_-]{1,128})\.json")


def loose_json(data: bytes | None) -> dict[str, Any] | None:
    """Parse bytes as a JSON object for hint purposes; None if that fails."""
    if data is None:
        return None
    try:
        value = load(data)  # the kernel's strict intake, as every other reader
    except Malformed:
        return None
    return value if isinstance(value, dict) else None


class DiskFiles(Mapping[str, bytes]):
    """Files under `root` by relative POSIX name (in the order listed), read on access."""

    def __init__(self, root: str, names: list[str]) -> None:
        self.root = root
        self._names = dict.fromkeys(names)

    def __getitem__(self, rel: str) -> bytes:
        if rel not in self._names:
            raise KeyError(rel)
        with open(os.path.join(self.root, rel), "rb") as fh:  # not pathlib: it interns parts
            return fh.read()

    def __contains__(self, rel: object) -> bool:
        return rel in self._names

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


class RunFiles:
    """The files under one run's ``ario/`` directory, keyed relative to ``ario/``: bytes
    (tests) or `DiskFiles`. Kept in memory: the data items' tx ids and Event-Id index and
    the names of the valid receipts (parsed again when asked for)."""

    def __init__(self, run_id: str, files: Mapping[str, bytes]) -> None:
        self.run_id = run_id
        self.files = files
        self.items: dict[str, str] = {}      # tx id -> relative name of its data item
        self.receipts: dict[str, str] = {}   # tx id -> relative name of a valid receipt
        self.tx_by_event: dict[str, str] = {}
        self.problems: list[tuple[str, str]] = []
        for rel in files:
            if m := _DATAITEM.fullmatch(rel):
                self._index_item(m.group(1), rel)
            elif m := _RECEIPT.fullmatch(rel):
                if self._receipt(rel) is not None:
                    self.receipts[m.group(1)] = rel

    def _index_item(self, tx_id: str, rel: str) -> None:
        self.items[tx_id] = rel
        raw = self.files[rel]
        try:
            item = parse_data_item(raw)
        except Malformed:
            return  # the audit reports it; it just cannot help find the tx here
        event_id = item.tag("Event-Id") or (loose_json(item.data) or {}).get("event_id")
        if isinstance(event_id, str):
            self.tx_by_event.setdefault(event_id, tx_id)

    def _receipt(self, rel: str) -> dict[str, Any] | None:
        try:
            value = parse(self.files[rel]).value
        except Malformed as exc:
            self.problems.append((self.origin(rel), f"receipt unreadable: {exc}"))
            return None
        if not isinstance(value, dict):
            self.problems.append((self.origin(rel), "receipt is not a JSON object"))
            return None
        return value

    def item(self, tx_id: str) -> bytes | None:
        """The bytes of ``ario/dataitem/<tx_id>.bin``, if present."""
        rel = self.items.get(tx_id)
        return None if rel is None else self.files[rel]

    def get(self, rel: str) -> bytes | None:
        """The bytes of ``ario/<rel>``, if present."""
        return self.files.get(rel)

    def origin(self, rel: str) -> str:
        """Origin string for a file of this run."""
        return f"mlflow-artifact:{self.run_id}/ario/{rel}"

    def receipt_for(self, tx_id: str, *fixed_names: str) -> dict[str, Any] | None:
        """Our per-tx receipt, else a plugin fixed-name receipt whose id is `tx_id`."""
        if tx_id in self.receipts:
            return self._receipt(self.receipts[tx_id])
        for name in fixed_names:
            if name in self.files:
                value = self._receipt(name)
                if value is not None and value.get("id") == tx_id:
                    return value
        return None

    def subdirs(self, prefix: str) -> list[str]:
        """Names of the direct subdirectories of ``ario/<prefix>/`` (sorted)."""
        pre = prefix.rstrip("/") + "/"
        names = {rel[len(pre):].split("/", 1)[0] for rel in self.files
                 if rel.startswith(pre) and "/" in rel[len(pre):]}
        return sorted(names)


# The private copy of a run's ario/ can hold millions of files in one directory: these walk
# it one entry at a time (no list of DirEntry objects with paths, as shutil's copy and
# removal keep per directory: +38 MiB at 64,000 predictions) or hold names only.

def copy_tree(src: str, dst: str) -> None:
    """Copy the files under `src` to `dst`, following links (as MLflow's download does)."""
    os.makedirs(dst, exist_ok=True)
    with os.scandir(src) as entries:
        for entry in entries:
            path = os.path.join(src, entry.name)
            if os.path.isdir(path):
                copy_tree(path, os.path.join(dst, entry.name))
            else:  # a broken link or a special file fails the copy, as in MLflow's
                shutil.copyfile(path, os.path.join(dst, entry.name))


def files_under(root: str) -> list[str]:
    """Relative POSIX names of the regular files under `root` (not through symlinks), in
    the order of sorted `pathlib` paths (by name at each level, a directory's files in
    its place)."""
    out: list[str] = []

    def walk(top: str, prefix: str) -> None:
        for name in sorted(os.listdir(top)):
            full = os.path.join(top, name)
            if os.path.islink(full):
                continue
            if os.path.isdir(full):
                walk(full, f"{prefix}{name}/")
            elif os.path.isfile(full):
                out.append(prefix + name)

    walk(root, "")
    return out


def remove_tree(root: str) -> None:
    """Delete `root` and everything under it (never following links), an entry at a time;
    whatever is left (an error) goes to `shutil.rmtree`."""
    try:
        if os.path.islink(root):
            os.unlink(root)
            return
        with os.scandir(root) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    remove_tree(entry.path)
                else:
                    os.unlink(entry.path)
        os.rmdir(root)
    except OSError:
        shutil.rmtree(root, ignore_errors=True)

"""A local SQLite cache of *bound* data items, re-verified on every read.

Only a complete signed ANS-104 data item whose id (``b64u(SHA-256(signature))``) equals the
tx id and whose signature verifies is stored: its payload is then provably the tx's bytes,
so a later audit may use it in place of the gateways. Bytes that only a gateway vouched for
(``/raw``) are never stored — one bad answer must not outlive the audit that saw it. Every
read re-hashes the row and re-checks id and signature; a row that fails (disk corruption,
someone editing the file) is deleted and reported as a miss. Arweave data is immutable, so
entries never expire.

Location: the `path` argument, else ``$ARIO_VERIFIER_CACHE``, else
``<user cache dir>/ario-verifier/cache.sqlite3`` (``$XDG_CACHE_HOME`` or ``~/.cache`` on
Linux, ``~/Library/Caches`` on macOS, ``%LOCALAPPDATA%`` on Windows). ``--no-cache``
bypasses it; ``ario-verifier cache info|clear`` shows and empties it.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from verifier.core.ans104 import parse_data_item, verify_signature
from verifier.core.errors import Malformed

#: Entries larger than this are not stored (default; the gateway byte cap is lower).
DEFAULT_MAX_ENTRY_BYTES = 64 * 1024 * 1024
ENV_VAR = "ARIO_VERIFIER_CACHE"

_SCHEMA = """
DROP TABLE IF EXISTS fetched;
CREATE TABLE IF NOT EXISTS bound_items (
    tx_id      TEXT PRIMARY KEY,
    item       BLOB NOT NULL,
    sha256     TEXT NOT NULL,
    origin     TEXT NOT NULL,
    fetched_at REAL NOT NULL
);
"""
# `fetched` held unbound /raw bytes (releases before the binding rule): dropped unread.


def user_cache_dir(env: Mapping[str, str] | None = None) -> Path:
    """The per-user cache directory of this platform (XDG, macOS, Windows)."""
    env = os.environ if env is None else env
    if sys.platform == "win32" and env.get("LOCALAPPDATA"):
        return Path(env["LOCALAPPDATA"])
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches"
    xdg = env.get("XDG_CACHE_HOME")
    return Path(xdg) if xdg else Path.home() / ".cache"


def default_cache_path(env: Mapping[str, str] | None = None) -> Path:
    """`$ARIO_VERIFIER_CACHE` if set, else the user cache dir's ario-verifier/cache.sqlite3."""
    env = os.environ if env is None else env
    if env.get(ENV_VAR):
        return Path(env[ENV_VAR])
    return user_cache_dir(env) / "ario-verifier" / "cache.sqlite3"


def bound_to(item: bytes, tx_id: str) -> bool:
    """True iff `item` parses, its id is `tx_id` and its signature verifies."""
    try:
        parsed = parse_data_item(item)
    except Malformed:
        return False
    return parsed.id == tx_id and verify_signature(parsed)


@dataclass(frozen=True)
class CacheEntry:
    """One re-verified cache hit: the item, its payload and where it was first fetched."""

    tx_id: str
    item: bytes
    data: bytes
    origin: str
    fetched_at: float


class ByteCache:
    """Thread-safe SQLite store of tx id -> bound data item. `clock` returns epoch seconds."""

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        clock: Callable[[], float] = time.time,
        max_entry_bytes: int = DEFAULT_MAX_ENTRY_BYTES,
    ) -> None:
        self.path = Path(path) if path is not None else default_cache_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._clock = clock
        self.max_entry_bytes = max_entry_bytes
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._db.executescript(_SCHEMA)
        #: Rows discarded because they no longer hashed or verified.
        self.discarded = 0

    def get(self, tx_id: str) -> CacheEntry | None:
        """The bound item for `tx_id` if present and still intact and bound."""
        with self._lock:
            row = self._db.execute(
                "SELECT item, sha256, origin, fetched_at FROM bound_items WHERE tx_id = ?",
                (tx_id,)).fetchone()
            if row is None:
                return None
            item, digest, origin, fetched_at = bytes(row[0]), row[1], row[2], row[3]
            if hashlib.sha256(item).hexdigest() != digest or not bound_to(item, tx_id):
                self._db.execute("DELETE FROM bound_items WHERE tx_id = ?", (tx_id,))
                self.discarded += 1
                return None
        return CacheEntry(tx_id, item, parse_data_item(item).data, str(origin), float(fetched_at))

    def put(self, tx_id: str, item: bytes, origin: str) -> bool:
        """Store a data item for `tx_id` if it is bound to it; False (nothing stored) if it
        is not, or is larger than `max_entry_bytes`."""
        if len(item) > self.max_entry_bytes or not bound_to(item, tx_id):
            return False
        digest = hashlib.sha256(item).hexdigest()
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO bound_items (tx_id, item, sha256, origin, fetched_at) "
                "VALUES (?, ?, ?, ?, ?)", (tx_id, item, digest, origin[:512], self._clock()))
        return True

    def info(self) -> dict[str, object]:
        """Location, number of entries and the bytes they hold (and the file's size)."""
        with self._lock:
            n, size = self._db.execute(
                "SELECT COUNT(*), COALESCE(SUM(LENGTH(item)), 0) FROM bound_items").fetchone()
        file_bytes = self.path.stat().st_size if self.path.exists() else 0
        return {"path": str(self.path), "entries": int(n), "item_bytes": int(size),
                "file_bytes": int(file_bytes)}

    def clear(self) -> int:
        """Delete every entry and shrink the file; the number of entries removed."""
        with self._lock:
            n = self._db.execute("DELETE FROM bound_items").rowcount
            self._db.execute("VACUUM")
        return int(n)

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM bound_items").fetchone()[0])

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> ByteCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

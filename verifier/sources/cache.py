"""A local SQLite cache of bytes fetched from gateways, re-hashed on every read.

Arweave data is immutable, so entries never expire. A row whose bytes no longer hash to
the stored SHA-256 (disk corruption, someone editing the file) is deleted and reported
as a miss, so the caller refetches. Each row remembers how many gateways agreed on the
bytes (`quorum`); a hit is served only to requests asking for that quorum or less.

Location: the `path` argument, else `$ARIO_VERIFIER_CACHE`, else
``<user cache dir>/ario-verifier/cache.sqlite3``. Bypassing the cache (``--no-cache``) is
the caller's choice: just don't pass one to the gateway client.
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

#: Entries larger than this are not stored (default; the gateway byte cap is lower).
DEFAULT_MAX_ENTRY_BYTES = 64 * 1024 * 1024
ENV_VAR = "ARIO_VERIFIER_CACHE"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS fetched (
    tx_id      TEXT PRIMARY KEY,
    data       BLOB NOT NULL,
    sha256     TEXT NOT NULL,
    gateway    TEXT NOT NULL,
    quorum     INTEGER NOT NULL,
    fetched_at REAL NOT NULL
)
"""


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


@dataclass(frozen=True)
class CacheEntry:
    """One verified cache hit."""

    tx_id: str
    data: bytes
    gateway: str
    quorum: int
    fetched_at: float


class ByteCache:
    """Thread-safe SQLite store of tx id -> bytes. `clock` returns epoch seconds."""

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
        self._db.execute(_SCHEMA)
        #: Rows discarded because their bytes no longer matched their hash.
        self.discarded = 0

    def get(self, tx_id: str, min_quorum: int = 1) -> CacheEntry | None:
        """The cached bytes for `tx_id` if present, intact and agreed by >= `min_quorum`."""
        with self._lock:
            row = self._db.execute(
                "SELECT data, sha256, gateway, quorum, fetched_at FROM fetched WHERE tx_id = ?",
                (tx_id,),
            ).fetchone()
            if row is None:
                return None
            data, digest, gateway, quorum, fetched_at = row
            data = bytes(data)
            if hashlib.sha256(data).hexdigest() != digest:
                self._db.execute("DELETE FROM fetched WHERE tx_id = ?", (tx_id,))
                self.discarded += 1
                return None
        if quorum < min_quorum:
            return None
        return CacheEntry(tx_id, data, gateway, int(quorum), float(fetched_at))

    def put(self, tx_id: str, data: bytes, gateway: str, quorum: int = 1) -> bool:
        """Store bytes (replacing a weaker-quorum row). False if over `max_entry_bytes`."""
        if len(data) > self.max_entry_bytes:
            return False
        digest = hashlib.sha256(data).hexdigest()
        with self._lock:
            self._db.execute(
                "INSERT INTO fetched (tx_id, data, sha256, gateway, quorum, fetched_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(tx_id) DO UPDATE SET "
                "data=excluded.data, sha256=excluded.sha256, gateway=excluded.gateway, "
                "quorum=excluded.quorum, fetched_at=excluded.fetched_at "
                "WHERE excluded.quorum >= fetched.quorum",
                (tx_id, data, digest, gateway, quorum, self._clock()),
            )
        return True

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM fetched").fetchone()[0])

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> ByteCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

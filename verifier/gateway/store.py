"""SQLite persistence for the local gateway: stored data items and the receipt key."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import rsa

from ..core.encoding import b64u_decode, b64u_encode

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (
    id TEXT PRIMARY KEY,
    signature_type INTEGER NOT NULL,
    owner_address TEXT NOT NULL,
    content_type TEXT,
    data_offset INTEGER NOT NULL,
    raw BLOB NOT NULL,
    receipt TEXT NOT NULL,
    received_at INTEGER NOT NULL
);
"""
_KEY = "receipt_jwk"


@dataclass(frozen=True, slots=True)
class StoredItem:
    id: str
    signature_type: int
    owner_address: str
    content_type: str | None
    data_offset: int
    raw: bytes
    receipt: dict
    received_at: int

    @property
    def data(self) -> bytes:
        return self.raw[self.data_offset:]


def _i2b(n: int) -> str:
    return b64u_encode(n.to_bytes((n.bit_length() + 7) // 8, "big"))


def _b2i(s: str) -> int:
    return int.from_bytes(b64u_decode(s), "big")


class Store:
    """One SQLite connection shared by the server threads behind a lock.

    `path` None (or ":memory:") keeps everything in memory. A new database file is
    created with mode 0600 because it holds the gateway's private receipt key.
    """

    def __init__(self, path: str | os.PathLike[str] | None) -> None:
        target = ":memory:" if path is None else str(path)
        if target != ":memory:" and not Path(target).exists():
            Path(target).parent.mkdir(parents=True, exist_ok=True)
            os.close(os.open(target, os.O_CREAT | os.O_WRONLY, 0o600))
        self._lock = threading.Lock()
        self._db = sqlite3.connect(target, check_same_thread=False, isolation_level=None)
        with self._lock:
            self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def receipt_key(self, bits: int) -> rsa.RSAPrivateKey:
        """The persisted receipt-signing key; generated with `bits` on first use."""
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (_KEY,)).fetchone()
            if row is not None:
                j = json.loads(row[0])
                return rsa.RSAPrivateNumbers(
                    p=_b2i(j["p"]), q=_b2i(j["q"]), d=_b2i(j["d"]), dmp1=_b2i(j["dp"]),
                    dmq1=_b2i(j["dq"]), iqmp=_b2i(j["qi"]),
                    public_numbers=rsa.RSAPublicNumbers(_b2i(j["e"]), _b2i(j["n"])),
                ).private_key()
            key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
            pn = key.private_numbers()
            jwk = {"kty": "RSA", "n": _i2b(pn.public_numbers.n), "e": _i2b(pn.public_numbers.e),
                   "d": _i2b(pn.d), "p": _i2b(pn.p), "q": _i2b(pn.q), "dp": _i2b(pn.dmp1),
                   "dq": _i2b(pn.dmq1), "qi": _i2b(pn.iqmp)}
            self._db.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (_KEY, json.dumps(jwk)))
            return key

    def put(self, item: StoredItem) -> StoredItem:
        """Store `item` unless its id is already present; return the stored row."""
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO items VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (item.id, item.signature_type, item.owner_address, item.content_type,
                 item.data_offset, item.raw, json.dumps(item.receipt), item.received_at))
        stored = self.get(item.id)
        assert stored is not None
        return stored

    def get(self, item_id: str) -> StoredItem | None:
        with self._lock:
            row = self._db.execute(
                "SELECT id, signature_type, owner_address, content_type, data_offset, raw, "
                "receipt, received_at FROM items WHERE id = ?", (item_id,)).fetchone()
        if row is None:
            return None
        return StoredItem(row[0], row[1], row[2], row[3], row[4], bytes(row[5]),
                          json.loads(row[6]), row[7])

    def count(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM items").fetchone()[0]

"""SQLite persistence for the local gateway: data items, the ANS-104 bundles that carry
them, their tags (for GraphQL searches) and the receipt key.

Items are accepted one by one and later sealed, in arrival order, into an ANS-104 bundle
(spec: a 32-byte LE item count, one 64-byte entry per item — 32-byte LE size, 32-byte raw
id — then the items). The bundle's bytes are stored as its own "transaction", so the
root-absolute offsets the gateway reports are real offsets into real bytes.
"""

from __future__ import annotations

import hashlib
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
CREATE TABLE IF NOT EXISTS bundles (id TEXT PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS placements (
    id TEXT PRIMARY KEY,          -- item id
    root_id TEXT NOT NULL,        -- the bundle that carries it
    item_offset INTEGER NOT NULL, -- where its header starts in the bundle's data
    data_offset INTEGER NOT NULL  -- where its payload starts in the bundle's data
);
CREATE TABLE IF NOT EXISTS item_tags (id TEXT NOT NULL, name BLOB NOT NULL, value BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS item_tags_by_value ON item_tags (name, value);
"""
_BUNDLE_ID_DOMAIN = b"ario-verifier local gateway bundle\x00"
_SEALED = "sealed_rowid"
#: Bundle size bounds (a ranged read touches only the pages it needs either way).
MAX_BUNDLE_ITEMS = 1000
MAX_BUNDLE_BYTES = 16 * 1024 * 1024
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


@dataclass(frozen=True, slots=True)
class Placement:
    """Where an item sits in its root bundle's data (root-absolute offsets)."""

    root_id: str
    item_offset: int
    data_offset: int


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

    def put(self, item: StoredItem, tags: tuple[tuple[bytes, bytes], ...] = ()) -> StoredItem:
        """Store `item` (and its tags) unless its id is already present; return the row."""
        with self._lock:
            cur = self._db.execute(
                "INSERT OR IGNORE INTO items VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (item.id, item.signature_type, item.owner_address, item.content_type,
                 item.data_offset, item.raw, json.dumps(item.receipt), item.received_at))
            if cur.rowcount:
                self._db.executemany("INSERT INTO item_tags VALUES (?, ?, ?)",
                                     [(item.id, n, v) for n, v in tags])
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

    # -- bundles ------------------------------------------------------------------------

    def seal_pending(self) -> str | None:
        """Seal the items received since the last seal into bundles of at most
        `MAX_BUNDLE_ITEMS` items / `MAX_BUNDLE_BYTES` bytes; the last bundle's id, or None."""
        root = None
        with self._lock:
            while True:
                row = self._db.execute("SELECT value FROM meta WHERE key = ?",
                                       (_SEALED,)).fetchone()
                mark = int(row[0]) if row is not None else 0
                rows = self._db.execute(
                    "SELECT rowid, id, raw, data_offset FROM items WHERE rowid > ? "
                    "ORDER BY rowid LIMIT ?", (mark, MAX_BUNDLE_ITEMS)).fetchall()
                total, take = 0, 0
                for _, _, raw, _ in rows:
                    if take and total + len(raw) > MAX_BUNDLE_BYTES:
                        break
                    total, take = total + len(raw), take + 1
                rows = rows[:take]
                if not rows:
                    return root
                root = self._seal(rows)

    def _seal(self, rows: list[tuple[int, str, bytes, int]]) -> str:
        header = bytearray(len(rows).to_bytes(32, "little"))
        for _, item_id, raw, _ in rows:
            header += len(raw).to_bytes(32, "little") + b64u_decode(item_id)
        data = bytes(header) + b"".join(bytes(raw) for _, _, raw, _ in rows)
        root = b64u_encode(hashlib.sha256(_BUNDLE_ID_DOMAIN + data).digest())
        offset, placed = len(header), []
        for _, item_id, raw, data_offset in rows:
            placed.append((item_id, root, offset, offset + data_offset))
            offset += len(raw)
        self._db.execute("BEGIN")
        self._db.execute("INSERT OR IGNORE INTO bundles VALUES (?, ?)", (root, data))
        self._db.executemany("INSERT OR IGNORE INTO placements VALUES (?, ?, ?, ?)", placed)
        self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                         (_SEALED, str(rows[-1][0])))
        self._db.execute("COMMIT")
        return root

    def placement(self, item_id: str) -> Placement | None:
        """The item's root bundle and offsets, None while it is not bundled."""
        with self._lock:
            row = self._db.execute("SELECT root_id, item_offset, data_offset FROM placements "
                                   "WHERE id = ?", (item_id,)).fetchone()
        return Placement(*row) if row is not None else None

    def bundle_size(self, root_id: str) -> int | None:
        """The byte length of a bundle this gateway sealed, None if unknown."""
        with self._lock:
            row = self._db.execute("SELECT length(data) FROM bundles WHERE id = ?",
                                   (root_id,)).fetchone()
        return int(row[0]) if row is not None else None

    def bundle_bytes(self, root_id: str, start: int, length: int) -> bytes:
        """`length` bytes of a bundle from `start`, read without loading the whole bundle."""
        with self._lock:
            row = self._db.execute("SELECT rowid FROM bundles WHERE id = ?", (root_id,)).fetchone()
            if row is None or length <= 0:
                return b""
            if hasattr(self._db, "blobopen"):  # Python 3.11+: incremental blob I/O
                with self._db.blobopen("bundles", "data", row[0], readonly=True) as blob:
                    blob.seek(start)
                    return blob.read(length)
            got = self._db.execute("SELECT substr(data, ?, ?) FROM bundles WHERE rowid = ?",
                                   (start + 1, length, row[0])).fetchone()
            return bytes(got[0])

    def search(self, filters: list[tuple[bytes, list[bytes]]], ids: list[str] | None,
               limit: int, after: int = 0) -> list[tuple[int, str]]:
        """(rowid, id) of items having, for every (name, values) filter, a tag of that name
        with one of the values (and an id in `ids` if given); in arrival order, after rowid
        `after`, at most `limit`."""
        sql = "SELECT rowid, id FROM items WHERE rowid > ?"
        params: list[object] = [after]
        if ids is not None:
            sql += f" AND id IN ({','.join('?' * len(ids))})"
            params += ids
        for name, values in filters:
            marks = ",".join("?" * len(values))
            sql += (" AND id IN (SELECT id FROM item_tags WHERE name = ? AND value IN "
                    f"({marks}))")
            params += [name, *values]
        sql += " ORDER BY rowid LIMIT ?"
        params.append(limit)
        with self._lock:
            return [(int(r), str(i)) for r, i in self._db.execute(sql, params).fetchall()]

"""ByteCache: only bound data items, re-hashed and re-verified on read, injected clock."""

from __future__ import annotations

import hashlib
import sqlite3
import sys
from pathlib import Path

from verifier.anchor.dataitem import Ed25519Signer, create_data_item
from verifier.core.ans104 import parse_data_item
from verifier.sources.cache import ENV_VAR, ByteCache, default_cache_path


SIGNER = Ed25519Signer(bytes(range(32)))


def _item(data: bytes = b'{"event_id":"e"}') -> tuple[str, bytes]:
    raw = create_data_item(data, SIGNER, [("Content-Type", "application/json")],
                           anchor=b"\x07" * 32)
    return parse_data_item(raw).id, raw


def test_put_get_roundtrip_with_injected_clock(tmp_path):
    tx, raw = _item()
    c = ByteCache(tmp_path / "x" / "c.sqlite3", clock=lambda: 1234.5)
    assert c.put(tx, raw, "http://gw (root offsets + ranged /raw)")
    hit = c.get(tx)
    assert hit is not None and hit.item == raw and hit.data == b'{"event_id":"e"}'
    assert hit.origin == "http://gw (root offsets + ranged /raw)" and hit.fetched_at == 1234.5
    assert c.get("nope") is None
    assert len(c) == 1
    info = c.info()
    assert info["entries"] == 1 and info["item_bytes"] == len(raw)
    assert info["path"] == str(tmp_path / "x" / "c.sqlite3") and info["file_bytes"] > 0
    assert c.clear() == 1 and len(c) == 0 and c.get(tx) is None
    c.close()


def test_only_bound_items_are_stored(tmp_path):
    """Issue 8, defect 5: bytes not bound to the tx id never enter the cache."""
    tx, raw = _item()
    other_tx, other = _item(b'{"event_id":"f"}')
    c = ByteCache(tmp_path / "c.sqlite3")
    assert not c.put(tx, b'{"event_id":"e"}', "gw")  # bare /raw bytes: unbound
    assert not c.put(tx, other, "gw")  # a valid item, but of another tx
    forged = bytearray(raw)
    forged[-2] ^= 1  # payload altered: the signature no longer verifies
    assert not c.put(tx, bytes(forged), "gw")
    assert len(c) == 0
    assert c.put(tx, raw, "gw") and c.put(other_tx, other, "gw") and len(c) == 2


def test_corrupted_or_unbound_row_is_discarded_and_refetchable(tmp_path):
    path = tmp_path / "c.sqlite3"
    tx, raw = _item()
    _, other = _item(b'{"event_id":"f"}')
    c = ByteCache(path)
    c.put(tx, raw, "http://gw")
    db = sqlite3.connect(path)
    db.execute("UPDATE bound_items SET item = ? WHERE tx_id = ?", (other, tx))
    db.commit()
    assert c.get(tx) is None and c.discarded == 1  # bytes no longer hash to the row
    c.put(tx, raw, "http://gw")
    # a row rewritten consistently (hash updated) but holding another item: still refused
    db.execute("UPDATE bound_items SET item = ?, sha256 = ? WHERE tx_id = ?",
               (other, hashlib.sha256(other).hexdigest(), tx))
    db.commit()
    db.close()
    assert c.get(tx) is None and c.discarded == 2
    assert len(c) == 0  # row gone, so the next fetch goes to the network
    c.put(tx, raw, "http://gw")
    assert c.get(tx).item == raw


def test_legacy_unbound_table_is_dropped(tmp_path):
    path = tmp_path / "c.sqlite3"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE fetched (tx_id TEXT PRIMARY KEY, data BLOB, sha256 TEXT, "
               "gateway TEXT, quorum INTEGER, fetched_at REAL)")
    db.execute("INSERT INTO fetched VALUES ('A', x'00', '', 'gw', 1, 0)")
    db.commit()
    db.close()
    ByteCache(path).close()
    names = {r[0] for r in sqlite3.connect(path).execute(
        "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "fetched" not in names and "bound_items" in names


def test_entry_cap(tmp_path):
    tx, raw = _item()
    c = ByteCache(tmp_path / "c.sqlite3", max_entry_bytes=len(raw) - 1)
    assert not c.put(tx, raw, "gw")
    assert c.get(tx) is None


def test_default_location_env_override(tmp_path):
    assert default_cache_path({ENV_VAR: str(tmp_path / "here.db")}) == tmp_path / "here.db"
    p = default_cache_path({"XDG_CACHE_HOME": str(tmp_path)})
    assert p.name == "cache.sqlite3" and "ario-verifier" in p.parts
    if sys.platform not in ("darwin", "win32"):
        assert p == tmp_path / "ario-verifier" / "cache.sqlite3"
    assert isinstance(default_cache_path({}), Path)

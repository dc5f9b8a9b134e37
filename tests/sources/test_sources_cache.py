"""ByteCache: re-hash on read, corrupt rows discarded, quorum-aware, injected clock."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

from verifier.sources.cache import ENV_VAR, ByteCache, default_cache_path


def test_put_get_roundtrip_with_injected_clock(tmp_path):
    c = ByteCache(tmp_path / "x" / "c.sqlite3", clock=lambda: 1234.5)
    assert c.put("tx1", b"hello", "http://gw", quorum=2)
    hit = c.get("tx1")
    assert hit is not None and hit.data == b"hello" and hit.gateway == "http://gw"
    assert hit.fetched_at == 1234.5 and hit.quorum == 2
    assert c.get("tx1", min_quorum=3) is None
    assert c.get("nope") is None
    assert len(c) == 1
    c.close()


def test_corrupted_row_is_discarded_and_refetchable(tmp_path):
    path = tmp_path / "c.sqlite3"
    c = ByteCache(path)
    c.put("tx1", b"original bytes", "http://gw")
    db = sqlite3.connect(path)
    db.execute("UPDATE fetched SET data = ? WHERE tx_id = 'tx1'", (b"tampered bytes",))
    db.commit()
    db.close()
    assert c.get("tx1") is None
    assert c.discarded == 1
    assert len(c) == 0  # row gone, so the next fetch goes to the network
    c.put("tx1", b"original bytes", "http://gw")
    assert c.get("tx1").data == b"original bytes"


def test_weaker_quorum_does_not_replace_stronger(tmp_path):
    c = ByteCache(tmp_path / "c.sqlite3")
    c.put("tx", b"a", "gw1,gw2", quorum=2)
    c.put("tx", b"b", "gw3", quorum=1)
    assert c.get("tx").data == b"a"
    c.put("tx", b"c", "gw1,gw2,gw3", quorum=3)
    assert c.get("tx").data == b"c"


def test_entry_cap(tmp_path):
    c = ByteCache(tmp_path / "c.sqlite3", max_entry_bytes=4)
    assert not c.put("tx", b"12345", "gw")
    assert c.get("tx") is None


def test_default_location_env_override(tmp_path):
    assert default_cache_path({ENV_VAR: str(tmp_path / "here.db")}) == tmp_path / "here.db"
    p = default_cache_path({"XDG_CACHE_HOME": str(tmp_path)})
    assert p.name == "cache.sqlite3" and "ario-verifier" in p.parts
    if sys.platform not in ("darwin", "win32"):
        assert p == tmp_path / "ario-verifier" / "cache.sqlite3"
    assert isinstance(default_cache_path({}), Path)

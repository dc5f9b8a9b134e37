"""`ario-verifier cache info|clear` (issue 8, defect 5): location, entries, size; emptying."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from verifier.anchor.dataitem import Ed25519Signer, create_data_item
from verifier.core.ans104 import parse_data_item
from verifier.sources.cache import ByteCache

ROOT = Path(__file__).resolve().parents[2]


def _cli(*argv: str, cache: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "ARIO_VERIFIER_CACHE": str(cache), "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", "import sys; from verifier.cli.main import main; "
                           "sys.exit(main(sys.argv[1:]))", *argv],
                          capture_output=True, text=True, env=env, timeout=60)


def test_info_and_clear(tmp_path):
    path = tmp_path / "c" / "cache.sqlite3"
    missing = _cli("cache", "info", "--json", cache=path)
    assert missing.returncode == 0
    assert json.loads(missing.stdout) == {"path": str(path), "entries": 0, "item_bytes": 0,
                                          "file_bytes": 0}
    assert not path.exists()  # info does not create a cache
    raw = create_data_item(b"{}", Ed25519Signer(bytes(32)), [])
    with ByteCache(path) as cache:
        assert cache.put(parse_data_item(raw).id, raw, "http://gw (graphql)")
    info = json.loads(_cli("cache", "info", "--json", cache=path).stdout)
    assert info["entries"] == 1 and info["item_bytes"] == len(raw) and info["file_bytes"] > 0
    text = _cli("cache", "info", cache=path).stdout
    assert f"cache:   {path} (from $ARIO_VERIFIER_CACHE)" in text
    assert f"entries: 1 bound data items, {len(raw)} bytes" in text
    cleared = _cli("cache", "clear", cache=path)
    assert cleared.returncode == 0 and "cleared: 1 entries" in cleared.stdout
    assert json.loads(_cli("cache", "info", "--json", cache=path).stdout)["entries"] == 0


def test_unusable_cache_and_usage(tmp_path):
    bad = tmp_path / "not-sqlite"
    bad.write_bytes(b"this is not a database" * 100)
    r = _cli("cache", "info", "--json", cache=bad)
    assert r.returncode == 2 and json.loads(r.stdout)["error"] == "cache_unusable"
    assert _cli("cache", cache=bad).returncode == 2

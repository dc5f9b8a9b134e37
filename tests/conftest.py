import os
import sys
from pathlib import Path

import pytest

# Make tests/vectors_util.py importable from every test directory.
sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture(autouse=True, scope="session")
def _private_byte_cache(tmp_path_factory):
    """The suite never reads or writes the user's byte cache: audits with gateways (and
    their subprocesses) use a cache of this session's own ($ARIO_VERIFIER_CACHE)."""
    old = os.environ.get("ARIO_VERIFIER_CACHE")
    os.environ["ARIO_VERIFIER_CACHE"] = str(tmp_path_factory.mktemp("byte-cache") / "c.sqlite3")
    yield
    if old is None:
        os.environ.pop("ARIO_VERIFIER_CACHE", None)
    else:
        os.environ["ARIO_VERIFIER_CACHE"] = old

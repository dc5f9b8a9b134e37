#!/usr/bin/env python3
"""Cost of reading an MLflow SQLite store through a private snapshot (issue 8 defect 0).

An audit never opens the auditee's database: `verifier.sources.mlflow_snapshot.open_view`
copies it (with its journal / WAL) into a private directory and opens the copy. This
measures, in the same run on the same file:

- baseline: reading every byte of the database once (what any full scan costs);
- snapshot: `open_view` (copy, unchanged check, schema read) and `close`;
- and the ratio snapshot / baseline.

The database is a real MLflow store (the installed MLflow creates it) padded with one
table of incompressible rows to --mb megabytes, in a temporary directory.

Usage: python bench/bench_mlflow_snapshot.py [--mb 256] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchutil import best  # noqa: E402


def make_store(path: Path, mb: int) -> None:
    from verifier.sources.mlflow_env import disable_mlflow_phone_home

    disable_mlflow_phone_home()
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    SqlAlchemyStore(f"sqlite:///{path}", str(path.parent / "artifacts")).engine.dispose()
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE padding (b BLOB)")
    row = 64 * 1024
    con.executemany("INSERT INTO padding VALUES (?)",
                    ((os.urandom(row),) for _ in range(mb * 1024 * 1024 // row)))
    con.commit()
    con.close()


def read_all(path: Path) -> None:
    with open(path, "rb") as fh:
        while fh.read(1 << 20):
            pass


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=int, default=256)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    from verifier.sources.mlflow_snapshot import open_view

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp, "mlflow.db")
        make_store(db, args.mb)
        size = db.stat().st_size
        base = best(lambda: read_all(db), args.repeat)
        snap = best(lambda: open_view(f"sqlite:///{db}").close(), args.repeat)
        print(f"database {size / 1e6:.0f} MB")
        print(f"baseline  read every byte once   {base:7.3f} s")
        print(f"snapshot  open_view + close      {snap:7.3f} s")
        print(f"ratio     snapshot / baseline    {snap / base:7.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

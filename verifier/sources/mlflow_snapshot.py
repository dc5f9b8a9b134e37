"""A private, read-only view of an auditee's MLflow store: the audit never writes to it.

MLflow writes when it opens a store: on a SQLite database made by an older MLflow it runs
the schema migrations in place (after which the producer's own MLflow refuses the file),
and a file store gets ``.trash`` / ``models`` directories. An auditor's read must never
change the evidence, so:

- ``sqlite:`` — the database file and its journal / WAL are copied as bytes (never
  opened by SQLite: even a read-only reader writes to a WAL database's ``-shm``) into a
  private temporary directory, kept only if no file changed meanwhile (one consistent
  state; SQLite recovers it in the copy); MLflow opens only that copy. The store's schema (alembic
  revision) is read from the copy as it is and reported; when it is not the installed
  MLflow's head, only the private copy is upgraded so the installed MLflow can read it.
- other SQL databases — opened only when their schema is the installed MLflow's head
  (MLflow would otherwise migrate them on the server); never migrated.
- ``file:`` stores — a private directory whose entries link to the store's, so whatever
  MLflow creates on opening lands in the private directory.
- anything else (an MLflow tracking server) is passed through: a server does not let a
  client migrate it.

`StoreView.close` removes the private directory.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from verifier.sources.errors import MlflowUnavailable

_SQL_SCHEMES = ("postgresql", "mysql", "mssql")


@dataclass
class StoreView:
    """The URI MLflow is given (`uri`) for a store named `source`, and what was read."""

    source: str
    uri: str
    details: dict[str, Any] = field(default_factory=dict)
    private_dir: str | None = None

    def close(self) -> None:
        """Remove the private copy or link directory, if any (first closing the database
        connections MLflow keeps per URI, so no handle holds the deleted copy's space)."""
        if self.private_dir:
            if self.uri.startswith("sqlite:"):
                _dispose_engines(self.uri)
            shutil.rmtree(self.private_dir, ignore_errors=True)
            self.private_dir = None


def _dispose_engines(uri: str) -> None:
    """MLflow's SQL stores cache one engine per database URI for the process's life."""
    import sys

    for module in ("mlflow.store.tracking.sqlalchemy_store",
                   "mlflow.store.model_registry.sqlalchemy_store"):
        store = getattr(sys.modules.get(module), "SqlAlchemyStore", None)
        engine = getattr(store, "_engine_map", {}).pop(uri, None)
        if engine is not None:
            engine.dispose()


def sqlite_path(uri: str) -> str:
    """The file path of a ``sqlite:///PATH`` URI ('' when it names none)."""
    return unquote(uri.split("sqlite:///", 1)[1]).split("?", 1)[0] if "sqlite:///" in uri else ""


def open_view(uri: str) -> StoreView:
    """A `StoreView` of the store at `uri` (see the module docstring); `MlflowUnavailable`
    when it cannot be read without writing to it."""
    scheme = urlparse(uri).scheme
    if scheme == "sqlite":
        return _sqlite_view(uri)
    if scheme in ("file", ""):
        return _file_view(uri)
    if scheme.split("+", 1)[0] in _SQL_SCHEMES:
        return _database_view(uri)
    return StoreView(uri, uri, {"mlflow_store": "server"})


def _private_dir() -> str:
    return tempfile.mkdtemp(prefix="ario-verifier-store-")


def _sqlite_view(uri: str) -> StoreView:
    path = sqlite_path(uri)
    if not path or path == ":memory:":
        raise MlflowUnavailable(f"{uri} names no database file")
    private = _private_dir()
    copy = os.path.join(private, "mlflow.db")
    try:
        _copy_unchanged(os.path.abspath(path), copy)
        revision, tables = _schema_of_copy(copy)
    except (OSError, sqlite3.Error) as exc:
        shutil.rmtree(private, ignore_errors=True)
        raise MlflowUnavailable(f"cannot snapshot the MLflow database {path}: {exc}") from None
    except BaseException:
        shutil.rmtree(private, ignore_errors=True)
        raise
    view = StoreView(uri, f"sqlite:///{copy}", {"mlflow_store": "sqlite", "mlflow_schema": revision,
                                                "mlflow_read_from": "private snapshot"},
                     private_dir=private)
    try:
        _read_as_head(view, revision, tables)
    except BaseException:
        view.close()
        raise
    return view


#: The files of one SQLite database: a writer's rollback journal or write-ahead log
#: belongs to the snapshot (SQLite recovers it in the private copy); -shm is only an index.
_SIBLINGS = ("", "-journal", "-wal")


def _sibling_stats(path: str) -> list[tuple[int, int, int] | None]:
    out: list[tuple[int, int, int] | None] = []
    for suffix in _SIBLINGS:
        try:
            st = os.stat(path + suffix)
            out.append((st.st_ino, st.st_size, st.st_mtime_ns))
        except FileNotFoundError:
            out.append(None)
    return out


def _copy_unchanged(path: str, copy: str, attempts: int = 5) -> None:
    """Copy the database and its journal / WAL as plain bytes, never through SQLite (even a
    read-only SQLite reader writes to a WAL database's -shm file). The copy counts only if
    no file of the database changed while it was taken, so it is one consistent state:
    SQLite rolls a copied journal back, or replays a copied WAL, in the private copy."""
    for attempt in range(attempts):
        before = _sibling_stats(path)
        if before[0] is None:
            raise MlflowUnavailable(f"no MLflow database at {path}")
        for suffix, stat in zip(_SIBLINGS, before):
            if os.path.lexists(copy + suffix):
                os.unlink(copy + suffix)
            if stat is not None:
                shutil.copyfile(path + suffix, copy + suffix)
        if _sibling_stats(path) == before:
            return
        time.sleep(0.05 * 2 ** attempt)
    raise MlflowUnavailable(f"{path} kept changing while it was copied (a writer is busy); "
                            "try again")


def _schema_of_copy(path: str) -> tuple[str | None, set[str]]:
    """(alembic revision or None, table names) of the private copy, read as it is (this
    first connection also recovers a copied journal or WAL, in the copy)."""
    con = sqlite3.connect(path)
    try:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        revision = None
        if "alembic_version" in tables:
            row = con.execute("SELECT version_num FROM alembic_version").fetchone()
            revision = row[0] if row else None
        return revision, tables
    finally:
        con.close()


def head_revision() -> str:
    """The schema revision the installed MLflow reads and writes."""
    from mlflow.store.db.utils import _get_latest_schema_revision

    return str(_get_latest_schema_revision())


def _read_as_head(view: StoreView, revision: str | None, tables: set[str]) -> None:
    """Make the private copy readable by the installed MLflow: upgrade it (only it) when
    its schema is older; refuse a database that is not MLflow's or is newer."""
    if revision is None or "experiments" not in tables:
        raise MlflowUnavailable(f"{view.source} is not an MLflow tracking database "
                                "(no alembic_version / experiments table)")
    head = head_revision()
    view.details["mlflow_schema_installed"] = head
    if revision == head:
        return
    from mlflow.store.db.utils import _upgrade_db, create_sqlalchemy_engine

    engine = create_sqlalchemy_engine(view.uri)
    quiet = [logging.getLogger(n) for n in ("mlflow.store.db.utils", "alembic")]
    levels = [log.level for log in quiet]
    try:
        for log in quiet:  # its progress lines are about the private copy: not news
            log.setLevel(logging.WARNING)
        _upgrade_db(engine)
    except Exception as exc:  # noqa: BLE001 - alembic: unknown (newer) revision, failed step
        raise MlflowUnavailable(
            f"the store's schema {revision} cannot be read by the installed MLflow (schema "
            f"{head}): {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    finally:
        for log, level in zip(quiet, levels):
            log.setLevel(level)
        engine.dispose()
    view.details["mlflow_read_from"] = f"private snapshot upgraded from {revision} to {head}"


def _database_view(uri: str) -> StoreView:
    """A server database: used as it is when its schema is the installed head, else refused."""
    import sqlalchemy

    try:
        engine = sqlalchemy.create_engine(uri)
        try:
            with engine.connect() as con:
                names = set(sqlalchemy.inspect(con).get_table_names())
                revision = (con.execute(sqlalchemy.text("SELECT version_num FROM alembic_version"))
                            .scalar() if "alembic_version" in names else None)
        finally:
            engine.dispose()
    except Exception as exc:  # noqa: BLE001 - driver missing, unreachable, refused
        raise MlflowUnavailable(f"cannot read the MLflow database: {exc}") from None
    head = head_revision()
    if revision != head:
        raise MlflowUnavailable(
            f"the database's schema is {revision}, the installed MLflow's is {head}; MLflow "
            "would migrate it on opening and ario-verifier never changes an auditee's store: "
            "install the matching mlflow-skinny, or audit a SQLite copy or an export")
    return StoreView(uri, uri, {"mlflow_store": "database", "mlflow_schema": revision})


def _file_view(uri: str) -> StoreView:
    """A private root whose entries are links to the file store's (MLflow creates
    ``.trash`` and ``models`` on opening; they land here)."""
    parsed = urlparse(uri)
    root = Path(unquote(parsed.path) if parsed.scheme == "file" else uri).resolve()
    if not root.is_dir():
        raise MlflowUnavailable(f"no MLflow file store at {root}")
    private = _private_dir()
    link_root = Path(private, root.name or "mlruns")
    try:
        link_root.mkdir()
        for entry in os.scandir(root):
            os.symlink(entry.path, link_root / entry.name)
    except OSError as exc:
        shutil.rmtree(private, ignore_errors=True)
        raise MlflowUnavailable(f"cannot read the MLflow file store {root}: {exc}") from None
    return StoreView(uri, link_root.as_uri(), {"mlflow_store": "file", "mlflow_read_from": "private links"},
                     private_dir=private)

"""An audit or export never writes to the auditee's MLflow store, and `--offline` opens no
internet socket (issue 8 defects 0 and 4).

Real stores on disk (SQLite at the installed MLflow's schema, the same database taken back
to an older schema with MLflow's own alembic downgrades, a SQLite store held open in WAL
mode by a writer, a file store lacking the directories MLflow creates on opening), real
`ario-verifier` subprocesses, and byte-for-byte comparisons of every file of the store.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sources_mlstore import build_in_child

ROOT = Path(__file__).resolve().parents[2]
#: ar-io-mlflow 0.3.0 installs MLflow 3.17.2, whose schema head is this revision.
OLDER_SCHEMA = "dc11669786a5"


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    base = tmp_path_factory.mktemp("ro-stores")
    return build_in_child([("sqlite", base / "sq", "full"), ("file", base / "fs", "full"),
                           ("sqlite", base / "lg", "logged")])


@pytest.fixture(scope="module")
def old_schema_db(stores, tmp_path_factory):
    """The full SQLite store taken back to MLflow 3.17.2's schema (copy it before use)."""
    db = copy_sqlite_store(stores[0], tmp_path_factory.mktemp("old-schema") / "store")
    downgrade(db, OLDER_SCHEMA)
    return db


def old_copy(old_schema_db: Path, dest: Path) -> Path:
    dest.mkdir()
    shutil.copyfile(old_schema_db, dest / "mlflow.db")
    return dest / "mlflow.db"


def cli(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    full = env if env is not None else dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "verifier", *args], capture_output=True,
                          text=True, cwd=cwd, env=full, timeout=300)


def tree_state(root: Path) -> dict[str, tuple]:
    """Every path under `root` with its kind, size, mtime and content digest."""
    out: dict[str, tuple] = {}
    for p in sorted(root.rglob("*")):
        st = p.lstat()
        digest = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else ""
        out[p.relative_to(root).as_posix()] = (p.is_dir(), st.st_size, st.st_mtime_ns, digest)
    return out


def schema_of(db: Path) -> str:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return con.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    finally:
        con.close()


def downgrade(db: Path, revision: str) -> None:
    """Take a database back to an older schema with MLflow's own migrations (as a store
    written by an older MLflow), in a child so MLflow's engine cache stays out of here."""
    code = ("import sys\nfrom alembic import command\n"
            "from mlflow.store.db.utils import _get_alembic_config, create_sqlalchemy_engine\n"
            "url = 'sqlite:///' + sys.argv[1]\neng = create_sqlalchemy_engine(url)\n"
            "with eng.begin() as conn:\n    cfg = _get_alembic_config(url)\n"
            "    cfg.attributes['connection'] = conn\n    command.downgrade(cfg, sys.argv[2])\n")
    subprocess.run([sys.executable, "-c", code, str(db), revision], check=True,
                   capture_output=True, timeout=120)


def copy_sqlite_store(sq, dest: Path) -> Path:
    dest.mkdir()
    db = dest / "mlflow.db"
    shutil.copyfile(sq.uri[len("sqlite:///"):], db)
    return db


def audit_and_export(uri: str, cwd: Path) -> tuple[dict, dict]:
    audit = cli("audit", "--tracking-uri", uri, "models:/fraud/1", "--offline", "--json", "-q",
                cwd=cwd)
    assert audit.returncode in (0, 1, 3), audit.stderr
    export = cli("export", "--tracking-uri", uri, "models:/fraud/1", "--offline", "--json",
                 "-o", str(cwd / "out.zip"), "--force", cwd=cwd)
    assert export.returncode in (0, 3), export.stderr
    return json.loads(audit.stdout), json.loads(export.stdout)


def test_older_schema_store_is_read_as_it_is_and_never_migrated(old_schema_db, tmp_path):
    db = old_copy(old_schema_db, tmp_path / "old")
    assert schema_of(db) == OLDER_SCHEMA
    before = tree_state(db.parent)
    audit, export = audit_and_export(f"sqlite:///{db}", tmp_path)
    assert tree_state(db.parent) == before  # no -journal/-wal left, not a byte changed
    assert schema_of(db) == OLDER_SCHEMA
    assert audit["mlflow_schema"] == export["mlflow_schema"] == OLDER_SCHEMA
    assert audit["mlflow_schema_installed"] != OLDER_SCHEMA
    assert "upgraded from " + OLDER_SCHEMA in audit["mlflow_read_from"]
    # the lineage was read all the same: the training, registration and promotions are there
    types = {e["subject"]["event_type"] for e in audit["events"]}
    assert {"training_complete", "model_registered", "stage_transition"} <= types
    assert export["events"] == len(audit["events"])


def test_current_schema_store_in_wal_mode_held_by_a_writer(stores, tmp_path):
    sq, _, _ = stores
    db = copy_sqlite_store(sq, tmp_path / "wal")
    writer = sqlite3.connect(db)
    try:
        writer.execute("PRAGMA journal_mode=WAL")
        writer.execute("PRAGMA wal_autocheckpoint=0")
        writer.execute("UPDATE experiments SET name = name")  # a committed frame in the WAL
        writer.commit()
        assert Path(f"{db}-wal").stat().st_size > 0
        before = tree_state(db.parent)
        audit, export = audit_and_export(f"sqlite:///{db}", tmp_path)
        assert tree_state(db.parent) == before  # database, -wal and -shm byte-identical
    finally:
        writer.close()
    assert audit["mlflow_schema"] == audit["mlflow_schema_installed"]
    assert audit["mlflow_read_from"] == "private snapshot"
    assert export["mlflow_store"] == "sqlite"


def test_store_with_a_writer_mid_transaction_is_read_as_last_committed(stores, tmp_path):
    """Rollback-journal mode, a writer holding an uncommitted change (its -journal exists):
    the audit reads the last committed state and leaves database and journal untouched."""
    sq, _, _ = stores
    db = copy_sqlite_store(sq, tmp_path / "journal")
    writer = sqlite3.connect(db, isolation_level=None)
    try:
        writer.execute("PRAGMA cache_size=1")  # spill the change into the file before commit
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("UPDATE registered_models SET name = 'renamed-by-an-uncommitted-write'")
        writer.execute("UPDATE model_versions SET name = 'renamed-by-an-uncommitted-write'")
        assert Path(f"{db}-journal").exists()
        before = tree_state(db.parent)
        proc = cli("audit", "--tracking-uri", f"sqlite:///{db}", "models:/fraud/1", "--offline",
                   "--json", "-q", cwd=tmp_path)
        assert tree_state(db.parent) == before
        writer.execute("ROLLBACK")
    finally:
        writer.close()
    doc = json.loads(proc.stdout)
    assert "model_registered" in {e["subject"]["event_type"] for e in doc["events"]}


def test_file_store_is_never_written(stores, tmp_path):
    _, fs, _ = stores
    root = tmp_path / "fs"
    shutil.copytree(Path(fs.uri[len("file://"):]).parent, root, symlinks=True)
    mlruns = root / "mlruns"
    for made_on_open in (".trash", "models"):  # MLflow creates both when opening a store
        shutil.rmtree(mlruns / made_on_open, ignore_errors=True)
    before = tree_state(root)
    audit = cli("audit", "--tracking-uri", mlruns.as_uri(), f"runs:/{fs.run_id}", "--offline",
                "--json", "-q", cwd=tmp_path)
    export = cli("export", "--tracking-uri", mlruns.as_uri(), f"runs:/{fs.run_id}",
                 "--offline", "-o", str(tmp_path / "fs.zip"), cwd=tmp_path)
    assert tree_state(root) == before
    doc = json.loads(audit.stdout)
    assert doc["mlflow_store"] == "file"
    assert "training_complete" in {e["subject"]["event_type"] for e in doc["events"]}
    assert export.returncode in (0, 3), export.stderr


def test_not_an_mlflow_database_is_unavailable_and_untouched(tmp_path):
    db = tmp_path / "other.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    before = tree_state(tmp_path)
    proc = cli("audit", "--tracking-uri", f"sqlite:///{db}", "models:/m/1", "--offline",
               "--json", cwd=tmp_path)
    assert tree_state(tmp_path) == before
    doc = json.loads(proc.stdout)
    assert (proc.returncode, doc["status"]) == (3, "incomplete")
    assert "not an MLflow tracking database" in json.dumps(doc)


# -- defect 4: --offline opens no internet socket, and MLflow's telemetry is off -----------

GUARD = '''
import socket, sys
_LOOPBACK = ("127.", "::1", "localhost", "0:0:0:0:0:0:0:1")

def _local(host):
    return host is None or (isinstance(host, (bytes, str)) and
                            (host.decode() if isinstance(host, bytes) else host).startswith(_LOOPBACK))

def _refuse(what, host):
    sys.stderr.write(f"NETWORK-GUARD: {what} {host!r}\\n")
    sys.stderr.flush()
    raise OSError(f"network guard: {what} {host!r}")

_getaddrinfo = socket.getaddrinfo
def getaddrinfo(host, *a, **k):
    if not _local(host):
        _refuse("getaddrinfo", host)
    return _getaddrinfo(host, *a, **k)
socket.getaddrinfo = getaddrinfo

_connect = socket.socket.connect
class GuardedSocket(socket.socket):
    def connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _local(address[0]):
            _refuse("connect", address[0])
        return _connect(self, address)
socket.socket = GuardedSocket
'''


def guarded_env(tmp_path: Path) -> dict:
    """A child environment whose sitecustomize refuses (loudly) every non-loopback name
    lookup and connection; no CI / pytest markers, so MLflow would send telemetry."""
    site = tmp_path / "guard"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(GUARD)
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTEST_CURRENT_TEST", "CI", "GITHUB_ACTIONS", "MLFLOW_DISABLE_TELEMETRY",
                        "DO_NOT_TRACK")}
    env["_MLFLOW_TESTING_TELEMETRY"] = "true"  # a user's override that re-enables it: beaten
    env["PYTHONPATH"] = os.pathsep.join([str(site), str(ROOT)])
    return env


def test_offline_audit_and_export_open_no_internet_socket(stores, tmp_path):
    """An MLflow 3 logged model: reading it is a telemetry event, which made MLflow look up
    config.mlflow-telemetry.io before the switches were set."""
    _, _, logged = stores
    env = guarded_env(tmp_path)
    for argv in (["audit", "--tracking-uri", logged.uri, "models:/echo/1", "--offline", "--json"],
                 ["export", "--tracking-uri", logged.uri, "models:/echo/1", "--offline",
                  "-o", str(tmp_path / "e.zip")]):
        proc = subprocess.run([sys.executable, "-m", "verifier", *argv], capture_output=True,
                              text=True, cwd=tmp_path, env=env, timeout=300)
        assert "NETWORK-GUARD" not in proc.stderr, proc.stderr
        assert proc.returncode in (0, 1, 3), proc.stderr


def test_the_guard_catches_mlflow_telemetry(tmp_path):
    """The guard is not vacuous: MLflow, imported without our switches, does try to phone
    home (and with them, does not)."""
    env = guarded_env(tmp_path)
    code = ("import sys\n{pre}import mlflow\nfrom mlflow.telemetry.utils import "
            "is_telemetry_disabled\nprint(is_telemetry_disabled())\n")
    plain = subprocess.run([sys.executable, "-c", code.format(pre="")], capture_output=True,
                           text=True, env=env, timeout=120)
    ours = subprocess.run([sys.executable, "-c", code.format(
        pre="from verifier.sources.mlflow_env import disable_mlflow_phone_home\n"
            "disable_mlflow_phone_home()\n")], capture_output=True, text=True, env=env,
        timeout=120)
    assert plain.stdout.strip() == "False"
    assert ours.stdout.strip() == "True"


def test_offline_refuses_a_store_on_the_network(tmp_path):
    for uri in ("http://mlflow.example.com:5000", "postgresql://u:secret@db.example/mlflow"):
        proc = cli("audit", "--tracking-uri", uri, "models:/m/1", "--offline", "--json",
                   cwd=tmp_path, env=guarded_env(tmp_path))
        doc = json.loads(proc.stdout)
        assert (proc.returncode, doc["reason"]) == (2, "usage_error")
        assert "on the network" in doc["error"] and "secret" not in doc["error"]
        assert "NETWORK-GUARD" not in proc.stderr


def test_offline_does_not_fetch_artifacts_stored_on_the_network(stores, tmp_path):
    """A local database whose runs keep their artifacts in S3: offline, they are a gap
    naming the host, and no connection is attempted (MLflow's S3 repository, where boto3
    is installed, would resolve the bucket's host)."""
    sq, _, _ = stores
    db = copy_sqlite_store(sq, tmp_path / "remote-artifacts")
    con = sqlite3.connect(db)
    con.execute("UPDATE runs SET artifact_uri = "
                "'s3://ario-test-bucket/runs/' || run_uuid || '/artifacts'")
    con.commit()
    con.close()
    env = dict(guarded_env(tmp_path), AWS_ACCESS_KEY_ID="dummy", AWS_SECRET_ACCESS_KEY="dummy",
               AWS_DEFAULT_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true")
    proc = subprocess.run([sys.executable, "-m", "verifier", "audit", "--tracking-uri",
                           f"sqlite:///{db}", "models:/fraud/1", "--offline", "--json"],
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300)
    assert "NETWORK-GUARD" not in proc.stderr, proc.stderr
    doc = json.loads(proc.stdout)
    assert proc.returncode == 3 and doc["status"] == "incomplete"
    assert "ario-test-bucket" in json.dumps(doc) and "on the network" in json.dumps(doc)


def test_only_write_tags_writes_and_says_so(stores, old_schema_db, tmp_path):
    sq, _, _ = stores
    old = old_copy(old_schema_db, tmp_path / "old")
    before = tree_state(old.parent)
    proc = cli("audit", "--tracking-uri", f"sqlite:///{old}", "models:/fraud/1", "--offline",
               "--json", "-q", "--write-tags", cwd=tmp_path)
    assert tree_state(old.parent) == before  # writing would have migrated it: refused
    assert json.loads(proc.stdout)["wrote_tags"] == 0 and "not writing" in proc.stderr
    current = copy_sqlite_store(sq, tmp_path / "current")
    proc = cli("audit", "--tracking-uri", f"sqlite:///{current}", "models:/fraud/1",
               "--offline", "--json", "-q", "--write-tags", cwd=tmp_path)
    written = json.loads(proc.stdout)["wrote_tags"]
    assert written > 0 and f"wrote ario.verify_status tags of {written} event(s)" in proc.stderr
    con = sqlite3.connect(current)
    try:
        assert con.execute("SELECT count(*) FROM tags WHERE key = 'ario.verify_status'"
                           ).fetchone()[0] >= 1
    finally:
        con.close()


def test_private_snapshot_is_removed_and_no_handle_keeps_it(stores):
    """In a long-lived process (browse, report, tests) each read leaves nothing behind: the
    copy is deleted and MLflow's cached connections to it are closed (else the deleted
    file's space stays held until the process ends)."""
    from verifier.sources.mlflow_reader import read_mlflow

    sq, _, _ = stores
    for _ in range(2):
        col = read_mlflow(sq.uri, "models:/fraud/1")
        assert col.source["mlflow_read_from"] == "private snapshot"
    held = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            held.append(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:
            continue
    assert not [p for p in held if "ario-verifier-store-" in p]


def test_server_database_is_used_only_at_the_installed_schema(stores, old_schema_db, tmp_path):
    """A database MLflow would migrate on opening (PostgreSQL, MySQL, MSSQL: no snapshot is
    possible) is refused unless its schema is the installed head. The check is plain
    SQLAlchemy, exercised here through a SQLite URL."""
    from verifier.sources.errors import MlflowUnavailable
    from verifier.sources.mlflow_snapshot import _database_view, head_revision

    sq, _, _ = stores
    current = copy_sqlite_store(sq, tmp_path / "current")
    view = _database_view(f"sqlite:///{current}")
    assert view.details == {"mlflow_store": "database", "mlflow_schema": head_revision()}
    old = old_copy(old_schema_db, tmp_path / "old")
    before = tree_state(old.parent)
    with pytest.raises(MlflowUnavailable, match=f"schema is {OLDER_SCHEMA}"):
        _database_view(f"sqlite:///{old}")
    assert tree_state(old.parent) == before

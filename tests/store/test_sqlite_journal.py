"""A bulk write into an SQLite file no one else has open goes through a rollback journal
(each page written once); beside another connection, or in a serving store, it keeps
the WAL; killed midway, it leaves the records as they were; a process that opens the
file meanwhile waits, then says why it could not."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from clearfield import services
from clearfield.errors import StoreError
from clearfield.scenario import generate
from clearfield.store import sqlite as sqlite_store
from clearfield.store.sqlite import SQLiteStore
from common import dump, organisation


def _wal_bytes(db: Path) -> int:
    wal = Path(f"{db}-wal")
    return wal.stat().st_size if wal.exists() else 0


@pytest.fixture()
def features() -> list[dict]:
    return generate(scale=0.02, seed=5).features


@pytest.fixture()
def bulk_from_50(monkeypatch) -> None:
    import clearfield.store.sql as sql

    monkeypatch.setattr(sql, "_BULK", 50)


def test_a_bulk_write_alone_goes_through_a_rollback_journal(tmp_path, features, bulk_from_50):
    db = tmp_path / "a.db"
    store = SQLiteStore.open(f"sqlite:///{db}")
    try:
        services.import_features(store, features, source="s", actor="t")
        # the WAL was left before the write and taken up again after it: nothing in it
        assert _wal_bytes(db) == 0
        assert store.query("PRAGMA journal_mode") == [("wal",)]
        assert store.count("SELECT COUNT(*) FROM entity") == len(features)
        assert store.query("PRAGMA integrity_check") == [("ok",)]
        # and a small write afterwards goes to the WAL again
        services.import_features(store, [organisation("ORG-NEW")], source="s", actor="t")
        assert _wal_bytes(db) > 0
    finally:
        store.close()


def test_a_bulk_write_alone_checks_its_references_once_before_it_commits(
    tmp_path, features, bulk_from_50, monkeypatch
):
    """Alone in the file, a bulk write checks its references once, whole, before its
    commit instead of row by row: a row naming a record that is not there refuses the
    whole write, which leaves nothing, and the connection checks row by row again."""
    import clearfield.store.sql as sql

    db = tmp_path / "r.db"
    store = SQLiteStore.open(f"sqlite:///{db}")
    services.import_features(store, [organisation("ORG-0")], source="s", actor="t")
    before = dump(store)
    write_chunk = sql.SQLStore._write_chunk

    def dangling(inserts, *args):  # a flag on a version that no row holds
        inserts.add("quality_flag", ("version_pk", "code", "message", "raised_at"), [(10**6, "x", "y", "z")])  # fmt: skip
        return write_chunk(inserts, *args)

    monkeypatch.setattr(sql.SQLStore, "_write_chunk", staticmethod(dangling))
    with pytest.raises(StoreError, match=r"references: quality_flag row \d+ names a record_version row") as exc:  # fmt: skip
        services.import_features(store, features, source="s", actor="t")
    assert exc.value.code == "CONFLICT"
    assert dump(store) == before
    monkeypatch.setattr(sql.SQLStore, "_write_chunk", staticmethod(write_chunk))
    try:
        with contextlib.ExitStack() as held:  # (every pooled connection: each checks again)
            conns = [held.enter_context(store.engine.connect()) for _ in range(4)]
            assert [c.exec_driver_sql("PRAGMA foreign_keys").scalar() for c in conns] == [1] * 4
        services.import_features(store, features, source="s", actor="t")
        assert store.query("PRAGMA foreign_key_check") == []
        assert store.count("SELECT COUNT(*) FROM entity") == len(features) + 1
    finally:
        store.close()


@pytest.mark.parametrize("beside", ["reader", "serving"])
def test_a_bulk_write_keeps_the_wal_beside_readers(tmp_path, features, bulk_from_50, beside):
    """Another connection open on the file (a reader in another program), or a serving
    store: the write goes to the WAL."""
    db = tmp_path / "b.db"
    store = SQLiteStore.open(f"sqlite:///{db}", serving=beside == "serving")
    services.import_features(store, [organisation("ORG-0")], source="s", actor="t")
    other = sqlite3.connect(db)
    try:
        if beside == "reader":
            assert other.execute("SELECT COUNT(*) FROM entity").fetchone() == (1,)
        else:
            other.close()
        services.import_features(store, features, source="s", actor="t")
        assert _wal_bytes(db) > db.stat().st_size / 2  # the pages went to the log
        assert store.count("SELECT COUNT(*) FROM entity") == len(features) + 1
    finally:
        other.close()
        store.close()


_KILLED_WRITER = """
import sys, time
from pathlib import Path
import orjson
import clearfield.store.sql as sql
import clearfield.store.sql_accounts as accounts
from clearfield import services
from clearfield.store.sqlite import SQLiteStore

sql._BULK = 50
written = accounts.Accounting.write
bulk_write = SQLiteStore._bulk_write

def small_cache(self, conn):  # pages spill into the file before the commit
    bulk_write(self, conn)
    conn.exec_driver_sql("PRAGMA cache_size = 10")

SQLiteStore._bulk_write = small_cache

def write_then_wait(*args, **kwargs):  # the rows are in, the commit is not
    assert written(*args, **kwargs)
    Path(sys.argv[3]).write_text("writing")
    time.sleep(120)

accounts.Accounting.write = write_then_wait
store = services.open_store(sys.argv[1], create=False)
features = orjson.loads(Path(sys.argv[2]).read_bytes())
services.import_features(store, features, source="s", actor="t")
"""


def test_a_bulk_write_killed_midway_leaves_the_records_as_they_were(
    tmp_path, features, monkeypatch
):
    import orjson

    db = tmp_path / "k.db"
    url = f"sqlite:///{db}"
    store = SQLiteStore.open(url)
    services.import_features(
        store, [organisation("ORG-0"), organisation("ORG-00")], source="s", actor="t"
    )
    before = dump(store)
    store.close()
    size_before = db.stat().st_size
    data = tmp_path / "f.json"
    data.write_bytes(orjson.dumps(features))
    marker = tmp_path / "marker"
    proc = subprocess.Popen(
        [sys.executable, "-c", _KILLED_WRITER, url, str(data), str(marker)],
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert proc.poll() is None, "the writer ended before it wrote"
            assert time.monotonic() < deadline, "the writer never reached its rows"
            time.sleep(0.05)
        assert Path(f"{db}-journal").exists()  # the rollback journal, not the WAL
        # new pages are in the file already (a cache of 10 pages spilled them)
        assert db.stat().st_size >= size_before + 16 * sqlite_store.PAGE_SIZE
        # the write holds the file from its start: a reader is kept out, not let in to
        # keep the write's commit waiting
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            sqlite3.connect(db, timeout=0.2).execute("SELECT COUNT(*) FROM entity").fetchone()

        # a process that opens the file meanwhile waits for the lock, then says why
        monkeypatch.setattr(sqlite_store, "_BUSY_MS", 300)
        with pytest.raises(StoreError, match=r"busy.*bulk import"):
            SQLiteStore.open(url, create=False).close()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=20)

    monkeypatch.setattr(sqlite_store, "_BUSY_MS", 10_000)
    store = SQLiteStore.open(url, create=False)
    try:
        assert dump(store) == before
        assert store.query("PRAGMA integrity_check") == [("ok",)]
        assert store.query("PRAGMA journal_mode") == [("wal",)]
        services.import_features(store, features, source="s", actor="t")
        assert store.count("SELECT COUNT(*) FROM entity") == len(features) + 2
    finally:
        store.close()


def test_a_new_database_takes_pages_of_16_kib_and_an_older_one_keeps_its_own(tmp_path):
    """Pages of 16 KiB hold a programme's record versions (near 1 KB each) with fewer
    splits than SQLite's default 4 KiB; a database made before keeps its pages, and works."""
    older = tmp_path / "older.db"
    with sqlite3.connect(older) as conn:
        conn.execute("PRAGMA page_size = 4096")
        conn.execute("CREATE TABLE their_table (x INTEGER)")
    conn.close()
    for path, size in ((tmp_path / "new.db", sqlite_store.PAGE_SIZE), (older, 4096)):
        store = SQLiteStore.open(f"sqlite:///{path}")
        try:
            services.import_features(store, [organisation()], source="t", actor="t")
            assert store.count("SELECT COUNT(*) FROM entity") == 1
        finally:
            store.close()
        conn = sqlite3.connect(path)
        assert conn.execute("PRAGMA page_size").fetchone() == (size,), path.name
        conn.close()

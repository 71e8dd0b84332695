"""The embedded store: one SQLite file, WAL, foreign keys on, an R*Tree of bounding boxes.

SQLite here cannot load SpatiaLite, so geometries are WKB blobs, the R*Tree
(``record_bbox``) gives bounding-box candidates and Shapely decides exact predicates.
Every write is one ``BEGIN IMMEDIATE`` transaction (``EXCLUSIVE`` for the bulk write
below), so two writers queue instead of deadlocking. What it does is :class:`~clearfield.store.sql.SQLStore`'s.

A bulk write (a file of many thousand records) into a database no other connection
has open is journalled with a rollback journal instead of the WAL: every new page is
then written once, into the file, where the WAL writes it twice (into the log, then
at the checkpoint into the file): 555 MB at 20 times the reference scenario, a commit
of 1 s instead of 4. A rollback journal keeps the copies of the pages the write
changes, and the write syncs fully, so a crash or a power cut still leaves the records
as they were. Nobody can read beside such a write: it holds the file exclusively from
its start (a reader let in while it only reserved the file would keep its commit
waiting), so another Clearfield process that opens the database meanwhile waits 10 s,
then says it is busy with a bulk import, and other programs wait as they are set to. A
store opened ``serving`` (the API server, whose requests read while it writes) keeps
the WAL, as does any write while another connection has the file open. A bulk write
through the rollback journal also checks its references once, whole, before it commits
(``PRAGMA foreign_key_check``; a broken one refuses the write) instead of row by row.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path
from typing import Any

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine

from clearfield.errors import StoreError
from clearfield.store.sql import MIGRATIONS, SQLStore, _alembic_config, migrate

__all__ = ["MIGRATIONS", "SQLiteStore", "migrate", "schema_revisions"]


# Python's sqlite3 binds a str, int or float at once, but for anything else (None, bytes)
# it first looks for an adapter: in its registry, then by asking the value and the
# protocol (``__conform__``, ``__adapt__``: an AttributeError raised and cleared each
# time). A bulk load binds millions of NULLs and WKB blobs, and that search cost more
# than the binding (300 and 490 ns a value against 30 for an int), on the inserting
# thread that holds the interpreter lock meanwhile. Registered, they are found at once
# and bind as before: None as NULL, bytes as a BLOB (``bytes(b)`` is ``b``). This holds
# for every SQLite connection of the process, which is what we want. Both adapters are
# built-in callables (an empty mapping's ``get`` gives None for None): a function of
# ours would run in the interpreter, which hands the lock to the thread that asked for
# it at every call, so a statement's binding would stop for the other thread's turn
# at each NULL.
sqlite3.register_adapter(type(None), {}.get)  # type: ignore[arg-type]  # (gives None)
sqlite3.register_adapter(bytes, bytes)


def schema_revisions(url: str) -> tuple[str | None, str]:
    """(the database's schema revision, the newest this Clearfield knows), without
    changing anything; (None, newest) for a file that does not exist yet."""
    path = Path(url.removeprefix("sqlite:///"))
    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            cfg = _alembic_config(conn)
            head = ScriptDirectory.from_config(cfg).get_current_head() or ""
            if not path.exists():
                return None, head
            return MigrationContext.configure(conn).get_current_revision(), head
    finally:
        engine.dispose()


class SQLiteStore(SQLStore):
    """The embedded store. ``SQLiteStore.open("sqlite:///clearfield.db")`` creates or opens one."""

    def __init__(self, path: Path, engine: Engine, url: str, serving: bool = False):
        super().__init__(engine, url)
        self.path = path
        self.serving = serving

    @classmethod
    def open(cls, url: str, *, create: bool = True, serving: bool = False) -> SQLiteStore:
        """``serving``: other threads read while this store writes (the API server), so
        bulk writes keep the WAL (see the module's docstring)."""
        if not url.startswith("sqlite:///"):
            raise StoreError(f"not an SQLite URL: {url!r} (expected sqlite:///path)")
        path = Path(url.removeprefix("sqlite:///"))
        if not create and not path.exists():
            raise StoreError(
                f"no database at {path}; create one with `clearfield scenario` "
                "or `clearfield import`"
            )
        if path.parent and not path.parent.exists():
            raise StoreError(f"folder {path.parent} does not exist")
        # a server's request threads (up to 40) each hold a connection: keep them open
        # rather than opening and configuring one per request
        engine = create_engine(f"sqlite:///{path}", pool_size=16, max_overflow=32)
        event.listen(engine, "connect", _on_connect)
        event.listen(engine, "begin", _on_begin)
        migrate(engine)
        return cls(path, engine, url, serving)

    def close(self) -> None:
        """Close every connection; the last one to close checkpoints the WAL into the file."""
        self.engine.dispose()

    def _prepare_write(self, conn: Connection, bulk: bool) -> None:
        dbapi_conn: Any = conn.connection.driver_connection
        journal = bulk and not self.serving and _leave_wal(dbapi_conn)
        conn.info["rollback_journal"] = journal
        conn.info["begin"] = "BEGIN EXCLUSIVE" if journal else "BEGIN IMMEDIATE"  # see _on_begin
        if journal:
            # a bulk write alone in the database checks its references once, whole, before
            # it commits (_bulk_written), not row by row: half a million versions' lookups
            # of their record and parent took the inserting thread 1.3 s, the whole
            # database's check 0.15 s
            dbapi_conn.execute("PRAGMA foreign_keys = OFF")

    def _write_ended(self, conn: Connection) -> None:
        conn.info.pop("begin", None)
        if conn.info.pop("rollback_journal", False):
            dbapi_conn: Any = conn.connection.driver_connection
            if dbapi_conn.in_transaction:  # a commit that failed leaves it open
                with contextlib.suppress(sqlite3.Error):
                    dbapi_conn.execute("ROLLBACK")
            dbapi_conn.execute("PRAGMA foreign_keys = ON")
            if not _back_to_wal(dbapi_conn):
                conn.invalidate()  # the pool must not hand out a connection out of WAL

    def _bulk_write(self, conn: Connection) -> None:
        # hundreds of MB of table, index and R*Tree pages in one transaction: a page
        # cache that holds them saves spilling and re-reading
        conn.exec_driver_sql("PRAGMA cache_size = -262144")

    def _bulk_written(self, conn: Connection) -> None:
        if not conn.info.get("rollback_journal"):
            return  # (the references were checked as the rows went in)
        broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchmany(5)
        if broken:  # (raised inside the transaction, which is rolled back)
            found = "; ".join(
                f"{t} row {r} names a {p} row that is not there" for t, r, p, _ in broken
            )
            raise StoreError(
                f"the database refused the change and nothing was written (its references: {found})",
                code="CONFLICT",
            )


def _leave_wal(dbapi_conn: sqlite3.Connection) -> bool:
    """Journal the next transaction with a rollback journal if no other connection has
    the database open (SQLite refuses to leave the WAL otherwise); True if it did."""
    dbapi_conn.execute("PRAGMA busy_timeout = 0")
    try:
        left = dbapi_conn.execute("PRAGMA journal_mode = DELETE").fetchone()[0] == "delete"
    except sqlite3.OperationalError:  # "database is locked": someone else has it open
        return False
    finally:
        dbapi_conn.execute(f"PRAGMA busy_timeout = {_BUSY_MS}")
    if left:  # a rollback journal survives a power cut only with every sync done
        dbapi_conn.execute("PRAGMA synchronous = FULL")
    return left


def _back_to_wal(dbapi_conn: sqlite3.Connection) -> bool:
    """Back to the WAL after :func:`_leave_wal`'s transaction; False if it could not be
    (another connection opened meanwhile has the lock: it sets the WAL itself)."""
    try:
        mode = dbapi_conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    except sqlite3.OperationalError:
        return False
    dbapi_conn.execute("PRAGMA synchronous = NORMAL")
    return bool(mode == "wal")


_BUSY_MS = 10_000  # how long a connection waits for another's lock
PAGE_SIZE = 16_384  # bytes, of the pages of a database created here


def _on_begin(conn: Connection) -> None:
    conn.exec_driver_sql(conn.info.pop("begin", "BEGIN"))


def _on_connect(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # SQLAlchemy's "begin" event issues BEGIN IMMEDIATE
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout = {_BUSY_MS}")
    # a new database's pages (an existing one keeps its own): a record version is near
    # 1 KB, four to a page of SQLite's default 4 KiB, and pages of 16 KiB split less
    # often (a first load of 20 times the reference scenario wrote in 10.2-10.3 s, not
    # 11.0-11.5)
    cur.execute(f"PRAGMA page_size = {PAGE_SIZE}")
    try:
        cur.execute("PRAGMA journal_mode = WAL")
    except sqlite3.OperationalError as exc:
        cur.close()
        code = getattr(exc, "sqlite_errorcode", 0) & 0xFF  # (the primary code)
        if code not in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):  # a read-only file, ...
            raise
        raise StoreError(
            f"the database is busy ({exc}): another process is writing a bulk import into "
            "it; try again when that has finished"
        ) from None
    for pragma in (
        "foreign_keys = ON",
        "synchronous = NORMAL",
        "cache_size = -65536",  # 64 MiB per connection; a bulk write raises its own
        "temp_store = MEMORY",
    ):
        cur.execute(f"PRAGMA {pragma}")
    cur.close()

"""The embedded store: one SQLite file, WAL, foreign keys on, an R*Tree of bounding boxes.

SQLite here cannot load SpatiaLite, so geometries are WKB blobs, the R*Tree
(``record_bbox``) gives bounding-box candidates and Shapely decides exact predicates.
Every write is one ``BEGIN IMMEDIATE`` transaction, so two writers queue instead of
deadlocking. What it does is :class:`~clearfield.store.sql.SQLStore`'s.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine

from clearfield.errors import StoreError
from clearfield.store.sql import MIGRATIONS, SQLStore, _alembic_config, migrate

__all__ = ["MIGRATIONS", "SQLiteStore", "migrate", "schema_revisions"]


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

    def __init__(self, path: Path, engine: Engine, url: str):
        super().__init__(engine, url)
        self.path = path

    @classmethod
    def open(cls, url: str, *, create: bool = True) -> SQLiteStore:
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
        return cls(path, engine, url)

    def close(self) -> None:
        """Close every connection; the last one to close checkpoints the WAL into the file."""
        self.engine.dispose()

    def _prepare_write(self, conn: Connection) -> None:
        conn.info["immediate"] = True  # see _on_begin

    def _bulk_write(self, conn: Connection) -> None:
        # hundreds of MB of table, index and R*Tree pages in one transaction: a page
        # cache that holds them saves spilling and re-reading
        conn.exec_driver_sql("PRAGMA cache_size = -262144")


def _on_begin(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.info.pop("immediate", False) else "BEGIN")


def _on_connect(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # SQLAlchemy's "begin" event issues BEGIN IMMEDIATE
    cur = dbapi_conn.cursor()
    for pragma in (
        "journal_mode = WAL",
        "foreign_keys = ON",
        "synchronous = NORMAL",
        "busy_timeout = 10000",
        "cache_size = -65536",  # 64 MiB per connection; a bulk write raises its own
        "temp_store = MEMORY",
    ):
        cur.execute(f"PRAGMA {pragma}")
    cur.close()

"""Batched statements on one connection: many rows at once, and temporary key tables.

Joining on a temporary table of the keys at hand lets a query touch only those rows,
whatever the size of the programme; every store module uses these two instead of
writing the pattern again.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection

from clearfield.store.dialect import dialect_of

BATCH = 50_000


def executemany(conn: Connection, sql: str, rows: list[tuple[Any, ...]]) -> None:
    """executemany in batches; nothing at all for no rows (SQLAlchemy would run it once)."""
    for start in range(0, len(rows), BATCH):
        conn.exec_driver_sql(sql, rows[start : start + BATCH])


def temp_table(conn: Connection, name: str, columns: str, rows: list[tuple[Any, ...]]) -> None:
    """(Re)fill the connection's temporary table ``name`` (``columns`` is its DDL) with rows.

    On the driver's own cursor, in the caller's transaction: a server does this several
    times per submission, and the three statements cost more through SQLAlchemy than
    they take in SQLite.
    """
    cur = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS {name} ({columns})")
        cur.execute(f"DELETE FROM {name}")
        if rows:
            marks = ", ".join("?" * len(rows[0]))
            insert = f"INSERT INTO {name} VALUES ({marks}) ON CONFLICT DO NOTHING"
            cur.executemany(dialect_of(conn).placeholders(insert), rows)
    finally:
        cur.close()

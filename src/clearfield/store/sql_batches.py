"""Batched statements on one connection: many rows at once, and temporary key tables.

Joining on a temporary table of the keys at hand lets a query touch only those rows,
whatever the size of the programme; every store module uses these two instead of
writing the pattern again.
"""

from __future__ import annotations

import sqlite3
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from functools import lru_cache
from itertools import chain
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from clearfield.errors import StoreError
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


class Inserts:
    """Rows inserted on a thread of their own while the caller goes on building the next
    rows (made by :func:`inserting`; the caller leaves the connection alone meanwhile).

    On SQLite, many rows go in one statement (``VALUES (…), (…), …``), which runs whole
    without the interpreter lock: inserted row by row, the thread would wait for the
    lock after every row while the caller holds it, and hardly overlap its work at all.
    After a failure nothing more runs (SQLite may have rolled the transaction back, and
    what came after would commit on its own). Other stores insert in the caller's thread.
    """

    def __init__(self, conn: Connection, pool: ThreadPoolExecutor | None) -> None:
        self._conn, self._pool = conn, pool
        self._futures: deque[Future[None]] = deque()
        self._added = self._waited = 0
        self._failed: BaseException | None = None
        self._driver: Any = None
        self._params = 999  # SQLite's smallest limit of parameters in one statement
        if pool is not None:
            self._driver = conn.connection.driver_connection
            self._params = self._driver.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)

    def add(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        """Insert ``rows`` into ``table``'s ``columns``, after what was added before; a
        failure is raised at the latest when the block ends."""
        if not rows:
            return
        if self._pool is None:
            marks = ", ".join("?" * len(columns))
            executemany(self._conn, f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)  # fmt: skip
            return
        self.add_values(table, columns, list(chain.from_iterable(rows)))

    def add_values(self, table: str, columns: Sequence[str], values: list[Any]) -> None:
        """As :meth:`add`, the rows' values given one after the other in one list
        (``len(columns)`` each): a bulk write builds them so, and each statement binds a
        slice of it, where rows of tuples would first be joined into one sequence again."""
        width = len(columns)
        _check_width(values, width)
        if not values:
            return
        if self._pool is None:
            self.add(table, columns, [tuple(values[i : i + width]) for i in range(0, len(values), width)])  # fmt: skip
            return
        self._queue(_values_template(table, tuple(columns)), width, values, ())

    @property
    def threaded(self) -> bool:
        """Whether the rows go in on a thread of their own, many to a statement (SQLite)."""
        return self._pool is not None

    def add_joined(
        self, template: str, width: int, values: list[Any], fixed: Sequence[Any]
    ) -> None:
        """Run ``template``, an INSERT whose rows come from ``VALUES {rows}`` (filled in
        with rows of ``width`` parameters, taken from ``values`` one after the other) and
        the tables it joins them to, once per slice of the rows, after what was added
        before; each binds ``fixed`` first (the template's ``?1``, ``?2``, ... before
        ``{rows}``). Only :attr:`threaded`: the rows of a bulk write that SQLite takes
        from rows already written instead of binding them again."""
        if self._pool is None:
            raise RuntimeError("joined inserts are for a threaded bulk write")
        _check_width(values, width)
        self._queue(template, width, values, fixed)

    def _queue(self, template: str, width: int, values: list[Any], fixed: Sequence[Any]) -> None:
        """Queue ``template`` (see :func:`_many_rows`) for the rows of ``values``, as many
        to a statement as SQLite's limit of parameters and ``_ROWS_PER_STATEMENT`` let,
        each statement binding ``fixed`` and then a slice of ``values``."""
        step = max(1, min((self._params - len(fixed)) // width, _ROWS_PER_STATEMENT)) * width
        for start in range(0, len(values), step):
            rows = values[start : start + step]
            params = [*fixed, *rows] if fixed else rows
            sql = _many_rows(template, width, len(rows) // width)
            self._futures.append(self._pool.submit(self._execute, sql, params))  # type: ignore[union-attr]
            self._added += 1

    def run(self, sql: str) -> None:
        """Run one statement without parameters after what was added before."""
        if self._pool is None:
            self._conn.exec_driver_sql(sql)
            return
        self._futures.append(self._pool.submit(self._execute, sql, ()))
        self._added += 1

    @property
    def added(self) -> int:
        """How many statements were added so far (a mark for :meth:`wait`)."""
        return self._added

    def wait(self, through: int | None = None) -> None:
        """Until the statements added before mark ``through`` (all, by default) have run;
        the first failure is raised."""
        end = self._added if through is None else through
        while self._waited < end and self._futures:
            future = self._futures.popleft()
            self._waited += 1
            future.result()

    def _execute(self, sql: str, params: Sequence[Any]) -> None:
        if self._failed is not None:
            return  # (the failure is raised by wait)
        try:
            if not self._driver.in_transaction:  # SQLite rolled it back (a full disk, …)
                raise StoreError("the write transaction ended before its rows were all written")
            cur = self._driver.cursor()
            try:
                cur.execute(sql, params)
            finally:
                cur.close()
        except sqlite3.Error as exc:  # as SQLAlchemy would have raised it, for the store
            self._failed = DBAPIError.instance(sql[:200], None, exc, sqlite3.Error)
            raise self._failed from exc
        except BaseException as exc:
            self._failed = exc
            raise


_ROWS_PER_STATEMENT = 10_000


def _check_width(values: list[Any], width: int) -> None:
    if len(values) % width:
        raise ValueError(f"{len(values)} values do not make rows of {width} columns")


@lru_cache(maxsize=64)
def _values_template(table: str, columns: tuple[str, ...]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES {{rows}}"


@lru_cache(maxsize=64)
def _many_rows(template: str, width: int, n: int) -> str:
    """``template`` with ``n`` rows of ``width`` parameters in place of ``{rows}`` (the
    same text object each time: the driver's statement cache finds it by hash)."""
    one = f"({', '.join('?' * width)})"
    return template.replace("{rows}", ", ".join([one] * n))


@contextmanager
def inserting(conn: Connection, *, bulk: bool = True) -> Iterator[Inserts]:
    """A block whose inserts have all run when it ends (after a failure in the block, the
    ones not yet started are dropped and the running one is waited for). Not ``bulk``
    (a few rows): in the caller's thread, which costs less than starting one."""
    if not bulk or dialect_of(conn).name != "sqlite":
        yield Inserts(conn, None)
        return
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="clearfield-inserts")
    inserts = Inserts(conn, pool)
    try:
        yield inserts
        inserts.wait()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)

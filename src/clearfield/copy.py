"""Move a whole programme between stores: SQLite to PostGIS and back.

Everything goes: records with every version, the box index, quality flags, accounts,
the audit trail (its keys kept, so its order is the same), users, remembered
submissions, plan runs and the server's signing key. The target must hold no
programme yet; the copy is one transaction there, so a failed copy leaves it empty.
At the end each table is counted and checksummed on both sides, and any difference
is an error.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from clearfield.errors import StoreError
from clearfield.store.base import Store
from clearfield.store.sql import PROGRAMME_TABLES

__all__ = ["TABLES", "TableCheck", "copy_programme", "table_checks"]

TABLES = PROGRAMME_TABLES
"""In the order they are filled (a row's references come before it)."""
_GENERATED = {"geom"}  # PostGIS's geometry column, made from the WKB by the database
_IDENTITY = {"audit_event": "pk", "quality_flag": "pk", "plan_run": "id", "field_submission": "pk"}
_CHUNK = 20_000

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True, slots=True)
class TableCheck:
    table: str
    rows: int
    sha256: str


def copy_programme(source: Store, target: Store, progress: Progress | None = None) -> list[TableCheck]:  # fmt: skip
    """Copy everything from ``source`` into the empty ``target``; return the checks
    both sides agree on. Raises :class:`StoreError` when the target holds a programme
    or when a table differs after the copy (the copy is then rolled back)."""
    held = [t for t in TABLES if t != "programme" and target.count(f"SELECT COUNT(*) FROM {t}")]  # type: ignore[attr-defined]  # fmt: skip
    if held:
        raise StoreError(
            f"the target is not empty ({', '.join(held)} hold rows); copy into a new database",
            record="copy",
        )
    counts = {t: int(source.count(f"SELECT COUNT(*) FROM {t}")) for t in TABLES}  # type: ignore[attr-defined]
    src_engine, dst_engine = source.engine, target.engine  # type: ignore[attr-defined]
    columns = _shared_columns(src_engine, dst_engine)
    expected = table_checks(source)
    with target._writing() as dst, src_engine.connect() as src:  # type: ignore[attr-defined]
        dst.exec_driver_sql("DELETE FROM programme")  # (empty of records; no settings either)
        for table in TABLES:
            cols = columns[table]
            select = f"SELECT {', '.join(cols)} FROM {table}"
            insert = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"  # fmt: skip
            result = src.exec_driver_sql(select)
            done = 0
            while rows := result.fetchmany(_CHUNK):
                dst.exec_driver_sql(insert, [tuple(r) for r in rows])
                done += len(rows)
                if progress is not None:
                    progress(f"copying {table}", done, counts[table])
            if progress is not None:
                progress(f"copying {table}", counts[table], counts[table])
        if dst_engine.dialect.name == "postgresql":  # identities continue after the copy
            for table, column in _IDENTITY.items():
                dst.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                    f"COALESCE((SELECT MAX({column}) FROM {table}), 0) + 1, false)"
                )
        got = _checks(dst, dst_engine)
        if got != expected:
            differ = [e.table for e, g in zip(expected, got, strict=True) if e != g]
            raise StoreError(
                f"the copy differs from the source in {', '.join(differ)}; nothing was kept",
                record="copy",
            )
    return expected


def table_checks(store: Store) -> list[TableCheck]:
    """Rows and an order-free checksum of every table of a programme, comparable across
    stores."""
    engine = store.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        return _checks(conn, engine)


def _checks(conn: Any, engine: Any) -> list[TableCheck]:
    """Per table: its rows and the sum of their sha256 (mod 2^256), which does not
    depend on the order rows come in (collations differ between databases)."""
    out = []
    for table in TABLES:
        cols = sorted(c for c in _columns(engine, table) if c not in _GENERATED)
        total = 0
        n = 0
        result = conn.exec_driver_sql(f"SELECT {', '.join(cols)} FROM {table}")
        while rows := result.fetchmany(_CHUNK):
            for row in rows:
                digest = hashlib.sha256(repr(tuple(_plain(v) for v in row)).encode()).digest()
                total = (total + int.from_bytes(digest, "big")) % (1 << 256)
            n += len(rows)
        out.append(TableCheck(table, n, f"{total:064x}"))
    return out


def _plain(value: Any) -> Any:
    """A value as both drivers give it back (bytes for blobs; floats as floats)."""
    if isinstance(value, memoryview):
        return bytes(value)
    return value


def _columns(engine: Any, table: str) -> list[str]:
    with engine.connect() as conn:  # (the inspector does not know PostGIS's types)
        return list(conn.exec_driver_sql(f"SELECT * FROM {table} WHERE 1 = 0").keys())


def _shared_columns(source: Any, target: Any) -> dict[str, list[str]]:
    out = {}
    for table in TABLES:
        src, dst = _columns(source, table), set(_columns(target, table))
        cols = [c for c in src if c in dst and c not in _GENERATED]
        missing = dst - set(cols) - _GENERATED
        if missing:
            raise StoreError(
                f"table {table}: the source has no {', '.join(sorted(missing))}; migrate it "
                "first (clearfield migrate)",
                record="copy",
            )
        out[table] = cols
    return out

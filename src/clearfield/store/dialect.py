"""What differs between the embedded store's SQL and the server store's.

Both stores run the same SQL, written with ``?`` placeholders in the subset SQLite and
PostgreSQL share (``ON CONFLICT DO NOTHING``, ``RETURNING``, ``CASE``); the few
phrases that differ come from here, chosen by the connection's own dialect name.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Dialect", "dialect_of"]


class Dialect:
    """SQLite's phrasing; :class:`_Postgres` overrides what PostgreSQL says otherwise."""

    name = "sqlite"
    ordered_join = "CROSS JOIN"  # SQLite keeps the written order for these: the first drives

    def placeholders(self, sql: str) -> str:
        """The statement with the driver's placeholders (for the driver's own cursor)."""
        return sql

    def json_text(self, column: str, key: str) -> str:
        """A top-level field of a JSON text column, as text."""
        return f"json_extract({column}, '$.{key}')"

    def json_number(self, column: str, key: str) -> str:
        """A top-level field of a JSON text column, as a number."""
        return f"json_extract({column}, '$.{key}')"


class _Postgres(Dialect):
    name = "postgresql"
    ordered_join = "JOIN"  # (no CROSS JOIN ... ON here; the planner picks the order)

    def placeholders(self, sql: str) -> str:
        # psycopg's are %s, and a literal % is written %%
        return sql.replace("%", "%%").replace("?", "%s")

    def json_text(self, column: str, key: str) -> str:
        return f"({column}::json ->> '{key}')"

    def json_number(self, column: str, key: str) -> str:
        return f"({column}::json ->> '{key}')::double precision"


_DIALECTS = {d.name: d for d in (Dialect(), _Postgres())}


def dialect_of(connectable: Any) -> Dialect:
    """The dialect of an SQLAlchemy engine or connection."""
    return _DIALECTS[connectable.dialect.name]

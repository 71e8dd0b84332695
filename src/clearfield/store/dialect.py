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

    def box_in(self, alias: str, bbox: tuple[float, float, float, float]) -> tuple[str, tuple[float, ...]]:  # fmt: skip
        """(condition, parameters): the ``record_bbox`` row ``alias`` touches ``bbox``
        (west, south, east, north)."""
        w, s, e, n = bbox
        return (
            f"{alias}.maxx >= ? AND {alias}.minx <= ? AND {alias}.maxy >= ? AND {alias}.miny <= ?",
            (w, e, s, n),
        )

    def boxes_touch(self, a: str, b: str) -> str:
        """Condition: the boxes of rows ``a`` and ``b`` (minx, miny, maxx, maxy) touch."""
        return (
            f"{a}.maxx >= {b}.minx AND {a}.minx <= {b}.maxx "
            f"AND {a}.maxy >= {b}.miny AND {a}.miny <= {b}.maxy"
        )

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

    # boxes as PostgreSQL boxes, which the GiST index on record_bbox answers
    def box_in(self, alias: str, bbox: tuple[float, float, float, float]) -> tuple[str, tuple[float, ...]]:  # fmt: skip
        return f"{_box(alias)} && box(point(?, ?), point(?, ?))", tuple(bbox)

    def boxes_touch(self, a: str, b: str) -> str:
        return f"{_box(a)} && {_box(b)}"

    def json_text(self, column: str, key: str) -> str:
        return f"({column}::json ->> '{key}')"

    def json_number(self, column: str, key: str) -> str:
        return f"({column}::json ->> '{key}')::double precision"


def _box(alias: str) -> str:
    """The expression record_bbox's GiST index is built on (it must match it exactly)."""
    return f"box(point({alias}.minx, {alias}.miny), point({alias}.maxx, {alias}.maxy))"


_DIALECTS = {d.name: d for d in (Dialect(), _Postgres())}


def dialect_of(connectable: Any) -> Dialect:
    """The dialect of an SQLAlchemy engine or connection."""
    return _DIALECTS[connectable.dialect.name]

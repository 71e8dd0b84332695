"""The embedded store's map tile query: what a vector tile of one record type needs.

A mixin of :class:`~clearfield.store.sqlite.SQLiteStore`; it only reads. One SQL
query per tile: the R*Tree gives the current versions whose bounding box touches the
tile, and the row carries everything the tile draws, so that rendering a tile costs
one index probe and no further look-ups.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine

__all__ = ["TILE_COLUMNS", "TileQueries"]

TILE_COLUMNS = (
    "id",
    "review_status",
    "kind",
    "organisation",
    "geometry",
    "remaining_m2",
    "damage",
)
"""The columns of :meth:`TileQueries.tile_rows`' tuples, in order."""

_TILE_ROWS = (
    "SELECT e.record_id, v.review_status, v.kind, v.organisation, v.geometry, "
    "a.remaining_m2, json_extract(v.properties, '$.damage') "
    "FROM record_bbox b "  # CROSS JOIN: SQLite keeps this order, so the R*Tree drives
    "CROSS JOIN record_version v ON v.pk = b.pk AND v.is_current = 1 "
    "JOIN entity e ON e.pk = v.entity_pk AND e.record_type = ? "
    "LEFT JOIN hazard_account a ON a.entity_pk = v.entity_pk "
    "WHERE b.maxx >= ? AND b.minx <= ? AND b.maxy >= ? AND b.miny <= ? "
    "AND (b.maxx - b.minx >= ? OR b.maxy - b.miny >= ?) "
    "AND v.geometry IS NOT NULL "
    "ORDER BY e.pk"
)


class TileQueries:
    """Rows for map tiles (``GET /api/tiles/...``)."""

    engine: Engine

    def tile_rows(
        self,
        record_type: str,
        bbox: tuple[float, float, float, float],
        min_size: tuple[float, float] = (0.0, 0.0),
    ) -> list[tuple[Any, ...]]:
        """Current versions of ``record_type`` whose R*Tree box touches ``bbox``
        (minx, miny, maxx, maxy in EPSG:4326), as tuples of :data:`TILE_COLUMNS`:

        ``(id, review_status, kind, organisation, geometry WKB, remaining_m2, damage)``

        ``kind`` is a hazard's status (SHA/CHA) or an asset's kind; ``remaining_m2`` is the
        hazard's land release account (of its counted version; None for a hazard with no
        approved version and for other types); ``damage`` is an asset's damage level
        (None for other types). The boxes are candidates: a geometry may miss ``bbox``
        although its box touches it, and the caller clips.

        ``min_size`` (degrees of longitude, of latitude) leaves out records whose box is
        smaller than that both ways, before their geometries are read: a tile at low zoom
        asks for what is at least a pixel wide or high.
        """
        minx, miny, maxx, maxy = bbox
        with self.engine.connect() as conn:
            rows = conn.exec_driver_sql(
                _TILE_ROWS, (record_type, minx, maxx, miny, maxy, *min_size)
            )
            return [tuple(r) for r in rows]

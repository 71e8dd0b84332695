"""The stores' map tile query: what a vector tile of one record type needs.

A mixin of :class:`~clearfield.store.sql.SQLStore`; it only reads. One SQL query
per tile: the box index (SQLite's R*Tree, PostgreSQL's GiST) gives the current
versions whose bounding box touches the tile (or, when the type has fewer records
than the tile has boxes of every type, the type's records are walked and their boxes
checked), and the row carries everything the tile draws, so that rendering a tile
costs no further look-ups.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from sqlalchemy.engine import Engine

from clearfield.store.dialect import Dialect, dialect_of

__all__ = ["TILE_COLUMNS", "TileQueries"]

TILE_COLUMNS = (
    "id",
    "review_status",
    "kind",
    "organisation",
    "geometry",
    "remaining_m2",
    "damage",
    "centre_x",
    "centre_y",
)
"""The columns of :meth:`TileQueries.tile_rows`' tuples, in order."""


def _sql(record_type: str, drive: str, version: str, dialect: Dialect) -> str:
    """The tile query for a type, driven by the R*Tree (``rtree``) or by the type's
    records (``type``), of the ``is_current`` or ``is_counted`` versions. An ordered join:
    SQLite keeps the order written, so the first table drives. Only hazards have an
    account, only assets a damage level."""
    hazard = record_type == "hazard"
    remaining = "a.remaining_m2" if hazard else "NULL"
    damage = dialect.json_text("v.properties", "damage") if record_type == "asset" else "NULL"
    columns = (
        "SELECT e.record_id, v.review_status, v.kind, v.organisation, "
        "CASE WHEN b.maxx - b.minx >= ? OR b.maxy - b.miny >= ? THEN v.geometry END, "
        f"{remaining}, {damage}, (b.minx + b.maxx) / 2, (b.miny + b.maxy) / 2 "
    )
    if drive == "rtree":
        tables = (
            "FROM record_bbox b "
            f"{dialect.ordered_join} record_version v ON v.pk = b.pk AND v.{version} = 1 "
            "JOIN entity e ON e.pk = v.entity_pk AND e.record_type = ? "
        )
    else:
        tables = (
            "FROM entity e "
            f"{dialect.ordered_join} record_version v ON v.entity_pk = e.pk AND v.{version} = 1 "
            f"{dialect.ordered_join} record_bbox b ON b.pk = v.pk AND e.record_type = ? "
        )
    return dialect.placeholders(
        columns
        + tables
        + ("LEFT JOIN hazard_account a ON a.entity_pk = v.entity_pk " if hazard else "")
        + f"WHERE {dialect.box_in('b', (0, 0, 0, 0))[0]} "
        "AND v.geometry IS NOT NULL ORDER BY e.pk"
    )


class TileQueries:
    """Rows for map tiles (``GET /api/tiles/...``)."""

    engine: Engine
    extent_sample: Callable[..., list[tuple[float, float]]]
    count: Callable[..., Any]
    query: Callable[..., Any]

    def tile_rows(
        self,
        record_type: str,
        bbox: tuple[float, float, float, float],
        min_size: tuple[float, float] = (0.0, 0.0),
        *,
        counted: bool = False,
    ) -> list[tuple[Any, ...]]:
        """Current versions (with ``counted``: the approved versions that count) of
        ``record_type`` whose R*Tree box touches ``bbox``
        (minx, miny, maxx, maxy in EPSG:4326), as tuples of :data:`TILE_COLUMNS`:

        ``(id, review_status, kind, organisation, geometry WKB, remaining_m2, damage,
        centre_x, centre_y)``

        ``kind`` is a hazard's status (SHA/CHA) or an asset's kind; ``remaining_m2`` is the
        hazard's land release account (of its counted version; None for a hazard with no
        approved version and for other types); ``damage`` is an asset's damage level
        (None for other types); the centre is that of the record's box. The boxes are
        candidates: a geometry may miss ``bbox`` although its box touches it, and the
        caller clips.

        ``min_size`` (degrees of longitude, of latitude): a record whose box is smaller
        than that both ways comes without its geometry (None), which is then never read:
        a tile at low zoom draws what is under a pixel as a dot at its box's centre.
        """
        drive = "rtree" if self._rtree_is_shorter(record_type, bbox) else "type"
        version = "is_counted" if counted else "is_current"
        dialect = dialect_of(self.engine)
        sql = _sql(record_type, drive, version, dialect)
        _, box_args = dialect.box_in("b", bbox)
        with self.engine.connect() as conn:
            # the driver's own cursor: tens of thousands of rows at low zoom, as tuples
            cur = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            try:
                cur.execute(sql, (*min_size, record_type, *box_args))
                return cur.fetchall()
            finally:
                cur.close()

    def _rtree_is_shorter(self, record_type: str, bbox: tuple[float, float, float, float]) -> bool:
        """Whether to find the tile's records through the R*Tree or by their type.

        The R*Tree visits every box in ``bbox``, of every type: at low zoom that is most
        of the programme, a hundred thousand activities to find a few thousand assets. A
        walk of the type visits each record of the type once. Estimate the first from
        the programme's sampled extent (its boxes, evenly picked) and take the shorter.
        """
        sample = self.extent_sample()
        total, counts = self.box_counts()
        if not sample or not total:
            return True
        xy = np.asarray(sample)
        inside = np.count_nonzero(
            (xy[:, 0] >= bbox[0])
            & (xy[:, 0] <= bbox[2])
            & (xy[:, 1] >= bbox[1])
            & (xy[:, 1] <= bbox[3])
        )
        return total * inside / len(xy) <= counts.get(record_type, 0)

    def box_counts(self) -> tuple[int, dict[str, int]]:
        """(boxes in the R*Tree, records per type), kept until the versions grow by a tenth
        (like the extent sample: the proportions of a programme move slowly)."""
        versions = int(self.count("SELECT COALESCE(MAX(pk), 0) FROM record_version"))
        cached = getattr(self, "_box_counts_cache", None)
        if cached is not None and cached[0] <= versions <= cached[0] * 1.1:
            return cached[1], cached[2]
        total = int(self.count("SELECT COUNT(*) FROM record_bbox"))
        counts = dict(self.query("SELECT record_type, COUNT(*) FROM entity GROUP BY record_type"))
        self._box_counts_cache = (versions, total, counts)
        return total, counts

"""Land release accounts computed inside PostGIS: one statement, no geometry leaves the server.

The same accounting as :mod:`clearfield.domain.accounting` (see its module doc), said
in SQL: each approved release clipped to its hazard; where releases overlap, a square
metre counts once, under the first release (end date, then id, in code-point order as
Python sorts); the part outside the hazard is flagged past the same tolerance and not
counted; remaining = hazard minus what was released. Areas are PostGIS's ellipsoidal
``ST_Area(geography)``, which agrees with the domain's equal-area plane within 2e-5 of
a hazard's area (the two stores are held to 0.01% by the tests).

Only releases whose interiors meet an earlier release of the same hazard pay for a
union and a difference; the others count their clipped area whole.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection

from clearfield.domain.accounting import OUTSIDE_TOLERANCE_M2
from clearfield.domain.enums import ActivityKind

__all__ = ["refresh_in_postgis"]

_CATEGORY = " ".join(f"WHEN '{k.value}' THEN '{k.release.value}'" for k in ActivityKind)

# The hazards to redo are in the temporary table ``refresh``; their old accounts are gone.
# No step joins two derived row sets: a derived set has no statistics, and a planner
# that guesses one row for it nests loops over every pair (minutes at 10 000 releases).
# Each release carries instead the clipped polygons of its hazard's earlier releases, in
# an array made by a window over its hazard.
_REFRESH = f"""
WITH pair AS MATERIALIZED (  -- each counted release with its hazard's polygon
    SELECT v.entity_pk AS activity_pk, v.parent_pk AS hazard_pk, v.kind, v.info_date,
        v.organisation, e.record_id, v.geom AS whole, h.geom AS hazard,
        ST_CoveredBy(v.geom, h.geom) AS inside
    FROM record_version v
    JOIN entity e ON e.pk = v.entity_pk
    JOIN record_version h ON h.entity_pk = v.parent_pk AND h.is_counted = 1
    WHERE e.record_type = 'activity' AND v.is_counted = 1
      AND v.parent_pk IN (SELECT pk FROM refresh)
), clip AS MATERIALIZED (  -- clipped to its hazard
    SELECT activity_pk, hazard_pk, kind, info_date, organisation, record_id,
        ST_Area(whole::geography) AS whole_m2, inside,
        CASE WHEN inside THEN whole
             ELSE ST_CollectionExtract(ST_Intersection(whole, hazard), 3) END AS geom
    FROM pair
), ordered AS (
    SELECT clip.*,
        CASE WHEN inside THEN whole_m2 ELSE ST_Area(geom::geography) END AS clip_m2,
        array_agg(geom) OVER (PARTITION BY hazard_pk ORDER BY info_date, record_id COLLATE "C"
                              ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS earlier
    FROM clip
), met AS MATERIALIZED (  -- the union of the earlier releases whose interiors this one's meets
    SELECT activity_pk, hazard_pk, kind, info_date, organisation, whole_m2, clip_m2, geom,
        (SELECT ST_Union(g) FROM unnest(earlier) AS g
         WHERE g && ordered.geom AND ST_Relate(g, ordered.geom, 'T********')) AS before
    FROM ordered
), released AS MATERIALIZED (
    SELECT activity_pk, hazard_pk,
        CASE kind {_CATEGORY} END AS category,
        CASE WHEN before IS NULL THEN clip_m2
             ELSE ST_Area(ST_Difference(geom, before)::geography) END AS released_m2,
        CASE WHEN whole_m2 - clip_m2 > {OUTSIDE_TOLERANCE_M2!r}
             THEN whole_m2 - clip_m2 ELSE 0.0 END AS outside_m2,
        info_date AS end_date, organisation
    FROM met
), kept AS (
    INSERT INTO release_account (activity_pk, hazard_pk, category, released_m2, outside_m2,
                                 end_date, organisation)
    SELECT activity_pk, hazard_pk, category, released_m2, outside_m2, end_date, organisation
    FROM released
), parts AS (  -- each hazard's own row, and one row per release of it
    SELECT v.entity_pk, v.pk AS version_pk, ST_Area(v.geom::geography) AS hazard_m2,
        0 AS activity_pk, NULL AS category, 0.0 AS released_m2, 0.0 AS outside_m2
    FROM record_version v
    WHERE v.is_counted = 1 AND v.entity_pk IN (SELECT pk FROM refresh)
    UNION ALL
    SELECT hazard_pk, NULL, NULL, activity_pk, category, released_m2, outside_m2 FROM released
)
INSERT INTO hazard_account (entity_pk, version_pk, hazard_m2, cancelled_m2, reduced_m2,
                            cleared_m2, remaining_m2, outside_m2)
SELECT entity_pk, MAX(version_pk), MAX(hazard_m2),  -- summed in one order: the same bits
    COALESCE(SUM(released_m2 ORDER BY activity_pk) FILTER (WHERE category = 'cancelled'), 0),
    COALESCE(SUM(released_m2 ORDER BY activity_pk) FILTER (WHERE category = 'reduced'), 0),
    COALESCE(SUM(released_m2 ORDER BY activity_pk) FILTER (WHERE category = 'cleared'), 0),
    GREATEST(0, MAX(hazard_m2) - SUM(released_m2 ORDER BY activity_pk)),
    SUM(outside_m2 ORDER BY activity_pk)
FROM parts
GROUP BY entity_pk
"""


def refresh_in_postgis(conn: Connection, progress: Any = None) -> None:
    """Account the hazards listed in the temporary table ``refresh`` (already emptied of
    their old accounts), in the caller's transaction."""
    conn.exec_driver_sql("SET LOCAL jit = off")  # compiling costs more than this query runs
    conn.exec_driver_sql(_REFRESH)
    if progress is not None:
        n = conn.exec_driver_sql("SELECT COUNT(*) FROM refresh").scalar() or 0
        progress(n, n)

"""Data quality checks that flag, never reject: what GICHD's geocheck runs on IMSMA NG data.

Each check takes plain geometries (EPSG:4326) and returns ``(index, code, message)``
for the records it flags, where ``index`` is the position in the list it was given.
The checks are vectorised with Shapely so a national database is checked in seconds.

>>> from shapely import box
>>> overlaps([box(30, 48, 30.01, 48.01), box(30.005, 48, 30.015, 48.01)], ["H1", "H2"])[0][1:]
('HAZARD_OVERLAP', 'overlaps hazard H2 by 50.0% of its area (more than 0.9%)')
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from clearfield.domain.geometry import GEOD, area_m2, to_equal_area

__all__ = [
    "LARGE_HAZARD_M2",
    "LONG_SEGMENT_M",
    "OVERLAP_SHARE",
    "Flag",
    "RecordChecks",
    "check_records",
    "duplicates",
    "large_hazards",
    "long_segments",
    "outside_parent",
    "overlaps",
    "swapped_coordinates",
]

Flag = tuple[int, str, str]

OVERLAP_SHARE = 0.009  # hazards overlapping by more than 0.9% of their area
LONG_SEGMENT_M = 5_000.0  # consecutive vertices more than 5 km apart
LARGE_HAZARD_M2 = 100e6  # a hazard over 100 km² is suspicious


def check_records(
    record_type: str,
    geoms: Sequence[BaseGeometry],
    ids: Sequence[str],
    *,
    polygonal: bool,
    near: Sequence[tuple[str, BaseGeometry]] = (),
    extent: Any = None,
    parents: Sequence[BaseGeometry | None] = (),
    parent_ids: Sequence[str] = (),
    normalised: Sequence[bytes | None] | None = None,
) -> tuple[Any, list[Flag]]:
    """Every check for records of one type: ``(areas in m², flags)``, areas None unless
    the type is ``polygonal`` (:class:`RecordChecks` given them in one part)."""
    checks = RecordChecks(record_type, polygonal=polygonal, near=near, extent=extent)
    checks.add(geoms, ids, parents=parents, parent_ids=parent_ids, normalised=normalised)
    return checks.result()


class RecordChecks:
    """Every check for the new records of one type, given in parts, in one place so that
    an import and a worker process checking a first load part by part, while the rest of
    the file is still being read, flag alike.

    ``near``: ``(id, geometry)`` of stored records of the type around these (duplicates,
    overlaps); ``extent``: box centres of stored records (swapped coordinates). Checks of
    one record (area, long segments, a release outside its hazard) and duplicates (the
    first of equal geometries is the original) run part by part; those that compare a
    record with all the others (overlapping hazards, the extent) in :meth:`result`.
    """

    def __init__(
        self,
        record_type: str,
        *,
        polygonal: bool,
        near: Sequence[tuple[str, BaseGeometry]] = (),
        extent: Any = None,
    ) -> None:
        self.record_type, self.polygonal = record_type, polygonal
        self._near, self._extent = near, extent
        # (teams share a base town and finds a site: only areas should not repeat)
        self._seen = {normalised_wkb(g): rid for rid, g in near} if polygonal else {}
        self._ids: list[str] = []
        self._geoms: list[np.ndarray] = []
        self._planes: list[np.ndarray] = []
        self._areas: list[np.ndarray] = []
        self._centres: list[np.ndarray] = []
        self._flags: dict[str, list[Flag]] = {
            "duplicates": [],
            "long": [],
            "large": [],
            "outside": [],
        }

    def add(
        self,
        geoms: Sequence[BaseGeometry],
        ids: Sequence[str],
        *,
        parents: Sequence[BaseGeometry | None] = (),
        parent_ids: Sequence[str] = (),
        normalised: Sequence[bytes | None] | None = None,
        plane: Any = None,
        inside: Any = None,
    ) -> None:
        """Check the next records. For activities, ``parents`` and ``parent_ids``: each
        one's hazard (None when not known yet: :meth:`add_parents` checks it later).
        What the caller has already: ``normalised``, the geometries' normalised WKB;
        ``plane``, the geometries in the equal-area plane; ``inside``, whether each
        activity lies within its hazard (see :func:`outside_parent`)."""
        start = len(self._ids)
        arr = np.asarray(geoms, dtype=object)
        self._ids += ids
        self._geoms.append(arr)
        flags = self._flags
        if self.polygonal:
            plane = to_equal_area(arr) if plane is None else plane
            self._planes.append(plane)
            self._areas.append(shapely.area(plane))
            if normalised is None:
                normalised = shapely.to_wkb(shapely.normalize(arr))
            flags["duplicates"] += _shifted(_repeats(normalised, ids, self._seen), start)
        flags["long"] += _shifted(long_segments(arr), start)
        b = shapely.bounds(arr)
        self._centres.append(np.column_stack([(b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2]))
        if self.record_type == "hazard":
            flags["large"] += _shifted(large_hazards(arr, self._areas[-1]), start)
        if self.record_type == "activity" and len(parents):
            found = outside_parent(arr, parents, parent_ids, inside)
            flags["outside"] += _shifted(found, start)

    def add_parents(
        self,
        index: Sequence[int],
        parents: Sequence[BaseGeometry | None],
        parent_ids: Sequence[str],
        inside: Any = None,
    ) -> None:
        """Check activities added before their hazards were known (``index``: their
        positions among all added) against those hazards (``inside``: as for :meth:`add`)."""
        if not len(index):
            return
        geoms = np.concatenate(self._geoms)[np.asarray(index, dtype=np.int64)]
        found = outside_parent(geoms, parents, parent_ids, inside)
        self._flags["outside"] += [(int(index[i]), code, msg) for i, code, msg in found]

    @property
    def planes(self) -> Any:
        """The records' geometries in the equal-area plane (polygonal types), in order."""
        return _joined(self._planes)

    def result(self) -> tuple[Any, list[Flag]]:
        """``(areas in m², flags)`` of every record added, in the order they were added;
        areas None unless the type is ``polygonal``."""
        areas = _joined(self._areas).astype(np.float64) if self.polygonal else None
        flags = self._flags
        out = flags["duplicates"] + flags["long"]
        out += _swapped(_joined(self._centres).reshape(-1, 2), self._extent)
        if self.record_type == "hazard":
            out += flags["large"]
            near = self._near
            out += overlaps(
                _joined(self._geoms),
                self._ids,
                [g for _, g in near],
                [rid for rid, _ in near],
                plane=self.planes,
            )
        if self.record_type == "activity":
            out += sorted(flags["outside"])
        return areas, out


def _joined(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0, dtype=object)


def _shifted(flags: list[Flag], start: int) -> list[Flag]:
    return [(i + start, code, msg) for i, code, msg in flags] if start else flags


def duplicates(
    geoms: Sequence[BaseGeometry],
    ids: Sequence[str],
    others: dict[bytes, str],
    normalised: Sequence[bytes | None] | None = None,
) -> list[Flag]:
    """Flag a geometry equal (same normalised WKB) to an earlier one, in the list or in ``others``.

    ``others`` maps normalised WKB to the id of an already stored record of the same type;
    ``normalised``: the geometries' normalised WKB, when the caller has it already.
    """
    if normalised is None:
        normalised = shapely.to_wkb(shapely.normalize(np.asarray(geoms, dtype=object)))
    return _repeats(normalised, ids, dict(others))


def _repeats(
    normalised: Sequence[bytes | None], ids: Sequence[str], seen: dict[bytes, str]
) -> list[Flag]:
    """Flags of geometries already in ``seen`` (normalised WKB -> id), which learns the rest."""
    flags = []
    for i, wkb in enumerate(normalised):
        if wkb is None:
            continue
        if wkb in seen and seen[wkb] != ids[i]:
            flags.append((i, "DUPLICATE_GEOMETRY", f"has the same geometry as {seen[wkb]}"))
        else:
            seen.setdefault(wkb, ids[i])
    return flags


def normalised_wkb(geom: BaseGeometry) -> bytes:
    return shapely.to_wkb(shapely.normalize(geom))


def overlaps(
    geoms: Sequence[BaseGeometry],
    ids: Sequence[str],
    others: Sequence[BaseGeometry] = (),
    other_ids: Sequence[str] = (),
    plane: Any = None,
) -> list[Flag]:
    """Flag hazards overlapping another hazard (in the list or ``others``) by > 0.9% of
    their area; ``plane``: ``geoms`` in the equal-area plane, when the caller has them."""
    mine = to_equal_area(np.asarray(geoms, dtype=object)) if plane is None else plane
    pool = (
        np.concatenate([mine, to_equal_area(np.asarray(others, dtype=object))])
        if len(others)
        else mine
    )
    pool_ids = list(ids) + list(other_ids)
    tree = shapely.STRtree(pool)
    left, right = tree.query(mine, predicate="intersects")
    keep = [k for k in range(len(left)) if pool_ids[right[k]] != ids[left[k]]]
    if not keep:
        return []
    a, b = left[keep], right[keep]
    shared = shapely.area(shapely.intersection(mine[a], pool[b]))
    own = shapely.area(mine[a])
    flags: dict[int, Flag] = {}
    for i, j, s, o in zip(a, b, shared, own, strict=True):
        if o > 0 and s / o > OVERLAP_SHARE and int(i) not in flags:
            flags[int(i)] = (
                int(i),
                "HAZARD_OVERLAP",
                f"overlaps hazard {pool_ids[j]} by {100 * s / o:.1f}% of its area (more than 0.9%)",
            )
    return sorted(flags.values())


def long_segments(geoms: Sequence[BaseGeometry]) -> list[Flag]:
    """Flag geometries with consecutive vertices more than 5 km apart (geodesic)."""
    arr = np.asarray(geoms, dtype=object)
    kinds = shapely.get_type_id(arr)
    linear = np.isin(kinds, (1, 2, 5))  # LineString, LinearRing, MultiLineString
    polygonal = np.isin(kinds, (3, 6))
    lines = np.where(linear, arr, np.where(polygonal, shapely.boundary(arr), None))
    parts, owner = shapely.get_parts(lines, return_index=True)
    xy, line_of = shapely.get_coordinates(parts, return_index=True)
    if len(xy) < 2:
        return []
    same = line_of[1:] == line_of[:-1]
    # a flat-earth length first (within a few per cent here), the geodesic only where it
    # might exceed the limit
    dx = (xy[1:, 0] - xy[:-1, 0]) * np.cos(np.radians(xy[:-1, 1])) * 111_320.0
    dy = (xy[1:, 1] - xy[:-1, 1]) * 110_574.0
    rough = np.hypot(dx, dy)
    cand = np.nonzero(same & (rough > 0.8 * LONG_SEGMENT_M))[0]
    dist = np.zeros(len(xy) - 1)
    if len(cand):
        _, _, dist[cand] = GEOD.inv(xy[cand, 0], xy[cand, 1], xy[cand + 1, 0], xy[cand + 1, 1])
    longest: dict[int, float] = {}
    for k in np.nonzero(dist > LONG_SEGMENT_M)[0]:
        g = int(owner[line_of[k]])
        longest[g] = max(longest.get(g, 0.0), float(dist[k]))
    return [
        (g, "LONG_SEGMENT", f"has consecutive vertices {d / 1000:.1f} km apart (over 5 km)")
        for g, d in sorted(longest.items())
    ]


def large_hazards(
    geoms: Sequence[BaseGeometry], areas_m2: Sequence[float] | None = None
) -> list[Flag]:
    """Flag hazards over 100 km²: usually a district drawn instead of a minefield."""
    areas = area_m2(np.asarray(geoms, dtype=object)) if areas_m2 is None else np.asarray(areas_m2)
    return [
        (int(i), "LARGE_HAZARD", f"covers {areas[i] / 1e6:.1f} km² (over 100 km²)")
        for i in np.nonzero(areas > LARGE_HAZARD_M2)[0]
    ]


def outside_parent(
    geoms: Sequence[BaseGeometry],
    parents: Sequence[BaseGeometry | None],
    parent_ids: Sequence[str],
    inside: Any = None,
) -> list[Flag]:
    """Flag release polygons reaching more than 1 m² outside their hazard (they count only inside).

    ``inside``: whether each lies within its hazard, when the caller decided it already
    (in the equal-area plane, as the accounts do: a release that lies within there
    reaches nowhere near 1 m² outside); only the others are measured.
    """
    g = np.asarray(geoms, dtype=object)
    p = np.asarray(parents, dtype=object)
    known = ~shapely.is_missing(p)
    if inside is None:
        inside = np.zeros(len(g), dtype=bool)
        inside[known] = shapely.covered_by(g[known], p[known])
    check = np.nonzero(known & ~inside)[0]
    outside = area_m2(shapely.difference(g[check], p[check])) if len(check) else []
    return [
        (
            int(i),
            "RELEASE_OUTSIDE_HAZARD",
            f"reaches {out:,.0f} m² outside hazard {parent_ids[i]}; only the part inside counts",
        )
        for i, out in zip(check, outside, strict=True)
        if out > 1.0
    ]


def swapped_coordinates(geoms: Sequence[BaseGeometry], reference: Any = None) -> list[Flag]:
    """Flag geometries that lie far outside the programme's extent but would lie inside it
    with latitude and longitude swapped (a common slip with GPS exports and spreadsheets).

    The extent is taken from ``reference``, an (n, 2) array of lon/lat points of records
    already stored (or, with nothing stored, from the geometries themselves), trimmed to
    the 5th-95th percentiles so that a few stray records do not stretch it.
    """
    b = shapely.bounds(np.asarray(geoms, dtype=object))
    return _swapped(np.column_stack([(b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2]), reference)


def _swapped(own: np.ndarray, reference: Any) -> list[Flag]:
    """:func:`swapped_coordinates` of geometries given by their box centres ``own``."""
    ref = np.asarray(reference, dtype=float).reshape(-1, 2) if reference is not None else own[:0]
    pts = ref if len(ref) >= 5 else own  # what is stored, when there is enough of it
    if len(pts) < 5:
        return []
    lo = np.percentile(pts, 5, axis=0) - 0.5
    hi = np.percentile(pts, 95, axis=0) + 0.5
    x, y = own[:, 0], own[:, 1]
    inside = (lo[0] <= x) & (x <= hi[0]) & (lo[1] <= y) & (y <= hi[1])
    swapped = (lo[0] <= y) & (y <= hi[0]) & (lo[1] <= x) & (x <= hi[1])
    flags = []
    for i in np.nonzero(~inside & swapped)[0].tolist():
        flags.append(
            (
                i,
                "SWAPPED_COORDINATES",
                f"lies at lon {x[i]:.4f}, lat {y[i]:.4f}, outside the programme's extent; "
                "latitude and longitude are probably swapped",
            )
        )
    return flags

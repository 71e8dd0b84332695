"""Geometry rules: GeoJSON in EPSG:4326 in, valid Shapely geometries out, areas in m².

Areas are on the WGS84 ellipsoid. They are computed by projecting to EASE-Grid 2.0
(EPSG:6933), a projection that is equal-area *on the ellipsoid*, so the planar area
of the projected polygon is its ellipsoidal area; it agrees with pyproj's geodesic
polygon area to about 1e-6 for the polygons a programme records, and it lets whole
arrays of geometries be measured and overlaid at once, which the accounting needs.

>>> square, note = parse_geometry(
...     {"type": "Polygon", "coordinates": [[[30, 48], [30.01, 48], [30.01, 48.01], [30, 48.01], [30, 48]]]},
...     allowed=("Polygon",), record="hazard H1")
>>> round(float(area_m2(square)))
829682
>>> round(geodesic_area_m2(square))
829682
>>> parse_geometry({"type": "Polygon", "coordinates": [[[30, 48], [30.01, 48], [30, 48.01]]]},
...                allowed=("Polygon",), record="hazard H1")
Traceback (most recent call last):
...
clearfield.errors.RecordError: hazard H1 [geometry]: ring 1 of polygon 1 is not closed (first point [30, 48], last [30, 48.01])
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import shapely
from pyproj import Geod, Transformer
from shapely.geometry.base import BaseGeometry

from clearfield.domain.polygon_arrays import GeometryText
from clearfield.errors import RecordError

__all__ = [
    "EQUAL_AREA_CRS",
    "area_m2",
    "geodesic_area_m2",
    "local_metric",
    "longest_segment_m",
    "parse_geometry",
    "project",
    "to_equal_area",
]

EQUAL_AREA_CRS = "EPSG:6933"
GEOD = Geod(ellps="WGS84")


@lru_cache(maxsize=8)
def _transformer(source: str, target: str) -> Transformer:
    return Transformer.from_crs(source, target, always_xy=True)


def to_equal_area(geoms: Any) -> Any:
    """Project EPSG:4326 geometries (one or an array) to the equal-area plane (metres)."""
    return project(geoms, _transformer("EPSG:4326", EQUAL_AREA_CRS))


def area_m2(geoms: Any) -> Any:
    """Ellipsoidal area in m² of one EPSG:4326 geometry or an array of them."""
    return shapely.area(to_equal_area(geoms))


def geodesic_area_m2(geom: BaseGeometry) -> float:
    """Geodesic area (Karney's algorithm in pyproj) of one geometry; the reference for tests."""
    return abs(GEOD.geometry_area_perimeter(geom)[0])


def longest_segment_m(geom: BaseGeometry) -> float:
    """Longest geodesic distance between consecutive vertices, in metres."""
    longest = 0.0
    for part in _linear_parts(geom):
        xy = np.asarray(part.coords)
        if len(xy) < 2:
            continue
        _, _, dist = GEOD.inv(xy[:-1, 0], xy[:-1, 1], xy[1:, 0], xy[1:, 1])
        longest = max(longest, float(np.max(dist)))
    return longest


def _linear_parts(geom: BaseGeometry) -> list[BaseGeometry]:
    if geom.geom_type in ("Polygon",):
        return [geom.exterior, *geom.interiors]
    if geom.geom_type in ("LineString", "LinearRing"):
        return [geom]
    if geom.geom_type.startswith("Multi") or geom.geom_type == "GeometryCollection":
        return [ring for g in geom.geoms for ring in _linear_parts(g)]
    return []


def parse_geometry(
    data: Any,
    *,
    allowed: Sequence[str],
    record: str,
    required: bool = True,
    repair: bool = False,
) -> tuple[BaseGeometry | None, str | None]:
    """Check a GeoJSON geometry mapping (or its text) and build it; return (geometry,
    repair note).

    Rejects with a :class:`RecordError` naming ``record`` and the reason: a type
    the record cannot have, rings not closed or under three distinct vertices,
    non-finite or out-of-range coordinates, self-intersection (repaired with
    ``make_valid`` when ``repair`` is true, and the note says so), zero area.
    """
    if isinstance(data, GeometryText):
        data = data.decoded()
    if data is None:
        if required:
            raise RecordError("a geometry is required", record=record, field="geometry")
        return None, None
    if not isinstance(data, dict):
        raise RecordError("geometry must be a GeoJSON object", record=record, field="geometry")
    if "error" in data:  # a reader could not even decode it (e.g. bad WKT in a CSV cell)
        raise RecordError(str(data["error"]), record=record, field="geometry")
    kind = data.get("type")
    if kind not in allowed:
        want = " or ".join(allowed) if allowed else "no geometry"
        raise RecordError(
            f"geometry type {kind!r} does not fit this record (expected {want})",
            record=record,
            field="geometry",
        )
    coords = data.get("coordinates")
    check = _Checker(record)
    geom = _fast_build(kind, coords)
    if geom is None:
        _check_coordinates(check, kind, coords)  # raises with the exact place of the fault
        geom = shapely.geometry.shape(data)
    polygonal = kind in ("Polygon", "MultiPolygon")
    if not geom.is_valid or (polygonal and geom.area == 0):
        _check_coordinates(check, kind, coords)  # under 3 distinct vertices says so first
    note = None
    if not geom.is_valid:
        reason = shapely.is_valid_reason(geom)
        fixed = _repair(geom, kind)
        if polygonal and (fixed is None or fixed.is_empty or fixed.area == 0):
            check.fail("polygon has zero area (its vertices are collinear)")
        if not repair:
            check.fail(f"invalid geometry ({reason}); use --repair to fix it with make_valid")
        if fixed is None or fixed.is_empty:
            check.fail(f"invalid geometry ({reason}) that make_valid cannot repair to a {kind}")
        geom = fixed
        note = f"repaired with make_valid: {reason}"
    if polygonal and geom.area == 0:
        check.fail("polygon has zero area")
    return geom, note


def _fast_build(kind: str, coords: Any) -> BaseGeometry | None:
    """Build the geometry straight from arrays when the coordinates are certainly well formed.

    Most records are fine: they pass here in microseconds. Anything doubtful returns
    None and goes to the exact walk, which finds and names the fault.
    """
    try:
        if kind == "Point":
            parts = [[[coords]]]
        elif kind in ("LineString", "Polygon"):
            parts = [[coords]] if kind == "LineString" else [coords]
        elif kind == "MultiLineString":
            parts = [[line] for line in coords]
        else:
            parts = coords
        if not parts or not all(parts):
            return None
        built = []
        for rings in parts:
            arrays = []
            for ring in rings:
                a = np.asarray(ring)
                if a.dtype.kind not in "fi" or a.ndim != 2 or a.shape[1] not in (2, 3):
                    return None
                if not np.isfinite(a).all():
                    return None
                if (np.abs(a[:, 0]) > 180).any() or (np.abs(a[:, 1]) > 90).any():
                    return None
                if kind in ("Polygon", "MultiPolygon"):
                    if len(a) < 4 or (a[0] != a[-1]).any():
                        return None
                elif len(a) < (1 if kind == "Point" else 2):
                    return None
                arrays.append(a)
            built.append(arrays)
    except (TypeError, ValueError):
        return None
    if kind == "Point":
        return shapely.points(built[0][0][0])
    if kind == "LineString":
        return shapely.linestrings(built[0][0])
    if kind == "MultiLineString":
        return shapely.multilinestrings([shapely.linestrings(p[0]) for p in built])
    polys = [shapely.polygons(p[0]) if len(p) == 1 else shapely.Polygon(p[0], p[1:]) for p in built]
    return polys[0] if kind == "Polygon" else shapely.multipolygons(polys)


def _check_coordinates(check: _Checker, kind: str, coords: Any) -> None:
    if kind == "Point":
        check.position(coords, "point")
    elif kind == "LineString":
        check.line(coords, "line")
    elif kind == "MultiLineString":
        check.array(coords, "lines")
        for i, line in enumerate(coords, 1):
            check.line(line, f"line {i}")
    elif kind == "Polygon":
        check.polygon(coords, 1)
    elif kind == "MultiPolygon":
        check.array(coords, "polygons")
        if not coords:
            check.fail("a MultiPolygon needs at least one polygon")
        for i, poly in enumerate(coords, 1):
            check.polygon(poly, i)


def _repair(geom: BaseGeometry, kind: str) -> BaseGeometry | None:
    fixed = shapely.make_valid(geom)
    if kind in ("Polygon", "MultiPolygon"):
        parts = shapely.get_parts(fixed)
        polys = [p for p in parts if p.geom_type in ("Polygon", "MultiPolygon")]
        if not polys:
            return None
        merged = shapely.union_all(polys)
        return merged
    return fixed


class _Checker:
    """Walks GeoJSON coordinates and raises with the exact place of the first fault."""

    def __init__(self, record: str):
        self.record = record
        self.dims: int | None = None  # numbers in the first position (2, or 3 with altitude)

    def fail(self, message: str) -> None:
        raise RecordError(message, record=self.record, field="geometry")

    def array(self, value: Any, what: str) -> None:
        if not isinstance(value, list):
            self.fail(f"coordinates of {what} must be an array")

    def position(self, pos: Any, where: str) -> tuple[float, float]:
        if not isinstance(pos, list) or len(pos) not in (2, 3):
            self.fail(f"{where}: a position must be [longitude, latitude] or with altitude")
        if self.dims is None:
            self.dims = len(pos)
        elif len(pos) != self.dims:
            self.fail(
                f"{where}: {len(pos)} numbers where the first position has {self.dims}; "
                "give an altitude at every position or at none"
            )
        for v in pos:
            if isinstance(v, bool) or not isinstance(v, int | float):
                self.fail(f"{where}: coordinate {v!r} is not a number")
            if isinstance(v, int) and not -(2**1023) < v < 2**1023:  # (isfinite would overflow)
                self.fail(f"{where}: coordinate is a whole number too large to be a coordinate")
            if not math.isfinite(v):
                self.fail(f"{where}: coordinate {v!r} is not a finite number")
        lon, lat = pos[0], pos[1]
        if not -180 <= lon <= 180:
            self.fail(f"{where}: longitude {lon} is out of range [-180, 180]")
        if not -90 <= lat <= 90:
            self.fail(f"{where}: latitude {lat} is out of range [-90, 90]")
        return lon, lat

    def line(self, coords: Any, where: str) -> None:
        self.array(coords, where)
        points = [self.position(p, f"{where} point {i}") for i, p in enumerate(coords, 1)]
        if len(set(points)) < 2:
            self.fail(f"{where} needs at least 2 distinct points")

    def polygon(self, rings: Any, index: int) -> None:
        self.array(rings, f"polygon {index}")
        if not rings:
            self.fail(f"polygon {index} has no rings")
        for r, ring in enumerate(rings, 1):
            where = f"ring {r} of polygon {index}"
            self.array(ring, where)
            points = [self.position(p, f"{where} point {i}") for i, p in enumerate(ring, 1)]
            if len(points) >= 1 and points[0] != points[-1]:
                self.fail(
                    f"{where} is not closed (first point {_fmt(points[0])}, "
                    f"last {_fmt(points[-1])})"
                )
            if len(set(points)) < 3:
                self.fail(f"{where} has {len(set(points))} distinct vertices; at least 3 needed")


def _fmt(point: tuple[float, float]) -> str:
    return "[" + ", ".join(f"{v:g}" for v in point) + "]"


def local_metric(lon0: float, lat0: float) -> Transformer:
    """An azimuthal equidistant projection (metres) centred on a programme's region.

    Distances from the centre are true and nearby distances and buffers are within a
    fraction of a percent across a province, which is what access buffers and travel
    times need.
    """
    return _transformer("EPSG:4326", f"+proj=aeqd +lat_0={lat0:.6f} +lon_0={lon0:.6f} +datum=WGS84")


def project(geoms: Any, tr: Transformer) -> Any:
    """Apply a pyproj transformer to Shapely geometries (one or an array)."""
    return shapely.transform(geoms, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))

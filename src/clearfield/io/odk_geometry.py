"""Geometries as ODK and its servers spell them: one reader for every spelling.

ODK Collect writes a geopoint as ``"lat lon alt acc"`` and a geotrace or geoshape as
such points joined by ``;`` (a geoshape's last point repeats its first); ODK Central's
OData gives GeoJSON objects, or WKT with ``$wkt=true``. Latitude comes first in the ODK
strings and second everywhere else: this module is where that is settled, once.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any, Literal, TypeAlias

import shapely
from shapely.geometry import LineString, Point, Polygon

__all__ = ["GeoKind", "Geometry", "parse_odk_geometry"]

GeoKind = Literal["geopoint", "geotrace", "geoshape"]
Geometry: TypeAlias = Point | LineString | Polygon
GEOJSON_TYPES = ("Point", "LineString", "Polygon")

_NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?", re.ASCII)
_KINDS = ("geopoint", "geotrace", "geoshape")
_WKT_WORD = re.compile(
    r"(POINT|LINESTRING|POLYGON|MULTIPOINT|MULTILINESTRING|MULTIPOLYGON|GEOMETRYCOLLECTION"
    r"|LINEARRING|CIRCULARSTRING|COMPOUNDCURVE|CURVEPOLYGON|MULTICURVE|MULTISURFACE"
    r"|TRIANGLE|TIN|POLYHEDRALSURFACE)\b",
    re.IGNORECASE | re.ASCII,
)


def parse_odk_geometry(value: Any, kind: GeoKind | None = None) -> Geometry:
    """The Shapely geometry of an ODK answer, x = longitude and y = latitude in EPSG:4326,
    altitude and accuracy dropped.

    Accepts what the three formats give:

    * the ODK string (the XForms spec): a geopoint ``"lat lon [alt [acc]]"``
      (latitude first), a geotrace of such points joined by ``;``, a geoshape whose
      last point repeats the first; whitespace and a trailing ``;`` (ODK Collect
      writes them) are tolerated;
    * a GeoJSON ``Point``/``LineString``/``Polygon`` mapping (OData; ``properties``
      with accuracies are ignored);
    * WKT (OData with ``$wkt=true``), possibly with Z.

    ``kind`` (the question's type) makes the shape a requirement: a ``geoshape`` must
    close, a ``geotrace`` be a line, a ``geopoint`` a point. Without it, one point is a
    Point, a closed list a Polygon and an open one a LineString. Anything else --
    a wrong count of numbers, a coordinate out of range, too few points, a shape that
    does not close -- raises ``ValueError`` naming what and where.

    >>> parse_odk_geometry("48.5 35.004 121.3 3.9").wkt
    'POINT (35.004 48.5)'
    """
    if kind is not None and kind not in _KINDS:
        raise ValueError(f"unknown geometry kind {kind!r}: use geopoint, geotrace or geoshape")
    if isinstance(value, Mapping):
        geometry = _from_geojson(value)
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            raise ValueError("empty geometry: an unanswered question has no location")
        is_wkt = _WKT_WORD.match(text) is not None
        geometry = _from_wkt(text) if is_wkt else _from_odk_string(text, kind)
    else:
        raise ValueError(
            f"a geometry is an ODK string, a GeoJSON mapping or WKT, not {type(value).__name__}"
        )
    wanted = {"geopoint": "Point", "geotrace": "LineString", "geoshape": "Polygon"}
    if kind is not None and geometry.geom_type != wanted[kind]:
        raise ValueError(f"a {kind} is a {wanted[kind]}, got a {geometry.geom_type}")
    return geometry


def _lon_lat(lon: float, lat: float, where: str) -> tuple[float, float]:
    """Check a position; a latitude out of range usually means lon and lat swapped."""
    for axis, number in (("latitude", lat), ("longitude", lon)):
        if not math.isfinite(number):
            raise ValueError(f"{where}: {axis} {number} is not a finite number")
    if not -90 <= lat <= 90:
        raise ValueError(
            f"{where}: latitude {lat:g} is outside -90..90 (ODK writes latitude first)"
        )
    if not -180 <= lon <= 180:
        raise ValueError(f"{where}: longitude {lon:g} is outside -180..180")
    return lon, lat


def _from_odk_string(text: str, kind: GeoKind | None) -> Geometry:
    pieces = [p.strip() for p in text.split(";")]
    while pieces and not pieces[-1]:
        pieces.pop()  # Collect ends a trace or shape with ";"
    total = len(pieces)
    positions = []
    for n, piece in enumerate(pieces, 1):
        where = f"point {n} of {total} ({piece!r})" if total > 1 else f"point {piece!r}"
        if not piece:
            raise ValueError(f"point {n} of {total} is empty (two ';' in a row)")
        numbers = piece.split()
        for number in numbers:
            if not _NUMBER.fullmatch(number):
                raise ValueError(f"{where}: {number!r} is not a number")
        if not 2 <= len(numbers) <= 4:
            raise ValueError(
                f"{where} has {len(numbers)} number{'s' * (len(numbers) != 1)}; an ODK "
                "point has 2 to 4: latitude longitude [altitude [accuracy]]"
            )
        lat, lon = float(numbers[0]), float(numbers[1])
        if len(numbers) > 2 and not math.isfinite(float(numbers[2])):
            raise ValueError(f"{where}: altitude {numbers[2]} is not a finite number")
        positions.append(_lon_lat(lon, lat, where))
    if total == 0:
        raise ValueError("no points: only ';' and spaces")
    if kind == "geopoint" or (kind is None and total == 1):
        if total != 1:
            raise ValueError(f"a geopoint is one point, got {total} separated by ';'")
        return Point(positions[0])
    closed = total >= 2 and positions[0] == positions[-1]
    if kind == "geoshape" or (kind is None and closed):
        if total >= 2 and not closed:
            raise ValueError(
                f"the shape does not close: its last point {pieces[-1]!r} is not its first "
                f"{pieces[0]!r}"
            )
        if total < 4:
            raise ValueError(
                f"a shape needs at least 4 points (3 corners, then the first again), got {total}"
            )
        return Polygon(positions)
    if total < 2:
        raise ValueError(f"a trace needs at least 2 points, got {total}")
    return LineString(positions)


def _position(raw: Any, where: str) -> tuple[float, float]:
    if not isinstance(raw, list | tuple) or not 2 <= len(raw) <= 3:
        raise ValueError(f"{where} is not a position [longitude, latitude(, altitude)]: {raw!r}")
    for number in raw:
        if isinstance(number, bool) or not isinstance(number, int | float):
            raise ValueError(f"{where}: {number!r} is not a number")
    try:
        lon, lat = float(raw[0]), float(raw[1])
    except OverflowError:  # an int too large for a float
        raise ValueError(f"{where}: a coordinate is out of range") from None
    return _lon_lat(lon, lat, where)


def _positions(raw: Any, where: str, least: int) -> list[tuple[float, float]]:
    if not isinstance(raw, list) or len(raw) < least:
        raise ValueError(f"{where} needs a list of at least {least} positions")
    return [_position(p, f"{where}, position {n}") for n, p in enumerate(raw, 1)]


def _from_geojson(obj: Mapping[str, Any]) -> Geometry:
    kind = obj.get("type")
    if kind == "Feature":
        raise ValueError("a GeoJSON Feature, not a geometry: pass its 'geometry'")
    if kind not in GEOJSON_TYPES:
        raise ValueError(
            f"GeoJSON type {kind!r} is not an ODK geometry (Point, LineString or Polygon)"
        )
    coordinates = obj.get("coordinates")
    if kind == "Point":
        return Point(_position(coordinates, "the Point"))
    if kind == "LineString":
        return LineString(_positions(coordinates, "the LineString", 2))
    if not isinstance(coordinates, list) or len(coordinates) != 1:
        rings = len(coordinates) if isinstance(coordinates, list) else 0
        raise ValueError(f"the Polygon has {rings} rings; an ODK geoshape has exactly one")
    ring = _positions(coordinates[0], "the Polygon's ring", 4)
    if ring[0] != ring[-1]:
        raise ValueError("the Polygon's ring does not close: its last position is not its first")
    return Polygon(ring)


def _from_wkt(text: str) -> Geometry:
    try:
        geometry = shapely.from_wkt(text)
    except (shapely.errors.ShapelyError, ValueError) as exc:
        raise ValueError(f"not an ODK geometry string nor readable WKT: {exc}") from None
    if geometry is None or geometry.is_empty:
        raise ValueError("an empty WKT geometry")
    if geometry.geom_type not in GEOJSON_TYPES:
        raise ValueError(
            f"WKT {geometry.geom_type} is not an ODK geometry (Point, LineString or Polygon)"
        )
    geometry = shapely.force_2d(geometry)
    if isinstance(geometry, Polygon) and geometry.interiors:
        raise ValueError(
            f"the Polygon has {1 + len(geometry.interiors)} rings; an ODK geoshape has exactly one"
        )
    ring = geometry.exterior.coords if isinstance(geometry, Polygon) else geometry.coords
    for n, (lon, lat) in enumerate(ring, 1):
        _lon_lat(lon, lat, f"WKT position {n}")
    return geometry

"""Geometry validation: each rejection names the record and the reason; repair is recorded."""

from __future__ import annotations

import math

import pytest
import shapely

from clearfield.domain.geometry import parse_geometry
from clearfield.errors import RecordError
from common import X0, Y0, bow_tie, gj, multi_polygon, polygon_with_hole, square

POLY = ("Polygon", "MultiPolygon")


def ring(*pts):
    return {"type": "Polygon", "coordinates": [[list(p) for p in pts]]}


@pytest.mark.parametrize("geom", [square, polygon_with_hole, multi_polygon], ids=str)
def test_valid_polygons_are_accepted_unchanged(geom):
    got, note = parse_geometry(gj(geom), allowed=POLY, record="hazard H")
    assert note is None
    assert got.equals(geom)


BAD = [
    ("not closed", ring((X0, Y0), (X0 + 0.01, Y0), (X0, Y0 + 0.01)), "is not closed"),
    ("two vertices", ring((X0, Y0), (X0 + 0.01, Y0), (X0, Y0)), "2 distinct vertices"),
    ("self-intersection", bow_tie, "Self-intersection"),
    ("longitude", ring((190, Y0), (191, Y0), (191, Y0 + 1), (190, Y0)), "longitude 190"),
    ("latitude", ring((X0, 95), (X0 + 1, 95), (X0 + 1, 96), (X0, 95)), "latitude 95"),
    ("nan", ring((X0, math.nan), (X0 + 1, Y0), (X0 + 1, Y0 + 1), (X0, math.nan)), "not a finite"),
    ("infinity", ring((X0, Y0), (math.inf, Y0), (X0 + 1, Y0 + 1), (X0, Y0)), "not a finite"),
    ("string", ring((X0, Y0), ("33.6", Y0), (X0 + 1, Y0 + 1), (X0, Y0)), "is not a number"),
    ("collinear", ring((X0, Y0), (X0 + 0.01, Y0), (X0 + 0.02, Y0), (X0, Y0)), "zero area"),
    ("no rings", {"type": "Polygon", "coordinates": []}, "has no rings"),
    ("empty multi", {"type": "MultiPolygon", "coordinates": []}, "at least one polygon"),
    ("line", gj(shapely.LineString([(X0, Y0), (X0 + 1, Y0)])), "does not fit"),
    ("point", gj(shapely.Point(X0, Y0)), "does not fit"),
    ("missing", None, "geometry is required"),
    ("position size", ring((X0,), (X0 + 1, Y0), (X0 + 1, Y0 + 1), (X0,)), "a position must be"),
]


@pytest.mark.parametrize(("name", "data", "reason"), BAD, ids=[b[0] for b in BAD])
def test_bad_geometries_are_rejected_with_record_and_reason(name, data, reason):
    with pytest.raises(RecordError, match="hazard HA-7") as exc:
        parse_geometry(data, allowed=POLY, record="hazard HA-7")
    assert reason in str(exc.value)
    assert exc.value.field == "geometry"


def test_repair_fixes_a_bow_tie_and_says_so():
    got, note = parse_geometry(bow_tie, allowed=POLY, record="hazard H", repair=True)
    assert got.is_valid and got.geom_type == "MultiPolygon" and got.area > 0
    assert note.startswith("repaired with make_valid: Self-intersection")


def test_point_and_line_rules():
    pt, _ = parse_geometry(gj(shapely.Point(X0, Y0)), allowed=("Point",), record="find F")
    assert pt.equals(shapely.Point(X0, Y0))
    with pytest.raises(RecordError, match="at least 2 distinct points"):
        parse_geometry({"type": "LineString", "coordinates": [[X0, Y0], [X0, Y0]]},
                       allowed=("LineString",), record="asset A")  # fmt: skip
    none, _ = parse_geometry(None, allowed=("Point",), record="team T", required=False)
    assert none is None

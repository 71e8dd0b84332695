"""Geocheck-style data quality flags: each check flags what it should and nothing else."""

from __future__ import annotations

import shapely
from shapely import box

from clearfield.domain import quality
from common import X0, Y0, square


def test_duplicates_in_the_list_and_against_stored():
    same = shapely.Polygon(list(square.exterior.coords)[::-1])  # same shape, other orientation
    flags = quality.duplicates([square, same, box(X0, Y0, X0 + 1, Y0 + 1)], ["A", "B", "C"], {})
    assert flags == [(1, "DUPLICATE_GEOMETRY", "has the same geometry as A")]
    stored = {quality.normalised_wkb(square): "OLD"}
    assert quality.duplicates([square], ["A"], stored)[0][2] == "has the same geometry as OLD"


def test_overlap_threshold_is_point_nine_percent():
    other = shapely.affinity.translate(square, xoff=0.0099)  # overlaps by 1% of the width
    slight = shapely.affinity.translate(square, xoff=0.0002 + 0.00995)  # < 0.9%
    assert [f[1] for f in quality.overlaps([square], ["A"], [other], ["B"])] == ["HAZARD_OVERLAP"]
    assert quality.overlaps([square], ["A"], [slight], ["B"]) == []
    assert quality.overlaps([square], ["A"], [square], ["A"]) == []  # its own stored version


def test_long_segments_over_five_km():
    long_line = shapely.LineString([(X0, Y0), (X0 + 0.1, Y0)])  # ~7.5 km
    flags = quality.long_segments([square, long_line, shapely.Point(X0, Y0)])
    assert [(i, c) for i, c, _ in flags] == [(1, "LONG_SEGMENT")]
    assert "7.5 km" in flags[0][2]


def test_large_hazards_over_100_km2():
    big = box(X0, Y0, X0 + 0.2, Y0 + 0.1)  # ~165 km²
    assert [f[0] for f in quality.large_hazards([square, big])] == [1]


def test_release_outside_parent():
    out = shapely.affinity.translate(square, xoff=0.005)
    flags = quality.outside_parent([square, out], [square, square], ["H", "H"])
    assert [f[0] for f in flags] == [1]
    assert "outside hazard H" in flags[0][2]


def test_swapped_coordinates():
    ref = [shapely.affinity.translate(square, xoff=0.1 * i, yoff=0.05 * i) for i in range(10)]
    swapped = box(Y0, X0, Y0 + 0.01, X0 + 0.01)
    points = [(g.centroid.x, g.centroid.y) for g in ref]
    flags = quality.swapped_coordinates([swapped, square], points)
    assert [(f[0], f[1]) for f in flags] == [(0, "SWAPPED_COORDINATES")]
    # a whole file with its columns swapped is caught against what is stored
    whole = [shapely.affinity.translate(swapped, xoff=0.01 * i) for i in range(6)]
    assert len(quality.swapped_coordinates(whole, points)) == 6
    assert quality.swapped_coordinates(whole) == []  # nothing stored: no extent to compare

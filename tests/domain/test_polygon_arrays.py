"""Polygons built as arrays from a geometry's text are those built from its decoded lists."""

from __future__ import annotations

import json

import orjson
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from clearfield.domain.parse import parse_features
from clearfield.domain.polygon_arrays import (
    GeometryText,
    plain_rings,
    polygons_from_lists,
    polygons_from_text,
)
from common import hazard

numbers = st.one_of(
    st.floats(-200, 200, allow_nan=False, width=64),
    st.integers(-200, 200),
    st.sampled_from([1e300, 1.5e-7, -0.0, 10**20, 10**400]),
)
positions = st.one_of(
    st.tuples(numbers, numbers).map(list),
    st.lists(numbers, min_size=1, max_size=3),  # the odd one: one or three numbers
)


@st.composite
def rings(draw: st.DrawFn) -> list[list[float]]:
    ring = draw(st.lists(positions, min_size=1, max_size=6))
    if draw(st.booleans()):  # most rings are closed
        ring.append(list(ring[0]))
    return ring


polygons = st.lists(rings(), min_size=1, max_size=3)


def _from_lists(coords: list) -> shapely.Geometry | None:
    """What the decoded path builds from these coordinates (None: left to the exact reader)."""
    if not plain_rings(coords):
        return None
    built = polygons_from_lists([coords])
    return None if built is None else built[0]


@settings(max_examples=300, deadline=None)
@given(st.lists(polygons, min_size=1, max_size=8))
def test_text_builds_exactly_what_the_lists_build(many: list) -> None:
    # (compact as orjson writes it; json writes whole numbers beyond 64 bits too)
    texts = [json.dumps({"type": "Polygon", "coordinates": c}, separators=(",", ":")).encode() for c in many]  # fmt: skip
    built = polygons_from_text(texts)
    assert len(built) == len(many)
    for coords, geom in zip(many, built, strict=True):
        expected = _from_lists(coords)
        if expected is None:
            assert geom is None, coords
        else:
            assert geom is not None, coords
            assert shapely.to_wkb(geom) == shapely.to_wkb(expected)


def test_only_the_compact_plain_polygon_is_read_from_text() -> None:
    coords = [[[30, 48], [30.01, 48], [30.01, 48.01], [30, 48]]]
    compact = orjson.dumps({"type": "Polygon", "coordinates": coords})
    others = [
        json.dumps({"type": "Polygon", "coordinates": coords}).encode(),  # with spaces
        orjson.dumps({"coordinates": coords, "type": "Polygon"}),  # members the other way
        orjson.dumps({"type": "Polygon", "coordinates": coords, "bbox": [30, 48, 30.01, 48.01]}),
        orjson.dumps({"type": "MultiPolygon", "coordinates": [coords]}),
        orjson.dumps({"type": "Polygon", "coordinates": [[[30, 48, 5], *coords[0][1:]]]}),
        orjson.dumps({"type": "Polygon", "coordinates": [[[30, 48]] * 3]}),  # under four
        b'{"type":"Polygon","coordinates":[[[30,48],[30.01,48],[30.01,48.01],[30,1e400]]]}',
    ]
    built = polygons_from_text([compact, *others, compact])
    assert built[0] is not None and built[-1] is not None
    assert shapely.equals_exact(built[0], shapely.Polygon(coords[0]), 0)
    assert list(built[1:-1]) == [None] * len(others)


def test_features_read_as_text_or_mappings_give_the_same_records() -> None:
    ring = [[30, 48], [30.01, 48], [30.01, 48.01], [30, 48.01], [30, 48]]
    hole = [[30.002, 48.002], [30.003, 48.002], [30.003, 48.003], [30.002, 48.002]]
    crossed = [[30, 48], [30.01, 48.01], [30.01, 48], [30, 48.01], [30, 48]]
    geometries = [
        {"type": "Polygon", "coordinates": [ring]},
        {"type": "Polygon", "coordinates": [ring, hole]},
        {"type": "Polygon", "coordinates": [crossed]},  # repaired, or rejected
        {"type": "Polygon", "coordinates": [ring[:-1]]},  # not closed
        {"type": "Polygon", "coordinates": [[]]},  # an empty ring
        {"type": "Point", "coordinates": [30, 48]},  # not a hazard's
        {"type": "MultiPolygon", "coordinates": [[ring]]},
    ]
    mapped = [hazard(f"H{k}", g) for k, g in enumerate(geometries)]
    as_text = [{**f, "geometry": GeometryText(orjson.dumps(f["geometry"]))} for f in mapped]
    for repair in (False, True):
        a = parse_features(mapped, repair=repair)
        b = parse_features(as_text, repair=repair)
        assert [str(r) for _, r, _ in a] == [str(r) for _, r, _ in b]
        assert [n for _, _, n in a] == [n for _, _, n in b]
    outcomes = [type(r).__name__ for _, r, _ in parse_features(as_text)]
    assert outcomes == ["Hazard", "Hazard", "RecordError", "RecordError", "RecordError",
                        "RecordError", "Hazard"]  # fmt: skip

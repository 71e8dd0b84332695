"""Which hazards block which assets: the degree-box pre-filter never loses one."""

from __future__ import annotations

import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from clearfield.domain.access import blocking, near

_offsets = st.floats(-0.05, 0.05, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(
    lat=st.floats(-65, 65),
    lon=st.floats(-170, 170),
    assets=st.lists(st.tuples(_offsets, _offsets, st.floats(10, 3_000)), min_size=1, max_size=8),
    hazards=st.lists(
        st.tuples(_offsets, _offsets, st.floats(0.0002, 0.01), st.floats(0.0002, 0.01)),
        min_size=1,
        max_size=25,
    ),
)
def test_near_keeps_every_hazard_that_blocks(lat, lon, assets, hazards) -> None:  # type: ignore[no-untyped-def]
    a = [(f"A{i}", shapely.Point(lon + dx, lat + dy), b) for i, (dx, dy, b) in enumerate(assets)]
    h = [
        (f"H{i}", shapely.box(lon + dx, lat + dy, lon + dx + w, lat + dy + ht))
        for i, (dx, dy, w, ht) in enumerate(hazards)
    ]
    close = near(a, h)
    assert blocking(a, [x for x in h if x[0] in close]) == blocking(a, h)


def test_near_leaves_out_what_is_far() -> None:
    asset = [("A", shapely.Point(30.0, 48.0), 100.0)]
    hazards = [
        ("next door", shapely.box(30.0005, 47.9995, 30.002, 48.0005)),  # ~37 m east
        ("far", shapely.box(30.1, 48.0, 30.11, 48.01)),  # ~7 km east
    ]
    assert near(asset, hazards) == {"next door"}
    assert blocking(asset, hazards) == {"A": ["next door"]}

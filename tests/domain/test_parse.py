"""Reading records from file properties: every entity, and exact messages for bad values."""

from __future__ import annotations

import math

import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from clearfield.domain.enums import ReviewStatus, TeamKind
from clearfield.domain.parse import parse_feature, parse_features, record_properties
from clearfield.domain.records import RECORD_TYPES, Accident, Hazard
from clearfield.errors import RecordError
from common import activity, hazard, organisation, square, team


def test_every_record_type_round_trips_through_properties():
    from clearfield.scenario import generate

    seen = set()
    for i, f in enumerate(generate(scale=0.01, seed=3).features, 1):
        rec, _ = parse_feature(f, index=i)
        props = record_properties(rec)
        again, _ = parse_feature({**f, "properties": props}, index=i)
        assert again == rec
        seen.add(rec.RECORD_TYPE)
    assert seen >= {"organisation", "team", "hazard", "activity", "asset", "find", "accident",
                    "project", "daily_report", "pledge"}  # fmt: skip


def test_defaults_for_review_status():
    h, _ = parse_feature(hazard(), index=1)
    a, _ = parse_feature(activity("A1", square, status=None), index=2)
    assert h.review_status is ReviewStatus.APPROVED  # a register the IM officer imports
    assert a.review_status is ReviewStatus.SUBMITTED  # a field return waits for review


@pytest.mark.parametrize(
    ("feature", "message"),
    [
        (hazard(status="SUSPECT"), r"feature 4 \(hazard HA-1\) \[status\]: 'SUSPECT' is not one of SHA, CHA"),
        (hazard(contamination=["ap_mine", "ap_mine"]), r"\[contamination\]: lists a value twice"),
        (hazard(contamination=["napalm"]), r"'napalm' is not one of ap_mine"),
        (hazard(status="CHA"), r"\[direct_evidence\]: a CHA needs direct evidence"),
        (hazard(indirect_evidence=[]), r"needs evidence, direct or indirect"),
        (hazard(recorded_on="2025-02-30"), r"\[recorded_on\]: '2025-02-30' is not an ISO date"),
        (hazard(name=None), r"\[name\]: is required"),
        (hazard(colour="red"), r"\[colour\]: unknown property for a hazard"),
        (team(personnel=0), r"\[personnel\]: must be at least 1"),
        (team(personnel=-3), r"\[personnel\]: must not be negative"),
        (team(personnel="eight"), r"\[personnel\]: must be a whole number"),
        (team(kind="robot"), r"\[kind\]: 'robot' is not one of manual"),
        (organisation(kind="club"), r"'club' is not one of ngo"),
        (activity("A1", square, end_date="2025-02-01"), r"\[end_date\]: end_date 2025-02-01 is before"),
        (activity("A1", square, status="rejected"), r"needs a rejection_reason"),
        (activity("A1", square, status="done"), r"\[status\]: 'done' is not one of draft"),
        (organisation(id=7), r"\[id\]: ids are strings"),
        ({"type": "Feature", "properties": {"id": "X", "record_type": "minefield"}, "geometry": None},
         r"\[record_type\]: record_type 'minefield' is not one of organisation"),
        ({"type": "Feature", "properties": {"id": "X"}, "geometry": None},
         r"\[record_type\]: record_type is required: one of organisation, team"),
    ],
)  # fmt: skip
def test_bad_values_name_the_feature_field_and_reason(feature, message):
    with pytest.raises(RecordError, match=message):
        parse_feature(feature, index=4)


def test_a_bad_geometry_does_not_hide_the_features_other_faults():
    """Every fault of a feature at once (the geometry's and the properties'), in one
    batch or one by one, so the field team fixes the feature in one go."""
    bad = hazard(id="HA-2", land_use="agricultral", status=None)
    bad["geometry"] = {
        "type": "Polygon",
        "coordinates": [[[33.5, 47.8], [33.51, 47.8], [33.51, 47.81], [33.5, 47.81]]],
    }
    [(_, batch, _)] = parse_features([bad])
    with pytest.raises(RecordError) as alone:
        parse_feature(bad, index=1)
    for exc in (batch, alone.value):
        assert isinstance(exc, RecordError)
        faults = [(f.field, f.message) for f in (exc, *exc.more)]
        assert [field for field, _ in faults] == ["geometry", "status", "land_use"], faults
        assert "not closed" in faults[0][1] and "'agricultral' is not one of" in faults[2][1]
    good = hazard(id="HA-3", land_use="agricultral")  # a good geometry: as before
    with pytest.raises(RecordError) as exc:
        parse_feature(good, index=1)
    assert [f.field for f in (exc.value, *exc.value.more)] == ["land_use"]


def test_casualties_and_personal_data():
    f = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [33.5, 47.8]},
         "properties": {"record_type": "accident", "id": "AC-1", "occurred_on": "2025-05-01",
                        "district": "North", "device_category": "ap_mine",
                        "activity_at_time": "agriculture",
                        "casualties": [{"sex": "female", "age_group": "child", "outcome": "injured",
                                        "name": "A. B."},
                                       {"sex": "male", "age_group": "adult", "outcome": "killed"}]}}  # fmt: skip
    rec, _ = parse_feature(f, index=1)
    assert isinstance(rec, Accident) and (rec.killed, rec.injured) == (1, 1)
    assert "casualties.name" in Accident.RESTRICTED
    f["properties"]["casualties"][0]["sex"] = "x"
    with pytest.raises(RecordError, match=r"\[casualties.sex\]: 'x' is not one of female"):
        parse_feature(f, index=1)


def test_sapper_kinds():
    assert [k for k in TeamKind if not k.is_sapper] == [TeamKind.CONSTRUCTION]
    assert Hazard.INFO_DATE == "recorded_on"


# The batch reader (GEOS, arrays) and the exact one-by-one reader must agree on every
# geometry: same record, or the same rejection.
coordinate = st.one_of(
    st.floats(min_value=-200, max_value=200),
    st.sampled_from([math.nan, math.inf, -math.inf]),
    st.integers(min_value=-200, max_value=200),
    st.just("33.5"),
)
positions = st.lists(coordinate, min_size=0, max_size=4)
near = st.tuples(st.floats(33.5, 33.52), st.floats(47.8, 47.82)).map(list)


@st.composite
def rings(draw: st.DrawFn) -> list:
    pts = draw(st.lists(st.one_of(near, near, near, positions), min_size=0, max_size=7))
    if pts and draw(st.booleans()):
        pts = [*pts, pts[0]]  # closed, most of the time
    return pts


geometries = st.one_of(
    st.builds(lambda r: {"type": "Polygon", "coordinates": [r]}, rings()),
    st.builds(lambda r, h: {"type": "Polygon", "coordinates": [r, h]}, rings(), rings()),
    st.builds(lambda a, b: {"type": "MultiPolygon", "coordinates": [[a], [b]]}, rings(), rings()),
    st.builds(lambda p: {"type": "Point", "coordinates": p}, positions),
    st.builds(lambda r: {"type": "LineString", "coordinates": r}, rings()),
    st.just(None),
)


@settings(max_examples=400, deadline=None)
@given(geometries, st.booleans())
def test_batch_and_exact_geometry_readers_agree(geometry, repair):
    f = hazard(id="HA-P")
    f["geometry"] = geometry
    [(_, batch, _)] = parse_features([f], repair=repair)
    try:
        exact, _ = parse_feature(f, index=1, repair=repair)
    except RecordError as exc:
        assert isinstance(batch, RecordError), (
            f"batch accepted what the exact reader rejects: {exc}"
        )
        assert str(batch) == str(exc)
        return
    assert not isinstance(batch, RecordError), f"batch rejected a good geometry: {batch}"
    assert batch.geometry.equals(exact.geometry)


@settings(max_examples=300, deadline=None)
@given(st.lists(geometries, min_size=1, max_size=6))
def test_a_batch_reads_each_geometry_as_the_exact_reader_does(batch_of):
    """Several features at once (plain polygons are built from arrays, and one unusual
    coordinate sends the whole batch through GEOS's reader): every feature gets what the
    exact reader gives it, coordinate for coordinate."""
    features = []
    for k, geometry in enumerate(batch_of):
        f = hazard(id=f"HA-{k}")
        f["geometry"] = geometry
        features.append(f)
    for (_, batch, _), f in zip(parse_features(features), features, strict=True):
        try:
            exact, _ = parse_feature(f, index=1)
        except RecordError:
            assert isinstance(batch, RecordError)
            continue
        assert not isinstance(batch, RecordError), f"batch rejected a good geometry: {batch}"
        assert shapely.to_wkb(batch.geometry) == shapely.to_wkb(exact.geometry)


@pytest.mark.parametrize(
    ("bad", "reason"),
    [(float("nan"), "is not a finite number"), (10**400, "too large to be a coordinate")],
)
def test_a_batch_names_a_coordinate_that_is_no_finite_number(bad, reason):
    """A ring closed by the very same NaN object (``json.loads`` gives every NaN of a
    file one object) or a whole number no float holds: the feature is named, the others
    are read, nothing raises."""
    good = hazard(id="HA-1")
    odd = hazard(id="HA-2")
    odd["geometry"] = {
        "type": "Polygon",
        "coordinates": [[[bad, 47.8], [33.51, 47.8], [33.51, 47.81], [bad, 47.8]]],
    }
    [(_, first, _), (_, second, _)] = parse_features([good, odd])
    assert not isinstance(first, RecordError)
    assert isinstance(second, RecordError) and reason in str(second), second


# any JSON at all where a feature's properties go: a record, or a RecordError that names
# the feature; never another exception
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=500, deadline=None)
@given(
    st.sampled_from(sorted(RECORD_TYPES)),
    st.dictionaries(
        st.sampled_from(
            [
                "id",
                "status",
                "name",
                "organisation",
                "hazard_id",
                "team",
                "start_date",
                "end_date",
                "recorded_on",
                "kind",
                "personnel",
                "casualties",
                "contamination",
                "district",
            ]
        ),
        json_values,
        max_size=8,
    ),
    st.one_of(geometries, json_values),
)
def test_any_json_is_a_record_or_a_rejection_naming_the_feature(record_type, props, geometry):
    f = {"type": "Feature", "geometry": geometry, "properties": {"record_type": record_type, **props}}  # fmt: skip
    try:
        parse_feature(f, index=3)
    except RecordError as exc:
        assert str(exc).startswith("feature 3"), str(exc)
    [(_, batch, _)] = parse_features([f])
    assert batch is not None

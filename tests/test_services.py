"""Importing, versioning, review and accounting through services, on a real store."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
import shapely
from shapely import box

from clearfield import services
from clearfield.domain.enums import ReviewStatus
from clearfield.errors import ImportRejected, ReviewError
from clearfield.stats import programme_stats
from common import X0, Y0, activity, base_programme, hazard, square

LEFT = box(X0, Y0, X0 + 0.005, Y0 + 0.01)
BOTTOM = box(X0, Y0, X0 + 0.01, Y0 + 0.005)


def load(store, features, **kw):
    return services.import_features(store, features, source="test", actor="tester", **kw)


def test_import_creates_records_audit_and_accounts(store):
    rep = load(store, [*base_programme(), activity("A1", LEFT, kind="nts")])
    assert dict(rep.created) == {"organisation": 1, "team": 1, "hazard": 1, "activity": 1}
    events = store.audit_events()
    assert [(e["action"], e["record_id"], e["actor"]) for e in events][-1] == (
        "create",
        "A1",
        "tester",
    )
    assert len(events) == 4
    s = programme_stats(store)
    assert s["released_m2"]["cancelled"] == pytest.approx(s["hazards"]["area_m2"] / 2, rel=1e-7)
    assert s["remaining_m2"] == pytest.approx(s["hazards"]["area_m2"] / 2, rel=1e-7)


def test_same_file_twice_changes_nothing(store):
    feats = [*base_programme(), activity("A1", LEFT)]
    load(store, feats)
    rep = load(store, feats)
    assert rep.written == 0 and sum(rep.unchanged.values()) == 4
    assert len(store.audit_events()) == 4


def test_later_report_makes_a_new_current_version_and_earlier_one_is_history(store):
    load(store, base_programme())
    smaller = box(X0, Y0, X0 + 0.008, Y0 + 0.008)
    rep = load(
        store,
        [
            hazard(
                geom=smaller,
                recorded_on="2025-06-01",
                status="CHA",
                direct_evidence=["mine sighted"],
            )
        ],
    )
    assert dict(rep.versioned) == {"hazard": 1} and not rep.history
    older = shapely.affinity.scale(square, 1.1, 1.1)
    late = load(store, [hazard(geom=older, recorded_on="2024-12-01")])  # dated earlier
    assert dict(late.versioned) == {"hazard": 1} and dict(late.history) == {"hazard": 1}
    history = store.history("hazard", "HA-1")
    assert [h.version for h in history] == [1, 2, 3]
    assert [h.is_current for h in history] == [False, True, False]
    assert [h.record.recorded_on.isoformat() for h in history] == [
        "2025-01-10",
        "2025-06-01",
        "2024-12-01",
    ]
    current = next(store.records("hazard"))
    assert current.record.status.value == "CHA" and current.record.geometry.equals(smaller)
    s = programme_stats(store)
    assert s["hazards"]["by_status"] == {"SHA": 0, "CHA": 1}
    events = [e for e in store.audit_events("hazard", "HA-1")]
    assert [e["action"] for e in events] == ["create", "new_version", "new_version"]
    assert '"status": "SHA"' in events[1]["before"] and '"status":"CHA"' in events[1]["after"]


def test_same_date_different_content_is_a_conflict(store):
    load(store, base_programme())
    with pytest.raises(ImportRejected) as exc:
        load(store, [hazard(land_use="forest")])
    assert "already stored with date of information 2025-01-10 and different content" in str(
        exc.value.errors[0]
    )


def test_same_id_and_date_twice_in_a_file_is_a_conflict(store):
    with pytest.raises(ImportRejected) as exc:
        load(store, [*base_programme(), hazard(), hazard(land_use="forest")])
    # feature 4 repeats feature 3 exactly (unchanged); feature 5 says otherwise: a conflict
    assert "feature 5 (hazard HA-1) [id]: conflict" in str(exc.value.errors[0])
    assert "first at feature 3" in str(exc.value.errors[0])
    assert store.count("SELECT COUNT(*) FROM entity") == 0


def test_unknown_reference_rejects_the_file(store):
    with pytest.raises(ImportRejected) as exc:
        load(store, [*base_programme(), activity("A1", LEFT, hazard_id="HA-404")])
    assert "[hazard_id]: unknown hazard reference 'HA-404'" in str(exc.value.errors[0])
    assert store.count("SELECT COUNT(*) FROM entity") == 0


def test_references_may_point_at_stored_records(store):
    load(store, base_programme())
    rep = load(store, [activity("A1", LEFT)])
    assert dict(rep.created) == {"activity": 1}


def test_only_approved_records_count_and_review_moves_the_numbers(store):
    load(
        store,
        [
            *base_programme(),
            activity("A1", LEFT, kind="ts", status="submitted"),
            activity("A2", BOTTOM, status="draft"),
        ],
    )
    s = programme_stats(store)
    assert sum(s["released_m2"].values()) == 0
    assert s["pending_review"] == 1
    services.review(store, "activity", "A1", ReviewStatus.APPROVED, actor="officer")
    s = programme_stats(store)
    assert s["released_m2"]["reduced"] == pytest.approx(s["hazards"]["area_m2"] / 2)
    assert s["pending_review"] == 0
    with pytest.raises(ReviewError, match="a draft record can only become submitted"):
        services.review(store, "activity", "A2", ReviewStatus.APPROVED, actor="officer")
    services.review(store, "activity", "A2", ReviewStatus.SUBMITTED, actor="lead")
    services.review(
        store,
        "activity",
        "A2",
        ReviewStatus.REJECTED,
        actor="officer",
        reason="polygon does not match the marking",
    )
    assert sum(programme_stats(store)["released_m2"].values()) == pytest.approx(
        s["hazards"]["area_m2"] / 2
    )
    last = store.audit_events("activity", "A2")[-1]
    assert (last["actor"], last["action"]) == ("officer", "rejected")
    assert "polygon does not match" in last["after"]


def test_repair_is_recorded(store):
    from common import bow_tie

    load(store, base_programme())
    with pytest.raises(ImportRejected, match="1 bad record"):
        load(store, [activity("A1", bow_tie)])
    rep = load(store, [activity("A1", bow_tie)], repair=True)
    assert rep.repaired and "make_valid" in rep.repaired[0]
    assert "make_valid" in store.history("activity", "A1")[0].repair_note
    assert "make_valid" in store.audit_events("activity", "A1")[0]["detail"]


def test_quality_flags_are_stored_not_rejected(store):
    out = shapely.affinity.translate(LEFT, xoff=-0.004)
    twin = hazard(id="HA-2", name="twin")
    rep = load(store, [*base_programme(), twin, activity("A1", out)])
    codes = sorted(f.code for f in store.quality_flags())
    # the twin duplicates HA-1, the two overlap each other, and A1 strays outside HA-1
    assert codes == [
        "DUPLICATE_GEOMETRY",
        "HAZARD_OVERLAP",
        "HAZARD_OVERLAP",
        "RELEASE_OUTSIDE_HAZARD",
    ]
    assert len(rep.flags) == 4
    assert programme_stats(store)["flagged_outside_m2"] > 0


def test_stats_by_groups_add_up(store):
    load(
        store,
        [
            *base_programme(),
            hazard(
                id="HA-2",
                geom=shapely.affinity.translate(square, 0.1),
                district="South",
                organisation="ORG-1",
            ),
            activity("A1", LEFT, kind="nts", end_date="2025-04-02"),
            activity("A2", BOTTOM, end_date="2025-05-02"),
        ],
    )
    total = programme_stats(store)
    for by in ("organisation", "district", "month", "status", "hazard"):
        groups = programme_stats(store, by=by)["by"]["groups"]
        for cat in ("cancelled", "reduced", "cleared"):
            assert sum(g["released_m2"][cat] for g in groups.values()) == pytest.approx(
                total["released_m2"][cat]
            )
        assert sum(g["area_m2"] for g in groups.values()) == pytest.approx(
            total["hazards"]["area_m2"]
        )
    from datetime import date

    april = programme_stats(store, since=date(2025, 4, 1), until=date(2025, 4, 30))
    assert april["released_m2"]["cleared"] == 0 and april["released_m2"]["cancelled"] > 0


def asset(id, geom, **kw):
    from common import feature

    props = {
        "name": f"Asset {id}",
        "kind": "bridge",
        "damage": "severe",
        "district": "North",
        "assessed_on": "2025-02-01",
        "population_served": 1200,
        "work_worker_days": 900,
        **kw,
    }
    return feature("asset", geom, id=id, **props)


def test_assets_are_blocked_by_unreleased_ground_within_their_buffer(store):
    near = shapely.Point(X0 + 0.0105, Y0 + 0.005)  # ~37 m east of the hazard, bridge buffer 100 m
    far = shapely.Point(X0 + 0.05, Y0 + 0.005)  # ~3.6 km away
    east = box(X0 + 0.005, Y0, X0 + 0.01, Y0 + 0.01)
    load(
        store,
        [
            *base_programme(),
            asset("AS-1", near),
            asset("AS-2", far),
            asset("AS-3", near, condition="restored"),
            activity("A1", LEFT, kind="nts"),
            activity("A2", east, status="submitted"),
        ],
    )
    s = programme_stats(store)
    assert s["assets"] == {"count": 3, "blocked": 1, "restored": 1}
    services.review(store, "activity", "A2", ReviewStatus.APPROVED, actor="officer")
    assert programme_stats(store)["assets"]["blocked"] == 0  # the east half is released now


def test_one_file_may_carry_two_dated_versions_of_a_new_record(store):
    later = box(X0, Y0, X0 + 0.008, Y0 + 0.008)
    rep = load(store, [*base_programme(), hazard(geom=later, recorded_on="2025-02-01")])
    assert (dict(rep.created), dict(rep.versioned)) == (
        {"organisation": 1, "team": 1, "hazard": 1},
        {"hazard": 1},
    )
    assert dict(rep.history) == {"hazard": 1}  # the first, dated earlier
    history = store.history("hazard", "HA-1")
    assert [(h.version, h.is_current) for h in history] == [(1, False), (2, True)]


def test_an_activity_moved_to_another_hazard_leaves_the_first_account(store):
    other = shapely.affinity.translate(square, 0.05)
    load(store, [*base_programme(), hazard(id="HA-2", geom=other), activity("A1", LEFT)])
    moved = shapely.affinity.translate(LEFT, 0.05)
    load(store, [activity("A1", moved, hazard_id="HA-2", end_date="2025-03-25")])
    accounts = store.hazard_accounts()
    assert accounts["HA-1"]["cleared_m2"] == 0  # nothing released on HA-1 any more
    assert accounts["HA-2"]["cleared_m2"] == pytest.approx(accounts["HA-2"]["hazard_m2"] / 2)
    before = store.query("SELECT * FROM hazard_account ORDER BY entity_pk")
    store.refresh_accounts()
    assert store.query("SELECT * FROM hazard_account ORDER BY entity_pk") == before


def test_a_writer_coming_between_check_and_write_is_refused_cleanly(store_url):
    """Versions are decided before the write; the write refuses if the store moved on."""
    from clearfield.services import open_store

    first, second = open_store(store_url), open_store(store_url)
    try:
        _two_writers(first, second)
    finally:
        first.close()
        second.close()


def _two_writers(first, second):  # type: ignore[no-untyped-def]
    from clearfield.errors import StoreError
    from clearfield.services import _resolve_versions

    load(first, base_programme())
    newer = [hazard(recorded_on="2025-05-01", land_use="forest")]
    # the second officer's file is checked ...
    from clearfield.domain.parse import parse_features
    from clearfield.services import ImportReport

    parsed = [(i, r, n) for i, r, n in parse_features(newer)]
    versions = _resolve_versions(
        second, {"hazard": parsed}, date(2026, 11, 1), ImportReport("x"), []
    )
    # ... while the first officer stores a version of the same hazard
    load(first, [hazard(recorded_on="2025-04-01", land_use="road")])
    with pytest.raises(StoreError, match="changed by someone else"):
        second.write(versions, actor="second", source="x")
    assert [h.version for h in first.history("hazard", "HA-1")] == [1, 2]


def test_a_record_stored_by_another_writer_before_its_first_version_is_refused(store_url):
    """A record new when the file was checked, stored by someone else before the write."""
    from clearfield.domain.parse import parse_features
    from clearfield.errors import StoreError
    from clearfield.services import ImportReport, _resolve_versions, open_store

    first, second = open_store(store_url), open_store(store_url)
    try:
        load(first, base_programme())
        parsed = list(parse_features([hazard(id="HA-9")]))
        versions = _resolve_versions(second, {"hazard": parsed}, date(2026, 11, 1), ImportReport("x"), [])  # fmt: skip
        assert [nv.version for nv in versions] == [1]
        load(first, [hazard(id="HA-9", land_use="road")])
        with pytest.raises(StoreError, match="HA-9 was changed by someone else"):
            second.write(versions, actor="second", source="x")
        assert [h.record.land_use for h in first.history("hazard", "HA-9")] == ["road"]
    finally:
        first.close()
        second.close()


def test_quality_lists_a_release_left_outside_by_a_new_hazard_version(store):
    load(store, [*base_programme(), activity("A1", LEFT, kind="nts")])
    right = box(X0 + 0.005, Y0, X0 + 0.01, Y0 + 0.01)
    load(store, [hazard(geom=right, recorded_on="2025-04-01")])
    flags = [f for f in store.quality_flags() if f.code == "RELEASE_OUTSIDE_HAZARD"]
    assert [(f.record_id, f.version) for f in flags] == [("A1", 1)]
    assert programme_stats(store)["flagged_outside_m2"] > 0


def test_export_gives_accounts_only_with_the_version_they_belong_to(store, tmp_path):
    import json

    from clearfield.export import export

    load(store, base_programme())
    right = box(X0 + 0.005, Y0, X0 + 0.01, Y0 + 0.01)
    load(store, [hazard(geom=right, recorded_on="2025-04-01", review_status="submitted")])
    export(store, tmp_path / "x.geojson")
    doc = json.loads((tmp_path / "x.geojson").read_text())
    [h] = [f for f in doc["features"] if f["properties"]["record_type"] == "hazard"]
    assert h["properties"]["version"] == 2 and "hazard_m2" not in h["properties"]


def test_the_same_data_sent_twice_or_reordered_is_unchanged(store):
    rep = load(store, [*base_programme(), hazard()])  # base_programme holds HA-1 already
    assert dict(rep.created)["hazard"] == 1 and rep.unchanged["hazard"] == 1
    coords = list(square.exterior.coords)[::-1]  # other orientation, other first vertex
    turned = shapely.Polygon(coords[2:] + coords[1:3])
    assert turned.equals(square)
    load(store, [hazard(id="HA-9", contamination=["ap_mine", "uxo"])])
    resent = load(store, [hazard(id="HA-9", geom=turned, contamination=["uxo", "ap_mine"])])
    assert resent.written == 0 and resent.unchanged["hazard"] == 1


def _accounts(store):
    with store.engine.connect() as conn:
        hazards = conn.exec_driver_sql(
            "SELECT entity_pk, version_pk, hazard_m2, cancelled_m2, reduced_m2, cleared_m2, "
            "remaining_m2, outside_m2 FROM hazard_account ORDER BY entity_pk"
        ).all()
        releases = conn.exec_driver_sql(
            "SELECT activity_pk, hazard_pk, category, released_m2, outside_m2, end_date, "
            "organisation FROM release_account ORDER BY activity_pk"
        ).all()
    return [tuple(r) for r in hazards], [tuple(r) for r in releases]


@pytest.mark.parametrize("together", [True, False], ids=["one file", "hazard stored first"])
def test_a_release_on_a_hazard_that_does_not_count_counts_nowhere(store, together):
    """An approved release on a hazard still under review (next to one approved) is in no
    account until the hazard is approved; it used to fail the whole import."""
    waiting = hazard("HA-2", box(X0 + 0.02, Y0, X0 + 0.03, Y0 + 0.01), review_status="submitted")
    releases = [activity("A1", LEFT), activity("A2", box(X0 + 0.02, Y0, X0 + 0.025, Y0 + 0.01))]
    releases[1]["properties"]["hazard_id"] = "HA-2"
    if together:
        load(store, [*base_programme(), waiting, *releases])
    else:
        load(store, [*base_programme(), waiting])
        load(store, releases)
    hazards, counted = _accounts(store)
    assert len(hazards) == 1 and [r[2] for r in counted] == ["cleared"]
    s = programme_stats(store)
    assert s["released_m2"]["cleared"] == pytest.approx(s["hazards"]["area_m2"] / 2, rel=1e-7)
    services.review(store, "hazard", "HA-2", ReviewStatus.APPROVED, actor="officer")
    hazards, counted = _accounts(store)
    assert len(hazards) == 2 and len(counted) == 2
    s = programme_stats(store)
    assert s["remaining_m2"] == pytest.approx(s["hazards"]["area_m2"] / 2, rel=1e-7)


def test_accounts_of_a_first_load_are_those_recomputed_from_the_rows(store):
    """A first load's accounts are computed from the records in memory while the rows are
    written; recomputing them from the stored rows gives the same, to the last bit."""
    feats = [*base_programme(), hazard("HA-2", box(X0 + 0.02, Y0, X0 + 0.03, Y0 + 0.01))]
    for k in range(12):  # overlapping releases, one reaching outside its hazard
        geom = box(X0 + 0.0008 * k, Y0, X0 + 0.0008 * k + 0.002, Y0 + 0.004 + 0.0005 * k)
        kind = ("nts", "ts", "clearance")[k % 3]
        feats.append(activity(f"A{k}", geom, kind=kind, end_date=f"2025-03-{10 + k % 5}"))
    feats.append(activity("B1", box(X0 + 0.019, Y0, X0 + 0.024, Y0 + 0.01), hazard_id="HA-2"))
    load(store, feats)
    first = _accounts(store)
    assert len(first[0]) == 2 and len(first[1]) == 13
    store.refresh_accounts()
    assert _accounts(store) == first


def test_features_handed_over_are_let_go_part_by_part_with_the_same_outcome(store, monkeypatch):
    """``hand_over`` lets the caller's features go part by part as they are parsed: the
    list is left empty, and what is refused (every fault, at its place in the file) or
    imported is the same as without it. References may point at a later part."""
    monkeypatch.setattr(services, "_PARSE_PART", 2)
    bad = [
        activity("A1", LEFT),  # its hazard comes in a later part
        *base_programme(),
        activity("A2", BOTTOM, hazard_id="HA-404"),
        {"type": "Feature"},
    ]
    with pytest.raises(ImportRejected) as plain:
        load(store, list(bad))
    handed = list(bad)
    with pytest.raises(ImportRejected) as exc:
        load(store, handed, hand_over=True)
    assert handed == []
    assert [str(e) for e in exc.value.errors] == [str(e) for e in plain.value.errors]
    assert "feature 5" in str(exc.value.errors[0]) and "feature 6" in str(exc.value.errors[1])
    assert store.count("SELECT COUNT(*) FROM entity") == 0
    good = [activity("A1", LEFT), *base_programme(), activity("A2", BOTTOM)]
    report = load(store, good, hand_over=True)
    assert good == []
    assert dict(report.created) == {"organisation": 1, "team": 1, "hazard": 1, "activity": 2}
    assert programme_stats(store)["released_m2"]["cleared"] > 0


def test_normalised_geometries_made_already_are_taken_in_place_of_none():
    """A first load's worker normalised the areas it checked (those with a geometry): the
    import takes them in order, and normalises itself when they do not fit."""
    geoms = np.asarray([LEFT, None, BOTTOM], dtype=object)
    own = shapely.to_wkb(shapely.normalize(geoms)).tolist()
    made = [own[0], own[2]]
    assert list(services._normalised(geoms, made)) == own
    assert list(services._normalised(geoms[[0, 2]], made)) == made
    for unfit in (None, [own[0]], [*made, own[0]]):
        assert list(services._normalised(geoms, unfit)) == own
    assert own[0] != shapely.to_wkb(LEFT)  # (so the test tells them apart)

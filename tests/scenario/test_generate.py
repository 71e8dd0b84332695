"""The reference scenario: deterministic, exact in its capacity, valid record by record,
and shaped like the field (heavy-tailed settlements, contamination along the front)."""

from __future__ import annotations

import itertools
import json
from collections import Counter, defaultdict
from datetime import date
from typing import Any

import numpy as np
import pytest
import shapely

from clearfield.domain.accounting import Release, account_hazard
from clearfield.domain.geometry import area_m2, local_metric, project
from clearfield.domain.parse import parse_feature
from clearfield.domain.quality import outside_parent, overlaps
from clearfield.domain.records import Record
from clearfield.scenario import Scenario, generate

AS_OF = date(2026, 11, 20)
ORDER = ["organisation", "team", "hazard", "activity", "asset", "project", "find", "accident", "daily_report", "pledge"]  # fmt: skip
FITTING = {"nts": {"survey"}, "ts": {"survey", "manual", "mechanical", "dog"}, "clearance": {"manual", "dog"}}  # fmt: skip


@pytest.fixture(scope="module")
def ref() -> Scenario:
    return generate(scale=1.0, seed=1)


@pytest.fixture(scope="module")
def ref_records(ref: Scenario) -> dict[str, list[Any]]:
    return _parse_all(ref)


def _parse_all(scen: Scenario) -> dict[str, list[Record]]:
    """Parse every feature, checking ids are unique per type and references point back."""
    seen: dict[str, set[str]] = defaultdict(set)
    out: dict[str, list[Record]] = defaultdict(list)
    for i, feature in enumerate(scen.features, 1):
        rec, note = parse_feature(feature, index=i)
        assert note is None
        for field, rtype in rec.REFERENCES.items():
            ref_id = getattr(rec, field)
            assert ref_id is None or ref_id in seen[rtype], (rec.id, field, ref_id)
        assert rec.id not in seen[rec.RECORD_TYPE], rec.id
        seen[rec.RECORD_TYPE].add(rec.id)
        out[rec.RECORD_TYPE].append(rec)
    return out


def _personnel(teams: list[Any]) -> tuple[int, int]:
    sappers = sum(t.personnel for t in teams if t.kind.value != "construction")
    return sappers, sum(t.personnel for t in teams if t.kind.value == "construction")


def test_same_seed_same_bytes_and_another_seed_differs():
    a, b = generate(scale=0.05, seed=7), generate(scale=0.05, seed=7)
    assert json.dumps(a.features) == json.dumps(b.features)
    assert json.dumps(a.context) == json.dumps(b.context)
    assert a.metadata == b.metadata
    c = generate(scale=0.05, seed=8)
    assert json.dumps(c.features) != json.dumps(a.features)
    assert json.dumps(c.context) != json.dumps(a.context)


def test_metadata_and_progress():
    calls: list[tuple[int, int]] = []
    scen = generate(scale=0.01, seed=2, progress=lambda d, t: calls.append((d, t)))
    assert calls and calls[-1][0] == calls[-1][1]
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    meta = scen.metadata
    assert meta["synthetic"] == "true" and meta["seed"] == "2" and meta["scale"] == "0.01"
    assert meta["generator"] == "clearfield.scenario" and meta["programme"] and meta["region"]


def test_features_come_in_dependency_order(ref: Scenario):
    types = [f["properties"]["record_type"] for f in ref.features]
    assert sorted(set(types), key=ORDER.index) == ORDER
    assert types == sorted(types, key=ORDER.index)


def test_scale_1_capacity_is_exact_and_counts_are_in_range(ref_records):
    r = ref_records
    assert _personnel(r["team"]) == (1000, 5000)
    assert len(r["hazard"]) == 5000 and len(r["activity"]) == 15000 and len(r["asset"]) == 1000
    assert 10 <= len(r["organisation"]) <= 15
    assert {o.kind.value for o in r["organisation"]} == {"ngo", "commercial", "military", "civil_protection", "national_authority"}  # fmt: skip
    assert 1_500 <= len(r["find"]) <= 2_500 and 40 <= len(r["accident"]) <= 80
    assert 1_500 <= len(r["daily_report"]) <= 2_500 and 30 <= len(r["pledge"]) <= 60
    assert 250 <= len(r["project"]) <= 350
    sizes = defaultdict(list)
    for t in r["team"]:
        sizes[t.kind.value].append(t.personnel)
    assert 7 <= np.mean(sizes["manual"]) <= 9 and set(sizes["dog"]) == {3}
    assert 45 <= np.mean(sizes["construction"]) <= 55
    assert all(3 <= np.mean(sizes[k]) <= 5 for k in ("survey", "eod", "mechanical"))
    prod = {t.kind.value: t.productivity_m2 for t in r["team"]}
    assert 10 <= prod["manual"] <= 50 and 800 / 3 <= prod["dog"] <= 900 / 3
    assert 1_000 <= prod["mechanical"] <= 1_500
    assert any(t.available_from > date(2025, 6, 1) for t in r["team"])


@pytest.mark.parametrize("scale", [0.01, 0.037, 0.25])
def test_small_scales_parse_and_keep_capacity_exact(scale):
    records = _parse_all(generate(scale=scale, seed=3))
    assert _personnel(records["team"]) == (round(1000 * scale), round(5000 * scale))
    assert len(records["hazard"]) == max(5, round(5000 * scale))
    assert len(records["activity"]) == round(15000 * scale)
    kinds = {t.kind.value for t in records["team"]}
    assert {"survey", "manual", "construction"} <= kinds


def test_settlements_are_heavy_tailed(ref: Scenario):
    pops = np.array([f["properties"]["population"] for f in ref.context["settlements"]["features"]])
    assert 250 <= len(pops) <= 350
    assert pops.max() > 20 * np.median(pops) and 200_000 <= pops.max() <= 600_000
    assert 100 <= np.median(pops) <= 2_000  # most are villages of hundreds


def test_context_layers(ref: Scenario):
    ctx = ref.context
    for key in ("districts", "settlements", "roads", "rivers", "front_line"):
        assert ctx[key]["type"] == "FeatureCollection" and ctx[key]["features"], key
    assert 10 <= len(ctx["districts"]["features"]) <= 14
    assert {f["properties"]["class"] for f in ctx["roads"]["features"]} == {"primary", "secondary"}
    assert 2 <= len(ctx["rivers"]["features"]) <= 3 and ctx["bridges"]["features"]
    districts = [shapely.geometry.shape(f["geometry"]) for f in ctx["districts"]["features"]]
    total = float(np.sum(area_m2(np.array(districts, dtype=object)))) / 1e6
    assert 27_000 <= total <= 33_000
    lon, lat = shapely.get_coordinates(shapely.union_all(districts)).T
    assert lon.min() > 32 and lon.max() < 36.5 and lat.min() > 46.5 and lat.max() < 49.2


def test_hazards_are_valid_sized_and_not_overlapping(ref_records):
    hz = ref_records["hazard"]
    geoms = np.array([h.geometry for h in hz], dtype=object)
    assert shapely.is_valid(geoms).all()
    areas = area_m2(geoms)
    assert areas.max() < 2.1e6 < 100e6 and areas.min() > 450
    assert 10_000 <= np.median(areas) <= 60_000
    assert not overlaps(list(geoms), [h.id for h in hz])
    share = Counter(h.status.value for h in hz)["CHA"] / len(hz)
    assert 0.2 <= share <= 0.4
    assert all(h.indirect_evidence or h.direct_evidence for h in hz)


def test_hazards_are_densest_along_the_front_line(ref: Scenario, ref_records):
    tr = local_metric(34.25, 47.8)
    front = project(shapely.geometry.shape(ref.context["front_line"]["features"][0]["geometry"]), tr)  # fmt: skip
    region = project(
        shapely.union_all(
            [shapely.geometry.shape(f["geometry"]) for f in ref.context["districts"]["features"]]
        ),
        tr,
    )
    centres = project(np.array([h.geometry.centroid for h in ref_records["hazard"]]), tr)
    dist = shapely.distance(front, centres)
    for km, factor in ((10, 3), (20, 2)):  # measured: about 4x and 3x
        band_share = front.buffer(km * 1000).intersection(region).area / region.area
        assert np.mean(dist < km * 1000) > factor * band_share
    far = region.difference(front.buffer(40_000))
    near = region.intersection(front.buffer(10_000))
    assert np.sum(dist < 10_000) / near.area > 10 * np.sum(dist > 40_000) / far.area


def test_land_release_follows_imas_order_and_the_field(ref_records):
    r = ref_records
    teams = {t.id: t for t in r["team"]}
    hazards = {h.id: h for h in r["hazard"]}
    by_hazard = defaultdict(list)
    for a in r["activity"]:
        assert a.start_date <= a.end_date <= AS_OF and a.start_date.year >= 2025
        assert a.start_date >= hazards[a.hazard_id].recorded_on
        team = teams[a.team]
        assert team.kind.value in FITTING[a.kind.value] and team.organisation == a.organisation
        assert team.available_from <= a.start_date
        by_hazard[a.hazard_id].append(a)
    rank = {"nts": 0, "ts": 1, "clearance": 2}
    for acts in by_hazard.values():
        for x, y in itertools.pairwise(acts):
            assert rank[x.kind.value] <= rank[y.kind.value] and x.end_date <= y.start_date
    assert 0.7 <= len(by_hazard) / len(hazards) <= 0.9
    status = Counter(a.review_status.value for a in r["activity"])
    assert status["approved"] > 0.9 * len(r["activity"]) and 100 <= status["submitted"] <= 700
    assert status["draft"] and status["rejected"]
    acts = r["activity"]
    flagged = outside_parent(
        [a.geometry for a in acts],
        [hazards[a.hazard_id].geometry for a in acts],
        [a.hazard_id for a in acts],
    )
    assert 0.003 <= len(flagged) / len(acts) <= 0.02


def test_released_area_is_mostly_survey_as_in_the_field():
    records = _parse_all(generate(scale=0.3, seed=4))
    releases = defaultdict(list)
    for a in records["activity"]:
        releases[a.hazard_id].append(Release(a.id, a.kind, a.end_date, a.review_status, a.geometry))  # fmt: skip
    total: Counter[str] = Counter()
    overlapping = 0
    for h in records["hazard"]:
        acc = account_hazard(h.geometry, releases[h.id])
        total.update(cancelled=acc.cancelled_m2, reduced=acc.reduced_m2, cleared=acc.cleared_m2)
        geoms = [x.geometry for x in releases[h.id]]
        overlapping += sum(
            any(shapely.intersection(g, e).area > 0 for e in geoms[:i]) for i, g in enumerate(geoms)
        )
    released = sum(total.values())
    assert total["cancelled"] > total["cleared"] > 0 and total["reduced"] > 0
    assert 0.35 <= total["cancelled"] / released <= 0.65  # Cambodia 2015: 70 of 147 km²
    assert 0.05 <= overlapping / len(records["activity"]) <= 0.2


def test_assets_projects_finds_and_reports_hang_together(ref_records):
    r = ref_records
    assets = {a.id: a for a in r["asset"]}
    assert {a.kind.value for a in assets.values()} == {"road_segment", "bridge", "power_line", "substation", "water_plant", "school", "hospital", "housing"}  # fmt: skip
    served = np.array([a.population_served for a in assets.values()])
    assert served.min() >= 1 and served.max() > 50 * np.median(served)
    for a in assets.values():
        low = {"housing": 50, "school": 300, "bridge": 1_000}.get(a.kind.value, 1)
        high = {"housing": 500, "school": 3_000, "bridge": 20_000}.get(a.kind.value, 1e9)
        assert low <= a.work_worker_days <= high
    want = {"completed": "restored", "in_progress": "under_reconstruction", "planned": "damaged"}
    for p in r["project"]:
        cond = assets[p.asset_id].condition.value
        assert want.get(p.status.value, "under_reconstruction") == cond
    teams = {t.id: t for t in r["team"]}
    for d in r["daily_report"]:
        team = teams[d.team]
        assert d.people_present <= team.personnel
        assert (AS_OF - d.report_date).days <= 60 and team.available_from <= d.report_date
        assert (d.project_id is not None) == (team.kind.value == "construction")
    acts = {a.id: a for a in r["activity"]}
    hazards = {h.id: h for h in r["hazard"]}
    assert {a.kind.value for a in acts.values()}
    for f in r["find"]:
        assert f.hazard_id and teams[f.team].kind.value != "construction"
        assert shapely.distance(hazards[f.hazard_id].geometry, f.geometry) < 0.02
    for acc in r["accident"]:
        assert acc.casualties and all(c.name for c in acc.casualties)
    pledged = sum(p.personnel for p in r["pledge"])
    assert 6_000 <= pledged <= 7_500

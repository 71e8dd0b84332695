"""A first load's checks in the worker: what it decides once for the import and the
accounts (normalised geometries, whether a release lies within its hazard), and how its
answers are taken in turn from a real worker process."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from shapely import box

from clearfield.domain.geometry import to_equal_area
from clearfield.domain.quality import outside_parent
from clearfield.store.accounts_worker import (
    CheckPart,
    FirstLoadChecks,
    account_chunk,
    account_rows,
    by_hazard,
    load_input,
)
from clearfield.store.sql_accounts import LoadAccounts, _Worker

X, Y = 30.0, 48.0
HAZARD = box(X, Y, X + 0.01, Y + 0.01)
LATER = box(X + 0.02, Y, X + 0.03, Y + 0.01)  # the hazard of a release sent before it
RELEASES = {
    "A1": (box(X, Y, X + 0.01, Y + 0.005), "H1"),  # shares the hazard's edges: within
    "A2": (box(X + 0.008, Y, X + 0.012, Y + 0.004), "H1"),  # reaches outside
    "A3": (box(X + 0.021, Y, X + 0.031, Y + 0.002), "H2"),  # reaches outside, sent first
    "A4": (box(X + 0.022, Y, X + 0.024, Y + 0.002), "H2"),  # within, sent first
}


def _part(rtype: str, geoms: list, ids: list[str], parents: list[str] | None = None) -> CheckPart:
    return CheckPart(
        rtype, True, shapely.to_wkb(np.asarray(geoms, dtype=object)).tolist(), ids, parents
    )


def _parts() -> list[CheckPart]:
    early = ["A3", "A4"]
    late = ["A1", "A2"]
    return [
        _part("activity", [RELEASES[a][0] for a in early], early, [RELEASES[a][1] for a in early]),
        _part("hazard", [HAZARD, LATER], ["H1", "H2"]),
        _part("activity", [RELEASES[a][0] for a in late], late, [RELEASES[a][1] for a in late]),
    ]


def test_within_is_decided_once_in_the_plane_as_the_accounts_decide_it():
    checks = FirstLoadChecks()
    for part in _parts():
        checks.add(part)
    flags = checks.result()["activity"][1]
    within = checks.within()
    hazards = {"H1": HAZARD, "H2": LATER}
    for rid, (geom, hid) in RELEASES.items():
        plane, parent = to_equal_area(np.asarray([geom, hazards[hid]], dtype=object))
        key = (shapely.to_wkb(geom), shapely.to_wkb(hazards[hid]))
        assert within[key] == shapely.covered_by(plane, parent), rid  # (a release sent
        # before its hazard is decided when the hazard comes: A3, A4)
    assert sorted(w for w in within.values()) == [False, False, True, True]
    # the flags are those of the check in longitude and latitude
    order = ["A3", "A4", "A1", "A2"]
    plain = outside_parent(
        [RELEASES[a][0] for a in order],
        [hazards[RELEASES[a][1]] for a in order],
        [RELEASES[a][1] for a in order],
    )
    assert sorted(flags) == sorted(plain) and [i for i, _, _ in sorted(flags)] == [0, 3]


def test_normalised_geometries_are_given_once_in_the_order_they_came():
    checks = FirstLoadChecks()
    parts = _parts()
    for part in parts:
        checks.add(part)
    got = checks.normalised()
    for rtype in ("hazard", "activity"):
        sent = [w for p in parts if p.record_type == rtype for w in p.wkbs]
        assert got[rtype] == shapely.to_wkb(shapely.normalize(shapely.from_wkb(sent))).tolist()
        assert got[rtype] != sent  # (boxes are written counter-clockwise; normalised, not)
    assert checks.normalised() == {}


def test_a_worker_answers_in_turn_and_an_answer_not_taken_is_passed_by():
    worker = _Worker()
    try:
        for part in _parts():
            worker.send(("check", *part))
        worker.ask("normalised")
        worker.ask("checked")
        worker.finish()
        checked = worker.take("checked")  # (the normalised geometries before it: passed by)
        assert sorted(checked) == ["activity", "hazard"]
        assert [i for i, _, _ in sorted(checked["activity"][1])] == [0, 3]
        with pytest.raises(RuntimeError, match="not asked for 'normalised', or it was taken"):
            worker.take("normalised")
    finally:
        worker.close()


def _accounted_parts() -> list[CheckPart]:
    """A load's hazards and activities with what their accounts take from them: H2 is not
    approved (it does not count), A3 neither; A4 has no date of its own."""
    wkb = shapely.to_wkb(np.asarray([HAZARD, LATER], dtype=object)).tolist()
    hazards = CheckPart("hazard", True, wkb, ["H1", "H2"], None, [0, 1], [True, False])
    order = ["A1", "A2", "A3", "A4"]
    geoms = shapely.to_wkb(np.asarray([RELEASES[a][0] for a in order], dtype=object)).tolist()
    return [
        hazards,
        CheckPart(
            "activity",
            True,
            geoms[:2],
            order[:2],
            ["H1", "H1"],
            [1, 2],  # (position 0: an activity without a geometry, not sent)
            [True, True],
            ["clearance", "ts"],
            ["2025-03-01", "2025-03-02"],
            ["ORG-1", None],
        ),
        CheckPart(
            "activity",
            True,
            geoms[2:],
            order[2:],
            ["H2", "H1"],
            [3, 4],
            [False, True],
            ["nts", "nts"],
            ["2025-03-03", None],
            ["ORG-1", "ORG-2"],
        ),
    ]


def test_a_first_load_s_accounting_input_is_numbered_as_the_write_numbers_it():
    """Each record is numbered by the first number of its type plus its place among the
    load's of its type; only counted hazards and releases are accounted, a release on a
    hazard that does not count is left to be dropped, and an undated one ends today."""
    parts = _accounted_parts()
    hazards, releases = load_input(
        {"hazard": parts[:1], "activity": parts[1:]}, {"hazard": 3, "activity": 10}, "2026-11-29"
    )
    assert hazards == [(3, 3, parts[0].wkbs[0])]
    assert releases == [
        (3, 11, "A1", "clearance", "2025-03-01", "ORG-1", parts[1].wkbs[0]),
        (3, 12, "A2", "ts", "2025-03-02", None, parts[1].wkbs[1]),
        (3, 14, "A4", "nts", "2026-11-29", "ORG-2", parts[2].wkbs[1]),
    ]
    # a release on a hazard the load does not bring, or a part without what the accounts
    # take: no input (the write accounts for itself)
    assert load_input({"activity": parts[1:]}, {"activity": 10}, "x") is None
    bare = {"hazard": [CheckPart(*parts[0][:5])], "activity": parts[1:]}
    assert load_input(bare, {"hazard": 3, "activity": 10}, "x") is None


def test_a_worker_accounts_the_load_it_checked_and_says_so_when_it_cannot():
    """Asked for a first load's accounts after its checks, a real worker answers the rows
    that hold them, those of accounting the same input here; for parts sent without what
    the accounts take, it answers none, and the write then accounts for itself."""
    parts = _accounted_parts()
    firsts = {"hazard": 3, "activity": 10}
    hazards, releases = load_input(
        {"hazard": parts[:1], "activity": parts[1:]}, firsts, "2026-11-29"
    )
    polygons, on = by_hazard(hazards, releases)
    here = account_rows(hazards, releases, account_chunk(polygons, on))
    assert [r[0] for r in here[1]] == [11, 12, 14] and here[0][0][:2] == (3, 3)
    for complete in (True, False):
        worker = _Worker()
        try:
            for part in parts if complete else [CheckPart(*p[:5]) for p in parts]:
                worker.send(("check", *part))
            worker.ask("normalised")
            worker.ask("checked")
            worker.ask("load accounts", firsts, "2026-11-29")
            worker.finish()
            accounts = LoadAccounts(worker)
            if complete:
                assert worker.take("load accounts") == here
            else:
                assert accounts.write(None, None) is False  # type: ignore[arg-type]
        finally:
            worker.close()

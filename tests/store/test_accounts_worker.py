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
from clearfield.store.accounts_worker import CheckPart, FirstLoadChecks
from clearfield.store.sql_accounts import _Worker

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

"""Land release accounting inside PostGIS equals the embedded store's (the domain's
Shapely accounting) within 0.01% of each hazard's area, on the same records."""

from __future__ import annotations

import math
import secrets
from collections.abc import Iterator
from contextlib import ExitStack

import pytest
from shapely import box

from clearfield import services
from clearfield.stats import programme_stats
from clearfield.store.base import Store
from common import X0, Y0, activity, base_programme, same_figures
from conftest import new_database, postgres_url
from pg import PostgresCluster

REL = 1e-4  # 0.01%


def _both(
    request: pytest.FixtureRequest, tmp_path, features, pg_url: str | None = None
) -> list[Store]:
    """The features imported into an SQLite file and a PostGIS database (``pg_url``, or
    a new one from the template)."""
    stack = ExitStack()
    request.addfinalizer(stack.close)
    stores = []
    for kind in ("sqlite", "postgis"):
        url = pg_url if kind == "postgis" and pg_url else None
        store = services.open_store(url or stack.enter_context(new_database(request, kind, tmp_path)))  # fmt: skip
        stack.callback(store.close)
        services.import_features(store, features, source="test", actor="t")
        stores.append(store)
    return stores


def _releases(store: Store) -> dict[int, tuple[str, float, float]]:
    rows = store.query(
        "SELECT e.record_id, r.category, r.released_m2, r.outside_m2 "
        "FROM release_account r JOIN entity e ON e.pk = r.activity_pk"
    )
    return {rid: (cat, m2, out) for rid, cat, m2, out in rows}


def _assert_close(a: dict, b: dict, scale: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        for x, y in zip(a[key], b[key], strict=True):
            if isinstance(x, float):
                assert math.isclose(x, y, abs_tol=REL * scale[key] + 1e-6), (key, a[key], b[key])
            else:
                assert x == y, (key, a[key], b[key])


def test_the_scenario_is_accounted_alike_in_either_store(request, tmp_path) -> None:
    from clearfield.scenario import generate

    lite, pg = _both(request, tmp_path, generate(scale=0.05, seed=4).features)
    a, b = lite.hazard_accounts(), pg.hazard_accounts()
    assert len(a) == 250
    area = {h: acc["hazard_m2"] for h, acc in a.items()}
    _assert_close({h: tuple(v.values()) for h, v in a.items()}, {h: tuple(v.values()) for h, v in b.items()}, area)  # fmt: skip
    for acc in b.values():  # the invariant holds in PostGIS's own figures
        parts = acc["cancelled_m2"] + acc["reduced_m2"] + acc["cleared_m2"] + acc["remaining_m2"]
        assert parts == pytest.approx(acc["hazard_m2"], rel=REL)
        assert min(acc.values()) >= 0
    hazard_of = dict(
        lite.query(
            "SELECT e.record_id, h.record_id FROM release_account r "
            "JOIN entity e ON e.pk = r.activity_pk JOIN entity h ON h.pk = r.hazard_pk"
        )
    )
    ra, rb = _releases(lite), _releases(pg)
    assert sum(1 for _, m2, _ in ra.values() if m2 > 0) > 100
    _assert_close(ra, rb, {r: area[hazard_of[r]] for r in ra})
    assert same_figures(programme_stats(pg), programme_stats(lite), rel=REL)
    # and a full recompute in PostGIS gives what the incremental ones gave
    before = pg.query("SELECT * FROM hazard_account ORDER BY entity_pk")
    pg.refresh_accounts()
    assert pg.query("SELECT * FROM hazard_account ORDER BY entity_pk") == before


@pytest.fixture
def english_collation(postgres: PostgresCluster) -> Iterator[str]:
    """A database whose text sorts as a real deployment's would (ICU, en-US: 'a' < 'B')."""
    name = f"icu_{secrets.token_hex(4)}"
    with postgres.connect() as conn:
        conn.execute(
            f"CREATE DATABASE {name} TEMPLATE template0 LOCALE_PROVIDER icu "
            "ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"
        )
        assert conn.execute("SELECT 'a' < 'B' COLLATE \"en-US-x-icu\"").fetchone() == (True,)
    yield postgres_url(postgres.url_of(name))
    with postgres.connect() as conn:
        conn.execute(f"DROP DATABASE {name} WITH (FORCE)")


def test_first_release_wins_in_python_order_and_outside_is_flagged(
    request, tmp_path, english_collation
) -> None:
    """Two releases ending the same day: the first by id in code-point order ('B' < 'a',
    which the database's collation puts the other way) takes the overlap; a release
    reaching outside its hazard counts only its inside part."""
    left = box(X0, Y0, X0 + 0.006, Y0 + 0.01)
    right = box(X0 + 0.004, Y0, X0 + 0.01, Y0 + 0.01)
    spill = box(X0 + 0.008, Y0 + 0.008, X0 + 0.012, Y0 + 0.012)  # a quarter inside
    features = [
        *base_programme(),
        activity("a-late", left, kind="nts", end_date="2025-03-20"),
        activity("B-early", right, kind="clearance", end_date="2025-03-20"),
        activity("Z", spill, kind="ts", end_date="2025-04-01"),
    ]
    lite, pg = _both(request, tmp_path, features, english_collation)
    assert pg.count("SELECT 'a' < 'B'") is True
    ra, rb = _releases(lite), _releases(pg)
    hazard_m2 = pg.hazard_accounts()["HA-1"]["hazard_m2"]
    _assert_close(ra, rb, dict.fromkeys(ra, hazard_m2))
    # B-early took the whole of its rectangle, a-late only what was left (0.4 of it)
    assert rb["B-early"][1] == pytest.approx(0.6 * hazard_m2, rel=1e-3)
    assert rb["a-late"][1] == pytest.approx(0.4 * hazard_m2, rel=1e-3)
    assert rb["Z"][1] == pytest.approx(0.0, abs=1.0)  # its inside part was cleared before
    assert rb["Z"][2] == pytest.approx(0.12 * hazard_m2, rel=1e-2)  # 3/4 of 0.16 outside
    acc = pg.hazard_accounts()["HA-1"]
    assert acc["remaining_m2"] == pytest.approx(0.0, abs=1.0)
    assert acc["outside_m2"] == pytest.approx(rb["Z"][2])

"""`clearfield copy`: a whole programme from SQLite to PostGIS and back, nothing lost."""

from __future__ import annotations

import subprocess
import sys

import pytest

from clearfield import planning, services
from clearfield.copy import copy_programme, table_checks
from clearfield.errors import StoreError
from clearfield.ingest import ingest, new_ingest_key
from clearfield.io.odk import kobo_list
from clearfield.stats import programme_stats
from clearfield.store.base import RememberedAnswer
from clearfield.users import add_user, authenticate
from common import same_figures
from conftest import postgres_url
from pg import PostgresCluster


@pytest.fixture(scope="module")
def programme(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A small scenario with everything a programme holds: versions, reviews, quality
    flags, accounts, users, a remembered submission, a field submission, an ingest key
    and a stored plan run."""
    from clearfield.domain.enums import ReviewStatus
    from clearfield.scenario import generate

    url = f"sqlite:///{tmp_path_factory.mktemp('copy') / 'source.db'}"
    store = services.open_store(url)
    scen = generate(scale=0.02, seed=7)
    services.import_features(store, scen.features, source="scenario", actor="t")
    store.set_programme(scen.metadata, actor="t")
    pending = services.pending(store, "activity")[0].record.id
    services.review(store, "activity", pending, ReviewStatus.APPROVED, actor="officer")
    add_user(store, "officer", "im_officer", None, "a long password 1", actor="t")
    store.server_secret()
    store.remember_submissions([RememberedAnswer("key-1", "officer", "h", 200, '{"ok": 1}')])
    store.set_ingest_key(scen.features[0]["properties"]["id"], new_ingest_key()[1], actor="t")
    unmapped = {"clearfield_form": "clearfield_ts", "meta/instanceID": "uuid:1", "q": "x"}
    assert ingest(store, kobo_list([unmapped]), actor="kobo").unmapped  # kept all the same
    result = planning.plan_problem(planning.build(store), time_limit=1)
    planning.save_run(store, "planner", "2026-11-27T09:00:00+00:00", result)
    store.close()
    return url


def test_a_programme_goes_to_postgis_and_back_unchanged(
    programme: str, postgres: PostgresCluster, tmp_path
) -> None:
    source = services.open_store(programme, create=False)
    pg = services.open_store(postgres_url(postgres.new_database()))
    back = services.open_store(f"sqlite:///{tmp_path / 'back.db'}")
    try:
        expected = table_checks(source)
        assert all(c.rows for c in expected if c.table != "quality_flag")
        assert copy_programme(source, pg) == expected
        assert table_checks(pg) == expected
        assert copy_programme(pg, back) == expected
        assert table_checks(back) == expected
        for copy in (pg, back):  # and it reads back the same, through the store
            assert same_figures(programme_stats(copy), programme_stats(source))
            assert copy.audit_events() == source.audit_events()
            assert copy.change_mark() == source.change_mark()
            assert copy.latest_plan_run() == source.latest_plan_run()
            assert authenticate(copy, "officer", "a long password 1").name == "officer"
            assert copy.server_secret() == source.server_secret()
            hazard = next(iter(source.records("hazard"))).record.id
            assert copy.history("hazard", hazard) == source.history("hazard", hazard)
        # the copy goes on where the source left off: new keys follow the copied ones
        services.import_features(pg, [], source="t", actor="t")
        pg.set_programme({"after": "copy"}, actor="t")
        assert pg.change_mark() == source.change_mark() + 1
    finally:
        for s in (source, pg, back):
            s.close()


def test_a_target_that_holds_a_programme_is_refused(
    programme: str, postgres: PostgresCluster
) -> None:
    source = services.open_store(programme, create=False)
    target_url = postgres_url(postgres.new_database())
    target = services.open_store(target_url)
    try:
        copy_programme(source, target)
        before = table_checks(target)
        with pytest.raises(StoreError, match="not empty"):
            copy_programme(source, target)
        assert table_checks(target) == before
    finally:
        source.close()
        target.close()
    cli = subprocess.run(
        [sys.executable, "-m", "clearfield", "copy", programme, target_url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert cli.returncode != 0 and "not empty" in cli.stderr


def test_the_copy_command_reports_what_it_checked(
    programme: str, postgres: PostgresCluster
) -> None:
    target = postgres_url(postgres.new_database())
    cli = subprocess.run(
        [sys.executable, "-m", "clearfield", "copy", programme, target],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert cli.returncode == 0, cli.stderr
    assert "counts and checksums agree" in cli.stdout
    assert "audit_event" in cli.stdout and "record_version" in cli.stdout

"""The stores themselves, each test on both (the embedded SQLite file and PostGIS) unless
it is about one: schema, box index, atomic writes, full recompute; SQLite's pragmas."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import shapely
import sqlalchemy
from shapely import box

from clearfield import services
from clearfield.errors import StoreError
from clearfield.store.base import RememberedAnswer
from clearfield.store.sqlite import SQLiteStore
from common import X0, Y0, activity, base_programme, dump, hazard, organisation
from conftest import postgres_url


def load(store, features):
    return services.import_features(store, features, source="test", actor="t")


def test_foreign_keys_and_schema_revision(store):
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == "0004"
    with store.engine.begin() as conn, pytest.raises(Exception, match=r"(?i)foreign key"):
        conn.exec_driver_sql(
            "INSERT INTO record_version (pk, entity_pk, version, stored_at, review_status, "
            "properties, content_hash) VALUES (1, 999, 1, 'x', 'draft', '{}', 'h')"
        )


def test_sqlite_runs_in_wal_with_foreign_keys_on(tmp_path):
    store = SQLiteStore.open(f"sqlite:///{tmp_path / 'wal.db'}")
    try:
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        store.close()


def test_audit_log_is_append_only(store):
    load(store, base_programme())
    with store.engine.connect() as conn, pytest.raises(Exception, match="append-only"):
        conn.exec_driver_sql("UPDATE audit_event SET actor = 'someone else'")


def test_bbox_queries_use_the_rtree_and_exact_geometry(store):
    far = box(X0 + 1, Y0 + 1, X0 + 1.01, Y0 + 1.01)
    load(store, [*base_programme(), hazard(id="HA-2", geom=far)])
    got = [s.record.id for s in store.records("hazard", bbox=(X0 + 0.9, Y0 + 0.9, X0 + 2, Y0 + 2))]
    assert got == ["HA-2"]
    assert store.count("SELECT COUNT(*) FROM record_bbox") == 3  # team, 2 hazards; no org
    assert [r for r, _ in store.geometries_near("hazard", (X0, Y0, X0 + 0.001, Y0 + 0.001))] == [
        "HA-1"
    ]
    # a diagonal hazard whose box covers the window but whose polygon does not reach it
    diagonal = shapely.Polygon([(X0, Y0 + 2), (X0 + 0.1, Y0 + 2), (X0 + 0.1, Y0 + 2.1)])
    load(store, [hazard(id="HA-3", geom=diagonal)])
    corner = (X0 + 0.001, Y0 + 2.08, X0 + 0.01, Y0 + 2.099)
    in_box = store.count(
        "SELECT COUNT(*) FROM record_bbox WHERE maxx >= ? AND minx <= ? AND maxy >= ? AND miny <= ?",
        (corner[0], corner[2], corner[1], corner[3]),
    )
    assert in_box == 1
    assert [s.record.id for s in store.records("hazard", bbox=corner)] == []


def test_a_failing_write_leaves_nothing(store):
    """A fault in the middle of the transaction (a trigger here) rolls the whole file back."""
    load(store, base_programme())
    with store.engine.begin() as conn:
        if store.engine.dialect.name == "sqlite":
            conn.exec_driver_sql(
                "CREATE TRIGGER boom BEFORE INSERT ON audit_event WHEN NEW.record_id = 'A2' "
                "BEGIN SELECT RAISE(ABORT, 'disk on fire'); END"
            )
        else:
            conn.exec_driver_sql(
                "CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS "
                "'BEGIN RAISE EXCEPTION ''disk on fire''; END'"
            )
            conn.exec_driver_sql(
                "CREATE TRIGGER boom BEFORE INSERT ON audit_event FOR EACH ROW "
                "WHEN (NEW.record_id = 'A2') EXECUTE FUNCTION boom()"
            )
    before = dump(store)
    left = box(X0, Y0, X0 + 0.005, Y0 + 0.01)
    with pytest.raises(Exception, match="disk on fire"):
        load(store, [activity("A1", left), activity("A2", left, end_date="2025-03-21")])
    assert dump(store) == before


def test_a_submission_is_stored_with_its_answer_or_not_at_all(store):
    """The answer to a submission is kept in the records' own transaction: an answer
    stored already under the same client id refuses the whole write."""
    load(store, base_programme())
    left = box(X0, Y0, X0 + 0.005, Y0 + 0.01)

    def answer(key):
        return lambda report: [RememberedAnswer(key, "lead", "h", 200, '{"ok": 1}')]

    services.import_features(store, [activity("A1", left)], source="api", actor="lead", remember=answer("k1"))  # fmt: skip
    assert store.submissions(["k1", "k2"]) == {
        "k1": {
            "key": "k1",
            "user_name": "lead",
            "request_hash": "h",
            "status_code": 200,
            "response": '{"ok": 1}',
        }
    }
    before = dump(store)
    with pytest.raises(StoreError) as caught:
        services.import_features(store, [activity("A2", left)], source="api", actor="lead", remember=answer("k1"))  # fmt: skip
    assert caught.value.code == "CONFLICT"
    assert dump(store) == before
    refused = RememberedAnswer("k1", "lead", "other", 422, "{}")
    assert store.remember_submissions([refused])["k1"]["request_hash"] == "h"  # first wins


def test_full_recompute_equals_incremental_accounts(store):
    left = box(X0, Y0, X0 + 0.005, Y0 + 0.01)
    load(store, [*base_programme(), activity("A1", left, kind="nts")])
    before = store.query("SELECT * FROM hazard_account")
    assert store.refresh_accounts() == 1
    assert store.query("SELECT * FROM hazard_account") == before


def test_refuses_a_newer_schema(tmp_path):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    SQLiteStore.open(url).close()
    con = sqlite3.connect(tmp_path / "x.db")
    con.execute("UPDATE alembic_version SET version_num = '9999'")
    con.commit()
    con.close()
    with pytest.raises(StoreError, match="newer than this Clearfield knows"):
        SQLiteStore.open(url)


def test_missing_database_is_a_clear_error(tmp_path):
    with pytest.raises(StoreError, match="no database at"):
        SQLiteStore.open(f"sqlite:///{tmp_path / 'nope.db'}", create=False)
    with pytest.raises(StoreError, match=r"cannot open postgresql\S*//postgres:\*\*\*@127") as e:
        services.open_store("postgresql://postgres:secret@127.0.0.1:1/x")  # no server there
    assert "secret" not in str(e.value)  # a password never lands in a message or log
    with pytest.raises(StoreError, match="unknown database URL"):
        services.open_store("mysql://localhost/x")


def test_an_empty_postgres_database_is_not_taken_for_a_programme(postgres):
    url = postgres_url(postgres.new_database())
    with pytest.raises(StoreError, match="no Clearfield database at"):
        services.open_store(url, create=False)
    env = dict(os.environ, CLEARFIELD_DATABASE=url, NO_COLOR="1", COLUMNS="200")
    run = [sys.executable, "-m", "clearfield", "migrate"]
    behind = subprocess.run([*run, "--check"], env=env, capture_output=True, text=True)
    assert behind.returncode == 1 and "(none)" in behind.stderr
    made = subprocess.run(run, env=env, capture_output=True, text=True)
    assert made.returncode == 0 and "(none) → 0004" in made.stdout, made.stderr
    services.open_store(url, create=False).close()


def test_parallel_accounting_equals_serial(tmp_path, monkeypatch):
    """The embedded store's whole-programme recomputes run worker processes; their
    accounts equal the serial ones. (PostGIS accounts in SQL: tests/store/test_postgis_accounts.py.)"""
    import clearfield.store.sql_accounts as sqlite_store
    from clearfield.scenario import generate

    store = SQLiteStore.open(f"sqlite:///{tmp_path / 'parallel.db'}")
    services.import_features(store, generate(scale=0.05, seed=2).features, source="s", actor="t")
    monkeypatch.setattr(sqlite_store, "PARALLEL_FROM", 10**9)
    store.refresh_accounts()
    serial = store.query("SELECT * FROM hazard_account ORDER BY entity_pk")
    monkeypatch.setattr(sqlite_store, "PARALLEL_FROM", 1)
    monkeypatch.setattr(sqlite_store, "_CHUNK", 40)
    store.refresh_accounts()
    assert store.query("SELECT * FROM hazard_account ORDER BY entity_pk") == serial
    assert len(serial) == 250
    store.close()


def test_neighbours_by_window_and_by_record_boxes_agree(store):
    """Bulk loads look around the whole file, field returns around each record: same pairs."""
    from clearfield.scenario import generate

    services.import_features(store, generate(scale=0.05, seed=3).features, source="s", actor="t")
    hazards = list(store.records("hazard"))[:20]
    boxes = [tuple(shapely.bounds(h.record.geometry)) for h in hazards]
    touching = {rid for rid, _ in store.geometries_touching("hazard", boxes)}
    by_window = set()
    for b in boxes:
        by_window |= {rid for rid, _ in store.geometries_near("hazard", b)}
    assert touching == by_window
    assert {h.record.id for h in hazards} <= touching


def test_sql_with_a_literal_percent_sign_runs_on_either_store(store):
    """The shared SQL is written with ? placeholders; a % in it is a % on both stores."""
    load(store, base_programme())
    assert store.count("SELECT COUNT(*) FROM entity WHERE record_id LIKE 'HA-%'") == 1
    assert store.count("SELECT COUNT(*) FROM entity WHERE record_id LIKE ?", ("HA-%",)) == 1
    assert store.count("SELECT '50%' || ?", ("!",)) == "50%!"


def test_erasing_a_postgres_programme_leaves_the_rest_of_the_database(postgres):
    """`scenario --replace` on PostgreSQL drops Clearfield's tables, not a neighbour's."""
    url = postgres_url(postgres.new_database())
    store = services.open_store(url)
    load(store, base_programme())
    with store.engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE their_table (x INTEGER)")
        conn.exec_driver_sql("INSERT INTO their_table VALUES (1)")
    store.close()
    services.erase(url)
    store = services.open_store(url, create=False)
    try:
        assert store.is_empty() and store.count("SELECT COUNT(*) FROM audit_event") == 0
        assert store.count("SELECT COUNT(*) FROM their_table") == 1
    finally:
        store.close()


def _bulk_everywhere(monkeypatch) -> None:
    """Make a small write take the bulk path: rows built in chunks while a thread inserts
    them a few per statement, and a first load's accounts computed by a worker process
    started before the write."""
    import clearfield.store.sql as sql
    import clearfield.store.sql_accounts as accounts
    import clearfield.store.sql_batches as batches

    monkeypatch.setattr(sql, "_BULK", 50)
    monkeypatch.setattr(services, "_PARSE_PART", 89)
    monkeypatch.setattr(sql, "_WRITE_CHUNK", 97)
    monkeypatch.setattr(batches, "_ROWS_PER_STATEMENT", 7)
    monkeypatch.setattr(accounts, "PARALLEL_FROM", 1)
    monkeypatch.setattr(accounts, "_CHUNK", 40)


_STABLE = {  # every column but the times of writing and the hashes that cover them
    "entity": "*",
    "record_version": "pk, entity_pk, version, info_date, review_status, rejection_reason, "
    "is_current, is_counted, kind, organisation, district, parent_pk, properties, geometry, "
    "area_m2, content_hash, repair_note",
    "record_bbox": "*",
    "audit_event": "pk, actor, action, record_type, record_id, version, before, after, detail",
    "quality_flag": "pk, version_pk, code, message, other_pk",
    "hazard_account": "*",
    "release_account": "*",
}


@pytest.mark.parametrize("accounts", ["at the end", "as soon as they may"])
def test_a_bulk_write_stores_what_a_small_one_does(tmp_path, monkeypatch, accounts):
    """The same scenario written the plain way and the bulk way gives the same rows
    (areas and quality flags too, which the worker computed part by part as the file
    was parsed, some activities before their hazards), an intact audit chain, and
    accounts equal to those recomputed from the rows. The accounts go in whenever the
    worker has them, once their hazards' versions are in: here at the end, or taken as
    soon as those are."""
    import clearfield.store.sql_accounts as accounts_module
    from clearfield.scenario import generate
    from clearfield.store.audit_chain import verify

    ready = accounts == "as soon as they may"
    monkeypatch.setattr(accounts_module.LoadAccounts, "ready", lambda self: ready)

    features = generate(scale=0.05, seed=3).features
    early = [f for f in features if f["properties"]["record_type"] == "activity"][::7]
    features = early + [f for f in features if all(f is not e for e in early)]
    first = next(f for f in features if f["properties"]["record_type"] == "hazard")
    features.append({**first, "properties": {**first["properties"], "id": "HA-COPY"}})
    plain = SQLiteStore.open(f"sqlite:///{tmp_path / 'plain.db'}")
    services.import_features(plain, features, source="s", actor="t")
    _bulk_everywhere(monkeypatch)
    workers = _count_workers(monkeypatch)

    def not_here(*args, **kwargs):
        raise AssertionError("a first load into an empty store is checked by the worker")

    monkeypatch.setattr(services, "_check_type", not_here)
    import clearfield.store.sql as sql

    def not_built_here(*args, **kwargs):  # (the parts it checked had the accounts' input)
        raise AssertionError("a first load's accounts are the checking worker's")

    monkeypatch.setattr(sql, "_fresh_accounts", not_built_here)

    chunks, write_chunk = [], sql.SQLStore._write_chunk

    def seen(inserts, versions, a, *args):  # the versions of the chunks before, let go
        chunks.append((versions, a, versions[:a].count(None)))
        return write_chunk(inserts, versions, a, *args)

    monkeypatch.setattr(sql.SQLStore, "_write_chunk", staticmethod(seen))
    bulk = SQLiteStore.open(f"sqlite:///{tmp_path / 'bulk.db'}")
    services.import_features(bulk, features, source="s", actor="t")
    assert workers == [1]  # the accounts came from a worker process, started ahead
    assert len(chunks) > 3 and [gone for _, a, gone in chunks] == [a for _, a, _ in chunks]
    assert chunks[0][0] == []  # (handed over by the import: left empty)
    codes = {c for (c,) in plain.query("SELECT code FROM quality_flag")}
    assert {"RELEASE_OUTSIDE_HAZARD", "HAZARD_OVERLAP", "DUPLICATE_GEOMETRY"} <= codes, codes
    for table, columns in _STABLE.items():
        sql = f"SELECT {columns} FROM {table} ORDER BY 1"
        assert bulk.query(sql) == plain.query(sql), table
    assert len(bulk.query("SELECT * FROM hazard_account")) == 251
    assert verify(bulk).intact
    accounts = [bulk.query(f"SELECT * FROM {t} ORDER BY 1") for t in ("hazard_account", "release_account")]  # fmt: skip
    monkeypatch.setattr(accounts_module, "PARALLEL_FROM", 10**9)  # recomputed in this process
    bulk.refresh_accounts()
    assert [bulk.query(f"SELECT * FROM {t} ORDER BY 1") for t in ("hazard_account", "release_account")] == accounts  # fmt: skip
    plain.close()
    bulk.close()


def test_a_first_load_into_a_store_written_meanwhile_accounts_for_itself(tmp_path, monkeypatch):
    """The worker that checked a first load accounts it by the numbers of an empty store.
    Another writer's record stored between the parsing and the write takes the first
    number: the write then accounts the load itself, and its accounts are those
    recomputed from the rows."""
    import clearfield.store.sql_accounts as accounts
    from clearfield.scenario import generate

    _bulk_everywhere(monkeypatch)
    path = tmp_path / "bulk.db"
    store = SQLiteStore.open(f"sqlite:///{path}")
    features = generate(scale=0.05, seed=3).features
    resolve = services._resolve_versions

    def written_meanwhile(*args, **kwargs):
        monkeypatch.setattr(services, "_resolve_versions", resolve)  # (once)
        other = SQLiteStore.open(f"sqlite:///{path}")
        services.import_features(other, [organisation("ORG-ELSEWHERE")], source="o", actor="o")
        other.close()
        return resolve(*args, **kwargs)

    monkeypatch.setattr(services, "_resolve_versions", written_meanwhile)
    services.import_features(store, features, source="s", actor="t")
    assert store.count("SELECT COUNT(*) FROM entity") == len(features) + 1
    tables = ("hazard_account", "release_account")
    made = [store.query(f"SELECT * FROM {t} ORDER BY 1") for t in tables]
    assert len(made[0]) == 250 and len(made[1]) > 500
    monkeypatch.setattr(accounts, "PARALLEL_FROM", 10**9)
    store.refresh_accounts()
    assert [store.query(f"SELECT * FROM {t} ORDER BY 1") for t in tables] == made
    assert store.query("PRAGMA foreign_key_check") == []
    assert _accounting_workers() == []
    store.close()


def test_a_later_bulk_write_audits_what_a_small_one_does(tmp_path, monkeypatch):
    """New versions and repaired records written in bulk (their audit events taken from
    their versions' rows by SQLite) give the events a plain write gives: the same
    actions, properties before and after, and details with the repair, in a chain that
    verifies."""
    import copy

    from clearfield.scenario import generate
    from clearfield.store.audit_chain import verify

    features = generate(scale=0.05, seed=3).features
    later = []
    for f in [f for f in features if f["properties"]["record_type"] == "hazard"][:60]:
        f = copy.deepcopy(f)
        f["properties"].update(recorded_on="2025-12-01", contamination=["uxo"])
        later.append(f)
    x, y = later[0]["geometry"]["coordinates"][0][0]
    bowtie = [[x, y], [x + 0.001, y + 0.001], [x + 0.001, y], [x, y + 0.001], [x, y]]
    later[1]["geometry"] = {"type": "Polygon", "coordinates": [bowtie]}
    stores = {}
    for way in ("plain", "bulk"):
        if way == "bulk":
            _bulk_everywhere(monkeypatch)
        store = stores[way] = SQLiteStore.open(f"sqlite:///{tmp_path / f'{way}.db'}")
        services.import_features(store, features, source="first", actor="t")
        report = services.import_features(store, later, source="later", actor="u", repair=True)
        assert sum(report.versioned.values()) == 60 and len(report.repaired) == 1
    events = "SELECT pk, actor, action, record_type, record_id, version, before, after, detail FROM audit_event ORDER BY pk"  # fmt: skip
    assert stores["bulk"].query(events) == stores["plain"].query(events)
    details = {d for (d,) in stores["bulk"].query(f"SELECT detail FROM audit_event WHERE pk > {len(features)}")}  # fmt: skip
    assert len(details) == 2 and "later" in details, details  # (one with the repair)
    assert stores["bulk"].count("SELECT COUNT(*) FROM audit_event WHERE before IS NOT NULL") == 60
    for store in stores.values():
        assert verify(store).intact
        store.close()


@pytest.mark.parametrize(
    "where", ["abort in the thread", "rollback in the thread", "building rows"]
)
def test_a_bulk_write_failing_midway_leaves_nothing(tmp_path, monkeypatch, where):
    """A fault after some chunks were inserted (a statement refused in the inserting
    thread, one that makes SQLite roll the transaction back, or one while the next rows
    are built) leaves the store as it was, says so as a store error, and leaves no
    accounting worker behind."""
    import clearfield.store.sql as sql
    from clearfield.scenario import generate
    from clearfield.store.audit_chain import verify

    features = generate(scale=0.05, seed=3).features
    store = SQLiteStore.open(f"sqlite:///{tmp_path / 'bulk.db'}")
    services.import_features(store, features[:40], source="s", actor="t")
    _bulk_everywhere(monkeypatch)
    if where == "building rows":
        chained = sql.chain_audit_events

        def fail_on_the_fourth(head, rows, out, calls=[]):  # noqa: B006 (counts the calls)
            calls.append(1)
            if len(calls) == 4:
                raise StoreError("disk on fire")
            return chained(head, rows, out)

        monkeypatch.setattr(sql, "chain_audit_events", fail_on_the_fourth)
    else:
        victim = features[400]["properties"]["id"]
        how = "ABORT" if where.startswith("abort") else "ROLLBACK"
        with store.engine.begin() as conn:
            conn.exec_driver_sql(
                "CREATE TRIGGER boom BEFORE INSERT ON audit_event "
                f"WHEN NEW.record_id = '{victim}' BEGIN SELECT RAISE({how}, 'disk on fire'); END"
            )
    before = dump(store)
    with pytest.raises((StoreError, sqlalchemy.exc.DBAPIError), match="disk on fire"):
        services.import_features(store, features, source="s", actor="t")
    assert dump(store) == before
    assert verify(store).intact
    assert _accounting_workers() == []
    # the bulk write's rollback journal is given up with it: the file is back in WAL
    assert store.query("PRAGMA journal_mode") == [("wal",)]
    assert Path(f"{tmp_path / 'bulk.db'}-journal").exists() is False
    store.close()


def _count_workers(monkeypatch) -> list[int]:
    """Count the accounting worker processes started from now on (in a list of one)."""
    import clearfield.store.sql_accounts as accounts

    started = [0]

    class Counted(accounts._Worker):
        def __init__(self, *args, **kwargs):
            started[0] += 1
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(accounts, "_Worker", Counted)
    return started


def test_a_first_load_whose_accounting_worker_fails_is_accounted_here(
    tmp_path, monkeypatch, caplog
):
    """A worker process that cannot account (here: it cannot even start its module) is
    not the end of the import: the writer's process computes those accounts, says so in
    the log with the worker's reason, and no worker is left behind."""
    import clearfield.store.sql_accounts as accounts
    from clearfield.scenario import generate

    store = SQLiteStore.open(f"sqlite:///{tmp_path / 'bulk.db'}")
    _bulk_everywhere(monkeypatch)
    monkeypatch.setattr(accounts, "_WORKER", "clearfield.store.no_such_worker")
    workers = _count_workers(monkeypatch)
    features = generate(scale=0.05, seed=3).features
    with caplog.at_level("WARNING", logger="clearfield.store.sql_accounts"):
        services.import_features(store, features, source="s", actor="t")
    assert workers == [1]
    assert "failed in a worker process (exit status 1: " in caplog.text
    assert "no_such_worker" in caplog.text and "computed here instead" in caplog.text
    assert _accounting_workers() == []
    accounts_made = store.query("SELECT * FROM hazard_account ORDER BY 1")
    monkeypatch.setattr(accounts, "PARALLEL_FROM", 10**9)
    store.refresh_accounts()
    assert store.query("SELECT * FROM hazard_account ORDER BY 1") == accounts_made
    assert len(accounts_made) == 250
    store.close()


@pytest.mark.parametrize("again", ["the same", "a later report"])
def test_accounts_guessed_ahead_are_not_used_when_the_versions_differ(tmp_path, monkeypatch, again):
    """A first load's accounts start on the guess that every record in the file is new
    and appears once. A file that repeats a record (stored once), or brings a later
    report of one (as many versions as the guess, one of them a second version), makes
    other versions: the write computes its own accounts, and they are right."""
    import copy

    from clearfield.scenario import generate

    _bulk_everywhere(monkeypatch)
    workers = _count_workers(monkeypatch)
    store = SQLiteStore.open(f"sqlite:///{tmp_path / 'bulk.db'}")
    features = generate(scale=0.05, seed=3).features
    extra = copy.deepcopy(next(f for f in features if f["properties"]["record_type"] == "hazard"))
    if again == "the same":
        extra = features[0]
    else:
        extra["properties"]["recorded_on"] = "2025-12-01"
        extra["properties"]["contamination"] = ["uxo"]
    report = services.import_features(store, [*features, extra], source="s", actor="t")
    assert sum((report.unchanged if again == "the same" else report.versioned).values()) == 1
    if again == "the same":  # the one started on the guess, unused, and the write's own
        assert workers == [2]  # (a second version's accounts are redone from the store)
    accounts = store.query("SELECT * FROM hazard_account ORDER BY 1")
    store.refresh_accounts()
    assert store.query("SELECT * FROM hazard_account ORDER BY 1") == accounts
    assert len(accounts) == 250
    assert _accounting_workers() == []
    store.close()


def _accounting_workers() -> list[int]:
    """Pids of this process's children that run a worker module of the store."""
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (proc / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue  # not a process, or gone meanwhile
        if ppid == os.getpid() and b"-m\x00clearfield.store." in cmdline:
            pids.append(int(proc.name))
    return pids

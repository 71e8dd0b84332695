"""The audit trail as a hash chain, on both stores: every writer chains its events, an
event altered or deleted behind Clearfield's back is named by `clearfield audit verify`,
a copy keeps a chain that verifies, and a database from before the chain gets one."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely import box
from sqlalchemy import create_engine, text

from clearfield import services
from clearfield.copy import copy_programme
from clearfield.domain.enums import ReviewStatus
from clearfield.store.audit_chain import COLUMNS, GENESIS, canonical, link, verify
from clearfield.store.postgis import engine_url
from clearfield.users import add_user
from common import X0, Y0, activity, base_programme, hazard
from conftest import postgres_url
from pg import PostgresCluster

AUDIT = [sys.executable, "-m", "clearfield", "audit"]
LEFT = box(X0, Y0, X0 + 0.005, Y0 + 0.01)


def programme(store) -> None:
    """Every writer of audit events once: a file (records, a new version), a review, a
    user, the programme's settings."""
    services.import_features(store, base_programme(), source="test", actor="t")
    services.import_features(
        store,
        [
            activity("A1", LEFT, status="submitted"),
            hazard(name="Näher am Fluss", recorded_on="2025-04-01"),
        ],
        source="test",
        actor="lead",
    )
    services.review(store, "activity", "A1", ReviewStatus.APPROVED, actor="officer")
    add_user(store, "ana", "im_officer", None, "a long password 1", actor="admin")
    store.set_programme({"name": "Test programme"}, actor="admin")


def events(store) -> list[dict]:
    with store.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT * FROM audit_event ORDER BY pk").mappings().all()
    return [dict(r) for r in rows]


def tamper(store, sql: str, args: tuple = ()) -> None:
    """Change the audit trail as someone with the database's files or its owner's
    password could: round the append-only triggers."""
    if store.engine.dialect.name == "sqlite":
        con = sqlite3.connect(store.path)
        try:
            con.execute("DROP TRIGGER IF EXISTS audit_event_append_only_update")
            con.execute("DROP TRIGGER IF EXISTS audit_event_append_only_delete")
            con.execute(sql, args)
            con.commit()
        finally:
            con.close()
        return
    with store.engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only")
        conn.exec_driver_sql(sql, args)
        conn.exec_driver_sql("ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only")


def event_of(store, action: str) -> dict:
    return next(e for e in events(store) if e["action"] == action)


def test_every_writer_chains_its_events_and_the_trail_verifies(store):
    programme(store)
    stored = events(store)
    assert {e["action"] for e in stored} >= {"create", "new_version", "approved", "user_add", "programme"}  # fmt: skip
    assert [e["pk"] for e in stored] == list(range(1, len(stored) + 1))  # keys without holes
    previous = GENESIS
    for e in stored:
        previous = link(previous, [e[c] for c in COLUMNS])
        assert e["hash"] == previous
    check = verify(store)
    assert check.intact and check.reason is None
    assert (check.events, check.head) == (len(stored), stored[-1]["hash"])


def test_an_empty_trail_verifies(store):
    check = verify(store)
    assert check.intact and (check.events, check.head) == (0, GENESIS)


@pytest.mark.parametrize(
    "change",
    [
        'after = \'{"review_status": "rejected", "rejection_reason": null}\'',
        "actor = 'someone else'",
        "at = '2020-01-01T00:00:00+00:00'",
        "detail = 'edited'",
        "before = NULL",
        "hash = '" + "f" * 64 + "'",
    ],
)
def test_an_altered_event_is_named(store, change):
    programme(store)
    approval = event_of(store, "approved")
    tamper(store, f"UPDATE audit_event SET {change} WHERE pk = ?", (approval["pk"],))
    check = verify(store)
    assert not check.intact
    assert (check.pk, check.record) == (approval["pk"], "activity A1")
    assert check.reason is not None and "altered" in check.reason
    assert check.events == approval["pk"] - 1  # the events before it are fine


def test_a_deleted_event_is_named(store):
    programme(store)
    approval = event_of(store, "approved")
    tamper(store, "DELETE FROM audit_event WHERE pk = ?", (approval["pk"],))
    check = verify(store)
    assert not check.intact and check.pk == approval["pk"] + 1
    assert check.reason == f"the event before it (pk {approval['pk']}) was deleted"
    tamper(store, "DELETE FROM audit_event WHERE pk = ?", (approval["pk"] - 1,))
    assert f"(pk {approval['pk'] - 1} to {approval['pk']}) were deleted" in verify(store).reason


def test_swapped_events_are_altered_ones(store):
    """Two events that swap keys leave no hole, but the key is hashed with the event."""
    programme(store)
    tamper(store, "UPDATE audit_event SET pk = -1 WHERE pk = 2")
    tamper(store, "UPDATE audit_event SET pk = 2 WHERE pk = 3")
    tamper(store, "UPDATE audit_event SET pk = 3 WHERE pk = -1")
    check = verify(store)
    assert check.pk == 2 and "altered" in check.reason


def test_an_event_written_round_clearfield_has_no_hash(store):
    programme(store)
    with store.engine.begin() as conn:  # an insert: the triggers let it through
        conn.exec_driver_sql(
            "INSERT INTO audit_event (pk, at, actor, action, record_type, record_id) "
            "VALUES (1000, 'now', 'intruder', 'create', 'hazard', 'HA-9')"
        )
    check = verify(store)
    assert (check.pk, check.record) == (1000, "hazard HA-9") and "no hash" in check.reason
    # and Clearfield's next write goes on all the same (the trail stays broken at 1000)
    store.set_programme({"name": "again"}, actor="admin")
    assert verify(store).pk == 1000


def test_events_deleted_from_the_end_show_against_a_noted_head(store):
    programme(store)
    noted = verify(store)
    assert verify(store, head=noted.head[:12].upper()).intact
    tamper(store, "DELETE FROM audit_event WHERE pk = ?", (noted.events,))
    assert verify(store).intact  # (nothing after it to break: the chain alone cannot tell)
    check = verify(store, head=noted.head[:12])
    assert not check.intact and check.pk is None
    assert "not in the trail" in check.reason


def test_verify_reads_the_trail_a_page_at_a_time(store, monkeypatch):
    import clearfield.store.audit_chain as chain

    monkeypatch.setattr(chain, "_PAGE", 3)
    programme(store)
    seen = []
    check = verify(store, progress=lambda label, done, total: seen.append((done, total)))
    n = len(events(store))
    assert check.intact and check.events == n
    assert len(seen) == -(-n // 3) and seen[-1] == (n, n)


def test_writers_that_race_keep_one_chain(store):
    """Writers queue on the store's write lock, and read the chain's end inside it."""
    services.import_features(store, base_programme(), source="test", actor="t")
    failures = []

    def write(i: int) -> None:
        try:
            for j in range(5):
                store.set_programme({f"k{i}": str(j)}, actor=f"w{i}")
        except Exception as exc:  # pragma: no cover - shown below
            failures.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    check = verify(store)
    assert check.intact and check.events == len(events(store)) == 3 + 30


def test_canonical_bytes_are_the_same_from_either_store(store):
    """What is written is what is read back and hashed: text stays text (JSON too),
    NULLs stay NULLs, integers integers, on both drivers."""
    programme(store)
    for e in events(store):
        assert isinstance(e["pk"], int) and (e["version"] is None or isinstance(e["version"], int))
        assert all(e[c] is None or isinstance(e[c], str) for c in ("before", "after", "detail"))
    hazard_version = next(e for e in events(store) if e["action"] == "new_version")
    hashed = canonical([hazard_version[c] for c in COLUMNS]).decode()
    assert "N\\u00e4her am Fluss" in hashed


def test_a_copy_to_postgis_keeps_a_chain_that_verifies(tmp_path, postgres: PostgresCluster):
    source = services.open_store(f"sqlite:///{tmp_path / 'source.db'}")
    target = services.open_store(postgres_url(postgres.new_database()))
    try:
        programme(source)
        expected = verify(source)
        copy_programme(source, target)
        assert verify(target) == expected and expected.intact
        target.set_programme({"after": "copy"}, actor="admin")  # the chain goes on there
        after = verify(target)
        assert after.intact and after.events == expected.events + 1
        tamper(target, "UPDATE audit_event SET actor = 'x' WHERE pk = 2")
        assert verify(target).pk == 2
    finally:
        source.close()
        target.close()


# --- a database from before the chain ------------------------------------------------


def _at_0003(kind: str, tmp_path: Path, postgres_factory) -> tuple[str, str]:
    """(Clearfield URL, SQLAlchemy URL) of a new database at schema revision 0003."""
    from alembic import command

    from clearfield.store.sql import _alembic_config

    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.db'}"
        engine_at = url
    else:
        engine_at = postgres_factory().new_database()
        url = postgres_url(engine_at)
    engine = create_engine(engine_at if kind == "sqlite" else engine_url(url))
    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), "0003")
    engine.dispose()
    return url, engine_at


OLD_EVENTS = [
    (
        "2025-01-01T08:00:00+00:00",
        "t",
        "create",
        "hazard",
        "HA-1",
        1,
        None,
        '{"name": "Ä"}',
        "import",
    ),
    ("2025-01-01T08:00:00+00:00", "t", "create", "activity", "A1", 1, None, '{"x": 1.5}', None),
    ("2025-01-02T09:00:00+00:00", "o", "approved", "activity", "A1", 1, '{"a": null}', "{}", None),
    (
        "2025-01-03T10:00:00+00:00",
        "a",
        "user_add",
        "user",
        "ana",
        None,
        None,
        '{"role": "x"}',
        None,
    ),
]


@pytest.mark.parametrize("kind", ["sqlite", "postgis"])
def test_a_database_from_before_the_chain_is_chained_when_upgraded(kind, tmp_path, request):
    url, engine_at = _at_0003(kind, tmp_path, lambda: request.getfixturevalue("postgres"))
    engine = create_engine(engine_at if kind == "sqlite" else engine_url(url))
    insert = text(
        "INSERT INTO audit_event (at, actor, action, record_type, record_id, version, before, "
        "after, detail) VALUES (:at, :actor, :action, :rt, :rid, :v, :b, :a, :d)"
    )
    names = ("at", "actor", "action", "rt", "rid", "v", "b", "a", "d")
    with engine.begin() as conn:  # the old writers: keys from the database
        for event in OLD_EVENTS[:2]:
            conn.execute(insert, dict(zip(names, event, strict=True)))
    if kind == "postgis":  # a rolled-back write leaves a hole in an identity's keys
        with engine.connect() as conn:
            conn.execute(insert, dict(zip(names, OLD_EVENTS[2], strict=True)))
            conn.rollback()
    with engine.begin() as conn:
        for event in OLD_EVENTS[2:]:
            conn.execute(insert, dict(zip(names, event, strict=True)))
    engine.dispose()

    store = services.open_store(url, create=False)  # migrates to the newest revision
    try:
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == "0004"  # fmt: skip
        stored = events(store)
        assert len(stored) == 4 and all(e["hash"] for e in stored)
        assert verify(store).intact and verify(store).events == 4
        add_user(store, "bo", "observer", None, "a long password 2", actor="admin")
        assert verify(store).intact and verify(store).events == 5
        with pytest.raises(Exception, match="append-only"), store.engine.begin() as conn:
            conn.exec_driver_sql("UPDATE audit_event SET actor = 'x' WHERE pk = 1")
        tamper(store, "UPDATE audit_event SET after = '{}' WHERE pk = 1")
        assert verify(store).pk == 1
    finally:
        store.close()


def test_the_chain_migration_goes_down_and_up_again(tmp_path):
    from alembic import command

    from clearfield.store.sql import _alembic_config

    url = f"sqlite:///{tmp_path / 'p.db'}"
    store = services.open_store(url)
    programme(store)
    head = verify(store).head
    store.close()
    engine = create_engine(url)
    with engine.begin() as conn:
        command.downgrade(_alembic_config(conn), "0003")
    with engine.connect() as conn:
        assert "hash" not in list(conn.exec_driver_sql("SELECT * FROM audit_event").keys())
    engine.dispose()
    store = services.open_store(url)
    try:
        assert verify(store).head == head  # the same events chain to the same hashes
    finally:
        store.close()


# --- the command ------------------------------------------------------------------------


def test_the_verify_command_exits_0_then_1_after_tampering(store_url, cli_env):
    store = services.open_store(store_url)
    try:
        programme(store)
        noted = verify(store)
        approval = event_of(store, "approved")
    finally:
        store.close()

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*AUDIT, "verify", *args], env=cli_env, capture_output=True, text=True, timeout=120
        )

    ok = run()
    assert ok.returncode == 0, ok.stderr
    assert f"audit trail intact: {noted.events} events, chain head {noted.head[:12]}" in ok.stdout
    assert run("--head", noted.head).returncode == 0
    store = services.open_store(store_url)
    try:
        tamper(store, "UPDATE audit_event SET after = '{}' WHERE pk = ?", (approval["pk"],))
    finally:
        store.close()
    broken = run()
    assert broken.returncode == 1
    assert f"audit trail broken at event {approval['pk']} (activity A1)" in broken.stderr
    assert "altered" in broken.stderr
    as_json = run("--json")
    assert as_json.returncode == 1
    assert '"intact": false' in as_json.stdout and f'"pk": {approval["pk"]}' in as_json.stdout
    wrong = run("--head", "xyz")
    assert wrong.returncode == 1 and "12 to 64 hex digits" in wrong.stderr


_TEXT_OR_NONE = st.one_of(st.none(), st.text(max_size=30))


@settings(max_examples=500, deadline=None)
@given(
    pk=st.integers(min_value=0, max_value=2**70),
    version=st.one_of(st.none(), st.integers(min_value=0, max_value=2**70)),
    texts=st.lists(_TEXT_OR_NONE, min_size=8, max_size=8),
)
def test_canonical_bytes_are_the_ascii_json_encoders(pk, version, texts):
    """The hashed form of every event ever written: JSON with every character beyond
    printable ASCII escaped, whichever encoder wrote it (the fast one for plain text)."""
    at, actor, action, rtype, rid, before, after, detail = texts
    row = (pk, at, actor, action, rtype, rid, version, before, after, detail)
    expected = json.dumps(list(row), ensure_ascii=True, separators=(",", ":")).encode("ascii")
    assert canonical(row) == expected

"""``clearfield backup`` and ``clearfield restore`` on both stores: a small scenario goes
into a backup file and back into a new database with every table's rows and checksum
equal; a backup taken while the real server takes submissions completes, restores into a
database that passes its checks and holds a consistent prefix of what was written, and
the server answers every request meanwhile; files that are not backups, databases that
hold records and backups of the other store kind are refused with a message that names
them."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from clearfield import services
from clearfield.backup import backup, backup_kind, restore
from clearfield.copy import TableCheck, table_checks
from clearfield.errors import StoreError
from clearfield.scenario import generate
from clearfield.store.base import Store
from clearfield.users import add_user
from common import cf, hazard
from conftest import new_database
from server import PASSWORD, login, serving_process, small_programme

SECRET = "s3cret-pw"


def kind_of(url: str) -> str:
    return "sqlite" if url.startswith("sqlite:") else "postgis"


@pytest.fixture
def target_url(request: pytest.FixtureRequest, store_url: str, tmp_path: Path) -> Iterator[str]:
    """A second new database of the same kind, to restore into."""
    folder = tmp_path / "target"
    folder.mkdir()
    with new_database(request, kind_of(store_url), folder) as url:
        yield url


def load(store: Store) -> None:
    """The scale-0.02 scenario (seed 3), with a user, so that every kind of row is there."""
    scen = generate(scale=0.02, seed=3)
    services.import_features(store, scen.features, source="test", actor="test")
    store.set_programme(scen.metadata, actor="test")
    add_user(store, "officer", "im_officer", None, PASSWORD, actor="test")


def checks_of(url: str) -> list[TableCheck]:
    store = services.open_store(url, create=False)
    try:
        return table_checks(store)
    finally:
        store.close()


def rows(checks: list[TableCheck]) -> dict[str, int]:
    return {c.table: c.rows for c in checks}


def test_a_round_trip_keeps_every_record(store: Store, store_url: str, target_url: str, tmp_path: Path) -> None:  # fmt: skip
    load(store)
    before = table_checks(store)
    assert all(rows(before)[t] for t in ("entity", "record_version", "audit_event", "app_user"))
    file = tmp_path / "programme.backup"
    made = backup(store_url, file)
    assert made.kind == backup_kind(file) == ("sqlite" if kind_of(store_url) == "sqlite" else "postgresql")  # fmt: skip
    assert made.bytes == file.stat().st_size > 0
    if made.kind == "sqlite":
        assert made.rows == rows(before)
    done = restore(file, target_url)
    assert done.checks == before  # every table: its rows and the checksum of every row
    assert checks_of(target_url) == before  # and as Clearfield reads it back
    assert table_checks(store) == before  # the source is as it was


def test_the_command_line_round_trip(cli_env: dict[str, str], store_url: str, target_url: str, tmp_path: Path) -> None:  # fmt: skip
    proc = subprocess.run(
        [sys.executable, "-m", "clearfield", "scenario", "--scale", "0.02", "--seed", "3"],
        env=cli_env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    before = checks_of(store_url)
    file = tmp_path / "nightly.backup"
    said = cf(cli_env, "backup", file).stdout
    assert "backed up" in said and str(file) in said
    said = cf(cli_env, "restore", file, "--database", target_url).stdout
    assert f"{sum(c.rows for c in before):,} rows" in said
    assert checks_of(target_url) == before
    # once more, over the restored programme: refused, and it stays as it was
    again = cf(cli_env, "restore", file, "-d", target_url, ok=False)
    assert again.returncode != 0
    assert "holds" in again.stderr and "--replace" in again.stderr
    assert checks_of(target_url) == before
    cf(cli_env, "restore", file, "-d", target_url, "--replace")
    assert checks_of(target_url) == before


def backup_and_a_held_target(store: Store, url: str, target_url: str, tmp_path: Path) -> tuple[Path, list[TableCheck]]:  # fmt: skip
    """A backup of the loaded store, and a target holding another programme: the file,
    and the target's table checks."""
    load(store)
    file = tmp_path / "a.backup"
    backup(url, file)
    other = services.open_store(target_url)
    try:
        services.import_features(other, generate(scale=0.01, seed=9).features, source="t", actor="t")  # fmt: skip
    finally:
        other.close()
    return file, checks_of(target_url)


def test_a_database_with_records_is_not_restored_over(store: Store, store_url: str, target_url: str, tmp_path: Path) -> None:  # fmt: skip
    file, held = backup_and_a_held_target(store, store_url, target_url, tmp_path)
    with pytest.raises(StoreError, match=r"holds .*--replace") as caught:
        restore(file, target_url)
    assert caught.value.code == "TARGET_NOT_EMPTY"
    assert checks_of(target_url) == held
    assert restore(file, target_url, replace=True).checks == table_checks(store)


def test_a_file_that_is_not_a_backup_is_refused(cli_env: dict[str, str], tmp_path: Path) -> None:  # fmt: skip
    notes = tmp_path / "notes.txt"
    notes.write_text("not a backup\n")
    proc = cf(cli_env, "restore", notes, ok=False)
    assert proc.returncode != 0
    assert str(notes) in proc.stderr and "not a Clearfield backup" in proc.stderr
    missing = tmp_path / "none.backup"
    proc = cf(cli_env, "restore", missing, ok=False)
    assert proc.returncode != 0 and str(missing) in proc.stderr
    # an SQLite database that is not Clearfield's
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(StoreError, match="not a Clearfield one"):
        restore(other, f"sqlite:///{tmp_path / 'new.db'}")
    assert not (tmp_path / "new.db").exists()
    # a backup never overwrites a file that is not a backup
    with pytest.raises(StoreError, match="not a Clearfield backup; it is not overwritten"):
        backup(cli_env["CLEARFIELD_DATABASE"], notes)
    assert notes.read_text() == "not a backup\n"


def test_a_backup_restores_only_into_its_own_kind(store: Store, store_url: str, tmp_path: Path) -> None:  # fmt: skip
    load(store)
    file = tmp_path / "a.backup"
    backup(store_url, file)
    if kind_of(store_url) == "sqlite":
        elsewhere = f"postgresql://clearfield:{SECRET}@127.0.0.1:1/nowhere"
        expected = "is a backup of an SQLite database .* PostgreSQL one.*clearfield copy"
    else:
        elsewhere = f"sqlite:///{tmp_path / 'elsewhere.db'}"
        expected = "is a backup of a PostgreSQL database .* SQLite one.*clearfield copy"
    with pytest.raises(StoreError, match=expected) as caught:
        restore(file, elsewhere)
    assert caught.value.code == "BACKUP_KIND_MISMATCH"
    assert str(file) in str(caught.value) and SECRET not in str(caught.value)
    assert not (tmp_path / "elsewhere.db").exists()


def test_a_backup_taken_while_the_server_serves(store_url: str, target_url: str, tmp_path: Path) -> None:  # fmt: skip
    store = small_programme(store_url, {"officer": "im_officer"})
    org = next(s.record.id for s in store.records("organisation"))
    store.close()
    file = tmp_path / "live.backup"
    answers: list[tuple[str, int, float, float]] = []  # (hazard id, status, sent, answered)
    stop = threading.Event()

    with serving_process(store_url) as base:
        assert base.startswith("http://127.0.0.1:")

        def submit() -> None:
            began = time.monotonic()
            with login(base, "officer", PASSWORD) as c:
                for i in range(200):
                    if stop.is_set() or time.monotonic() - began > 10:
                        return
                    rid = f"HA-LIVE-{i:03d}"
                    body = {"type": "FeatureCollection", "features": [hazard(rid, organisation=org)]}  # fmt: skip
                    sent = time.monotonic()
                    try:
                        status = c.post("/api/records", json=body).status_code
                    except httpx.HTTPError:
                        status = 0
                    answers.append((rid, status, sent, time.monotonic()))

        writer = threading.Thread(target=submit, daemon=True)
        writer.start()
        deadline = time.monotonic() + 10
        while len(answers) < 5 and time.monotonic() < deadline:
            time.sleep(0.02)
        started = time.monotonic()
        env = {**os.environ, "CLEARFIELD_DATABASE": store_url, "NO_COLOR": "1"}
        cf(env, "backup", file)
        ended = time.monotonic()
        time.sleep(0.3)  # a few more submissions after the backup
        stop.set()
        writer.join(timeout=30)
        assert not writer.is_alive()

    assert len(answers) >= 5
    bad = [a for a in answers if not 200 <= a[1] < 300]
    assert not bad, f"the server failed requests while backing up: {bad[:5]}"
    during = [a for a in answers if started <= a[3] <= ended]
    assert during  # the writer kept submitting while the backup ran

    done = restore(file, target_url)
    if kind_of(store_url) == "sqlite":
        restored = Path(target_url.removeprefix("sqlite:///"))
        with sqlite3.connect(restored) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    final = checks_of(store_url)
    assert done.checks == checks_of(target_url)
    for got, last in zip(done.checks, final, strict=True):  # a prefix: never more than now
        assert got.rows <= last.rows, got.table
    target = services.open_store(target_url, create=False)
    try:
        orphans = target.count(
            "SELECT COUNT(*) FROM record_version v JOIN entity e ON e.pk = v.entity_pk "
            "WHERE NOT EXISTS (SELECT 1 FROM audit_event a WHERE a.record_type = e.record_type "
            "AND a.record_id = e.record_id AND a.version = v.version)"
        )
        with target.engine.connect() as conn:  # type: ignore[attr-defined]
            live = "SELECT record_id FROM entity WHERE record_id LIKE 'HA-LIVE-%'"
            kept = {r[0] for r in conn.exec_driver_sql(live)}
    finally:
        target.close()
    assert orphans == 0  # every record version has its audit event
    before_backup = {rid for rid, _, _, answered in answers if answered < started}
    after_backup = {rid for rid, _, sent, _ in answers if sent > ended}
    assert before_backup <= kept  # everything answered before the backup began is in it
    assert not kept & after_backup  # nothing submitted after it ended
    assert kept == {f"HA-LIVE-{i:03d}" for i in range(len(kept))}  # a prefix, no holes


def test_postgresql_programs_missing_or_too_old_are_named(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    import clearfield.backup

    with new_database(request, "postgis", tmp_path) as url:
        monkeypatch.setattr(clearfield.backup, "_PG_BINDIRS", str(tmp_path / "nowhere"))
        monkeypatch.setenv("PATH", str(tmp_path / "bin"))
        with pytest.raises(StoreError, match=r"pg_dump is not installed .*postgresql-client-15"):
            backup(url, tmp_path / "a.backup")
        (tmp_path / "bin").mkdir()
        old = tmp_path / "bin" / "pg_dump"
        old.write_text("#!/bin/sh\necho 'pg_dump (PostgreSQL) 9.6.24'\n")
        old.chmod(0o755)
        with pytest.raises(StoreError, match=r"PostgreSQL 9, older than the server \(15\)"):
            backup(url, tmp_path / "a.backup")
        assert not (tmp_path / "a.backup").exists()


def test_a_failed_restore_changes_nothing(store: Store, store_url: str, target_url: str, tmp_path: Path) -> None:  # fmt: skip
    file, held = backup_and_a_held_target(store, store_url, target_url, tmp_path)
    broken = tmp_path / "broken.backup"
    whole = file.read_bytes()
    broken.write_bytes(whole[: len(whole) * 2 // 3])  # the header says what it is; data is cut
    with pytest.raises(StoreError, match=r"restore failed|integrity check failed|malformed") as caught:  # fmt: skip
        restore(broken, target_url, replace=True)
    assert caught.value.code in ("RESTORE_FAILED", "NOT_A_BACKUP")
    assert checks_of(target_url) == held
    assert not list(tmp_path.rglob("*.part*"))  # no half-written file left behind


def test_the_password_goes_in_the_environment_only(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    import clearfield.backup

    calls: list[tuple[list[str], dict[str, str]]] = []
    real = subprocess.Popen

    def spy(cmd: list[str], *args: Any, **kw: Any) -> Any:
        calls.append((list(cmd), dict(kw.get("env") or {})))
        return real(cmd, *args, **kw)

    monkeypatch.setattr(clearfield.backup.subprocess, "Popen", spy)
    with new_database(request, "postgis", tmp_path) as source, new_database(request, "postgis", tmp_path) as target:  # fmt: skip
        # (the test server trusts 127.0.0.1, so any password opens it)
        source, target = (u.replace("postgres@", f"postgres:{SECRET}@", 1) for u in (source, target))  # fmt: skip
        backup(source, tmp_path / "a.backup")
        done = restore(tmp_path / "a.backup", target)
    assert SECRET not in done.target
    runs = [(cmd, env) for cmd, env in calls if Path(cmd[0]).name in ("pg_dump", "pg_restore") and not {"--list", "--version"} & set(cmd)]  # fmt: skip
    assert {Path(cmd[0]).name for cmd, _ in runs} == {"pg_dump", "pg_restore"}
    for cmd, env in runs:
        assert not any(SECRET in a for a in cmd), cmd
        assert env.get("PGPASSWORD") == SECRET

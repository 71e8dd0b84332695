"""Back up a programme while the server keeps serving it, and restore the backup.

One backup file, whichever the store:

- **SQLite** (``sqlite:///PATH``): a copy of the database file made with SQLite's online
  backup API (``sqlite3.Connection.backup``), page by page under one read transaction, so
  it is the database as it was when the backup began while the server goes on writing
  (WAL: readers and the writer do not wait for one another). The file is an SQLite
  database in rollback-journal mode, readable by any SQLite tool.
- **PostgreSQL** (``postgresql://...``): ``pg_dump --format=custom`` of the whole database,
  one consistent snapshot taken while the server serves; ``pg_restore`` reads it.

The file says what it is (its first bytes: ``SQLite format 3\\0`` or ``PGDMP``), and a
backup restores only into a store of its own kind; to move a programme between kinds,
restore it into its kind and ``clearfield copy`` it.

What is checked:

- after a backup, SQLite: ``PRAGMA integrity_check`` on the copy says ``ok``, and its
  rows are counted per table; PostgreSQL: ``pg_restore --list`` reads the archive, and it
  holds the data of every programme table (restoring it into a scratch database would
  cost as much as the restore itself).
- after a restore, SQLite: ``integrity_check`` on the restored file, and every table's
  rows and checksum (:func:`clearfield.copy.table_checks`) equal the backup file's own;
  PostgreSQL: ``pg_restore`` ran as one transaction with ``--exit-on-error`` (a failed
  restore changes nothing), then every table's rows and checksum are read from the
  restored database and returned.

A restore never overwrites a programme unless told to (``replace=True``): an SQLite
restore writes a new file beside the target and renames it into place, so a failed
restore leaves nothing half-written; a PostgreSQL restore goes into a database that holds
no records (``replace``: ``pg_restore --clean --if-exists``, in the same one transaction).
Restore into a database no server is using: the server would keep the old one open.

A PostgreSQL restore leaves the target's PostGIS extension as it is (creating it when
missing), and gives every restored object to the user who restores
(``--no-owner --no-privileges``): a backup moves between servers whose roles differ;
grants are made again there.

The PostgreSQL programs are found on ``PATH`` or under ``/usr/lib/postgresql/*/bin``
(the newest there); one older than the server is refused, as ``pg_dump`` refuses it.
The password travels in ``PGPASSWORD``, never on a command line, and messages name the
database without it.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from clearfield.copy import TABLES, TableCheck, table_checks
from clearfield.errors import StoreError

__all__ = [
    "BackupReport",
    "RestoreReport",
    "backup",
    "backup_kind",
    "restore",
]

Progress = Callable[[str, int, int], None]

SQLITE = "sqlite"
POSTGRESQL = "postgresql"
_MAGIC = {SQLITE: b"SQLite format 3\x00", POSTGRESQL: b"PGDMP"}
_POSTGRES_PREFIXES = ("postgresql://", "postgres://", "postgresql+psycopg://")
_PAGES_PER_STEP = 1024  # SQLite pages copied between two progress reports (4 MiB)
_PG_BINDIRS = "/usr/lib/postgresql/*/bin"


@dataclass(frozen=True, slots=True)
class BackupReport:
    """What :func:`backup` wrote: the file, its kind and size, how long it took, and the
    rows per programme table (SQLite; PostgreSQL's archive does not say)."""

    path: Path
    kind: str
    bytes: int
    seconds: float
    rows: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RestoreReport:
    """What :func:`restore` did: where to, from which kind of backup, how long it took,
    and the rows and checksum of every programme table of the restored database."""

    target: str
    kind: str
    seconds: float
    checks: list[TableCheck]


def backup(url: str, path: str | Path, progress: Progress | None = None) -> BackupReport:
    """Back up the programme at ``url`` into the file ``path`` (written whole or not at
    all; a file already there is replaced only when it is a backup itself)."""
    path = Path(path)
    began = time.perf_counter()
    kind = _url_kind(url)
    if path.is_dir():
        raise StoreError("is a folder; name the backup file", record=str(path), code="BACKUP_FAILED")  # fmt: skip
    if not path.parent.is_dir():
        raise StoreError("no such folder to write the backup in", record=str(path), code="BACKUP_FAILED")  # fmt: skip
    if path.exists() and not _is_backup(path):
        raise StoreError(
            "is there and is not a Clearfield backup; it is not overwritten: name another file",
            record=str(path),
            code="BACKUP_FAILED",
        )
    if kind == SQLITE:
        rows = _sqlite_backup(_sqlite_path(url), path, progress)
    else:
        _pg_backup(url, path, progress)
        rows = {}
    return BackupReport(path, kind, path.stat().st_size, time.perf_counter() - began, rows)


def restore(
    path: str | Path, url: str, *, replace: bool = False, progress: Progress | None = None
) -> RestoreReport:
    """Restore the backup ``path`` into the database at ``url``; refuse a database that
    holds records unless ``replace``."""
    path = Path(path)
    began = time.perf_counter()
    kind = backup_kind(path)
    target = _url_kind(url)
    if kind != target:
        raise StoreError(
            f"is a backup of {_NAMES[kind]} database and {_safe(url)} is {_NAMES[target]} "
            f"one; restore it into {_NAMES[kind]} database, then move the programme with "
            "`clearfield copy SOURCE TARGET`",
            record=str(path),
            code="BACKUP_KIND_MISMATCH",
        )
    if kind == SQLITE:
        checks = _sqlite_restore(path, _sqlite_path(url), replace, progress)
    else:
        checks = _pg_restore(path, url, replace, progress)
    return RestoreReport(_safe(url), kind, time.perf_counter() - began, checks)


def backup_kind(path: str | Path) -> str:
    """``"sqlite"`` or ``"postgresql"``: which store the backup file was made from, read
    from its first bytes. Raises :class:`StoreError` for anything else."""
    path = Path(path)
    if not path.is_file():
        raise StoreError("no such backup file", record=str(path), code="NOT_A_BACKUP")
    kind = _sniff(path)
    if kind is None:
        raise StoreError(
            "is not a Clearfield backup (neither an SQLite database nor a pg_dump custom archive)",
            record=str(path),
            code="NOT_A_BACKUP",
        )
    return kind


_NAMES = {SQLITE: "an SQLite", POSTGRESQL: "a PostgreSQL"}


def _sniff(path: Path) -> str | None:
    try:
        with path.open("rb") as f:
            head = f.read(16)
    except OSError:
        return None
    return next((k for k, magic in _MAGIC.items() if head.startswith(magic)), None)


_STAMP = int.from_bytes(b"CFBK", "big")
"""SQLite's ``application_id`` of a Clearfield backup: what tells it from a live database
(an SQLite file is never overwritten by a backup unless it carries this mark)."""


def _is_backup(path: Path) -> bool:
    """A file a backup may replace: a pg_dump archive, or an SQLite backup we stamped."""
    kind = _sniff(path)
    if kind != SQLITE:
        return kind is not None
    with path.open("rb") as f:
        header = f.read(72)
    return int.from_bytes(header[68:72], "big") == _STAMP


def _url_kind(url: str) -> str:
    if url.startswith("sqlite:///"):
        return SQLITE
    if url.startswith(_POSTGRES_PREFIXES):
        return POSTGRESQL
    raise StoreError(f"unknown database URL {url!r}; use sqlite:///PATH or postgresql://...")


def _sqlite_path(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))


# -- SQLite ------------------------------------------------------------------------------


def _sqlite_backup(source: Path, path: Path, progress: Progress | None) -> dict[str, int]:
    if not source.is_file():
        raise StoreError(f"no database at {source}; nothing to back up", record=str(source))
    if path.exists() and path.resolve() == source.resolve():
        raise StoreError("is the database itself; name another file", record=str(path), code="BACKUP_FAILED")  # fmt: skip
    src = _sqlite_connect(source)
    try:
        _require_programme(src, str(source))
        # One read transaction for the whole copy: every page comes from the same
        # snapshot, and the server's writes (to the WAL) never restart the backup.
        src.execute("BEGIN")
        src.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        with _partial(path) as part:
            dst = sqlite3.connect(part, isolation_level=None)
            try:
                src.backup(dst, pages=_PAGES_PER_STEP, progress=_pages(progress, "backing up"))
                src.execute("COMMIT")
                # a file that stands alone: no -wal beside it to lose on the way
                dst.execute("PRAGMA journal_mode = DELETE")
                dst.execute(f"PRAGMA application_id = {_STAMP}")
                _integrity(dst, str(path), "BACKUP_FAILED")
                rows = {t: _count(dst, t) for t in TABLES if _has_table(dst, t)}
            finally:
                dst.close()
    except sqlite3.Error as exc:
        raise StoreError(f"the backup failed: {exc}", record=str(path), code="BACKUP_FAILED") from None  # fmt: skip
    finally:
        src.close()
    return rows


def _sqlite_restore(
    path: Path, target: Path, replace: bool, progress: Progress | None
) -> list[TableCheck]:
    if not target.parent.is_dir():
        raise StoreError(f"folder {target.parent} does not exist", record=str(target))
    if target.exists() and not replace:
        held = _sqlite_records(target)
        if held is None or held:
            what = f"holds {held:,} records" if held else "is not an empty Clearfield database"
            raise StoreError(
                f"{what}; restore into a new file, or pass --replace to overwrite it",
                record=str(target),
                code="TARGET_NOT_EMPTY",
            )
    try:
        src = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
        try:
            _require_programme(src, str(path))
            if target.exists():  # the old database whole in its file: its -wal can go
                old = sqlite3.connect(target)
                try:
                    old.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
                finally:
                    old.close()
            with _partial(target) as part:
                dst = sqlite3.connect(part, isolation_level=None)
                try:
                    src.backup(dst, pages=_PAGES_PER_STEP, progress=_pages(progress, "restoring"))
                    _integrity(dst, str(target), "RESTORE_FAILED")
                    dst.execute("PRAGMA application_id = 0")  # a live database, no backup
                finally:
                    dst.close()
                expected = _file_checks(path, progress)
                got = _file_checks(Path(part), progress)
                _compare(expected, got, str(target))
                os.chmod(part, _mode_for(target))
                for suffix in ("-wal", "-shm"):  # the old database's, never the new one's
                    Path(f"{target}{suffix}").unlink(missing_ok=True)
        finally:
            src.close()
    except sqlite3.Error as exc:
        raise StoreError(f"the restore failed: {exc}", record=str(target), code="RESTORE_FAILED") from None  # fmt: skip
    return got


def _mode_for(target: Path) -> int:
    """The restored database's permissions: the old file's, else the umask's (a backup
    itself stays readable by its owner only: it holds password hashes and the server's
    signing key)."""
    if target.exists():
        return target.stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _sqlite_connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, timeout=30)
    conn.execute("PRAGMA busy_timeout = 30000")
    return conn


def _require_programme(conn: sqlite3.Connection, name: str) -> None:
    try:
        ok = _has_table(conn, "entity") and _has_table(conn, "alembic_version")
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"cannot be read as an SQLite database ({exc})", record=name, code="NOT_A_BACKUP") from None  # fmt: skip
    if not ok:
        raise StoreError("is an SQLite database but not a Clearfield one", record=name, code="NOT_A_BACKUP")  # fmt: skip


def _sqlite_records(path: Path) -> int | None:
    """How many records the SQLite file holds (0 for an empty file or schema); None when
    it is not a Clearfield database."""
    if path.stat().st_size == 0:
        return 0
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            if not _has_table(conn, "entity"):
                return None if _has_any_table(conn) else 0
            return _count(conn, "entity")
        finally:
            conn.close()
    except sqlite3.Error:
        return None


def _has_table(conn: sqlite3.Connection, table: str) -> bool:
    row = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,))
    return row.fetchone() is not None


def _has_any_table(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchone() is not None


def _count(conn: sqlite3.Connection, table: str) -> int:
    return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def _integrity(conn: sqlite3.Connection, name: str, code: str) -> None:
    faults = [r[0] for r in conn.execute("PRAGMA integrity_check")]
    if faults != ["ok"]:
        raise StoreError(f"integrity check failed: {'; '.join(faults[:5])}", record=name, code=code)


def _pages(progress: Progress | None, label: str) -> Callable[[int, int, int], None] | None:
    if progress is None:
        return None

    def report(status: int, remaining: int, total: int) -> None:
        progress(label, total - remaining, total)

    return report


def _file_checks(path: Path, progress: Progress | None) -> list[TableCheck]:
    """:func:`table_checks` of an SQLite file, read-only (a backup is never migrated)."""
    if progress is not None:
        progress(f"checking {path.name}", 0, 1)
    engine = create_engine(f"sqlite:///{path.resolve().as_uri()}?mode=ro&immutable=1&uri=true")
    try:
        return _checks_of(engine, str(path))
    finally:
        engine.dispose()
        if progress is not None:
            progress(f"checking {path.name}", 1, 1)


def _checks_of(engine: Any, name: str) -> list[TableCheck]:
    try:
        return table_checks(SimpleNamespace(engine=engine))
    except SQLAlchemyError as exc:
        raise StoreError(
            f"cannot read every programme table ({getattr(exc, 'orig', exc)}); is it from "
            "an older Clearfield? restore it with that version, then `clearfield migrate`",
            record=name,
            code="RESTORE_FAILED",
        ) from None


def _compare(expected: list[TableCheck], got: list[TableCheck], name: str) -> None:
    if got != expected:
        differ = [e.table for e, g in zip(expected, got, strict=True) if e != g]
        raise StoreError(
            f"the restored database differs from the backup in {', '.join(differ)}; "
            "nothing was restored",
            record=name,
            code="RESTORE_FAILED",
        )


@contextlib.contextmanager
def _partial(path: Path) -> Iterator[str]:
    """A new file beside ``path`` to write into; renamed onto ``path`` (atomically) when
    the body succeeds, deleted when it fails."""
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    try:
        yield name
        with open(name, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(name, path)
    finally:
        for suffix in ("", "-journal", "-wal", "-shm"):
            Path(f"{name}{suffix}").unlink(missing_ok=True)


# -- PostgreSQL --------------------------------------------------------------------------


def _pg_backup(url: str, path: Path, progress: Progress | None) -> None:
    server = _pg_server(url)
    if not server.tables:
        raise StoreError(f"no Clearfield database at {_safe(url)}; nothing to back up")
    pg_dump = _pg_tool("pg_dump", server.major)
    with _partial(path) as part:
        _run_pg(
            [pg_dump, "--format=custom", "--verbose", "--no-password", f"--file={part}",
             f"--dbname={_libpq_uri(url)}"],
            url, "the backup failed", str(path),
            _table_progress(progress, "backing up", len(server.tables), "dumping contents of table"),
        )  # fmt: skip
        listed = _archive_tables(_pg_tool("pg_restore", server.major), Path(part), str(path))
        missing = [t for t in TABLES if t in server.tables and t not in listed]
        if missing:
            raise StoreError(
                f"the archive lacks the data of {', '.join(missing)}; nothing was written",
                record=str(path),
                code="BACKUP_FAILED",
            )


def _pg_restore(path: Path, url: str, replace: bool, progress: Progress | None) -> list[TableCheck]:
    server = _pg_server(url)
    held = [t for t, rows in server.tables.items() if rows and t in TABLES[1:]]
    if held and not replace:
        raise StoreError(
            f"the database at {_safe(url)} holds a programme ({', '.join(held)} hold rows); "
            "restore into a new database, or pass --replace to overwrite it",
            code="TARGET_NOT_EMPTY",
        )
    pg_restore = _pg_tool("pg_restore", server.major)
    listing = _run_pg([pg_restore, "--list", str(path)], None, "cannot read the archive", str(path))
    entries = listing.splitlines()
    dumped = {m.group(1) for line in entries if (m := _TABLE_DATA.search(line))}
    stray = sorted(set(server.tables) - dumped)
    if server.tables and stray:
        raise StoreError(
            f"the database at {_safe(url)} has tables the backup lacks ({', '.join(stray)}: "
            "a newer schema); restore into a new database",
            code="TARGET_NOT_EMPTY",
        )
    if not server.postgis:
        _pg_execute(url, "CREATE EXTENSION IF NOT EXISTS postgis")
    # The extension stays as the target has it (dropping PostGIS to make it anew would
    # take every other user of it along); everything else is restored as it was.
    kept = [f";{e}" if _EXTENSION.search(e) else e for e in entries]
    with tempfile.NamedTemporaryFile("w", suffix=".list", delete=False) as f:
        f.write("\n".join(kept) + "\n")
    try:
        _run_pg(
            [pg_restore, "--single-transaction", "--exit-on-error", "--no-owner",
             "--no-privileges", "--verbose", "--no-password", f"--use-list={f.name}",
             *(["--clean", "--if-exists"] if server.tables else []),
             f"--dbname={_libpq_uri(url)}", str(path)],
            url, "the restore failed; the database is as it was", _safe(url),
            _table_progress(progress, "restoring", len(dumped), "processing data for table"),
        )  # fmt: skip
    finally:
        os.unlink(f.name)
    from clearfield.store.postgis import engine_url

    engine = create_engine(engine_url(url))
    try:
        if progress is not None:
            progress("checking the restored database", 0, 1)
        return _checks_of(engine, _safe(url))
    finally:
        engine.dispose()


_TABLE_DATA = re.compile(r"\bTABLE DATA public (\w+) ")
_EXTENSION = re.compile(r"^\d+; \d+ \d+ (EXTENSION|COMMENT - EXTENSION) ")


@dataclass
class _Server:
    major: int
    postgis: bool
    tables: dict[str, int]  # Clearfield's tables there, with their rows


def _pg_server(url: str) -> _Server:
    """The server's major version, and which of Clearfield's tables the database has."""
    import psycopg

    try:
        with psycopg.connect(_libpq_uri(url), password=_password(url), connect_timeout=15) as conn:  # fmt: skip
            major = conn.info.server_version // 10000
            postgis = conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'postgis'").fetchone()  # fmt: skip
            present = {
                r[0]
                for r in conn.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
                )
            }
            tables = {}
            for t in (*TABLES, "alembic_version"):
                if t in present:
                    tables[t] = int(conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0])  # type: ignore[index]
    except psycopg.Error as exc:
        raise StoreError(f"cannot open {_safe(url)}: {str(exc).strip()}") from None
    return _Server(major, postgis is not None, tables)


def _pg_execute(url: str, statement: str) -> None:
    import psycopg

    try:
        with psycopg.connect(_libpq_uri(url), password=_password(url), autocommit=True) as conn:
            conn.execute(statement)
    except psycopg.Error as exc:
        raise StoreError(f"cannot prepare {_safe(url)}: {str(exc).strip()}") from None


def _pg_tool(name: str, server_major: int) -> str:
    """The newest ``name`` (pg_dump, pg_restore) found, if it is as new as the server."""
    found: list[tuple[int, str]] = []
    for candidate in [*sorted(glob.glob(f"{_PG_BINDIRS}/{name}")), shutil.which(name)]:
        if candidate and (major := _tool_major(candidate)) is not None:
            found.append((major, candidate))
    if not found:
        raise StoreError(
            f"{name} is not installed (looked on PATH and in {_PG_BINDIRS}); install the "
            f"PostgreSQL {server_major} client programs (Debian: postgresql-client-{server_major})",
            code="PG_TOOLS_MISSING",
        )
    major, best = max(found, key=lambda mc: mc[0])
    if major < server_major:
        raise StoreError(
            f"{best} is PostgreSQL {major}, older than the server ({server_major}); install "
            f"the PostgreSQL {server_major} client programs (Debian: "
            f"postgresql-client-{server_major})",
            code="PG_TOOLS_MISSING",
        )
    return best


def _tool_major(path: str) -> int | None:
    try:
        done = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(r"\(PostgreSQL\) (\d+)", done.stdout)
    return int(m.group(1)) if done.returncode == 0 and m else None


def _run_pg(
    cmd: list[str],
    url: str | None,
    what: str,
    name: str,
    on_line: Callable[[str], None] | None = None,
) -> str:
    """Run a PostgreSQL program (the password in its environment only); its stdout.
    Raises :class:`StoreError` with its own words when it fails."""
    env = dict(os.environ)
    if url is not None and (password := _password(url)):
        env["PGPASSWORD"] = password
    errors: list[str] = []
    with subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    ) as proc:

        def read_stderr() -> None:
            assert proc.stderr is not None
            for line in proc.stderr:
                if on_line is not None:
                    on_line(line)
                if on_line is None or "error" in line.lower() or "fatal" in line.lower():
                    errors.append(line.strip())

        reader = threading.Thread(target=read_stderr, daemon=True)
        reader.start()
        assert proc.stdout is not None
        stdout = proc.stdout.read()
        reader.join()
    if proc.returncode != 0:
        said = "; ".join(e for e in errors if e) or f"exit {proc.returncode}"
        raise StoreError(
            f"{what}: {Path(cmd[0]).name}: {said}",
            record=name,
            code="RESTORE_FAILED" if "restore" in what else "BACKUP_FAILED",
        )
    return stdout


def _table_progress(
    progress: Progress | None, label: str, total: int, marker: str
) -> Callable[[str], None] | None:
    if progress is None:
        return None
    done = 0
    progress(label, 0, total)

    def on_line(line: str) -> None:
        nonlocal done
        if marker in line:
            done = min(done + 1, total)
            progress(label, done, total)

    return on_line


def _archive_tables(pg_restore: str, path: Path, name: str) -> set[str]:
    listing = _run_pg([pg_restore, "--list", str(path)], None, "cannot read the archive", name)
    return {m.group(1) for line in listing.splitlines() if (m := _TABLE_DATA.search(line))}


def _pg_url(url: str) -> Any:
    for prefix in _POSTGRES_PREFIXES:
        if url.startswith(prefix):
            return make_url("postgresql://" + url.removeprefix(prefix))
    raise StoreError("not a PostgreSQL URL (expected postgresql://...)")


def _libpq_uri(url: str) -> str:
    """The URL as libpq reads it, without its password."""
    return str(_pg_url(url)._replace(password=None).render_as_string(hide_password=False))


def _password(url: str) -> str | None:
    password = _pg_url(url).password
    return None if password is None else str(password)


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    if url.startswith("sqlite:///"):
        return url
    try:
        return str(_pg_url(url).render_as_string(hide_password=True))
    except Exception:  # a URL that does not parse: show none of it
        return "the PostgreSQL database"

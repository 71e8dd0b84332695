"""A throwaway PostgreSQL 15 + PostGIS 3 server for tests, started and stopped by the tests.

`PostgresCluster` is a context manager. On entry it makes a temporary directory, runs
`initdb` there (as the `postgres` OS user when we are root, since PostgreSQL refuses to run
as root; as ourselves otherwise), starts the server with `pg_ctl` on a free port on
127.0.0.1 only (its Unix socket and log file also live in the temporary directory, and
fsync is off: the data is thrown away), waits until it accepts connections, and creates a
database with PostGIS in it. On exit, also when the body raised, it stops the server
(`pg_ctl -m immediate stop`) and deletes the directory. Use it like this:

    with PostgresCluster() as pg:
        engine = sqlalchemy.create_engine(pg.url)        # a database with PostGIS
        other = sqlalchemy.create_engine(pg.new_database("other"))

The binaries come from Debian's `postgresql-15` and `postgresql-15-postgis-3`; `make test`
installs them when they are missing. Without them the cluster raises `PostgresUnavailable`
(the tests that need PostGIS fail, they are never skipped).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

import psycopg
from psycopg import sql

PG_BINDIR = Path("/usr/lib/postgresql/15/bin")
PACKAGES = "postgresql-15 postgresql-15-postgis-3"
SUPERUSER = "postgres"
HOST = "127.0.0.1"
START_TIMEOUT = 60  # seconds
_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class PostgresUnavailable(RuntimeError):
    """PostgreSQL or PostGIS is not installed, or the server would not start."""


class PostgresCluster:
    """A temporary PostgreSQL cluster listening on 127.0.0.1 with PostGIS in its databases.

    `url` is a SQLAlchemy URL of the database made at start; `new_database()` makes more.
    `start_seconds` and `stop_seconds` say how long starting and stopping took.
    """

    def __init__(self, dbname: str = "clearfield_test", bindir: Path = PG_BINDIR) -> None:
        if not _NAME.fullmatch(dbname):
            raise ValueError(f"not a plain database name: {dbname!r}")
        self.dbname = dbname
        self.bindir = Path(bindir)
        self.host = HOST
        self.port: int | None = None
        self.dir: Path | None = None
        self.start_seconds: float | None = None
        self.stop_seconds: float | None = None
        self._as_postgres = os.geteuid() == 0
        self._running = False

    # -- paths -------------------------------------------------------------------------

    @property
    def data_dir(self) -> Path:
        return self._dir / "data"

    @property
    def log_file(self) -> Path:
        return self._dir / "postgres.log"

    @property
    def socket_dir(self) -> Path:
        return self._dir

    @property
    def url(self) -> str:
        """The SQLAlchemy URL of the database made at start (it has PostGIS)."""
        return self.url_of(self.dbname)

    def url_of(self, dbname: str) -> str:
        if self.port is None:
            raise RuntimeError("the cluster is not running")
        return f"postgresql+psycopg://{SUPERUSER}@{self.host}:{self.port}/{dbname}"

    @property
    def _dir(self) -> Path:
        if self.dir is None:
            raise RuntimeError("the cluster has not been started")
        return self.dir

    # -- life cycle --------------------------------------------------------------------

    def __enter__(self) -> PostgresCluster:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Create, start and prepare the cluster; on any failure, leave nothing behind."""
        if self.dir is not None:
            raise RuntimeError("the cluster has already been started")
        self._check_installed()
        began = time.perf_counter()
        try:
            self.dir = Path(tempfile.mkdtemp(prefix="clearfield-pg-"))
            if self._as_postgres:
                shutil.chown(self.dir, user=SUPERUSER, group=SUPERUSER)
            self._run(
                "initdb",
                "-D", str(self.data_dir),
                "-U", SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            )  # fmt: skip
            self._start_server()
            self._create_database(self.dbname)
        except BaseException as e:
            try:
                self.stop()
            except Exception as cleanup:  # keep the first error (or Ctrl-C), note the second
                e.add_note(f"and cleaning up failed too: {cleanup}")
            raise
        self.start_seconds = time.perf_counter() - began

    def stop(self) -> None:
        """Stop the server (immediately: the data is thrown away) and delete the directory.

        Safe to call more than once, and after a failed start.
        """
        if self.dir is None:
            return
        began = time.perf_counter()
        try:
            if self._running or (self.data_dir / "postmaster.pid").exists():
                self._stop_server()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
            self.port = None
            self._running = False
            self.stop_seconds = time.perf_counter() - began

    def new_database(self, name: str | None = None) -> str:
        """Create a database with PostGIS in it and return its SQLAlchemy URL.

        Without a name, a fresh one is made up. Names are plain lower-case identifiers.
        """
        if name is None:
            name = f"test_{secrets.token_hex(6)}"
        if not _NAME.fullmatch(name):
            raise ValueError(f"not a plain database name: {name!r}")
        self._create_database(name)
        return self.url_of(name)

    def connect(self, dbname: str | None = None) -> psycopg.Connection:
        """A psycopg connection (autocommit) to a database of the cluster."""
        if self.port is None:
            raise RuntimeError("the cluster is not running")
        return psycopg.connect(
            host=self.host,
            port=self.port,
            user=SUPERUSER,
            dbname=dbname or self.dbname,
            autocommit=True,
            connect_timeout=10,
        )

    # -- the work ----------------------------------------------------------------------

    def _check_installed(self) -> None:
        how = f"run `make test` (it installs them) or `apt-get install -y {PACKAGES}`"
        for tool in ("initdb", "pg_ctl", "postgres"):
            if not os.access(self.bindir / tool, os.X_OK):
                raise PostgresUnavailable(
                    f"PostgreSQL 15 is not installed: {self.bindir / tool} is missing; {how}"
                )
        sharedir = subprocess.run(
            [str(self.bindir / "pg_config"), "--sharedir"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        control = Path(sharedir or "/usr/share/postgresql/15") / "extension" / "postgis.control"
        if not control.exists():
            raise PostgresUnavailable(f"PostGIS 3 is not installed: {control} is missing; {how}")
        if self._as_postgres and shutil.which("runuser") is None:
            raise PostgresUnavailable("running as root, but `runuser` is missing (util-linux)")

    def _run(self, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
        """Run one of the PostgreSQL programs, as `postgres` when we are root."""
        cmd = [str(self.bindir / tool), *args]
        if self._as_postgres:
            cmd = ["runuser", "-u", SUPERUSER, "--", *cmd]
        # PG* variables would redirect pg_ctl; a locale that is not installed makes noise.
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C.UTF-8"
        # A group of its own, so that when we are interrupted (Ctrl-C, SIGTERM) we can end
        # everything it started: `runuser` does not pass a kill on to initdb. (The server
        # that pg_ctl starts detaches itself from this group; `stop()` ends that.)
        proc = subprocess.Popen(
            cmd,
            cwd=self._dir,  # the postgres user may not be able to enter our directory
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            out, err = proc.communicate(timeout=START_TIMEOUT + 30)
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise
        done = subprocess.CompletedProcess(cmd, proc.returncode, out, err)
        if done.returncode != 0:
            raise PostgresUnavailable(
                f"{tool} failed (exit {done.returncode}): {' '.join(cmd)}\n"
                f"{done.stdout}{done.stderr}{self._log_tail()}"
            )
        return done

    def _start_server(self) -> None:
        """Start on a free port; another process may take that port first, so retry."""
        for attempt in range(3):
            self.port = _free_port()
            options = " ".join(
                [
                    f"-p {self.port}",
                    f"-k {self.socket_dir}",
                    f"-c listen_addresses={HOST}",
                    "-c fsync=off",
                    "-c synchronous_commit=off",
                    "-c full_page_writes=off",
                ]
            )
            try:
                self._run(
                    "pg_ctl",
                    "-D", str(self.data_dir),
                    "-l", str(self.log_file),
                    "-o", options,
                    "-w", "-t", str(START_TIMEOUT),
                    "start",
                )  # fmt: skip
            except PostgresUnavailable:
                if attempt < 2 and "could not bind" in self._log_tail():
                    continue
                raise
            self._running = True
            break
        self._wait_until_accepting()

    def _wait_until_accepting(self) -> None:
        """`pg_ctl -w` waits already; this also proves that TCP on 127.0.0.1 answers."""
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                with self.connect("postgres") as conn:
                    conn.execute("SELECT 1")
                return
            except psycopg.OperationalError as e:
                if time.monotonic() > deadline:
                    raise PostgresUnavailable(
                        f"PostgreSQL started but does not accept connections on "
                        f"{self.host}:{self.port}: {e}{self._log_tail()}"
                    ) from e
                time.sleep(0.05)

    def _create_database(self, name: str) -> None:
        with self.connect("postgres") as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        with self.connect(name) as conn:
            conn.execute("CREATE EXTENSION postgis")

    def _stop_server(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop")
        except PostgresUnavailable:
            # pg_ctl could not stop it (say, initdb's single-user backend was still running):
            # end the process named in the pid file ourselves; without one, nothing runs.
            pid = _postmaster_pid(self.data_dir)
            if pid is None:
                return
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                return
            _wait_for_exit(pid)

    def _log_tail(self, lines: int = 30) -> str:
        if self.dir is None or not self.log_file.exists():
            return ""
        tail = self.log_file.read_text(errors="replace").splitlines()[-lines:]
        return f"\n--- last lines of {self.log_file} ---\n" + "\n".join(tail)


def _free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on just now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _wait_for_exit(pid: int, timeout: float = 10) -> None:
    """Wait until `pid` has ended (a zombie that init has yet to reap has ended)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except FileNotFoundError:
            return
        if "\nState:\tZ" in status:
            return
        time.sleep(0.02)


def _postmaster_pid(data_dir: Path) -> int | None:
    try:
        first = (data_dir / "postmaster.pid").read_text().split("\n", 1)[0]
        return int(first)
    except (OSError, ValueError):
        return None

"""Fixtures on real components: a real SQLite file per test (PostGIS joins in a later issue)."""

from __future__ import annotations

import os
import secrets
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from clearfield import services
from clearfield.store.base import Store
from pg import PostgresCluster

STORES = ["sqlite", "postgis"]


@contextmanager
def new_database(request: pytest.FixtureRequest, kind: str, folder: Path) -> Iterator[str]:
    """A URL for a new, empty database of a store kind: an SQLite file in ``folder``, or
    a database of the session's PostgreSQL server (a copy of a migrated template),
    dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'programme.db'}"
        return
    template = request.getfixturevalue("postgis_template")
    cluster: PostgresCluster = request.getfixturevalue("postgres")
    name = f"t_{secrets.token_hex(6)}"
    with cluster.connect() as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
    try:
        yield postgres_url(cluster.url_of(name))
    finally:
        with cluster.connect() as conn:
            conn.execute(f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture(params=STORES)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new, empty database of each store kind, for one test."""
    with new_database(request, request.param, tmp_path) as url:
        yield url


@pytest.fixture(scope="module", params=STORES)
def store_kind(request: pytest.FixtureRequest) -> str:
    """Each store kind in turn, for a module's tests."""
    return str(request.param)


@pytest.fixture(scope="module")
def database_url(request: pytest.FixtureRequest, store_kind: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:  # fmt: skip
    """A new, empty database of each store kind, for a module's tests (a server's)."""
    with new_database(request, store_kind, tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.fixture(scope="session")
def postgis_template(postgres: PostgresCluster) -> str:
    """A database with PostGIS and Clearfield's schema, that each test's is copied from
    (copying takes milliseconds; creating the extension and schema, a second)."""
    url = postgres.new_database("clearfield_template")
    services.open_store(postgres_url(url)).close()
    return "clearfield_template"


def postgres_url(sqlalchemy_url: str) -> str:
    """The URL a user gives Clearfield for a database of the test server."""
    return sqlalchemy_url.replace("postgresql+psycopg://", "postgresql://", 1)


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = services.open_store(store_url)
    yield s
    s.close()


@pytest.fixture(scope="session")
def postgres(request: pytest.FixtureRequest) -> PostgresCluster:
    """A throwaway PostgreSQL 15 + PostGIS server for the session (see tests/pg.py).

    Started when a test first asks for it; the finaliser stops it and deletes its files at
    the end of the session, also when tests failed. The server runs in a session of its own
    (pg_ctl detaches it), so a SIGTERM to pytest (say from `timeout`) would leave it running:
    while it runs, SIGTERM interrupts pytest like Ctrl-C, so the finaliser still runs.
    """
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:

        def interrupt(signum: int, frame: object) -> None:
            raise KeyboardInterrupt(f"signal {signum}")

        signal.signal(signal.SIGTERM, interrupt)
        request.addfinalizer(lambda: signal.signal(signal.SIGTERM, signal.SIG_DFL))
    cluster = PostgresCluster()
    request.addfinalizer(cluster.stop)  # finalisers run last first: this one before the above
    cluster.start()
    return cluster


@pytest.fixture
def cli_env(store_url: str) -> dict[str, str]:
    """Environment for running the real `clearfield` command in a subprocess, on a new
    database of each store kind."""
    env = dict(os.environ)
    env["CLEARFIELD_DATABASE"] = store_url
    env["COLUMNS"] = "200"
    env["NO_COLOR"] = "1"
    return env

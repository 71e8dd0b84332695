"""Fixtures on real components: a real SQLite file per test (PostGIS joins in a later issue)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from clearfield import services
from clearfield.store.sqlite import SQLiteStore

STORES = ["sqlite"]


@pytest.fixture(params=STORES)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL for a new, empty database of each store kind."""
    return f"sqlite:///{tmp_path / 'programme.db'}"


@pytest.fixture
def store(store_url: str) -> Iterator[SQLiteStore]:
    s = services.open_store(store_url)
    yield s
    s.close()


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    """Environment for running the real `clearfield` command in a subprocess."""
    env = dict(os.environ)
    env["CLEARFIELD_DATABASE"] = f"sqlite:///{tmp_path / 'cli.db'}"
    env["COLUMNS"] = "200"
    env["NO_COLOR"] = "1"
    return env

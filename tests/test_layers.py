"""The arrows point inwards: the domain imports no storage, files, CLI or HTTP code."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).parents[1] / "src" / "clearfield"
OUTER = (
    "clearfield.store",
    "clearfield.io",
    "clearfield.cli",
    "clearfield.services",
    "clearfield.stats",
    "clearfield.export",
    "clearfield.scenario",
)
IO_LIBRARIES = (
    "sqlalchemy",
    "alembic",
    "sqlite3",
    "psycopg",
    "pyogrio",
    "openpyxl",
    "typer",
    "rich",
    "fastapi",
    "httpx",
    "open",
)


def imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", sorted((SRC / "domain").glob("*.py")), ids=lambda p: p.name)
def test_domain_imports_nothing_from_the_edges(path):
    bad = {n for n in imports(path) if n.startswith(OUTER) or n.split(".")[0] in IO_LIBRARIES}
    assert not bad, f"{path.name} imports {sorted(bad)}"


@pytest.mark.parametrize("path", sorted((SRC / "scenario").glob("*.py")), ids=lambda p: p.name)
def test_scenario_builds_records_without_storage(path):
    bad = {n for n in imports(path) if n.startswith(OUTER[:-1]) or n.split(".")[0] in IO_LIBRARIES}
    assert not bad, f"{path.name} imports {sorted(bad)}"

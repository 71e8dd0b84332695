"""Every bad import file is rejected whole, says which feature and why, and changes nothing.

The corpus is ``tests/data/bad``: one file per fault (GeoJSON, CSV with WKT and
GeoPackage), and ``EXPECTED.json`` listing, per file, the substrings the error output
must contain (the feature's index and id, the field, the reason). Each file is imported
with the real ``clearfield`` command into a database that already holds the small
programme of ``tests/data/good/base.geojson`` (bad files may reference its records);
the import must fail, name the fault, and leave the database byte for byte as it was.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from clearfield import services
from common import dump

DATA = Path(__file__).parent / "data"
BAD = DATA / "bad"
BASE = DATA / "good" / "base.geojson"
EXPECTED_FILE = BAD / "EXPECTED.json"
EXPECTED: dict[str, list[str]] = json.loads(EXPECTED_FILE.read_text(encoding="utf-8"))
BAD_FILES = sorted(p.name for p in BAD.iterdir() if p.is_file() and p != EXPECTED_FILE)

Snapshot = tuple[str, str]


def run_import(path: Path, url: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("CLEARFIELD_DATABASE", None)
    env.update({"COLUMNS": "1000", "NO_COLOR": "1", "TERM": "dumb"})
    return subprocess.run(
        [sys.executable, "-m", "clearfield", "import", str(path), "--database", url],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


def snapshot(url: str) -> Snapshot:
    """Every row of the database, and (SQLite) the sha256 of its file after a full WAL
    checkpoint: a refused import must change neither."""
    store = services.open_store(url, create=False)
    try:
        rows = repr(dump(store))
    finally:
        store.close()
    if not url.startswith("sqlite:///"):
        return rows, ""
    db = Path(url.removeprefix("sqlite:///"))
    with contextlib.closing(sqlite3.connect(db)) as con:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    return rows, hashlib.sha256(db.read_bytes()).hexdigest()


def squeeze(text: str) -> str:
    """Whitespace folded, so that a wrapped console line still matches."""
    return " ".join(text.split())


@pytest.fixture(scope="module")
def base_db(database_url: str) -> tuple[str, Snapshot]:
    """A database holding base.geojson, and its snapshot."""
    result = run_import(BASE, database_url)
    assert result.returncode == 0, result.stdout + result.stderr
    snap = snapshot(database_url)
    assert "HA-2" in snap[0] and "AC-3" in snap[0], "base.geojson was not stored"
    return database_url, snap


@pytest.fixture
def programme_db(base_db: tuple[str, Snapshot], tmp_path: Path) -> tuple[str, Snapshot]:
    """The base database: a private copy of the file (SQLite), or the module's own
    database (PostgreSQL; every test here must leave it as it found it)."""
    url, snap = base_db
    if url.startswith("sqlite:///"):
        db = tmp_path / "programme.db"
        shutil.copyfile(url.removeprefix("sqlite:///"), db)
        url = f"sqlite:///{db}"
    assert snapshot(url) == snap
    return url, snap


def test_corpus_is_complete() -> None:
    assert len(BAD_FILES) >= 40
    assert {Path(n).suffix for n in BAD_FILES} >= {".geojson", ".csv", ".gpkg"}
    assert sorted(EXPECTED) == BAD_FILES, "every bad file needs an EXPECTED.json entry, and no more"
    for name, substrings in EXPECTED.items():
        assert substrings, f"{name}: no expected substrings"
        assert all(isinstance(s, str) and s.strip() for s in substrings), name


def test_base_programme_imports(base_db: tuple[str, Snapshot]) -> None:
    db, snap = base_db
    result = run_import(BASE, db)  # sent again: unchanged, nothing written
    assert result.returncode == 0, result.stdout + result.stderr
    assert snapshot(db)[0] == snap[0]


def _json_files() -> list[str]:
    names = []
    for name in BAD_FILES:
        with contextlib.suppress(ValueError):  # (not JSON: no compact copy to compare)
            if name.endswith(".geojson") and isinstance(json.loads((BAD / name).read_bytes()), dict):  # fmt: skip
                names.append(name)
    return names


@pytest.mark.parametrize("name", _json_files())
def test_a_compact_copy_reads_with_the_same_faults(name: str, tmp_path: Path) -> None:
    """The corpus is indented; written compact, as Clearfield and orjson write files, its
    plain polygons are built from their text (``GeometryText``): the faults must read the
    same either way."""
    from clearfield.domain.parse import parse_features
    from clearfield.domain.polygon_arrays import GeometryText
    from clearfield.io import FileError, read_file

    compact = tmp_path / name
    doc = json.loads((BAD / name).read_bytes())
    compact.write_text(json.dumps(doc, separators=(",", ":")), encoding="utf-8")
    outcomes = []
    for path in (BAD / name, compact):
        try:
            features, _ = read_file(path)
        except FileError as exc:
            outcomes.append(("file", exc.message))
            continue
        outcomes.append(("records", [str(r) for _, r, _ in parse_features(features)]))
        polygon = b'{"type":"Polygon","coordinates":'  # what is built from its text
        texts = [
            g
            for f in features
            if isinstance(f, dict) and isinstance(g := f.get("geometry"), GeometryText)
        ]
        if texts:  # (a file of NaNs is decoded whole, as mappings)
            built_from_text = any(g.startswith(polygon) for g in texts)
            assert built_from_text == (path == compact and polygon in compact.read_bytes())
    assert outcomes[0] == outcomes[1]


@pytest.mark.parametrize("name", BAD_FILES)
def test_bad_file_is_rejected_and_nothing_changes(
    name: str, programme_db: tuple[str, Snapshot]
) -> None:
    db, before = programme_db
    result = run_import(BAD / name, db)
    output = result.stdout + result.stderr
    assert result.returncode != 0, f"{name} was accepted:\n{output}"
    assert "Traceback" not in output, output
    missing = [s for s in EXPECTED.get(name, []) if squeeze(s) not in squeeze(output)]
    assert not missing, f"{name}: missing {missing} in output:\n{output}"
    after = snapshot(db)
    assert after[0] == before[0], f"{name}: the database content changed"
    assert after[1] == before[1], f"{name}: the database file changed"  # (SQLite)

"""The real `clearfield` command in a subprocess: import, export, stats, review, check."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pyogrio.raw
import pytest
import shapely
from shapely import box

from common import X0, Y0, activity, base_programme, cf, hazard, organisation, team

LEFT = box(X0, Y0, X0 + 0.005, Y0 + 0.01)
BOTTOM = box(X0, Y0, X0 + 0.01, Y0 + 0.005)


def write(path: Path, features) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


@pytest.fixture
def programme(tmp_path, cli_env):
    feats = [
        *base_programme(),
        team(id="TM-2", kind="construction", personnel=50),
        hazard(id="HA-2", geom=shapely.affinity.translate(LEFT, 0.05), district="South"),
        activity("A1", LEFT, kind="nts"),
        activity("A2", BOTTOM, status="submitted"),
    ]
    cf(cli_env, "import", write(tmp_path / "p.geojson", feats))
    return cli_env


def stats(env, *args):
    return json.loads(cf(env, "stats", "--json", *args).stdout)


def test_stats_json_follows_the_contract(programme):
    s = stats(programme)
    assert set(s) >= {
        "hazards",
        "released_m2",
        "remaining_m2",
        "flagged_outside_m2",
        "personnel",
        "assets",
        "pending_review",
    }
    assert set(s["hazards"]) == {"count", "area_m2", "by_status"}
    assert set(s["released_m2"]) == {"cancelled", "reduced", "cleared"}
    assert s["personnel"] == {"sappers": 8, "construction_workers": 50}
    assert set(s["assets"]) == {"count", "blocked", "restored"}
    assert s["hazards"]["count"] == 2 and s["pending_review"] == 1
    total = s["hazards"]["area_m2"]
    assert sum(s["released_m2"].values()) + s["remaining_m2"] == pytest.approx(total, rel=1e-4)
    by = stats(programme, "--by", "district")["by"]["groups"]
    assert set(by) == {"North", "South"}
    table = " ".join(cf(programme, "stats", "--by", "organisation").stdout.split())
    assert "the organisation that recorded them" in table and "that did the work" in table
    assert "did the work" not in " ".join(cf(programme, "stats", "--by", "district").stdout.split())


def test_review_through_the_cli_changes_the_numbers(programme):
    before = stats(programme)["released_m2"]["cleared"]
    assert "A2" in cf(programme, "review", "list").stdout
    cf(programme, "review", "approve", "activity", "A2")
    after = stats(programme)
    assert after["released_m2"]["cleared"] > before and after["pending_review"] == 0
    again = cf(programme, "review", "approve", "activity", "A2", ok=False)
    assert again.returncode == 1 and "already approved" in again.stderr
    shown = cf(programme, "review", "show", "activity", "A2").stdout
    assert "approved" in shown and "create" in shown
    # several at once, each in its own transaction; the first refusal stops the rest
    many = cf(programme, "review", "reject", "activity", "A2", "A1", "--reason", "x", ok=False)
    assert many.returncode == 1 and "activity A2: cannot make it rejected" in many.stderr


def test_geopackage_export_opens_in_ogrinfo_and_imports_back_unchanged(programme, tmp_path):
    assert shutil.which("ogrinfo"), "GDAL's ogrinfo is missing: `make test` installs gdal-bin"
    gpkg = tmp_path / "export.gpkg"
    cf(programme, "export", gpkg)
    info = subprocess.run(
        ["ogrinfo", "-ro", "-so", "-q", str(gpkg)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "partially supported" not in info.stderr  # a GeoPackage version GDAL reads fully
    for layer in ("organisation", "team", "hazard", "activity"):
        assert layer in info.stdout
    detail = subprocess.run(
        ["ogrinfo", "-ro", "-so", str(gpkg), "hazard"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert "Feature Count: 2" in detail and "remaining_m2" in detail and "4326" in detail
    assert "recorded_on: Date" in detail  # a date QGIS can filter on, not text
    # the same database takes its own export back as unchanged, a new one rebuilds the numbers
    assert "0 written" in cf(programme, "import", gpkg).stdout
    other = dict(programme, CLEARFIELD_DATABASE=f"sqlite:///{tmp_path / 'copy.db'}")
    cf(other, "import", gpkg)
    a, b = stats(programme), stats(other)
    assert b["released_m2"] == pytest.approx(a["released_m2"])
    assert b["hazards"]["by_status"] == a["hazards"]["by_status"]
    assert b["hazards"]["area_m2"] == pytest.approx(a["hazards"]["area_m2"], rel=1e-6)


def test_geojson_and_xlsx_exports(programme, tmp_path):
    from openpyxl import load_workbook

    cf(programme, "export", tmp_path / "all.geojson")
    doc = json.loads((tmp_path / "all.geojson").read_text())
    assert len(doc["features"]) == 7  # 1 organisation, 2 teams, 2 hazards, 2 activities
    other = dict(programme, CLEARFIELD_DATABASE=f"sqlite:///{tmp_path / 'copy.db'}")
    cf(other, "import", tmp_path / "all.geojson")
    assert stats(other)["released_m2"] == pytest.approx(stats(programme)["released_m2"])
    cf(programme, "export", tmp_path / "all.xlsx")
    wb = load_workbook(tmp_path / "all.xlsx", read_only=True)
    assert wb.sheetnames == ["summary", "organisation", "team", "hazard", "activity"]
    rows = list(wb["hazard"].values)
    assert rows[0][0] == "id" and "geometry_wkt" in rows[0] and len(rows) == 3


def test_csv_with_wkt_imports(tmp_path, cli_env):
    cf(cli_env, "import", write(tmp_path / "base.geojson", base_programme()))
    csv = tmp_path / "acts.csv"
    csv.write_text(
        "record_type,id,hazard_id,kind,organisation,team,start_date,end_date,status,geometry\n"
        f'activity,A9,HA-1,ts,ORG-1,TM-1,2025-03-01,2025-03-09,approved,"{LEFT.wkt}"\n'
    )
    cf(cli_env, "import", csv)
    assert stats(cli_env)["released_m2"]["reduced"] > 0


def test_geopackage_in_another_crs_is_reprojected(tmp_path, cli_env):
    from pyproj import Transformer

    cf(cli_env, "import", write(tmp_path / "base.geojson", base_programme()[:2]))
    tr = Transformer.from_crs(4326, 32636, always_xy=True)
    utm = shapely.transform(
        box(X0, Y0, X0 + 0.01, Y0 + 0.01),
        lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])),
    )
    props = hazard()["properties"]
    fields = [k for k in props if k != "record_type"]
    data = [
        np.array([json.dumps(props[k]) if isinstance(props[k], list) else props[k]], dtype=object)
        for k in fields
    ]
    path = tmp_path / "utm.gpkg"
    pyogrio.raw.write(
        path,
        np.array([shapely.to_wkb(utm)], dtype=object),
        data,
        fields,
        layer="hazard",
        driver="GPKG",
        geometry_type="Polygon",
        crs="EPSG:32636",
    )
    cf(cli_env, "import", path)
    area = stats(cli_env)["hazards"]["area_m2"]
    from clearfield.domain.geometry import area_m2

    assert area == pytest.approx(float(area_m2(box(X0, Y0, X0 + 0.01, Y0 + 0.01))), rel=1e-6)


def test_a_refused_import_leaves_no_new_database(tmp_path, cli_env):
    bad = write(tmp_path / "bad.geojson", [*base_programme(), activity("A1", LEFT, hazard_id="X")])
    p = cf(cli_env, "import", bad, "--json", ok=False)
    assert p.returncode == 2 and not (tmp_path / "cli.db").exists()
    faults = json.loads(p.stdout)["faults"]
    assert faults == [
        {
            "record": "feature 4 (activity A1)",
            "field": "hazard_id",
            "reason": "unknown hazard reference 'X': no hazard with that id is stored "
            "or in this file",
        }
    ]


def test_bad_arguments_fail_cleanly(tmp_path, cli_env):
    p = cf(cli_env, "import", tmp_path / "missing.geojson", ok=False)
    assert p.returncode == 1 and "no such file" in p.stderr
    p = cf(cli_env, "stats", "--by", "colour", ok=False)
    assert p.returncode != 0
    p = cf(cli_env, "export", tmp_path / "x.shp", ok=False)
    assert p.returncode == 1


def test_every_command_is_documented_in_the_readme():
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    from clearfield.cli import app

    names = [c.name or c.callback.__name__ for c in app.registered_commands]
    names += [g.name for g in app.registered_groups]
    assert {"import", "export", "stats", "review", "scenario", "demo", "check"} <= set(names)
    for name in names:
        assert f"clearfield {name}" in readme, f"README does not show `clearfield {name}`"


def test_every_record_field_is_documented():
    from clearfield.domain.parse import _props_of
    from clearfield.domain.records import RECORD_TYPES

    doc = (Path(__file__).parents[1] / "docs" / "records.md").read_text()
    for rtype, cls in RECORD_TYPES.items():
        section = doc.split(f"## `{rtype}`", 1)[1].split("\n## ", 1)[0]
        for prop in _props_of(cls)[0]:
            assert f"| `{prop}` |" in section, f"docs/records.md lacks {rtype}.{prop}"


def test_scenario_demo_check_and_personal_data(tmp_path, cli_env):
    built = cf(cli_env, "scenario", "--scale", "0.01", "--seed", "4")
    assert "built Veloria" in built.stdout
    again = cf(cli_env, "scenario", "--scale", "0.01", ok=False)
    assert again.returncode == 1 and "--replace" in again.stderr
    s = stats(cli_env)
    assert s["personnel"] == {"sappers": 10, "construction_workers": 50}
    assert s["hazards"]["count"] == 50 and s["pending_review"] > 0
    assert stats(cli_env, "--recompute")["released_m2"] == pytest.approx(s["released_m2"])
    flags = json.loads(cf(cli_env, "check", "--json").stdout)
    assert {f["code"] for f in flags} <= {"RELEASE_OUTSIDE_HAZARD", "HAZARD_OVERLAP"}
    cf(cli_env, "export", tmp_path / "full.geojson")
    cf(cli_env, "export", tmp_path / "public.geojson", "--no-personal-data")
    full = json.loads((tmp_path / "full.geojson").read_text())
    public = json.loads((tmp_path / "public.geojson").read_text())
    assert full["programme"]["synthetic"] == "true"

    def names(doc):
        return [
            c.get("name") for f in doc["features"] for c in f["properties"].get("casualties", [])
        ]

    assert any(names(full)) and not any(names(public))
    # an export of synthetic data stays marked synthetic where it is imported
    copy = dict(cli_env, CLEARFIELD_DATABASE=f"sqlite:///{tmp_path / 'copy.db'}")
    cf(copy, "import", tmp_path / "public.geojson")
    assert stats(copy)["synthetic"] is True
    # demo replaces a synthetic database, never one holding real records
    real = dict(cli_env, CLEARFIELD_DATABASE=f"sqlite:///{tmp_path / 'real.db'}")
    cf(real, "import", write(tmp_path / "p.geojson", base_programme()))
    refused = cf(real, "demo", ok=False)
    assert refused.returncode == 1 and "real (non-synthetic) data" in refused.stderr
    assert stats(real)["hazards"]["count"] == 1  # still there
    # nor a demo database that someone imported real records into
    mixed = write(tmp_path / "mine.geojson", [organisation(id="ORG-REAL", name="Real NGO")])
    warned = cf(cli_env, "import", mixed)
    assert "synthetic" in warned.stderr
    kept = cf(cli_env, "scenario", "--scale", "0.01", "--replace", ok=False)
    assert kept.returncode == 1 and "1 record in it was imported by hand" in kept.stderr


def test_migrate_brings_an_old_schema_to_the_newest(tmp_path: Path, cli_env) -> None:
    from alembic import command
    from sqlalchemy import create_engine

    from clearfield.store.sqlite import MIGRATIONS, _alembic_config

    db = tmp_path / "old.db"
    engine = create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:  # a database as the first release of Clearfield left it
        cfg = _alembic_config(conn)
        command.upgrade(cfg, "0001")
    engine.dispose()
    assert MIGRATIONS.is_dir()
    url = f"sqlite:///{db}"
    behind = cf(cli_env, "migrate", "--check", "-d", url, ok=False)
    assert behind.returncode == 1 and "behind the newest" in behind.stderr
    done = cf(cli_env, "migrate", "-d", url)
    assert done.returncode == 0 and "0001 → 0004" in done.stdout, done.stderr
    again = cf(cli_env, "migrate", "-d", url)
    assert "nothing to do" in again.stdout
    assert cf(cli_env, "migrate", "--check", "-d", url).returncode == 0
    missing = cf(cli_env, "migrate", "-d", f"sqlite:///{tmp_path / 'none.db'}", ok=False)
    assert missing.returncode != 0 and "no database" in missing.stderr


def _commands_panel(page: str) -> list[str]:
    """The rows of the Commands panel of a ``--help`` page, inside its borders."""
    panel = page.split("─ Commands ─", 1)[1].splitlines()[1:]
    return [row[1:-1] for row in panel[: next(i for i, r in enumerate(panel) if r.startswith("╰"))]]


def test_each_command_is_summed_up_in_one_line_of_the_help(tmp_path):
    """Typer shows the first paragraph of a command's docstring in its group's list with
    its line breaks: a summary over two source lines reads as a sentence cut in half."""
    from clearfield.cli import app

    env = dict(os.environ, COLUMNS="200", NO_COLOR="1")
    groups = [g.name for g in app.registered_groups]
    assert {"review", "plan", "users", "report", "audit"} <= set(groups)
    for group in ["", *groups]:
        page = cf(env, *([group] if group else []), "--help").stdout
        rows = _commands_panel(page)
        assert rows, page
        cut = [row.strip() for row in rows if not row[1:2].strip()]
        assert not cut, f"`{f'clearfield {group}'.strip()} --help`: a summary runs on: {cut}"


def test_typos_and_missing_folders_are_named_not_taken_for_nothing(programme, tmp_path):
    """A misspelt record type or organisation is an error, not an empty queue; an export
    into a folder that does not exist says so (no traceback)."""
    env = programme
    queue = cf(env, "review", "list", "--organisation", "ORG-1")
    assert "1 record waiting for review" in queue.stdout
    for args, says in [
        (("review", "list", "--type", "hazzard"), "unknown record type 'hazzard'"),
        (("review", "list", "--organisation", "ORG-9"), "no organisation with id 'ORG-9'"),
        (("review", "show", "hazzard", "HA-1"), "unknown record type 'hazzard'"),
        (("export", tmp_path / "nowhere" / "x.gpkg"), "does not exist"),
        (("export", tmp_path / "nowhere" / "x.geojson"), "does not exist"),
    ]:
        proc = cf(env, *args, ok=False)
        assert proc.returncode == 1, (args, proc.stdout, proc.stderr)
        assert says in proc.stderr and "Traceback" not in proc.stderr, (args, proc.stderr)


def test_a_scale_that_is_not_positive_makes_no_database(tmp_path):
    env = dict(os.environ, COLUMNS="200", NO_COLOR="1")
    db = tmp_path / "z.db"
    for scale in ("0", "-1", "nan"):
        proc = cf(env, "scenario", "--scale", scale, "--database", f"sqlite:///{db}", ok=False)
        assert proc.returncode == 1 and "scale must be a positive number" in proc.stderr
        assert "Traceback" not in proc.stderr and not db.exists()
    cf(env, "scenario", "--scale", "0.01", "--database", f"sqlite:///{db}")
    assert db.exists()


def test_help_paragraphs_are_filled_to_the_terminal_not_to_the_source():
    """Help written wrapped at 88 columns in the source reads as whole paragraphs in a
    70-column terminal (no line broken after a word or two)."""
    env = dict(os.environ, COLUMNS="70", NO_COLOR="1")
    for command in (["import"], ["backup"], ["audit", "verify"], ["report", "weekly"]):
        page = cf(env, *command, "--help").stdout
        prose = page.split("Usage:", 1)[1].split("╭", 1)[0].splitlines()[1:]
        paragraphs = "\n".join(line.strip() for line in prose).strip().split("\n\n")
        assert len(paragraphs) >= 2, page
        for paragraph in paragraphs:
            lines = paragraph.splitlines()
            assert all(len(line) >= 45 for line in lines[:-1]), (command, lines)


def test_a_broken_geopackage_is_named_without_gdal_advice(tmp_path, cli_env):
    broken = tmp_path / "survey.gpkg"
    broken.write_bytes(b"not a GeoPackage at all")
    p = cf(cli_env, "import", broken, ok=False)
    assert p.returncode == 1
    assert "not a readable GeoPackage" in p.stderr and "survey.gpkg" in p.stderr
    assert "driver" not in p.stderr  # (GDAL's advice to name one: this reader names it)


def test_xlsx_summary_names_each_figure_once(tmp_path):
    from openpyxl import load_workbook

    from clearfield.io.xlsx import write_xlsx

    path = tmp_path / "summary.xlsx"
    programme = {"programme": "Veloria", "region": "Veloria", "synthetic": "true"}
    write_xlsx(path, {}, {"synthetic": True, "hazards": {"count": 3}}, programme)
    rows = [r for r in load_workbook(path, read_only=True)["summary"].values if r and r[0]]
    keys = [r[0] for r in rows]
    assert keys == ["programme", "region", "synthetic", "hazards.count"]


def test_an_older_report_is_said_to_be_kept_as_history(tmp_path, cli_env):
    cf(cli_env, "import", write(tmp_path / "base.geojson", base_programme()))
    late = hazard(recorded_on="2024-12-01")  # HA-1 as recorded before the stored 2025-01-10
    p = cf(cli_env, "import", write(tmp_path / "late.geojson", [late]))
    assert "new versions: 1 hazard" in p.stdout
    assert "kept as history, dated before their record's current version: 1 hazard" in p.stdout
    assert "kept as history" in cf(cli_env, "import", write(tmp_path / "l2.geojson", [hazard(recorded_on="2024-11-01")])).stdout  # fmt: skip
    now = hazard(recorded_on="2025-02-01")
    assert "history" not in cf(cli_env, "import", write(tmp_path / "now.geojson", [now])).stdout
    p = cf(cli_env, "import", write(tmp_path / "l3.geojson", [hazard(recorded_on="2024-10-01")]), "--json")  # fmt: skip
    assert json.loads(p.stdout)["history"] == {"hazard": 1}

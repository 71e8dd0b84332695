"""`clearfield report weekly` and `land-release` on each store: the files, and clear
refusals."""

from __future__ import annotations

import subprocess
from datetime import date, timedelta

from clearfield import services
from clearfield.scenario import generate
from test_cli import cf


def _programme(cli_env):  # type: ignore[no-untyped-def]
    """A small scenario in the command's database; the scenario (for its dates)."""
    store = services.open_store(cli_env["CLEARFIELD_DATABASE"])
    scen = generate(scale=0.02, seed=3)
    services.import_features(store, scen.features, source="t", actor="t")
    store.set_programme(scen.metadata, actor="t")
    store.close()
    return scen


def test_the_weekly_report_from_the_command_line(cli_env, tmp_path) -> None:
    scen = _programme(cli_env)
    pdf = tmp_path / "week.pdf"
    done = cf(cli_env, "report", "weekly", "--out", pdf)  # the week before the programme's date
    assert "wrote the weekly report of" in done.stdout
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, timeout=60)
    year, week, _ = (date.fromisoformat(scen.metadata["as_of"]) - timedelta(days=7)).isocalendar()
    assert "SYNTHETIC DATA" in text.stdout and f"{year}-W{week:02d}" in text.stdout
    html = tmp_path / "week.html"
    cf(cli_env, "report", "weekly", "--week", "2026-W10", "--no-personal-data", "--out", html)
    assert "2026-W10" in html.read_text()
    bad = cf(cli_env, "report", "weekly", "--week", "2026-47", "--out", html, ok=False)
    assert bad.returncode != 0 and "ISO week" in bad.stderr
    docx = cf(cli_env, "report", "weekly", "--out", tmp_path / "week.docx", ok=False)
    assert docx.returncode != 0 and ".pdf or .html" in docx.stderr
    nowhere = cf(cli_env, "report", "weekly", "--out", tmp_path / "no" / "week.pdf", ok=False)
    assert nowhere.returncode != 0 and "no such folder" in nowhere.stderr


def test_the_land_release_report_from_the_command_line(cli_env, tmp_path) -> None:
    from openpyxl import load_workbook

    scen = _programme(cli_env)
    period = ("--from", "2025-01-01", "--to", scen.metadata["as_of"])
    xlsx = tmp_path / "release.xlsx"
    cf(cli_env, "report", "land-release", *period, "--out", xlsx)
    assert load_workbook(xlsx).sheetnames == ["summary", "by_organisation", "by_hazard"]
    cf(cli_env, "report", "land-release", *period, "--out", tmp_path / "release.pdf")
    bad = cf(cli_env, "report", "land-release", "--from", "2026-02-01", "--to", "2026-01-01", "--out", xlsx, ok=False)  # fmt: skip
    assert bad.returncode != 0 and "after it ends" in bad.stderr

"""The land release report on a small scenario, on both stores: its totals, organisation
totals and hazard rows are ``clearfield stats``'s for the same period, read back from the
rendered HTML and from the XLSX; an empty period says so; the PDF renders to pages that
are not blank; a period that ends before it starts is refused."""

from __future__ import annotations

import re
import shutil
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from clearfield import services
from clearfield.report.land_release import AREA_COLUMNS, land_release_figures, land_release_xlsx
from clearfield.report.render import land_release_html, land_release_report, render_pdf
from clearfield.scenario import generate
from clearfield.stats import programme_stats
from clearfield.store.base import Store
from report.test_weekly import check_m2, page_images, parse, pdf_text, shown, stats_cli

pytestmark = pytest.mark.skipif(
    shutil.which("pdftoppm") is None or shutil.which("pdftotext") is None,
    reason="poppler-utils (pdftoppm, pdftotext) not installed: make system-deps",
)

CATEGORIES = ("cancelled", "reduced", "cleared")
QUIET = (date(2020, 1, 1), date(2020, 3, 31))  # years before the scenario's first record
SECOND = "ORG-003"  # an operator that releases no land in the scale-0.02 scenario


def load(store: Store) -> tuple[date, date, str]:
    """A scale-0.02 scenario where a second operator released land on every other hazard
    of the period, and both released parts of one hazard; returns the period (the 120
    days to the latest approved release) and that shared hazard's id."""
    scen = generate(scale=0.02, seed=3)
    as_of = date.fromisoformat(scen.metadata["as_of"])
    props = [f["properties"] for f in scen.features]
    team = next(p["id"] for p in props if p["record_type"] == "team" and p["organisation"] == SECOND)  # fmt: skip
    approved = [
        p
        for p in props
        if p["record_type"] == "activity"
        and p["status"] == "approved"
        and date.fromisoformat(p["end_date"]) <= as_of
    ]
    until = max(date.fromisoformat(p["end_date"]) for p in approved)
    since = until - timedelta(days=119)
    in_period = sorted(
        (p for p in approved if since <= date.fromisoformat(p["end_date"]) <= until),
        key=lambda p: (p["hazard_id"], p["end_date"], p["id"]),
    )
    by_hazard: dict[str, list[dict[str, Any]]] = {}
    for p in in_period:
        by_hazard.setdefault(p["hazard_id"], []).append(p)
    hazards = sorted(by_hazard)
    shared = next(h for h in hazards[1::2] if len(by_hazard[h]) >= 2)
    moved = [p for h in hazards[::2] for p in by_hazard[h]] + by_hazard[shared][:1]
    for p in moved:
        p["organisation"], p["team"] = SECOND, team
    services.import_features(store, scen.features, source="test", actor="test")
    store.set_programme(scen.metadata, actor="test")
    return since, until, shared


def released(group: dict[str, Any]) -> float:
    return float(sum(group["released_m2"].values()))


def read_xlsx(path: Path) -> dict[str, Any]:
    """The workbook's summary as a dict, its tables as lists of dicts; checks on the way
    that each sheet's header row is frozen and every m² is a number, not text."""
    wb = load_workbook(path, read_only=False)
    assert wb.sheetnames == ["summary", "by_organisation", "by_hazard"]
    out: dict[str, Any] = {}
    for ws in wb.worksheets:
        assert ws.freeze_panes == "A2", ws.title
        header, *rows = [list(r) for r in ws.iter_rows(values_only=True)]
        if ws.title == "summary":
            out["summary"] = {k: v for k, v in rows}
            continue
        table = [dict(zip(header, r, strict=True)) for r in rows]
        for r in table:
            for c in AREA_COLUMNS:
                assert isinstance(r[c], int | float) and not isinstance(r[c], bool), (c, r[c])
        out[ws.title] = table
    return out


def test_totals_in_the_html_and_the_xlsx_are_clearfield_stats_for_the_period(
    store, store_url, tmp_path
):
    since, until, shared = load(store)
    figures = land_release_figures(store, since, until, personal_data=False)
    cells = parse(land_release_html(figures))
    land_release_xlsx(figures, tmp_path / "lr.xlsx")
    book = read_xlsx(tmp_path / "lr.xlsx")
    cli = stats_cli(store_url, since, until)  # the command the authority runs
    stats = programme_stats(store, since=since, until=until)
    assert stats["released_m2"] == pytest.approx(cli["released_m2"], rel=1e-9)
    total = sum(stats["released_m2"].values())
    assert total > 0, "the period must release land"
    summary = book["summary"]
    assert summary["from"] == since.isoformat() and summary["to"] == until.isoformat()
    assert summary["programme"] == "Veloria Mine Action Programme (synthetic)"
    assert "SYNTHETIC DATA" in summary and "synthetic" in cells.ids
    for c in CATEGORIES:
        check_m2(cells.stats[f"total.{c}_m2"], stats["released_m2"][c])
        assert summary[f"{c}_m2"] == pytest.approx(stats["released_m2"][c], rel=1e-9)
    check_m2(cells.stats["total.released_m2"], total)
    assert summary["released_m2"] == pytest.approx(total, rel=1e-9)
    assert shown(cells.stats["programme.remaining_m2"]) == round(cli["remaining_m2"])
    # by organisation: every operator that released land in the period, and only those
    groups = programme_stats(store, by="organisation", since=since, until=until)["by"]["groups"]
    operators = {k: g["released_m2"] for k, g in groups.items() if released(g) > 0}
    assert set(operators) == {"ORG-004", SECOND}
    assert {k for (b, k, _) in cells.groups if b == "organisation"} == set(operators)
    rows = {r["organisation"]: r for r in book["by_organisation"]}
    assert set(rows) == set(operators)
    hazard_rows = figures["hazards"]
    for org, by_category in operators.items():
        for c, m2 in by_category.items():
            check_m2(cells.groups[("organisation", org, f"{c}_m2")], m2)
            assert rows[org][f"{c}_m2"] == pytest.approx(m2, rel=1e-9)
        check_m2(cells.groups[("organisation", org, "released_m2")], sum(by_category.values()))
        mine = [r for r in hazard_rows if org in r["organisations"]]
        assert rows[org]["hazards"] == len(mine) == shown(cells.groups[("organisation", org, "hazards")])  # fmt: skip
    # the hazard both operators released counts under each; its m² split between them
    assert [r["organisations"] for r in hazard_rows if r["hazard"] == shared] == [sorted(["ORG-004", SECOND])]  # fmt: skip
    assert summary["hazards"] == len(hazard_rows) == shown(cells.stats["total.hazards"])


def test_each_hazard_row_is_the_stats_group_of_its_hazard(store, tmp_path):
    since, until, _ = load(store)
    figures = land_release_figures(store, since, until, personal_data=True)
    html = land_release_html(figures)
    cells = parse(html)
    land_release_xlsx(figures, tmp_path / "lr.xlsx")
    book = read_xlsx(tmp_path / "lr.xlsx")
    groups = programme_stats(store, by="hazard", since=since, until=until)["by"]["groups"]
    before = programme_stats(store, by="hazard", until=since - timedelta(days=1))["by"]["groups"]
    wanted = {k: g for k, g in groups.items() if released(g) > 0}
    assert len(wanted) >= 4
    assert {k for (b, k, _) in cells.groups if b == "hazard"} == set(wanted)
    xlsx = {r["hazard"]: r for r in book["by_hazard"]}
    assert set(xlsx) == set(wanted)
    for hid, g in wanted.items():
        expected = {f"{c}_m2": g["released_m2"][c] for c in CATEGORIES}
        expected |= {
            "hazard_m2": g["area_m2"],
            "released_m2": released(g),
            "remaining_m2": g["remaining_m2"],
            "released_before_m2": released(before[hid]) if hid in before else 0.0,
        }
        for column, m2 in expected.items():
            check_m2(cells.groups[("hazard", hid, column)], m2)
            assert xlsx[hid][column] == pytest.approx(m2, rel=1e-9), (hid, column)
        assert xlsx[hid]["status"] in ("SHA", "CHA") and xlsx[hid]["name"]
    # sorted by organisation, then hazard id, in the HTML as in the workbook
    order = [(r["organisation"], r["hazard"]) for r in book["by_hazard"]]
    assert order == sorted(order)
    assert re.findall(r'data-group="hazard" data-key="([^"]+)"', html) == [h for _, h in order]


def test_a_period_without_release_says_so(store, tmp_path):
    load(store)
    figures = land_release_figures(store, *QUIET, personal_data=False)
    assert figures["hazards"] == [] and figures["organisations"] == []
    html = land_release_html(figures)
    cells = parse(html)
    assert "no-release" in cells.ids
    assert shown(cells.stats["total.released_m2"]) == 0 == shown(cells.stats["total.hazards"])
    land_release_xlsx(figures, tmp_path / "quiet.xlsx")
    book = read_xlsx(tmp_path / "quiet.xlsx")
    assert book["by_hazard"] == [] and book["summary"]["released_m2"] == 0
    text = " ".join(pdf_text(render_pdf(html), tmp_path).split())
    assert "No land released from 2020-01-01 to 2020-03-31" in text


def test_the_pdf_renders_to_pages_none_blank(store, tmp_path):
    since, until, _ = load(store)
    pdf = land_release_report(store, since, until, personal_data=False, pdf=True)
    assert pdf.startswith(b"%PDF")
    pages = page_images(pdf, tmp_path)
    assert pages
    for n, page in enumerate(pages, start=1):
        grey = page.convert("L")
        ink = sum(grey.histogram()[:200]) / (grey.width * grey.height)
        assert grey.getextrema()[0] < 100, f"page {n} has no dark pixel"
        assert ink > 0.005, f"page {n} is blank ({ink:.2%} ink)"
        assert page.width > page.height, "A4 landscape"
    text = pdf_text(pdf, tmp_path)
    assert "SYNTHETIC DATA" in text and "Veloria Mine Action Programme" in text
    assert "Date of information" in text and f"{since.isoformat()} to {until.isoformat()}" in text
    for n in range(1, len(pages) + 1):
        assert re.search(rf"\b{n}\s*/\s*{len(pages)}\b", text), n
    # the printed register by hazard: one line per hazard, its m² as the HTML table's
    rows = land_release_figures(store, since, until, personal_data=False)["hazards"]
    lines = {w[0]: w for w in map(str.split, text.splitlines()) if w and w[0].startswith("HA-")}
    assert set(lines) == {r["hazard"] for r in rows}
    for r in rows:
        assert lines[r["hazard"]][-len(AREA_COLUMNS) :] == [f"{r[c]:,.0f}" for c in AREA_COLUMNS]


def test_a_period_that_ends_before_it_starts_is_refused(store):
    with pytest.raises(ValueError, match=r"starts \(--from 2026-02-01\) after it ends \(--to 2026-01-31\)"):  # fmt: skip
        land_release_figures(store, date(2026, 2, 1), date(2026, 1, 31), personal_data=False)

"""The weekly situation report on a small scenario, on both stores: its numbers are
``clearfield stats``'s for the same week (read back from the rendered HTML), its PDF
renders to pages that are not blank, and an observer's report holds no personal data."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from datetime import date, timedelta
from html.parser import HTMLParser
from io import BytesIO
from pathlib import Path

import pytest
from PIL import Image

from clearfield import planning, services
from clearfield.domain.records import RECORD_TYPES
from clearfield.report.render import render_html, render_pdf, weekly_charts, weekly_report
from clearfield.report.weekly import week_bounds, weekly_figures
from clearfield.scenario import generate
from clearfield.stats import programme_stats
from clearfield.store.base import Store

pytestmark = pytest.mark.skipif(
    shutil.which("pdftoppm") is None or shutil.which("pdftotext") is None,
    reason="poppler-utils (pdftoppm, pdftotext) not installed: make system-deps",
)

NAME = "Oleksandra Zhuravchenko-Testova"
QUIET_WEEK = "2020-W02"  # years before the scenario's first record


def _iso_week(d: date) -> str:
    y, w, _ = d.isocalendar()
    return f"{y}-W{w:02d}"


def load(store: Store) -> str:
    """A scale-0.02 scenario with a named casualty whose accident falls in the week of the
    scenario's latest approved release; that week, the report's, is returned."""
    scen = generate(scale=0.02, seed=3)
    as_of = date.fromisoformat(scen.metadata["as_of"])
    ends = [
        date.fromisoformat(f["properties"]["end_date"])
        for f in scen.features
        if f["properties"]["record_type"] == "activity" and f["properties"]["status"] == "approved"
    ]
    day = max(d for d in ends if d <= as_of)
    accident = next(f for f in scen.features if f["properties"]["record_type"] == "accident")
    accident["properties"]["occurred_on"] = day.isoformat()
    accident["properties"]["status"] = "approved"
    accident["properties"]["casualties"][0]["name"] = NAME
    services.import_features(store, scen.features, source="test", actor="test")
    store.set_programme(scen.metadata, actor="test")
    return _iso_week(day)


class Cells(HTMLParser):
    """The text and ``data-value`` of every element with ``data-stat``, and the cells of the
    release tables' rows (``data-group``, ``data-key``, ``data-category``)."""

    def __init__(self) -> None:
        super().__init__()
        self.stats: dict[str, tuple[str, float]] = {}
        self.groups: dict[tuple[str, str, str], tuple[str, float]] = {}
        self._row: tuple[str, str] | None = None
        self._open: tuple[str, tuple, float] | None = None
        self._text: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(str(a["id"]))
        if tag == "tr":
            self._row = (str(a["data-group"]), str(a["data-key"])) if "data-group" in a else None
        if "data-stat" in a:
            self._open = ("stat", (a["data-stat"],), float(a["data-value"] or "nan"))
            self._text = []
        elif "data-category" in a and self._row is not None:
            self._open = ("group", (*self._row, a["data-category"]), float(a["data-value"] or "nan"))  # fmt: skip
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if self._open is not None and tag in ("td", "span"):
            kind, key, value = self._open
            text = "".join(self._text).strip()
            if kind == "stat":
                self.stats[key[0]] = (text, value)
            else:
                self.groups[key] = (text, value)  # type: ignore[index]
            self._open = None


def parse(html: str) -> Cells:
    cells = Cells()
    cells.feed(html)
    return cells


def shown(cell: tuple[str, float]) -> float:
    """The number as printed (thousands separated, whole units)."""
    return float(cell[0].replace(",", ""))


def check_m2(cell: tuple[str, float], expected: float) -> None:
    assert shown(cell) == round(expected), (cell, expected)
    assert cell[1] == pytest.approx(expected, abs=1e-6)


def stats_cli(url: str, since: date, until: date) -> dict:
    period = ["--from", since.isoformat(), "--to", until.isoformat()]
    proc = subprocess.run(
        [sys.executable, "-m", "clearfield", "stats", "--json", *period, "--database", url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout)


def test_numbers_in_the_html_are_clearfield_stats_for_the_week(store, store_url):
    week = load(store)
    start, end = week_bounds(week)
    figures = weekly_figures(store, week, personal_data=True)
    cells = parse(render_html(figures, weekly_charts(store, figures)))
    cli = stats_cli(store_url, start, end)
    assert sum(cli["released_m2"].values()) > 0, "the chosen week must release land"
    for category, m2 in cli["released_m2"].items():
        check_m2(cells.stats[f"released.{category}"], m2)
    check_m2(cells.stats["released.total"], sum(cli["released_m2"].values()))
    assert shown(cells.stats["pending_review"]) == cli["pending_review"]
    assert shown(cells.stats["assets.blocked"]) == cli["assets"]["blocked"]
    previous = programme_stats(store, since=start - timedelta(days=7), until=start - timedelta(days=1))  # fmt: skip
    for category, m2 in previous["released_m2"].items():
        check_m2(cells.stats[f"previous.released.{category}"], m2)
    # remaining at the week's end: today's remainder plus all released since
    later = programme_stats(store, since=end + timedelta(days=1))
    check_m2(cells.stats["remaining"], cli["remaining_m2"] + sum(later["released_m2"].values()))
    # by organisation and by district: every group that released land, and only those
    for by in ("organisation", "district"):
        groups = programme_stats(store, by=by, since=start, until=end)["by"]["groups"]
        released = {k: g["released_m2"] for k, g in groups.items() if sum(g["released_m2"].values()) > 0}  # fmt: skip
        assert released
        assert {k for (b, k, _) in cells.groups if b == by} == set(released)
        for key, by_category in released.items():
            for category, m2 in by_category.items():
                check_m2(cells.groups[(by, key, category)], m2)
            check_m2(cells.groups[(by, key, "total")], sum(by_category.values()))


def page_images(pdf: bytes, folder: Path) -> list[Image.Image]:
    (folder / "report.pdf").write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-r", "50", "-png", str(folder / "report.pdf"), str(folder / "page")],
        check=True,
        timeout=60,
    )
    return [Image.open(BytesIO(p.read_bytes())) for p in sorted(folder.glob("page-*.png"))]


def pdf_text(pdf: bytes, folder: Path) -> str:
    (folder / "text.pdf").write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", "-layout", str(folder / "text.pdf"), "-"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout


def test_pdf_pages_render_and_none_is_blank(store, tmp_path):
    week = load(store)
    pdf = weekly_report(store, week, personal_data=True, pdf=True)
    assert pdf.startswith(b"%PDF")
    pages = page_images(pdf, tmp_path)
    assert len(pages) >= 2
    for n, page in enumerate(pages, start=1):
        grey = page.convert("L")
        histogram = grey.histogram()
        ink = sum(histogram[:200]) / (grey.width * grey.height)
        assert grey.getextrema()[0] < 100, f"page {n} has no dark pixel"
        assert ink > 0.005, f"page {n} is blank ({ink:.2%} ink)"
    text = pdf_text(pdf, tmp_path)
    assert "SYNTHETIC DATA" in text
    assert "Veloria Mine Action Programme" in text
    for n in range(1, len(pages) + 1):  # the page numbers of the print CSS, "n / N"
        assert re.search(rf"\b{n}\s*/\s*{len(pages)}\b", text), n
    assert "Date of information" in text


def restricted_values(store: Store) -> set[str]:
    """Every value of a restricted field (``Record.RESTRICTED``) stored in the programme."""
    values: set[str] = set()
    for rtype, cls in RECORD_TYPES.items():
        for path in cls.RESTRICTED:
            for s in store.records(rtype):
                found: list[object] = [s.record]
                for part in path.split("."):
                    nxt: list[object] = []
                    for item in found:
                        v = getattr(item, part, None)
                        nxt.extend(v if isinstance(v, tuple | list) else [v])
                    found = nxt
                values |= {str(v) for v in found if v}
    return values


def test_an_observers_report_holds_no_personal_data(store, tmp_path):
    week = load(store)
    restricted = restricted_values(store)
    assert NAME in restricted
    figures = weekly_figures(store, week, personal_data=False)
    assert figures["accidents"]["count"] >= 1 and figures["accidents"]["list"] == []
    html = render_html(figures, weekly_charts(store, figures))
    cells = parse(html)
    assert "accidents" in cells.ids and "accident-list" not in cells.ids  # aggregated only
    text = pdf_text(render_pdf(html), tmp_path)
    assert "accident(s)" in text
    for value in restricted:
        assert value not in html
        assert value not in text
        assert value.split()[-1] not in text  # not even the family name
    # an IM officer's report lists the accidents, still without a name
    full = weekly_report(store, week, personal_data=True).decode()
    assert "accident-list" in parse(full).ids
    assert all(value not in full for value in restricted)


def test_a_week_without_activity_says_so(store, tmp_path):
    load(store)
    figures = weekly_figures(store, QUIET_WEEK, personal_data=False)
    assert not figures["activity"]
    html = render_html(figures, weekly_charts(store, figures))
    cells = parse(html)
    assert "no-activity" in cells.ids
    assert shown(cells.stats["released.total"]) == 0
    text = pdf_text(render_pdf(html), tmp_path)
    assert f"No activity recorded in {QUIET_WEEK}" in " ".join(text.split())


def test_an_empty_programme_renders(store, tmp_path):
    html = weekly_report(store, "2026-W01", personal_data=False).decode()
    assert "no-activity" in parse(html).ids and "synthetic" not in parse(html).ids
    assert page_images(render_pdf(html), tmp_path)


def test_with_a_plan_the_report_shows_planned_figures_and_the_gantt(store):
    week = load(store)
    result = planning.plan_problem(planning.build(store), time_limit=1)
    planning.save_run(store, "planner", "2026-11-27T09:00:00+00:00", result)
    start = date.fromisoformat(result.plan.start_date or "")
    week_end = week_bounds(_iso_week(start))[1]
    figures = weekly_figures(store, _iso_week(start), personal_data=False)
    assert figures["plan"] is not None and figures["gantt"]["rows"]
    # every team with a task in the four weeks after the report's week is in the Gantt
    lo = (week_end - start).days + 1
    busy = {a.team for a in result.plan.assignments if a.end_day > lo and a.start_day < lo + 28}
    assert {r["team"] for r in figures["gantt"]["rows"]} == busy
    charts = weekly_charts(store, figures)
    assert charts["gantt"]
    cells = parse(render_html(figures, charts))
    assert "planned" in cells.stats and "gantt-teams" in cells.ids
    # personnel totals recounted from the records: pledges, arrived teams, busy teams
    day = (week_end - start).days
    at_work = {a.team for a in result.plan.assignments if a.start_day <= day < a.end_day}
    expected = {k: {"sappers": 0, "builders": 0} for k in ("pledged", "deployed", "active")}
    for s in store.records("pledge", counted_only=True):
        side = "builders" if s.record.team_kind.value == "construction" else "sappers"
        expected["pledged"][side] += s.record.personnel
    for s in store.records("team", counted_only=True):
        side = "builders" if s.record.kind.value == "construction" else "sappers"
        if s.record.available_from is None or s.record.available_from <= week_end:
            expected["deployed"][side] += s.record.personnel
        if s.record.id in at_work:
            expected["active"][side] += s.record.personnel
    assert expected["active"]["sappers"] + expected["active"]["builders"] > 0
    for k in ("pledged", "deployed", "active"):
        for side in ("sappers", "builders"):
            assert shown(cells.stats[f"personnel.{k}.{side}"]) == expected[k][side]
    assert week  # the scenario's week also renders with the plan stored
    assert weekly_report(store, week, personal_data=False)


def test_a_gantt_of_many_teams_runs_over_pages_each_legible():
    from clearfield.report.charts import DPI, GANTT_ROWS, gantt_charts

    bars = [{"task": "T", "kind": "clearance", "subject": "H", "from_day": 0, "to_day": 9}]
    rows = [
        {"team": f"TM-{o}-{t:03d}", "kind": "manual", "organisation": f"Operator {o}", "bars": bars}
        for o in range(3)
        for t in range(60)
    ]
    pages = gantt_charts({"from": "2026-01-05", "days": 28, "rows": rows})
    # 180 teams and at least 3 organisation headings: no page holds more than GANTT_ROWS
    assert len(pages) >= -(-(180 + 3) // GANTT_ROWS)
    for png in pages:
        image = Image.open(BytesIO(png))
        assert image.height <= (0.16 * GANTT_ROWS + 1.0) * DPI  # fits a page of A4 at 7.5 in wide
        assert image.width <= 8.5 * DPI


def test_a_bad_week_is_refused():
    with pytest.raises(ValueError, match="ISO week"):
        week_bounds("2026-47")

"""The reports as self-contained HTML files, and as PDF from that same HTML.

The weekly report and the land release report share one Jinja environment (its number
filters) and one print style sheet (:data:`PRINT_CSS`, :func:`page_css`), so both read
alike on paper. One template per report serves both HTML and PDF: the PDF is
WeasyPrint's rendering of the HTML (A4, page numbers, the programme and date of
information in the margins), so the two never say different things. Charts and the map are embedded as data URIs, so the HTML can be
mailed or archived as one file and WeasyPrint fetches nothing from outside.
"""

from __future__ import annotations

import base64
from datetime import date
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from clearfield.report.charts import gantt_charts, released_chart
from clearfield.report.land_release import AREA_COLUMNS, land_release_figures
from clearfield.report.map import region_map
from clearfield.report.weekly import CATEGORIES, weekly_figures
from clearfield.store.base import Store

__all__ = [
    "PRINT_CSS",
    "hazard_register",
    "land_release_html",
    "land_release_report",
    "page_css",
    "render_html",
    "render_pdf",
    "weekly_charts",
    "weekly_report",
]

TEMPLATES = Path(__file__).parent / "templates"

PRINT_CSS = """
  body { font-family: "DejaVu Sans", "Liberation Sans", sans-serif; font-size: 9pt; color: #222; }
  h1 { font-size: 16pt; margin: 0 0 2mm 0; }
  h2 { font-size: 11.5pt; margin: 5mm 0 2mm 0; border-bottom: 1px solid #ccc; page-break-after: avoid; }
  .meta { color: #555; margin-bottom: 3mm; }
  .synthetic { border: 2px solid #b00; color: #b00; font-weight: bold; padding: 1.5mm 3mm; margin: 2mm 0 3mm 0; text-align: center; }
  .nothing { border: 1px dashed #999; padding: 2mm 3mm; color: #555; }
  table { border-collapse: collapse; width: 100%; margin-bottom: 2mm; page-break-inside: auto; }
  thead { display: table-header-group; }
  th, td { border-bottom: 1px solid #e0e0e0; padding: 1mm 1.5mm; text-align: right; }
  th:first-child, td:first-child { text-align: left; }
  td.text, th.text { text-align: left; }
  th { background: #f2f2f2; font-weight: bold; }
  tr.total td { font-weight: bold; border-top: 1px solid #999; }
  img { max-width: 100%; }
  figure { margin: 0 0 3mm 0; page-break-inside: avoid; }
  figcaption { font-size: 8pt; color: #555; }
  .note { font-size: 8pt; color: #555; }
  pre.register { font-family: "DejaVu Sans Mono", monospace; font-size: 7pt; line-height: 1.3;
    margin: 0 0 3mm 0; page-break-inside: avoid; }
"""
"""The reports' screen and print rules (fonts, headings, tables, notes, markings)."""


def _m2(value: float | int) -> str:
    return f"{value:,.0f}"


def _signed(value: float | int) -> str:
    return f"{value:+,.0f}" if round(value) else "0"


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _css(text: str) -> str:
    """A value safe inside a CSS string (the margin boxes' ``content``)."""
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


def page_css(title: str, synthetic: bool, date_of_information: str, size: str = "A4") -> Markup:
    """The ``@page`` rules: the title, the synthetic data marking, the date of information
    and "page n / N" in the margins of every printed page (WeasyPrint's margin boxes)."""
    marking = (
        '@top-right { content: "SYNTHETIC DATA"; font-size: 9pt; font-weight: bold; color: #b00; }'
        if synthetic
        else ""
    )
    return Markup(
        f"@page {{ size: {_css(size)}; margin: 18mm 14mm 18mm 14mm;"
        ' font-family: "DejaVu Sans", "Liberation Sans", sans-serif;'
        f' @top-left {{ content: "{_css(title)}"; font-size: 8pt; color: #555; }} {marking}'
        f' @bottom-left {{ content: "Date of information: {_css(date_of_information)}"; font-size: 8pt; color: #555; }}'
        ' @bottom-right { content: counter(page) " / " counter(pages); font-size: 8pt; } }'
    )


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,  # a figure missing from the dict fails, not a blank cell
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(m2=_m2, signed=_signed, data_uri=_data_uri, css=_css)
    env.globals.update(print_css=Markup(PRINT_CSS), page_css=page_css)
    return env


def weekly_charts(
    store: Store, figures: dict[str, Any], *, full_hazards: bool | None = None
) -> dict[str, Any]:
    """The report's images: released per week, the Gantt's pages (when a plan is stored),
    the map.

    ``full_hazards`` defaults to ``figures["personal_data"]``: a report without personal
    data is an observer's, and an observer never sees a hazard's exact polygon.
    """
    full = figures["personal_data"] if full_hazards is None else full_hazards
    charts = {
        "released": released_chart(figures["history"]),
        "map": region_map(store, date.fromisoformat(figures["end"]), full_hazards=full),
    }
    if figures["gantt"] and figures["gantt"]["rows"]:
        charts["gantt"] = gantt_charts(figures["gantt"])
    return charts


def render_html(figures: dict[str, Any], charts: dict[str, Any]) -> str:
    """The report as one HTML document, with print CSS for A4."""
    template = _environment().get_template("weekly.html.j2")
    return template.render(f=figures, charts=charts, categories=CATEGORIES)


def render_pdf(html: str) -> bytes:
    """The PDF of the report's HTML (WeasyPrint lays out the print CSS)."""
    from weasyprint import HTML  # imported here: Pango loads only when a PDF is asked for

    pdf = HTML(string=html, base_url=str(TEMPLATES)).write_pdf()
    assert pdf is not None
    return bytes(pdf)


def weekly_report(store: Store, week: str, *, personal_data: bool, pdf: bool = False) -> bytes:
    """The weekly report of ``week`` as HTML (UTF-8) or PDF bytes: figures, charts, layout."""
    figures = weekly_figures(store, week, personal_data=personal_data)
    html = render_html(figures, weekly_charts(store, figures))
    return render_pdf(html) if pdf else html.encode("utf-8")


REGISTER_LINES = 46
"""Hazard rows per block of the printed register: one A4 landscape page at 7 pt."""

_REGISTER_TEXT = (("hazard", "hazard", 12), ("name", "name", 28), ("organisation_name", "organisation", 34), ("district", "district", 16), ("status", "", 3))  # fmt: skip
_REGISTER_M2 = ("hazard area", "cancelled", "reduced", "cleared", "released", "remaining", "before")


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def hazard_register(
    rows: list[dict[str, Any]], per_block: int = REGISTER_LINES
) -> list[dict[str, Any]]:
    """The land release PDF's table by hazard as blocks of fixed-width lines, each block
    with its own header line so every printed page has one.

    WeasyPrint lays a table out cell by cell: the 3,820 hazard rows of two years of the
    reference scenario took 45 s to print as a table and under 4 s as these lines. The
    HTML report keeps the table (a browser lays it out at once, and it carries the
    figures unrounded for anyone who reads it by program).
    """
    columns = [
        (key, title, min(cap, max([len(title)] + [len(str(r[key])) for r in rows])))
        for key, title, cap in _REGISTER_TEXT
    ]
    header = " ".join(f"{title:<{w}}" for _, title, w in columns)
    header += "".join(f"{title:>12}" for title in _REGISTER_M2)
    lines = [
        " ".join(f"{_fit(str(r[key]), w):<{w}}" for key, _, w in columns)
        + "".join(f"{_m2(r[c]):>12}" for c in AREA_COLUMNS)
        for r in rows
    ]
    return [
        {"header": header.rstrip(), "lines": lines[i : i + per_block]}
        for i in range(0, len(lines), per_block)
    ]


def land_release_html(figures: dict[str, Any], *, for_print: bool = False) -> str:
    """The land release report (``land_release.land_release_figures``) as one HTML
    document, with print CSS for A4 landscape (the hazard table is wide).

    ``for_print`` gives the HTML that WeasyPrint makes the PDF of: the same figures, the
    table by hazard as a register of fixed-width lines (:func:`hazard_register`).
    """
    template = _environment().get_template("land_release.html.j2")
    register = hazard_register(figures["hazards"]) if for_print else None
    return template.render(f=figures, columns=AREA_COLUMNS, register=register)


def land_release_report(
    store: Store, since: date, until: date, *, personal_data: bool, pdf: bool = False
) -> bytes:
    """The land release report of ``since``..``until`` as HTML (UTF-8) or PDF bytes."""
    figures = land_release_figures(store, since, until, personal_data=personal_data)
    html = land_release_html(figures, for_print=pdf)
    return render_pdf(html) if pdf else html.encode("utf-8")

"""The weekly report as one self-contained HTML file, and as PDF from that same HTML.

One template serves both: the PDF is WeasyPrint's rendering of the HTML (A4, page
numbers, the programme and date of information in the margins), so the two never say
different things. Charts and the map are embedded as data URIs, so the HTML can be
mailed or archived as one file and WeasyPrint fetches nothing from outside.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from clearfield.report.charts import GANTT_MAX_TEAMS, gantt_chart, released_chart
from clearfield.report.map import region_map
from clearfield.report.weekly import CATEGORIES, weekly_figures
from clearfield.store.base import Store

__all__ = ["render_html", "render_pdf", "weekly_charts", "weekly_report"]

TEMPLATES = Path(__file__).parent / "templates"


def _m2(value: float | int) -> str:
    return f"{value:,.0f}"


def _signed(value: float | int) -> str:
    return f"{value:+,.0f}" if round(value) else "0"


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _css(text: str) -> str:
    """A value safe inside a CSS string (the margin boxes' ``content``)."""
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,  # a figure missing from the dict fails, not a blank cell
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(m2=_m2, signed=_signed, data_uri=_data_uri, css=_css)
    return env


def weekly_charts(
    store: Store, figures: dict[str, Any], *, full_hazards: bool | None = None
) -> dict[str, bytes]:
    """The report's images: released per week, the Gantt (when a plan is stored), the map.

    ``full_hazards`` defaults to ``figures["personal_data"]``: a report without personal
    data is an observer's, and an observer never sees a hazard's exact polygon.
    """
    from datetime import date

    full = figures["personal_data"] if full_hazards is None else full_hazards
    charts = {
        "released": released_chart(figures["history"]),
        "map": region_map(store, date.fromisoformat(figures["end"]), full_hazards=full),
    }
    if figures["gantt"] and figures["gantt"]["rows"]:
        charts["gantt"] = gantt_chart(figures["gantt"])
    return charts


def render_html(figures: dict[str, Any], charts: dict[str, bytes]) -> str:
    """The report as one HTML document, with print CSS for A4."""
    template = _environment().get_template("weekly.html.j2")
    return template.render(
        f=figures, charts=charts, categories=CATEGORIES, gantt_max=GANTT_MAX_TEAMS
    )


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

"""The weekly report's charts, drawn with matplotlib into PNG bytes.

Each figure is drawn on its own Agg canvas (no display, no pyplot state), so reports
render on a server, several at once. PNG rather than SVG: WeasyPrint lays a raster
out in constant time, whereas a matplotlib SVG of a programme's Gantt holds thousands
of paths it would have to parse, and the report must render in seconds on a national
programme.
"""

from __future__ import annotations

import io
from typing import Any

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from clearfield.report.weekly import CATEGORIES

__all__ = ["CATEGORY_COLOURS", "GANTT_ROWS", "figure", "gantt_charts", "png", "released_chart"]

# IMAS land release categories, in the dashboard's colours (web/map.js RELEASE_COLOURS)
CATEGORY_COLOURS = {"cancelled": "#b2dfdb", "reduced": "#4db6ac", "cleared": "#00796b"}
# task kinds of the planning problem: survey (cancels, reduces), machine preparation,
# clearance, reconstruction
KIND_COLOURS = {
    "nts": "#b2dfdb",
    "ts": "#4db6ac",
    "preparation": "#969696",
    "clearance": "#00796b",
    "reconstruction": "#e6550d",
}
GANTT_ROWS = 56  # team and organisation rows of one Gantt chart: what one A4 page holds legibly
DPI = 120


def figure(size: tuple[float, float]) -> tuple[Figure, Axes]:
    """A figure on its own Agg canvas, not pyplot's: pyplot keeps global state that
    server threads rendering reports at once would share."""
    fig = Figure(figsize=size)
    FigureCanvasAgg(fig)
    return fig, fig.subplots()


def png(fig: Figure, dpi: int = DPI) -> bytes:
    """The figure as PNG bytes, cropped to what is drawn."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return buf.getvalue()


def released_chart(history: list[dict[str, Any]]) -> bytes:
    """Released m² per week stacked by IMAS category, with the plan's m² as a line when a
    plan is stored: the week-on-week view a donor asks for first."""
    fig, ax = figure((7.5, 2.8))
    weeks = [h["week"][-3:] for h in history]
    bottom = [0.0] * len(history)
    for c in CATEGORIES:
        ha = [h["released_m2"][c] / 1e4 for h in history]
        ax.bar(weeks, ha, bottom=bottom, label=c, color=CATEGORY_COLOURS[c])
        bottom = [b + v for b, v in zip(bottom, ha, strict=True)]
    if history and history[0]["planned_m2"] is not None:
        ax.plot(weeks, [h["planned_m2"] / 1e4 for h in history], "k--o", ms=3, label="planned")
    ax.set_ylabel("hectares released")
    years = sorted({h["week"][:4] for h in history})
    ax.set_xlabel(f"ISO week of {' and '.join(years)}", fontsize=7)
    ax.legend(fontsize=7, ncol=4, loc="lower left", bbox_to_anchor=(0, 1.0), frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=7)
    return png(fig)


def gantt_charts(gantt: dict[str, Any]) -> list[bytes]:
    """Every team's tasks over the coming weeks, coloured by task kind, the teams under
    their organisation's name: one chart per printed page, as many as the teams need
    (the reference programme's 268 teams take six)."""
    pages: list[list[tuple[str, dict[str, Any] | None]]] = [[]]
    organisation = None
    for row in gantt["rows"]:
        page = pages[-1]
        if len(page) >= GANTT_ROWS - (row["organisation"] != organisation):
            pages.append(page := [])
        if row["organisation"] != organisation or not page:
            label = row["organisation"] if row["organisation"] != organisation else f"{organisation} (continued)"  # fmt: skip
            page.append((label, None))
            organisation = row["organisation"]
        page.append((row["team"], row))
    return [_gantt_page(page, gantt) for page in pages if page]


def _gantt_page(lines: list[tuple[str, dict[str, Any] | None]], gantt: dict[str, Any]) -> bytes:
    fig, ax = figure((7.5, 0.16 * len(lines) + 0.8))
    y, width, left, colour = [], [], [], []
    for i, (_, row) in enumerate(lines):
        for bar in row["bars"] if row else ():
            y.append(i)
            width.append(bar["to_day"] - bar["from_day"])
            left.append(bar["from_day"])
            colour.append(KIND_COLOURS.get(bar["kind"], "#999999"))
    # one call for every bar: a programme's Gantt has thousands
    ax.barh(y, width, left=left, height=0.7, color=colour, edgecolor="white", linewidth=0.4)
    ax.set_yticks(range(len(lines)), [label for label, _ in lines], fontsize=6)
    for tick, (_, row) in zip(ax.get_yticklabels(), lines, strict=True):
        if row is None:
            tick.set_fontweight("bold")
    ax.set_ylim(len(lines) - 0.5, -0.5)
    ax.set_xlim(0, gantt["days"])
    ax.set_xticks(range(0, int(gantt["days"]) + 1, 7))
    ax.set_xlabel(f"days from {gantt['from']}", fontsize=7)
    ax.tick_params(axis="x", labelsize=7)
    handles = [Patch(color=colour, label=kind) for kind, colour in KIND_COLOURS.items()]
    ax.legend(handles=handles, fontsize=7, ncol=5, loc="lower right", frameon=False, bbox_to_anchor=(1, 1))  # fmt: skip
    ax.spines[["top", "right"]].set_visible(False)
    return png(fig)

"""The report's map of the region, drawn with matplotlib from the programme's own data.

No outside tiles: a report is read offline and archived, and a tile server's terms and
availability are not the programme's. The map shows, as at the end of the report's
week, the hazards recorded, the land released over them by IMAS category (drawn on top,
so what is left of a hazard's colour is its remaining ground), and the infrastructure
assets, restored or still damaged. District boundaries, roads and rivers come from the
programme's own context layers when it has them (a scenario or an import stores them).

An observer's map (``full_hazards=False``) never draws a hazard polygon: each hazard is
a dot at its centre rounded to 0.01°, as the dashboard's tiles give observers.
"""

from __future__ import annotations

import json
import math
from datetime import date

import numpy as np
import shapely
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from clearfield.domain.enums import AssetCondition
from clearfield.report.charts import CATEGORY_COLOURS, figure, png
from clearfield.store.base import Store

__all__ = ["region_map"]

HAZARD_COLOUR = "#c0392b"  # the dashboard's (web/map.js), for a confirmed hazard
DPI = 130


def _rings(geoms: list[shapely.Geometry]) -> list[np.ndarray]:
    """Exterior rings of polygons (parts of multipolygons too) as coordinate arrays."""
    if not geoms:
        return []
    parts = shapely.get_parts(np.asarray(geoms, dtype=object))
    rings = shapely.get_exterior_ring(parts)
    coords, index = shapely.get_coordinates(rings, return_index=True)
    if not len(coords):
        return []
    cuts = np.flatnonzero(np.diff(index)) + 1
    return np.split(coords, cuts)


def _lines(geoms: list[shapely.Geometry]) -> list[np.ndarray]:
    if not geoms:
        return []
    parts = shapely.get_parts(np.asarray(geoms, dtype=object))
    parts = shapely.boundary(parts[shapely.get_type_id(parts) >= 3]).tolist() + [
        p for p in parts if shapely.get_type_id(p) in (1, 2)
    ]
    parts = shapely.get_parts(np.asarray(parts, dtype=object))
    coords, index = shapely.get_coordinates(parts, return_index=True)
    if not len(coords):
        return []
    return np.split(coords, np.flatnonzero(np.diff(index)) + 1)


def _context(store: Store, name: str) -> list[shapely.Geometry]:
    raw = store.programme().get(f"context.{name}")
    if not raw:
        return []
    try:
        features = json.loads(raw).get("features", [])
        return [shapely.geometry.shape(f["geometry"]) for f in features if f.get("geometry")]
    except (ValueError, AttributeError, TypeError, KeyError):
        return []  # a context layer the map cannot read is left out, not fatal


def region_map(store: Store, end: date, *, full_hazards: bool) -> bytes:
    """PNG of the region as at the end of ``end``: hazards, released land, assets."""
    hazards = {
        s.record.id: s.record.geometry
        for s in store.records("hazard", counted_only=True)
        if s.record.recorded_on <= end  # type: ignore[attr-defined]
    }
    released: dict[str, list[shapely.Geometry]] = {c: [] for c in CATEGORY_COLOURS}
    open_then = {h for h, _ in store.open_hazards()}  # open now, or released after ``end``
    for s in store.records("activity", counted_only=True):
        a = s.record
        if a.end_date <= end:  # type: ignore[attr-defined]
            released[a.kind.release.value].append(a.geometry)  # type: ignore[attr-defined]
        else:
            open_then.add(a.hazard_id)  # type: ignore[attr-defined]
    assets: dict[bool, list[shapely.Geometry]] = {True: [], False: []}
    for s in store.records("asset", counted_only=True):
        a = s.record
        restored = a.condition is AssetCondition.RESTORED and a.assessed_on <= end  # type: ignore[attr-defined]
        assets[restored].append(a.geometry)
    everything = [g for g in [*hazards.values(), *assets[True], *assets[False]] if g is not None]
    fig, ax = figure((7.5, 6.0))
    districts = _context(store, "districts")
    if districts:
        everything += districts
    if everything:
        x0, y0, x1, y1 = shapely.total_bounds(np.asarray(everything, dtype=object))
        ax.set_aspect(1 / max(0.2, math.cos(math.radians((y0 + y1) / 2))))
    ax.add_collection(LineCollection(_lines(districts), colors="#9aa08c", linewidths=0.5))
    for name, colour, width in (("rivers", "#4a90c2", 0.6), ("roads", "#b0b0b0", 0.5)):
        ax.add_collection(LineCollection(_lines(_context(store, name)), colors=colour, linewidths=width))  # fmt: skip
    if full_hazards:  # released land drawn on top leaves the remaining ground in red
        ax.add_collection(PolyCollection(_rings(list(hazards.values())), facecolors=HAZARD_COLOUR, edgecolors=HAZARD_COLOUR, linewidths=0.3))  # fmt: skip
    elif open_hazards := [g for h, g in hazards.items() if h in open_then]:
        # a dot cannot be covered by released land: only hazards with ground left are dots
        centres = shapely.get_coordinates(shapely.centroid(np.asarray(open_hazards, dtype=object)))
        centres = np.round(centres, 2)
        ax.scatter(centres[:, 0], centres[:, 1], s=3, c=HAZARD_COLOUR, linewidths=0)
    for category, geoms in released.items():
        colour = CATEGORY_COLOURS[category]
        ax.add_collection(PolyCollection(_rings(geoms), facecolors=colour, edgecolors=colour, linewidths=0.3))  # fmt: skip
    for restored, colour in ((False, "#636363"), (True, "#f0a30a")):
        geoms = assets[restored]
        if not geoms:
            continue
        lines = [g for g in geoms if shapely.get_type_id(g) != 0]
        ax.add_collection(LineCollection(_lines(lines), colors=colour, linewidths=1.0))
        points = shapely.get_coordinates([g for g in geoms if shapely.get_type_id(g) == 0])
        if len(points):
            ax.scatter(points[:, 0], points[:, 1], s=9, marker="s", c=colour, linewidths=0)
    if everything:
        pad_x, pad_y = (x1 - x0) * 0.03 or 0.01, (y1 - y0) * 0.03 or 0.01
        ax.set_xlim(x0 - pad_x, x1 + pad_x)
        ax.set_ylim(y0 - pad_y, y1 + pad_y)
    else:
        ax.text(0.5, 0.5, "no records to map", ha="center", transform=ax.transAxes)
    ax.tick_params(labelsize=6)
    handles = [
        Patch(color=HAZARD_COLOUR, label="hazard (remaining)"),
        *(Patch(color=c, label=f"released: {k}") for k, c in CATEGORY_COLOURS.items()),
        Line2D([], [], color="#636363", marker="s", lw=1, label="asset, damaged"),
        Line2D([], [], color="#f0a30a", marker="s", lw=1, label="asset, restored"),
    ]
    ax.legend(handles=handles, fontsize=6, loc="lower left", framealpha=0.85)
    return png(fig, DPI)

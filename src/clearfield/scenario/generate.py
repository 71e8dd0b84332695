"""The reference scenario's records, deterministic in (scale, seed): organisations, teams,
hazardous areas, land release activities, damaged assets, reconstruction projects, EO
finds, accidents, daily reports and pledges (DESIGN.md: "Reference scenario").

Each kind of record is drawn by a stage in its own module (``capacity``, ``hazards``,
``releases``, ``assets``, ``field_returns``) on one shared ``Programme``; this module
runs the stages in dependency order.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from clearfield.scenario.assets import Assets
from clearfield.scenario.capacity import Capacity
from clearfield.scenario.field_returns import FieldReturns
from clearfield.scenario.hazards import Hazards
from clearfield.scenario.programme import AS_OF
from clearfield.scenario.releases import Releases

__all__ = ["AS_OF", "Scenario", "generate"]


@dataclass
class Scenario:
    """GeoJSON features (EPSG:4326) in dependency order, the basemap, and what it is."""

    features: list[dict[str, Any]]
    context: dict[str, dict[str, Any]]
    metadata: dict[str, str] = field(default_factory=dict)


def generate(
    scale: float = 1.0, seed: int = 1, progress: Callable[[int, int], None] | None = None
) -> Scenario:
    """The reference scenario at ``scale`` (1 = 1,000 sappers, 5,000 builders, ~5,000
    hazards); the same (scale, seed) gives the same features, byte for byte."""
    check_scale(scale)
    g = _Gen(scale, seed)
    stages = [g.organisations, g.teams, g.asset_sites, g.hazards, g.activities, g.assets]
    stages += [g.projects, g.finds, g.accidents, g.daily_reports, g.pledges]
    for step, stage in enumerate(stages, start=1):
        stage()
        if progress is not None:
            progress(step, len(stages) + 1)
    context = g.region.context()
    if progress is not None:
        progress(len(stages) + 1, len(stages) + 1)
    meta = {
        "programme": "Veloria Mine Action Programme (synthetic)",
        "synthetic": "true",
        "seed": str(seed),
        "scale": f"{scale:g}",
        "generator": "clearfield.scenario",
        "region": g.region.name,
        "area_km2": f"{g.region.area_km2:.0f}",
        "as_of": AS_OF.isoformat(),
    }
    return Scenario(features=g.features, context=context, metadata=meta)


class _Gen(Capacity, Assets, Hazards, Releases, FieldReturns):
    """Every stage, on one programme."""


def check_scale(scale: float) -> None:
    """Refuse a scale that is not a positive, finite number (ValueError)."""
    if not scale > 0 or not math.isfinite(scale):
        raise ValueError(f"scale must be a positive number, not {scale!r}")

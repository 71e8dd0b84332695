"""Priority scores of hazardous areas and damaged assets, multi-criteria and explained.

Programmes rank their work with a score like this (ANAMA's order: life-threatening
areas, socio-economic need, resettlement, reconstruction ready to start, food
security). Every score is a sum of points per criterion, so an operations officer can
see *why* one area ranks above another and change the weights. Scores are 0..100.

>>> h = HazardFacts("H1", area_m2=20_000, status="CHA", land_use="agricultural",
...                 direct_evidence=True, accidents=1, population_nearby=5_000)
>>> s = score_hazards([h])["H1"]
>>> round(s.total, 1), max(s.parts, key=s.parts.get)
(80.0, 'accidents')
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "ASSET_WEIGHTS",
    "HAZARD_WEIGHTS",
    "AssetFacts",
    "HazardFacts",
    "Score",
    "band",
    "score_assets",
    "score_hazards",
]

HAZARD_WEIGHTS: dict[str, float] = {
    "accidents": 25.0,  # life-threatening: people have been hurt here
    "population_nearby": 20.0,  # socio-economic need: people living within reach
    "assets_blocked": 20.0,  # reconstruction waiting for this ground
    "land_use": 15.0,  # food security and resettlement
    "evidence": 10.0,  # how sure it is that the area is contaminated
    "accessibility": 10.0,  # teams can reach it
}
"""Default points per criterion for hazards; a programme overrides them."""

ASSET_WEIGHTS: dict[str, float] = {
    "population_served": 45.0,
    "service": 25.0,  # hospitals and water first
    "ready": 20.0,  # reconstruction ready to start: no hazard blocks it
    "damage": 10.0,
}
"""Default points per criterion for assets."""

_LAND_USE = {
    "agricultural": 1.0,
    "residential": 1.0,
    "road": 0.8,
    "industrial": 0.6,
    "other": 0.4,
    "forest": 0.3,
    "water": 0.2,
}
_SERVICE = {
    "hospital": 1.0,
    "water_plant": 1.0,
    "substation": 0.8,
    "school": 0.7,
    "bridge": 0.7,
    "power_line": 0.6,
    "road_segment": 0.5,
    "housing": 0.5,
}
_DAMAGE = {"destroyed": 1.0, "severe": 0.8, "moderate": 0.5, "light": 0.3}


@dataclass(frozen=True, slots=True)
class HazardFacts:
    """What scoring needs to know of a hazardous area (the planner gathers it)."""

    id: str
    area_m2: float
    status: str  # SHA | CHA
    land_use: str
    direct_evidence: bool = False
    indirect_evidence: bool = False
    finds: int = 0
    accidents: int = 0
    population_nearby: float = 0.0
    assets_blocked: int = 0
    population_blocked: float = 0.0
    access_km: float = 0.0  # distance to the nearest road or infrastructure


@dataclass(frozen=True, slots=True)
class AssetFacts:
    id: str
    kind: str
    damage: str
    population_served: float = 0.0
    blocked_by: int = 0  # hazards still blocking it


@dataclass(frozen=True, slots=True)
class Score:
    total: float
    parts: dict[str, float]  # criterion -> points (they add up to total)


def _log_share(value: float, largest: float) -> float:
    """A heavy-tailed quantity (people, counts) on a 0..1 scale: ten times more people
    is a fixed step up, not ten times the points."""
    return math.log1p(max(0.0, value)) / math.log1p(largest) if largest > 0 else 0.0


def _evidence(f: HazardFacts) -> float:
    if f.status == "CHA":
        level = 1.0 if f.direct_evidence else 0.7
    else:
        level = 0.4 if (f.direct_evidence or f.indirect_evidence) else 0.2
    return min(1.0, level + 0.1 * min(f.finds, 3))


def _weights(given: Mapping[str, float] | None, default: dict[str, float]) -> dict[str, float]:
    if given is None:
        return default
    unknown = set(given) - set(default)
    if unknown:
        raise ValueError(
            f"unknown priority criteria {sorted(unknown)}; known: {', '.join(default)}"
        )
    if any(not math.isfinite(w) or w < 0 for w in given.values()):
        raise ValueError("priority weights must be finite and not negative")
    return {k: float(given.get(k, 0.0)) for k in default}


def _scaled(parts: dict[str, float], weights: dict[str, float]) -> Score:
    total_w = sum(weights.values()) or 1.0
    points = {k: 100.0 * weights[k] * v / total_w for k, v in parts.items()}
    return Score(sum(points.values()), points)


def score_hazards(
    facts: Sequence[HazardFacts], weights: Mapping[str, float] | None = None
) -> dict[str, Score]:
    """Score each hazard 0..100 with its points per criterion."""
    w = _weights(weights, HAZARD_WEIGHTS)
    top_pop = max((f.population_nearby + f.population_blocked for f in facts), default=0.0)
    top_acc = max((f.accidents for f in facts), default=0)
    top_blocked = max((f.assets_blocked for f in facts), default=0)
    out = {}
    for f in facts:
        parts = {
            "accidents": _log_share(f.accidents, top_acc),
            "population_nearby": _log_share(f.population_nearby + f.population_blocked, top_pop),
            "assets_blocked": _log_share(f.assets_blocked, top_blocked),
            "land_use": _LAND_USE.get(f.land_use, 0.4),
            "evidence": _evidence(f),
            "accessibility": 1.0 / (1.0 + max(0.0, f.access_km) / 5.0),
        }
        out[f.id] = _scaled(parts, w)
    return out


def score_assets(
    facts: Sequence[AssetFacts], weights: Mapping[str, float] | None = None
) -> dict[str, Score]:
    """Score each damaged asset 0..100 with its points per criterion."""
    w = _weights(weights, ASSET_WEIGHTS)
    top_pop = max((f.population_served for f in facts), default=0.0)
    out = {}
    for f in facts:
        parts = {
            "population_served": _log_share(f.population_served, top_pop),
            "service": _SERVICE.get(f.kind, 0.5),
            "ready": 1.0 if f.blocked_by == 0 else 0.0,
            "damage": _DAMAGE.get(f.damage, 0.5),
        }
        out[f.id] = _scaled(parts, w)
    return out


def band(score: float) -> int:
    """The priority band (1 highest .. 5) a score falls in, as priority lists have them."""
    return 1 + min(4, int((100.0 - score) // 20.0)) if score < 100.0 else 1

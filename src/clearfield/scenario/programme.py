"""The programme a scenario describes, while its records are drawn: the region, the
records so far, a seeded random stream per stage, and the calendar (day numbers count
from ``EPOCH``; ``AS_OF`` is the reporting date)."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

import numpy as np

from clearfield.scenario.region import Region, build_region

__all__ = ["AS_OF", "EPOCH", "ISO", "TODAY", "Y2025", "Programme", "alloc"]


EPOCH, AS_OF = date(2024, 1, 1), date(2026, 11, 20)
TODAY = (AS_OF - EPOCH).days  # day numbers count from EPOCH
Y2025 = (date(2025, 1, 1) - EPOCH).days
ISO = [(EPOCH + timedelta(days=d)).isoformat() for d in range(3000)]


def alloc(total: int, weights: list[float]) -> list[int]:
    """Split ``total`` in proportion to ``weights`` (largest remainders)."""
    w = np.asarray(weights, dtype=float)
    if total <= 0 or w.sum() <= 0:
        return [0] * len(weights)
    quota = total * w / w.sum()
    out = np.floor(quota).astype(int)
    for i in np.argsort(-(quota - out), kind="stable")[: total - out.sum()]:
        out[i] += 1
    return out.tolist()


class Programme:
    """The state the stages share; each stage adds its records with ``add``."""

    def __init__(self, scale: float, seed: int):
        self.scale, self.seed = scale, seed
        self.region: Region = build_region(self.rng(0), self.rnd(0), scale)
        self.features: list[dict[str, Any]] = []
        self.front_w = np.exp(-self.region.settle_front_m / 40_000)

    def rng(self, stage: int) -> np.random.Generator:
        return np.random.default_rng([self.seed & 0xFFFFFFFFFFFFFFFF, stage])

    def rnd(self, stage: int) -> random.Random:
        return random.Random(self.seed * 1_000 + stage)

    def add(self, rtype: str, rid: str, props: dict[str, Any], geom: Any = None) -> None:
        props = {"record_type": rtype, "id": rid, **props}
        self.features.append({"type": "Feature", "properties": props, "geometry": geom})

    @staticmethod
    def ids(prefix: str, n: int, width: int) -> list[str]:
        w = max(width, len(str(n)))
        return [f"{prefix}-{i:0{w}d}" for i in range(1, n + 1)]

    def point(self, xy: np.ndarray) -> dict[str, Any]:
        return {"type": "Point", "coordinates": self.region.positions(np.reshape(xy, (1, 2)))[0]}

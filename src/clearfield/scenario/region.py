"""The synthetic region of the reference scenario: outline, districts, settlements, roads,
rivers and bridges, the power grid and the former front line.

Everything is built in metres in a local azimuthal equidistant projection centred on
the region (``domain.geometry.local_metric``) and converted to lon/lat only when
written out. At scale ≤ 1 the region is one province of about 30,000 km²; above 1 it
grows with the scale (the same density of settlements and contamination over a larger
programme area), so that a benchmark at scale 20 stays as realistic as scale 1.

Rivers, roads, bridges and power lines are drawn in ``network``; names come from
``names``.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from clearfield.domain.geometry import local_metric
from clearfield.scenario.names import RIVERS, place_name
from clearfield.scenario.network import bridges_over, longest, mst, river, road_network, wiggle

__all__ = ["Region", "build_region", "place_name"]

CENTRE = (34.25, 47.8)  # lon, lat: mid-latitudes, inside lon 33-35.5 E, lat 47-48.6 N
BASE_AREA_KM2 = 30_000.0
REGION_NAME = "Veloria Province"
DIGITS = 7  # decimal places of lon/lat in records (about 1 cm)


@dataclass
class Region:
    """The basemap, in metres (x east, y north) around ``CENTRE``."""

    name: str
    area_km2: float
    outline: shapely.Polygon
    district_names: list[str]
    district_polys: list[BaseGeometry]
    settle_xy: np.ndarray  # (n, 2)
    settle_pop: np.ndarray  # (n,) int, descending
    settle_names: list[str]
    settle_district: np.ndarray  # (n,) district index
    settle_front_m: np.ndarray  # distance to the front line
    settle_radius: np.ndarray  # built-up radius in metres
    road_ends: np.ndarray  # (m, 2) settlement indices
    road_class: list[str]
    road_lines: list[shapely.LineString]
    rivers: list[tuple[str, shapely.LineString]]
    front: shapely.LineString
    bridges: list[tuple[float, float, int, int]]  # x, y, road index, river index
    power_ends: np.ndarray  # (k, 2) settlement indices of substation sites
    power_lines: list[shapely.LineString]
    substations: np.ndarray  # settlement indices

    def lonlat(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lon, lat = local_metric(*CENTRE).transform(x, y, direction="INVERSE")
        return np.round(lon, DIGITS), np.round(lat, DIGITS)

    def positions(self, xy: np.ndarray) -> list[list[float]]:
        """[[lon, lat], ...] for an (n, 2) array of metres, rounded, JSON-ready."""
        if len(xy) == 0:
            return []
        lon, lat = self.lonlat(xy[:, 0], xy[:, 1])
        return np.column_stack([lon, lat]).tolist()

    def geojson(self, geom: BaseGeometry) -> dict[str, Any]:
        """A metre geometry as a GeoJSON mapping in EPSG:4326."""
        kind = geom.geom_type
        if kind == "Point":
            return {"type": kind, "coordinates": self.positions(shapely.get_coordinates(geom))[0]}
        if kind == "LineString":
            return {"type": kind, "coordinates": self.positions(shapely.get_coordinates(geom))}
        if kind == "Polygon":
            return {"type": kind, "coordinates": self._rings(geom)}
        parts = list(shapely.get_parts(geom))
        if kind == "MultiPolygon":
            return {"type": kind, "coordinates": [self._rings(p) for p in parts]}
        if kind == "MultiLineString":
            coords = [self.positions(shapely.get_coordinates(p)) for p in parts]
            return {"type": kind, "coordinates": coords}
        raise ValueError(f"no GeoJSON writer for {kind}")

    def _rings(self, poly: shapely.Polygon) -> list[list[list[float]]]:
        rings = [poly.exterior, *poly.interiors]
        return [self.positions(shapely.get_coordinates(r)) for r in rings]

    def district_of(self, xy: np.ndarray) -> np.ndarray:
        """Index of the district containing each point (the nearest one when on no district)."""
        tree = shapely.STRtree(self.district_polys)
        pts = shapely.points(xy)
        found = np.full(len(xy), -1, dtype=np.int64)
        left, right = tree.query(pts, predicate="intersects")
        found[left[::-1]] = right[::-1]  # the first district wins where two touch
        missing = np.flatnonzero(found < 0)
        if len(missing):
            found[missing] = tree.query_nearest(pts[missing], all_matches=False)[1]
        return found

    def front_distance(self, xy: np.ndarray) -> np.ndarray:
        return shapely.distance(self.front, shapely.points(xy))

    def context(self) -> dict[str, dict[str, Any]]:
        """The basemap as GeoJSON FeatureCollections in EPSG:4326."""

        def fc(items: list[tuple[BaseGeometry, dict[str, Any]]]) -> dict[str, Any]:
            feats = [
                {"type": "Feature", "properties": p, "geometry": self.geojson(g)} for g, p in items
            ]
            return {"type": "FeatureCollection", "features": feats}

        pops = np.bincount(self.settle_district, self.settle_pop, len(self.district_names))
        districts = [
            (
                poly,
                {
                    "id": f"D{i + 1:02d}",
                    "name": name,
                    "population": int(pops[i]),
                    "area_km2": round(poly.area / 1e6, 1),
                },
            )
            for i, (name, poly) in enumerate(
                zip(self.district_names, self.district_polys, strict=True)
            )
        ]
        settlements = [
            (
                shapely.Point(xy),
                {
                    "name": name,
                    "population": int(pop),
                    "kind": "city" if pop >= 100_000 else "town" if pop >= 10_000 else "village",
                    "district": self.district_names[d],
                },
            )
            for xy, pop, name, d in zip(
                self.settle_xy,
                self.settle_pop,
                self.settle_names,
                self.settle_district,
                strict=True,
            )
        ]
        roads = [
            (
                line,
                {
                    "id": f"RD-{i + 1:04d}",
                    "name": self.road_name(i),
                    "class": cls,
                    "length_km": round(line.length / 1000, 2),
                },
            )
            for i, (line, cls) in enumerate(zip(self.road_lines, self.road_class, strict=True))
        ]
        rivers = [(line, {"name": name}) for name, line in self.rivers]
        bridges = [
            (
                shapely.Point(x, y),
                {"id": f"BR-{i + 1:03d}", "road": f"RD-{r + 1:04d}", "river": self.rivers[v][0]},
            )
            for i, (x, y, r, v) in enumerate(self.bridges)
        ]
        power = [
            (line, {"id": f"PL-{i + 1:03d}", "name": self.power_name(i), "voltage_kv": 110})
            for i, line in enumerate(self.power_lines)
        ]
        front = [(self.front, {"name": "Former line of contact"})]
        return {
            "districts": fc(districts),
            "settlements": fc(settlements),
            "roads": fc(roads),
            "rivers": fc(rivers),
            "front_line": fc(front),
            "bridges": fc(bridges),
            "power_lines": fc(power),
        }

    def road_name(self, i: int) -> str:
        a, b = self.road_ends[i]
        return f"{self.settle_names[a]} - {self.settle_names[b]} road"

    def power_name(self, i: int) -> str:
        a, b = self.power_ends[i]
        return f"110 kV line {self.settle_names[a]} - {self.settle_names[b]}"


def build_region(rng: np.random.Generator, rnd: random.Random, scale: float) -> Region:
    grow = max(1.0, scale)
    area_m2 = BASE_AREA_KM2 * 1e6 * grow
    half = math.sqrt(area_m2) / 2
    outline = _outline(rng, area_m2)
    used: set[str] = set()
    xy, pop = _settlements(rng, outline, half, max(40, round(300 * scale)), grow)
    names = [place_name(rnd, used) for _ in range(len(xy))]
    n_districts = 12 if scale <= 1 else round(12 * scale)
    polys = _districts(rng, outline, n_districts)
    front = _front(rng, outline, half)
    rivers = []
    n_rivers = round(3 * math.sqrt(scale)) if scale > 1 else 3 if scale >= 0.5 else 2
    for i in range(n_rivers):
        label = RIVERS[i] if i < len(RIVERS) else place_name(rnd, used)
        rivers.append((label, river(rng, outline, half)))
    ends, classes, lines = road_network(rng, xy, pop)
    bridges = bridges_over(lines, rivers)
    subs = np.arange(max(3, len(xy) // 15))
    pairs = mst(xy[subs])
    power_ends = np.array([(subs[a], subs[b]) for a, b in pairs], dtype=np.int64).reshape(-1, 2)
    power = [wiggle(rng, xy[a], xy[b], 1, 0.03) for a, b in power_ends]
    region = Region(
        name=REGION_NAME if scale <= 1 else f"Veloria ({grow:g} provinces' worth)",
        area_km2=round(outline.area / 1e6, 1),
        outline=outline,
        district_names=[],
        district_polys=polys,
        settle_xy=xy,
        settle_pop=pop,
        settle_names=names,
        settle_district=np.zeros(len(xy), dtype=np.int64),
        settle_front_m=shapely.distance(front, shapely.points(xy)),
        settle_radius=150.0 + 10.0 * np.sqrt(pop),
        road_ends=ends,
        road_class=classes,
        road_lines=lines,
        rivers=rivers,
        front=front,
        bridges=bridges,
        power_ends=power_ends,
        power_lines=power,
        substations=subs,
    )
    region.settle_district = region.district_of(xy)
    for d in range(len(polys)):  # a district is named after its largest settlement
        members = np.flatnonzero(region.settle_district == d)
        region.district_names.append(names[members[0]] if len(members) else place_name(rnd, used))
    return region


def _outline(rng: np.random.Generator, area_m2: float) -> shapely.Polygon:
    t = np.linspace(0, 2 * np.pi, 241)[:-1]
    r = 1.0 / (np.abs(np.cos(t)) ** 4 + np.abs(np.sin(t)) ** 4) ** 0.25  # a rounded square
    for k in range(2, 8):
        r = r * (1 + rng.uniform(0, 0.05) / math.sqrt(k - 1) * np.cos(k * t + rng.uniform(0, 7)))
    xy = np.column_stack([r * np.cos(t), r * np.sin(t)])
    return shapely.Polygon(xy * math.sqrt(area_m2 / shapely.Polygon(xy).area))


def uniform_in(rng: np.random.Generator, poly: BaseGeometry, n: int) -> np.ndarray:
    """``n`` points uniformly distributed in ``poly`` (rejection from its bounding box)."""
    x0, y0, x1, y1 = poly.bounds
    out: list[np.ndarray] = []
    got = 0
    while got < n:
        xy = rng.uniform((x0, y0), (x1, y1), (2 * (n - got) + 16, 2))
        xy = xy[shapely.contains_xy(poly, xy[:, 0], xy[:, 1])][: n - got]
        out.append(xy)
        got += len(xy)
    return np.concatenate(out) if out else np.empty((0, 2))


def _settlements(
    rng: np.random.Generator, outline: shapely.Polygon, half: float, n: int, grow: float
) -> tuple[np.ndarray, np.ndarray]:
    """Zipf-like populations (rank-size rule, exponent 1.25, with noise) at spaced places."""
    city = 350_000 * rng.uniform(0.85, 1.15)
    rank = np.ceil(np.arange(1, n + 1) / grow)  # one rank-size sequence per province's worth
    pop = city / rank**1.25 * np.exp(rng.normal(0, 0.25, n))
    pop[0] = city
    pop = np.sort(np.maximum(pop, 60).round().astype(np.int64))[::-1]
    spacing, town_spacing, cell = 1_800.0, 14_000.0, 2_000.0
    grid: dict[tuple[int, int], list[int]] = {}
    xy = np.zeros((n, 2))
    towns: list[int] = []
    placed = 0
    while placed < n:
        for x, y in uniform_in(rng, outline, 4 * (n - placed) + 8):
            if placed == 0 and math.hypot(x, y) > 0.35 * half:
                continue  # the city lies near the middle
            cx, cy = int(x // cell), int(y // cell)
            near = [
                j for i in (-1, 0, 1) for k in (-1, 0, 1) for j in grid.get((cx + i, cy + k), ())
            ]
            if any(math.hypot(x - xy[j, 0], y - xy[j, 1]) < spacing for j in near):
                continue
            big = pop[placed] >= 20_000
            if big and any(math.hypot(x - xy[j, 0], y - xy[j, 1]) < town_spacing for j in towns):
                continue
            xy[placed] = x, y
            grid.setdefault((cx, cy), []).append(placed)
            towns += [placed] if big else []
            placed += 1
            if placed == n:
                break
    return xy, pop


def _districts(rng: np.random.Generator, outline: shapely.Polygon, k: int) -> list[BaseGeometry]:
    """Voronoi cells of seeds spread by a few rounds of Lloyd's algorithm, clipped."""
    sample = uniform_in(rng, outline, 60 * k)
    seeds = sample[:k].copy()
    for _ in range(8):
        near = np.argmin(((sample[:, None, :] - seeds[None, :, :]) ** 2).sum(-1), axis=1)
        for j in range(k):
            if np.any(near == j):
                seeds[j] = sample[near == j].mean(axis=0)
    cells = shapely.voronoi_polygons(
        shapely.multipoints(seeds), extend_to=outline.buffer(10_000), ordered=True
    )
    return [shapely.intersection(c, outline) for c in shapely.get_parts(cells)]


def _front(rng: np.random.Generator, outline: shapely.Polygon, half: float) -> shapely.LineString:
    s = np.linspace(-1.5 * half, 1.5 * half, 600)
    y = np.full(s.size, rng.uniform(-0.2, 0.2) * half)
    for _ in range(6):
        lam = rng.uniform(0.15, 0.9) * half
        y += lam * rng.uniform(0.02, 0.07) * np.sin(2 * np.pi * s / lam + rng.uniform(0, 7))
    walk = np.cumsum(rng.normal(0, 0.004 * half, s.size))
    y += walk - np.linspace(walk[0], walk[-1], s.size)
    a = rng.uniform(-0.6, 0.6)
    xy = np.column_stack([s * math.cos(a) - y * math.sin(a), s * math.sin(a) + y * math.cos(a)])
    return longest(shapely.intersection(shapely.LineString(xy), outline))

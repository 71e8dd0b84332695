"""The synthetic region of the reference scenario: outline, districts, settlements, roads,
rivers and bridges, the power grid and the former front line.

Everything is built in metres in a local azimuthal equidistant projection centred on
the region (``domain.geometry.local_metric``) and converted to lon/lat only when
written out. At scale ≤ 1 the region is one province of about 30,000 km²; above 1 it
grows with the scale (the same density of settlements and contamination over a larger
programme area), so that a benchmark at scale 20 stays as realistic as scale 1.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from clearfield.domain.geometry import local_metric

__all__ = ["Region", "build_region", "place_name"]

CENTRE = (34.25, 47.8)  # lon, lat: mid-latitudes, inside lon 33-35.5 E, lat 47-48.6 N
BASE_AREA_KM2 = 30_000.0
REGION_NAME = "Veloria Province"
DIGITS = 7  # decimal places of lon/lat in records (about 1 cm)

_ONSET = [
    "Bor",
    "Vel",
    "Kra",
    "Ost",
    "Mir",
    "Lis",
    "Dub",
    "Sos",
    "Zel",
    "Kam",
    "Bil",
    "Cher",
    "Hor",
    "Yar",
    "Pet",
    "Ol",
    "Var",
    "Tor",
    "Nov",
    "Star",
    "Vys",
    "Niz",
    "Rud",
    "Pol",
    "Lug",
    "Klen",
    "Ber",
    "Sok",
    "Vol",
    "Krin",
    "Mal",
    "Hlyb",
    "Sav",
    "Dol",
    "Zar",
    "Tal",
    "Hrab",
    "Yas",
]
_MID = ("", "", "o", "a", "e", "iv", "ov", "en", "an", "ol", "ash", "ich", "yl")
_END = [
    "ka",
    "ivka",
    "ove",
    "ne",
    "ets",
    "yn",
    "ychi",
    "ino",
    "ske",
    "any",
    "ik",
    "opil",
    "ohrad",
    "ivtsi",
    "ur",
    "ets",
    "ianka",
]
_PREFIX = ("", "", "", "", "Nova ", "Stara ", "Velyka ", "Mala ", "Verkhnia ", "Nyzhnia ")
_RIVERS = [
    "Vela",
    "Sarna",
    "Orela",
    "Tovra",
    "Lesna",
    "Bystrytsia",
    "Kamenka",
    "Solonka",
    "Dubrava",
    "Mokrets",
    "Yalka",
    "Velychka",
    "Tysna",
    "Zorya",
]


def place_name(rnd: random.Random, used: set[str]) -> str:
    """A fictional, unique place name (``used`` keeps the names already given)."""
    for attempt in range(200):
        name = rnd.choice(_ONSET) + rnd.choice(_MID) + rnd.choice(_END)
        name = re.sub(r"([aeiouy])\1", r"\1", re.sub(r"([aeiouy])([aeiouy])", r"\1", name))
        if attempt > 20:
            name = rnd.choice(_PREFIX[4:]) + name
        if name not in used:
            used.add(name)
            return name
    name = f"{rnd.choice(_ONSET)}yn-{len(used)}"
    used.add(name)
    return name


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
        label = _RIVERS[i] if i < len(_RIVERS) else place_name(rnd, used)
        rivers.append((label, _river(rng, outline, half)))
    ends, classes, lines = _roads(rng, xy, pop)
    bridges = _bridges(lines, rivers)
    subs = np.arange(max(3, len(xy) // 15))
    pairs = _mst(xy[subs])
    power_ends = np.array([(subs[a], subs[b]) for a, b in pairs], dtype=np.int64).reshape(-1, 2)
    power = [_wiggle(rng, xy[a], xy[b], 1, 0.03) for a, b in power_ends]
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


def _longest(geom: BaseGeometry) -> shapely.LineString:
    parts = [p for p in shapely.get_parts(geom) if p.geom_type == "LineString"]
    return max(parts, key=lambda p: p.length)


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
    return _longest(shapely.intersection(shapely.LineString(xy), outline))


def _river(rng: np.random.Generator, outline: shapely.Polygon, half: float) -> shapely.LineString:
    a = rng.uniform(0, 2 * np.pi)
    p = 1.45 * half * np.array([math.cos(a), math.sin(a)])
    mean = a + np.pi + rng.normal(0, 0.3)
    h, pts = mean, [p.copy()]
    while np.hypot(*p) <= 1.5 * half and len(pts) < 20_000:
        h = mean + 0.85 * (h - mean) + rng.normal(0, 0.25)
        p += 1_000.0 * np.array([math.cos(h), math.sin(h)])
        pts.append(p.copy())
    return _longest(shapely.intersection(shapely.LineString(pts), outline))


def _mst(xy: np.ndarray) -> list[tuple[int, int]]:
    """Minimum spanning tree of a small point set (Prim's algorithm on the full matrix)."""
    n = len(xy)
    if n < 2:
        return []
    d = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    inside = np.zeros(n, dtype=bool)
    inside[0] = True
    best, via = d[0].copy(), np.zeros(n, dtype=np.int64)
    edges = []
    for _ in range(n - 1):
        j = int(np.argmin(np.where(inside, np.inf, best)))
        edges.append((int(via[j]), j))
        inside[j] = True
        closer = d[j] < best
        best, via = np.where(closer, d[j], best), np.where(closer, j, via)
    return edges


def _wiggle(
    rng: np.random.Generator, a: np.ndarray, b: np.ndarray, inner: int, amp: float
) -> shapely.LineString:
    """A line from a to b with ``inner`` jittered points, densified to vertices ≤ 2 km apart."""
    d = b - a
    length = float(np.hypot(*d))
    normal = np.array([-d[1], d[0]]) / max(length, 1.0)
    t = np.linspace(0, 1, inner + 2)
    off = np.concatenate([[0], rng.normal(0, amp * length, inner), [0]])
    line = shapely.LineString(a + t[:, None] * d + off[:, None] * normal)
    return shapely.segmentize(line, 2_000.0)


def _roads(
    rng: np.random.Generator, xy: np.ndarray, pop: np.ndarray
) -> tuple[np.ndarray, list[str], list[shapely.LineString]]:
    """Delaunay edges → a spanning tree plus short extra edges; primary roads join the towns."""
    n = len(xy)
    edges_geom = shapely.delaunay_triangles(shapely.multipoints(xy), only_edges=True)
    seg = shapely.get_coordinates(shapely.get_parts(edges_geom)).reshape(-1, 2, 2)
    index = {(float(x), float(y)): i for i, (x, y) in enumerate(xy)}
    pairs = sorted({tuple(sorted((index[tuple(s[0])], index[tuple(s[1])]))) for s in seg.tolist()})
    ends = np.array(pairs, dtype=np.int64).reshape(-1, 2)
    length = np.hypot(*(xy[ends[:, 0]] - xy[ends[:, 1]]).T)
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    tree = np.zeros(len(ends), dtype=bool)
    for e in np.argsort(length, kind="stable"):
        ra, rb = root(int(ends[e, 0])), root(int(ends[e, 1]))
        if ra != rb:
            parent[ra] = rb
            tree[e] = True
    limit = 1.5 * np.median(length[tree]) if tree.any() else 0.0
    keep = tree | ((length <= limit) & (rng.uniform(size=len(ends)) < 0.3))
    adj: dict[int, list[tuple[int, int]]] = {}
    for e in np.flatnonzero(tree):
        a, b = map(int, ends[e])
        adj.setdefault(a, []).append((b, int(e)))
        adj.setdefault(b, []).append((a, int(e)))
    primary = np.zeros(len(ends), dtype=bool)
    top = np.arange(min(n, max(4, round(8 * math.sqrt(n / 300)))))
    for u, v in _mst(xy[top]):  # trunk roads: tree paths between neighbouring towns
        back: dict[int, tuple[int, int]] = {int(top[u]): (-1, -1)}
        queue = [int(top[u])]
        while queue and int(top[v]) not in back:
            node = queue.pop()
            for nxt, e in adj.get(node, ()):
                if nxt not in back:
                    back[nxt] = (node, e)
                    queue.append(nxt)
        node = int(top[v])
        while back.get(node, (-1, -1))[1] >= 0:
            node, e = back[node]
            primary[e] = True
    chosen = np.flatnonzero(keep)
    classes = ["primary" if primary[e] else "secondary" for e in chosen]
    lines = [_wiggle(rng, xy[a], xy[b], 2, 0.04) for a, b in ends[chosen]]
    return ends[chosen], classes, lines


def _bridges(
    roads: list[shapely.LineString], rivers: list[tuple[str, shapely.LineString]]
) -> list[tuple[float, float, int, int]]:
    out: list[tuple[float, float, int, int]] = []
    if not roads:
        return out
    tree = shapely.STRtree(roads)
    for v, (_, river) in enumerate(rivers):
        for r in sorted(tree.query(river, predicate="intersects").tolist()):
            for x, y in shapely.get_coordinates(shapely.intersection(roads[r], river)).tolist():
                out.append((x, y, r, v))
    return out

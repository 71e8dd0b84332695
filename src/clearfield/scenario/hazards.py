"""Hazardous areas: where they are (densest along the former front line), their outlines,
contamination, land use and evidence, and the pieces land release cuts them into.

Geometry is built in metres around the region's centre and written in EPSG:4326. A
hazard is a star-shaped polygon around its centre; every release polygon is a piece of
it cut by scaling towards the centre and by rays through its vertices (an outer band
cancelled by NTS, an inner band reduced by TS, a core cleared sector by sector), so
pieces lie inside their hazard exactly, and overlap or reach outside only on purpose.
"""

from __future__ import annotations

import math
import random
from typing import Any

import numpy as np
import shapely

from clearfield.domain.records import ACCESS_BUFFER_M
from clearfield.scenario.capacity import ORGANISATIONS
from clearfield.scenario.programme import ISO, TODAY, Programme

__all__ = ["CONTAMINATION", "Hazards", "piece_rings", "point_in"]


CONTAMINATION = ("ap_mine", "at_mine", "uxo", "cluster_munition", "ied", "booby_trap", "abandoned_ordnance")  # fmt: skip
CONTAMINATION_W = (0.30, 0.22, 0.28, 0.08, 0.03, 0.05, 0.04)
LAND_USE = ("agricultural", "forest", "residential", "road", "industrial", "water", "other")
LAND_USE_W = {  # by where a hazard is: the front line, a settlement, elsewhere, an asset
    0: (0.58, 0.20, 0.04, 0.06, 0.03, 0.03, 0.06),
    1: (0.30, 0.08, 0.32, 0.10, 0.12, 0.02, 0.06),
    2: (0.60, 0.25, 0.00, 0.05, 0.00, 0.02, 0.08),
    3: (0.15, 0.05, 0.30, 0.30, 0.15, 0.00, 0.05),
}
LAND_WORD = dict(zip(LAND_USE, ("field", "forest", "quarter", "road verge", "works", "riverbank", "area"), strict=True))  # fmt: skip
DIRECT = {  # direct evidence (IMAS 04.10) that fits each kind of contamination
    "ap_mine": ("mine sighted", "mine accident", "mine fragments"),
    "at_mine": ("mine sighted", "vehicle destroyed by a mine"),
    "uxo": ("EO found", "unexploded shell sighted"),
    "cluster_munition": ("submunitions sighted", "EO found"),
    "ied": ("IED found", "explosion reported"),
    "booby_trap": ("tripwire observed", "EO found"),
    "abandoned_ordnance": ("ammunition cache found", "EO found"),
}
INDIRECT = ("fighting reported", "local informant", "military records", "abandoned positions", "shelling reported", "land left unused", "animal casualty", "warning signs")  # fmt: skip


def _stars(rng: np.random.Generator, m: int) -> tuple[list[np.ndarray], np.ndarray]:
    """``m`` star-shaped polygons (vertex offsets in metres, counter-clockwise, 6-14
    vertices) of heavy-tailed area: lognormal, median 3 ha, 500 m² to 2 km²; and bboxes."""
    area = np.exp(rng.normal(math.log(30_000), 1.25, m))
    while np.any(bad := (area < 500) | (area > 2e6)):
        area[bad] = np.exp(rng.normal(math.log(30_000), 1.25, int(bad.sum())))
    nv = rng.integers(6, 15, m)
    aspect = np.minimum(1 + rng.exponential(0.6, m), 4.0)
    rot = rng.uniform(0, np.pi, m)
    out: list[np.ndarray] = [np.empty((0, 2))] * m
    box = np.zeros((m, 4))
    for n in range(6, 15):
        idx = np.flatnonzero(nv == n)
        if not len(idx):
            continue
        k = len(idx)
        th = (np.arange(n) + rng.uniform(-0.35, 0.35, (k, n))) * (2 * np.pi / n)
        th += rng.uniform(0, 2 * np.pi, (k, 1))
        ph, a = th - rot[idx, None], aspect[idx, None]
        r = (
            a
            / np.sqrt(np.cos(ph) ** 2 + (a * np.sin(ph)) ** 2)
            * np.exp(rng.normal(0, 0.15, (k, n)))
        )
        x, y = r * np.cos(th), r * np.sin(th)
        f = np.sqrt(area[idx] / (0.5 * np.sum(x * np.roll(y, -1, 1) - np.roll(x, -1, 1) * y, 1)))
        x, y = x * f[:, None], y * f[:, None]
        box[idx] = np.column_stack([x.min(1), y.min(1), x.max(1), y.max(1)])
        for j, i in enumerate(idx):
            out[i] = np.column_stack([x[j], y[j]])
    return out, box


def piece_rings(v: np.ndarray, s_in: float, s_out: float, a: int, b: int) -> list[np.ndarray]:
    """Rings of the part of star polygon ``v`` between scales s_in and s_out (towards its
    centre) and between the rays through vertices a and b (all of it when b - a ≥ n)."""
    n = len(v)
    if b - a >= n:
        rings = [np.vstack([v, v[:1]]) * s_out]
        if s_in > 0:
            rings.append(np.vstack([v[:1], v[::-1]]) * s_in)
        return rings
    idx = np.arange(a, b + 1) % n
    inner = v[idx[::-1]] * s_in if s_in > 0 else np.zeros((1, 2))
    return [np.vstack([v[idx] * s_out, inner, v[idx[:1]] * s_out])]


def point_in(rnd: random.Random, v: np.ndarray, piece: tuple) -> np.ndarray:
    """A random point of a piece (offset from the hazard centre)."""
    s_in, s_out, a, b = piece
    n = len(v)
    e = (a + rnd.randrange(b - a)) % n if b - a < n else rnd.randrange(n)
    p = v[e] + rnd.random() * (v[(e + 1) % n] - v[e])
    return p * math.sqrt(rnd.uniform(s_in**2, s_out**2))


class Hazards(Programme):
    """The ``hazards`` stage (the ``h_*`` arrays, one entry per hazard); it runs after
    ``asset_sites`` so that some hazards can be placed where they block an asset."""

    def hazards(self) -> None:
        """Sites densest along the front line (distance exponential, scale ~10 km) and around
        fought-over settlements; a candidate whose bbox meets an accepted one is dropped."""
        rng, rnd, reg = self.rng(3), self.rnd(3), self.region
        n = max(5, round(5000 * self.scale))
        band = 10_000 * max(1.0, self.scale) ** 0.25
        w_set = reg.settle_pop**0.35 * np.exp(-reg.settle_front_m / 12_000)
        w_set /= w_set.sum()
        front, length = reg.front, reg.front.length
        n_as = len(self.as_out)
        w_as = np.exp(-reg.front_distance(self.as_rep) / 15_000) + 0.1
        w_as /= w_as.sum() if n_as else 1
        kinds_as = shapely.get_type_id(self.as_geoms)
        buf_as = np.array([ACCESS_BUFFER_M[o[0]] for o in self.as_out])
        cell, grid = 1_000.0, {}
        xy_ok: list[np.ndarray] = []
        verts: list[np.ndarray] = []
        src_ok: list[int] = []
        boxes: list[tuple[float, float, float, float]] = []
        for attempt in range(1000):
            if len(verts) >= n:
                break
            m = 2 * (n - len(verts)) + 16
            src = rng.choice(4, m, p=[0.58, 0.24, 0.10, 0.08] if n_as else [0.62, 0.26, 0.12, 0])
            d = rng.uniform(0, length, m)
            p = shapely.get_coordinates(shapely.line_interpolate_point(front, d))
            q = shapely.get_coordinates(shapely.line_interpolate_point(front, d + 25))
            t = (q - p) / np.maximum(np.hypot(*(q - p).T), 1e-9)[:, None]
            fr = (
                p
                + np.column_stack([-t[:, 1], t[:, 0]])
                * (rng.exponential(band, m) * rng.choice([-1.0, 1.0], m))[:, None]
            )
            si = rng.choice(len(w_set), m, p=w_set)
            ang, rad = rng.uniform(0, 2 * np.pi, m), rng.exponential(2_500, m)
            rad += reg.settle_radius[si] * np.sqrt(rng.uniform(size=m))
            st = reg.settle_xy[si] + rad[:, None] * np.column_stack([np.cos(ang), np.sin(ang)])
            x0, y0, x1, y1 = reg.outline.bounds
            bg = rng.uniform((x0, y0), (x1, y1), (m, 2))
            xy = np.where((src == 0)[:, None], fr, np.where((src == 1)[:, None], st, bg))
            if n_as:  # on the verges and compounds of damaged assets: these block them
                j = rng.choice(n_as, m, p=w_as)
                anchor = self.as_rep[j].copy()
                u, lines = rng.uniform(size=m), np.flatnonzero(kinds_as[j] == 1)
                pts = shapely.line_interpolate_point(self.as_geoms[j[lines]], u[lines], normalized=True)  # fmt: skip
                anchor[lines] = shapely.get_coordinates(pts)
                r, a = rng.uniform(0, buf_as[j] + 60), rng.uniform(0, 2 * np.pi, m)
                anchor += r[:, None] * np.column_stack([np.cos(a), np.sin(a)])
                xy = np.where((src == 3)[:, None], anchor, xy)
            inside = shapely.contains_xy(reg.outline, xy[:, 0], xy[:, 1])
            shapes, box = _stars(rng, m)
            box += np.column_stack([xy, xy])
            for i in np.flatnonzero(inside):
                bx0, by0, bx1, by1 = box[i]
                cells = [
                    (cx, cy)
                    for cx in range(int(bx0 // cell), int(bx1 // cell) + 1)
                    for cy in range(int(by0 // cell), int(by1 // cell) + 1)
                ]
                hit = attempt < 8 and any(
                    b[0] < bx1 and bx0 < b[2] and b[1] < by1 and by0 < b[3]
                    for c in cells
                    for b in (boxes[j] for j in grid.get(c, ()))
                )
                if hit:
                    continue
                for c in cells:
                    grid.setdefault(c, []).append(len(boxes))
                boxes.append((bx0, by0, bx1, by1))
                xy_ok.append(xy[i])
                verts.append(shapes[i])
                src_ok.append(int(src[i]))
                if len(verts) == n:
                    break
        day = (7 + (TODAY - 20 - 7) * rng.uniform(size=n) ** 1.3).astype(np.int64)
        order = np.argsort(day, kind="stable")  # ids in the order hazards were recorded
        self.h_day, self.h_xy = day[order], np.array(xy_ok)[order]
        self.h_v = [verts[i] for i in order]
        src = np.array(src_ok)[order]
        self.h_front = reg.front_distance(self.h_xy)
        self.h_cha = rng.uniform(size=n) < 0.12 + 0.4 * np.exp(-self.h_front / 8_000)
        self.h_area = shapely.area(shapely.polygons([shapely.linearrings(v) for v in self.h_v]))
        self.h_ids = self.ids("HA", n, 5)
        district = reg.district_of(self.h_xy)
        near = shapely.STRtree(shapely.points(reg.settle_xy)).query_nearest(
            shapely.points(self.h_xy), all_matches=False
        )[1]
        survey = np.array([o[4].get("survey", 0) + 2 * (o[2] == "national_authority") for o in ORGANISATIONS], float)  # fmt: skip
        rep = rng.choice(len(ORGANISATIONS), n, p=survey / survey.sum())
        rings = [np.vstack([v, v[:1]]) + c for v, c in zip(self.h_v, self.h_xy, strict=True)]
        flat = reg.positions(np.concatenate(rings))
        self.h_cont: list[list[str]] = []
        numbers: dict[tuple[int, str], int] = {}
        at = 0
        for h in range(n):
            land = rnd.choices(LAND_USE, LAND_USE_W[int(src[h])])[0]
            k = rnd.choices((1, 2, 3), (0.55, 0.33, 0.12))[0]
            cont: set[str] = set()
            while len(cont) < k:
                w = [
                    0.0 if c in cont else x
                    for c, x in zip(CONTAMINATION, CONTAMINATION_W, strict=True)
                ]
                cont.add(rnd.choices(CONTAMINATION, w)[0])
            self.h_cont.append([c for c in CONTAMINATION if c in cont])
            props: dict[str, Any] = {}
            s = int(near[h])
            numbers[s, land] = num = numbers.get((s, land), 0) + 1
            props["name"] = f"{reg.settle_names[s]} {LAND_WORD[land]} {num}"
            props["status"] = "CHA" if self.h_cha[h] else "SHA"
            props["contamination"] = self.h_cont[h]
            props["land_use"] = land
            props["organisation"] = self.org_ids[rep[h]]
            props["district"] = reg.district_names[district[h]]
            props["recorded_on"] = ISO[self.h_day[h]]
            if self.h_cha[h]:
                seen = sorted({e for c in self.h_cont[h] for e in DIRECT[c]})
                props["direct_evidence"] = rnd.sample(seen, rnd.randint(1, min(2, len(seen))))
            props["indirect_evidence"] = rnd.sample(INDIRECT, rnd.randint(0 if self.h_cha[h] else 1, 3))  # fmt: skip
            if not props["indirect_evidence"]:
                del props["indirect_evidence"]
            size = len(rings[h])
            geom = {"type": "Polygon", "coordinates": [flat[at : at + size]]}
            at += size
            self.add("hazard", self.h_ids[h], props, geom)
        self.h_done = np.zeros(n, dtype=bool)  # fully released by approved activities

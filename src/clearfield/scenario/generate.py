"""The reference scenario's records, deterministic in (scale, seed): organisations, teams,
hazardous areas, land release activities, damaged assets, reconstruction projects, EO
finds, accidents, daily reports and pledges (DESIGN.md: "Reference scenario").

Geometry is built in metres around the region's centre and written in EPSG:4326. A
hazard is a star-shaped polygon around its centre; every release polygon is a piece of
it cut by scaling towards the centre and by rays through its vertices (an outer band
cancelled by NTS, an inner band reduced by TS, a core cleared sector by sector), so
pieces lie inside their hazard exactly, and overlap or reach outside only on purpose.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import shapely
import shapely.affinity
import shapely.ops

from clearfield.domain.records import ACCESS_BUFFER_M
from clearfield.scenario.region import Region, build_region

__all__ = ["AS_OF", "Scenario", "generate"]

EPOCH, AS_OF = date(2024, 1, 1), date(2026, 11, 20)
TODAY = (AS_OF - EPOCH).days  # day numbers count from EPOCH
Y2025 = (date(2025, 1, 1) - EPOCH).days
_ISO = [(EPOCH + timedelta(days=d)).isoformat() for d in range(3000)]


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
    if not scale > 0 or not math.isfinite(scale):
        raise ValueError(f"scale must be a positive number, not {scale!r}")
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


# name, short name, kind, country, weights of its sapper teams by kind, construction weight
ORGANISATIONS: tuple[tuple[str, str, str, str, dict[str, int], int], ...] = (
    ("Veloria Mine Action Centre", "VMAC", "national_authority", "Veloria", {"survey": 2, "eod": 1}, 0),
    ("State Emergency Service of Veloria", "SES", "civil_protection", "Veloria", {"eod": 4, "manual": 1, "survey": 1}, 2),
    ("44th Separate Engineer Brigade", "44SEB", "military", "Veloria", {"manual": 3, "mechanical": 3, "eod": 2}, 2),
    ("Sentinel Demining Trust", "SDT", "ngo", "United Kingdom", {"manual": 4, "dog": 2, "survey": 3, "eod": 1, "mechanical": 1}, 0),
    ("Open Fields Mine Action", "OFMA", "ngo", "Norway", {"manual": 3, "survey": 2, "dog": 1, "mechanical": 1}, 0),
    ("Terra Nova Humanitarian Demining", "TNHD", "ngo", "Switzerland", {"manual": 3, "dog": 2, "survey": 1}, 0),
    ("Safe Ground Alliance", "SGA", "ngo", "Denmark", {"manual": 2, "survey": 2, "eod": 1}, 0),
    ("Meridian Ordnance Services", "MOS", "commercial", "United Kingdom", {"manual": 3, "mechanical": 2, "survey": 1, "eod": 1}, 0),
    ("Ardent Clearance", "ARD", "commercial", "Veloria", {"manual": 3, "mechanical": 1, "dog": 1}, 0),
    ("Veloria Road Works", "VRW", "commercial", "Veloria", {}, 4),
    ("Northbridge Construction", "NBC", "commercial", "Poland", {}, 3),
    ("Kestrel Rebuild Group", "KRG", "commercial", "Veloria", {}, 3),
    ("Shelter and Homes Initiative", "SHI", "ngo", "Netherlands", {}, 2),
)  # fmt: skip
# kind: (share of the sappers, personnel per team to draw from, name in team names)
TEAM_KINDS = {
    "survey": (0.12, (3, 4, 4, 5), "NTS"),
    "manual": (0.70, (6, 7, 8, 8, 8, 9, 10), "Manual"),
    "mechanical": (0.04, (3, 4, 4, 5), "Mechanical"),
    "dog": (0.06, (3,), "MDD"),  # 3 handlers and 2 dogs
    "eod": (0.08, (3, 4, 4, 5), "EOD"),
    "construction": (0.0, tuple(range(40, 61)), "Brigade"),
}
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
# activity kind: team kinds that do it, with weights
DOERS = {
    "nts": (("survey", 1.0),),
    "ts": (("survey", 0.4), ("manual", 0.35), ("mechanical", 0.15), ("dog", 0.1)),
    "clearance": (("manual", 0.8), ("dog", 0.2)),  # a machine never clears alone (IMAS 09.10)
}
ASSET_MIX = {"housing": 0.45, "school": 0.15, "road_segment": 0.14, "power_line": 0.07, "bridge": 0.05, "hospital": 0.05, "substation": 0.045, "water_plant": 0.045}  # fmt: skip
SITE_POP = {"housing": (0, 0.6), "school": (300, 0.7), "hospital": (3_000, 0.8), "water_plant": (2_000, 0.8), "substation": (0, 0.0)}  # fmt: skip
SITE_NAME = {"housing": "{} residential block {}", "school": "{} school No. {}", "hospital": "{} hospital No. {}", "water_plant": "{} water treatment plant {}", "substation": "{} 110/10 kV substation {}"}  # fmt: skip
# worker-days to rebuild when destroyed-ish (per km for roads and power lines): low, high
WORK = {"housing": (50, 500), "school": (300, 3_000), "hospital": (1_500, 12_000), "bridge": (1_000, 20_000), "substation": (400, 4_000), "water_plant": (800, 8_000), "road_segment": (150, 1_500), "power_line": (30, 300)}  # fmt: skip
DAMAGE = ("light", "moderate", "severe", "destroyed")
DAMAGE_Q = ((0.0, 0.35), (0.2, 0.6), (0.45, 0.85), (0.7, 1.0))  # where in WORK's range, log scale
DISPOSAL = ("destroyed_in_situ", "removed_for_destruction", "rendered_safe", "handed_over", "pending")  # fmt: skip
ORDNANCE = {
    "ap_mine": ("PMN-2", "PMN-1", "PMN-4", "POM-2", "POM-3", "OZM-72", "MON-50", "MON-90", "PFM-1", "PFM-1S"),
    "at_mine": ("TM-62M", "TM-62P3", "TM-57", "TM-72", "PTM-1", "PTM-3"),
    "uxo": ("152mm HE shell", "122mm HE shell", "120mm mortar bomb", "82mm mortar bomb", "125mm tank round", "122mm Grad rocket", "VOG-17 grenade", "100mm HE shell"),
    "cluster_munition": ("9N210 submunition", "9N235 submunition", "9N24 submunition", "PTAB-1M", "ShOAB-0.5"),
    "ied": ("pressure-plate IED", "victim-operated IED", "command-wire IED", "tripwire IED"),
    "booby_trap": ("F-1 grenade on tripwire", "RGD-5 grenade on tripwire", "MUV-2 fuzed charge", "pressure-release booby trap"),
    "abandoned_ordnance": ("152mm HE shells (cache)", "PG-7V rockets", "VOG-30 grenades", "7.62mm ammunition", "RGD-5 grenades (cache)"),
}  # fmt: skip
ACCIDENT_ACTIVITY = ("demining", "agriculture", "travel", "herding", "collecting", "playing", "tampering", "reconstruction", "other")  # fmt: skip
FIRST = {
    "female": ("Olena", "Iryna", "Natalia", "Oksana", "Tetiana", "Svitlana", "Mariia", "Halyna", "Yulia", "Larysa", "Daria", "Anna"),
    "male": ("Ivan", "Petro", "Andrii", "Oleksandr", "Mykola", "Serhii", "Vasyl", "Taras", "Dmytro", "Yurii", "Bohdan", "Roman"),
}  # fmt: skip
SURNAME_A = ("Kovale", "Bondare", "Tkache", "Shevche", "Kravche", "Melny", "Lysen", "Moroze", "Savche", "Vereme", "Horde", "Zelen")  # fmt: skip
SURNAME_B = {"female": ("nko", "chuk", "ska", "va"), "male": ("nko", "chuk", "sky", "v")}
INCIDENTS = ("work stopped: heavy rain", "vehicle breakdown", "high metal contamination slowed search", "medic absent, work suspended", "detector fault")  # fmt: skip
REJECTIONS = ("polygon does not match the marked area on the ground", "missing QA sign-off", "area worked exceeds the daily reports", "dates inconsistent with the daily reports")  # fmt: skip


def _alloc(total: int, weights: list[float]) -> list[int]:
    """Split ``total`` in proportion to ``weights`` (largest remainders)."""
    w = np.asarray(weights, dtype=float)
    if total <= 0 or w.sum() <= 0:
        return [0] * len(weights)
    quota = total * w / w.sum()
    out = np.floor(quota).astype(int)
    for i in np.argsort(-(quota - out), kind="stable")[: total - out.sum()]:
        out[i] += 1
    return out.tolist()


def _fix_total(sizes: list[int], kinds: list[str], total: int, passes: list) -> None:
    """Nudge team sizes by one person at a time until they add up to ``total`` exactly."""
    diff = total - sum(sizes)
    for allowed, lo, hi in passes:
        idx = [i for i, k in enumerate(kinds) if k in allowed]
        moved = True
        while diff and moved:
            moved = False
            for i in idx:
                step = 1 if diff > 0 else -1
                if diff and lo <= sizes[i] + step <= hi:
                    sizes[i] += step
                    diff -= step
                    moved = True


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


def _piece_rings(v: np.ndarray, s_in: float, s_out: float, a: int, b: int) -> list[np.ndarray]:
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


def _point_in(rnd: random.Random, v: np.ndarray, piece: tuple) -> np.ndarray:
    """A random point of a piece (offset from the hazard centre)."""
    s_in, s_out, a, b = piece
    n = len(v)
    e = (a + rnd.randrange(b - a)) % n if b - a < n else rnd.randrange(n)
    p = v[e] + rnd.random() * (v[(e + 1) % n] - v[e])
    return p * math.sqrt(rnd.uniform(s_in**2, s_out**2))


class _Gen:
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

    def organisations(self) -> None:
        self.org_ids = self.ids("ORG", len(ORGANISATIONS), 3)
        for oid, (name, _, kind, country, _, _) in zip(self.org_ids, ORGANISATIONS, strict=True):
            self.add("organisation", oid, {"name": name, "kind": kind, "country": country})

    def teams(self) -> None:
        rng, rnd = self.rng(2), self.rnd(2)
        sappers, builders = max(1, round(1000 * self.scale)), round(5000 * self.scale)
        count = dict.fromkeys(TEAM_KINDS, 0)
        if sappers >= 50:
            for kind in ("survey", "mechanical", "dog", "eod"):
                share, sizes, _ = TEAM_KINDS[kind]
                count[kind] = max(1, round(sappers * share / np.mean(sizes)))
        elif sappers >= 2:
            count["survey"] = 1
        rest = sappers - sum(n * np.mean(TEAM_KINDS[k][1]) for k, n in count.items())
        count["manual"] = max(1, round(rest / 8)) if sappers else 0
        count["construction"] = max(1, round(builders / 50)) if builders else 0
        plan: list[tuple[int, str]] = []  # (organisation, kind), in id order
        for kind, n in count.items():
            col = 5 if kind == "construction" else None
            w = [o[col] if col else o[4].get(kind, 0) for o in ORGANISATIONS]
            plan += [(o, kind) for o, k in enumerate(_alloc(n, w)) for _ in range(k)]
        plan.sort(key=lambda p: (p[0], list(TEAM_KINDS).index(p[1])))
        kinds = [k for _, k in plan]
        sizes = [rnd.choice(TEAM_KINDS[k][1]) for k in kinds]
        sapper_kinds = ("manual", "survey", "eod", "mechanical")
        for group, total, passes in (
            (set(TEAM_KINDS) - {"construction"}, sappers, [({"manual"}, 5, 11), (set(sapper_kinds), 1, 10**6)]),
            ({"construction"}, builders, [({"construction"}, 30, 70), ({"construction"}, 1, 10**6)]),
        ):  # fmt: skip
            idx = [i for i, k in enumerate(kinds) if k in group]
            part = [sizes[i] for i in idx]
            _fix_total(part, [kinds[i] for i in idx], total, passes)
            for i, v in zip(idx, part, strict=True):
                sizes[i] = v
        reg = self.region
        w = np.sqrt(reg.settle_pop) * self.front_w
        bases = rng.choice(len(reg.settle_xy), len(plan), p=w / w.sum())
        self.t_ids = self.ids("TM", len(plan), 4)
        self.t_org = np.array([o for o, _ in plan], dtype=np.int64)
        self.t_kind, self.t_pers = kinds, np.array(sizes, dtype=np.int64)
        self.t_avail = np.zeros(len(plan), dtype=np.int64)
        self.t_prod: list[float | None] = []
        seen: dict[tuple[int, str], int] = {}
        for i, (o, kind) in enumerate(plan):
            seen[o, kind] = n = seen.get((o, kind), 0) + 1
            u = rnd.random()
            if n == 1 or u < 0.75:  # deployed from the start
                day = rnd.randint(305, 365)
            elif u < 0.95:  # arrived over time
                day = rnd.randint(425, TODAY - 30)
            else:  # pledged, arriving after the reporting date
                day = rnd.randint(TODAY + 5, TODAY + 130)
            self.t_avail[i] = day
            # productivity_m2, in Team's units: m² per person per working day (6 h) and,
            # for a mechanical (flail) team, m² per machine-hour.
            prod = {
                "manual": rnd.uniform(10, 50),  # per deminer per day (HALO; SFOR Informer 113)
                "dog": rnd.uniform(800, 900) / 3,  # the team's 800-900 m²/day, per handler
                "mechanical": rnd.uniform(1_000, 1_500),  # flail, per machine-hour (JMA 20.2)
                "survey": rnd.uniform(10_000, 25_000),  # NTS, per surveyor per day (assumed)
            }.get(kind)
            self.t_prod.append(None if prod is None else round(prod, 1))
            props: dict[str, Any] = {
                "organisation": self.org_ids[o],
                "kind": kind,
                "personnel": sizes[i],
                "name": f"{ORGANISATIONS[o][1]} {TEAM_KINDS[kind][2]} {n}",
                "available_from": _ISO[day],
            }
            if prod is not None:
                props["productivity_m2"] = self.t_prod[-1]
            r, a = 0.5 * reg.settle_radius[bases[i]] * rnd.random(), rnd.uniform(0, 2 * math.pi)
            base = reg.settle_xy[bases[i]] + r * np.array([math.cos(a), math.sin(a)])
            self.add("team", self.t_ids[i], props, self.point(base))  # a compound in town
        self.t_base = bases
        order = np.argsort(self.t_avail, kind="stable")  # team indices by arrival
        kind_of, org_of = np.array(kinds)[order], self.t_org[order]
        self.by_kind = {k: order[kind_of == k] for k in TEAM_KINDS if k in kinds}
        self.by_org_kind = {(o, k): order[(kind_of == k) & (org_of == o)] for o, k in sorted(set(plan))}  # fmt: skip

    def team_for(self, rnd: random.Random, kinds: tuple, day: int, org: int | None) -> int:
        """A team of one of ``kinds`` (weighted) on the ground by ``day``, of ``org`` if it can."""
        kinds = tuple((k, w) for k, w in kinds if k in self.by_kind) or (("manual", 1.0),)
        kind = rnd.choices([k for k, _ in kinds], [w for _, w in kinds])[0]
        pools = [self.by_org_kind.get((org, kind))] if org is not None else []
        pools += [self.by_kind.get(kind)]
        pools += [v for k, v in self.by_kind.items() if k != "construction"]
        for pool in pools:
            if pool is not None and len(pool):
                m = int(np.searchsorted(self.t_avail[pool], day, side="right"))
                if m:
                    return int(pool[rnd.randrange(m)])
        return int(pools[-1][0])

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
            props["recorded_on"] = _ISO[self.h_day[h]]
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

    def activities(self) -> None:
        """About 3 per hazard (exactly round(15000 * scale)): NTS cancels an outer band, TS
        reduces the next, clearance clears the core sector by sector, in IMAS order."""
        rng, rnd = self.rng(4), self.rnd(4)
        total, n = round(15_000 * self.scale), len(self.h_ids)
        nv = np.array([len(v) for v in self.h_v])
        cap = 2 + nv // 2
        count = np.zeros(n, dtype=np.int64)
        eligible = np.flatnonzero(self.h_day <= TODAY - 66)
        if total and len(eligible):
            worked = eligible[rng.uniform(size=len(eligible)) < 0.8]
            worked = worked if len(worked) else eligible
            if total < len(worked):
                worked = np.sort(rng.choice(worked, total, replace=False))
            count[worked] = 1
            p = (TODAY - np.maximum(self.h_day[worked], Y2025)) ** 0.7
            p *= 1 + np.log1p(self.h_area[worked] / 1e4)
            count[worked] += rng.multinomial(total - len(worked), p / p.sum())
            spare = int(np.maximum(count - cap, 0).sum())
            count = np.minimum(count, cap)
            while spare:
                room = worked[count[worked] < cap[worked]]
                if not len(room):
                    cap += 1
                    continue
                pick = rng.choice(room, min(spare, len(room)), replace=False)
                count[pick] += 1
                spare -= len(pick)
        rows: list[tuple] = []  # hazard, kind, piece, team, start, end, status
        for h in np.flatnonzero(count):
            k, cha, nh = int(count[h]), bool(self.h_cha[h]), int(nv[h])
            if k == 1 and not cha and rnd.random() < 0.4:
                plan = [("nts", (0.0, 1.0, 0, nh))]
            else:
                s1 = rnd.uniform(0.75, 0.95) if cha else rnd.uniform(0.45, 0.85)
                plan = [("nts", (s1, 1.0, 0, nh))]
                s2 = s1 if k >= 2 and cha and rnd.random() < 0.3 else s1 * rnd.uniform(0.62, 0.9)
                if k >= 2 and s2 < s1:
                    plan.append(("ts", (s2, s1, 0, nh)))
                m = k - len(plan)
                if m:
                    a0, cuts = rnd.randrange(nh), sorted(rnd.sample(range(1, nh), min(m, nh) - 1))
                    bounds = [0, *cuts, nh]
                    if rnd.random() < 0.4:  # clearance still under way
                        bounds[-1] = rnd.randint(bounds[-2] + 1, nh)
                    plan += [("clearance", (0.0, s2, a0 + bounds[j], a0 + bounds[j + 1])) for j in range(min(m, nh))]  # fmt: skip
                    plan += [("clearance", (0.0, s2 * 0.7, a0, a0 + 1))] * (m - min(m, nh))
            covered = plan[0][1][0] == 0.0 or (plan[-1][0] == "clearance" and bounds[-1] == nh)
            for j in range(1, len(plan)):  # ~10% overlap an earlier piece of the hazard
                kind, (s_in, s_out, a, b) = plan[j]
                if rnd.random() < 0.12:
                    plan[j] = (kind, (s_in, min(0.98, s_out + rnd.uniform(0.04, 0.1)), a, b))
            for j in range(len(plan)):  # ~1% reach outside it
                if rnd.random() < 0.01:
                    kind, (s_in, _, a, b) = plan[j]
                    plan[j] = (kind, (s_in, rnd.uniform(1.05, 1.25), a, b))
            area, rate = self.h_area[h], {"nts": 40_000, "ts": 4_000, "clearance": 1_500}  # m²/day
            dur = [
                min(
                    90.0, 1 + area * (p[1] ** 2 - p[0] ** 2) * min(1, (p[3] - p[2]) / nh) / rate[kd]
                )
                * rnd.uniform(0.7, 1.3)
                for kd, p in plan
            ]
            gaps = [rnd.uniform(2, 30) for _ in plan]
            start = min(max(int(self.h_day[h]), Y2025) + rnd.randint(5, 60), TODAY - 3 * k - 1)
            f = min(1.0, (TODAY - start - 2 * k) / (sum(dur) + sum(gaps)))
            t, org, prev_end, all_ok = float(start), None, start - 1, True
            for (kind, piece), du, gap in zip(plan, dur, gaps, strict=True):
                s = max(int(t), prev_end + 1)
                e = max(s, int(t + du * f))
                t += (du + gap) * f
                prev_end = e
                team = self.team_for(rnd, DOERS[kind], s, org)
                org = int(self.t_org[team]) if org is None else org
                u = rnd.random()
                if e > TODAY - 21:
                    status = "submitted" if u < 0.55 else "draft" if u < 0.65 else "approved"
                else:
                    status = "approved" if u < 0.965 else "submitted" if u < 0.98 else "rejected" if u < 0.993 else "draft"  # fmt: skip
                all_ok &= status == "approved"
                rows.append((int(h), kind, piece, team, s, e, status))
            self.h_done[h] = covered and all_ok
        ids = self.ids("ACT", len(rows), 6)
        rings = [[self.h_xy[r[0]] + g for g in _piece_rings(self.h_v[r[0]], *r[2])] for r in rows]
        flat = (
            self.region.positions(np.concatenate([g for rs in rings for g in rs])) if rows else []
        )
        at = 0
        for rid, (h, kind, _, team, s, e, status), rs in zip(ids, rows, rings, strict=True):
            coords = []
            for g in rs:
                coords.append(flat[at : at + len(g)])
                at += len(g)
            props: dict[str, Any] = {
                "hazard_id": self.h_ids[h],
                "kind": kind,
                "organisation": self.org_ids[self.t_org[team]],
                "team": self.t_ids[team],
                "start_date": _ISO[s],
                "end_date": _ISO[e],
                "status": status,
            }
            if kind != "nts":
                at_mines = "at_mine" in self.h_cont[h] and kind == "clearance"
                props["depth_cm"] = 50.0 if at_mines else float(rnd.choice((13, 20, 20, 30)))
            if status == "rejected":
                props["rejection_reason"] = rnd.choice(REJECTIONS)
            self.add("activity", rid, props, {"type": "Polygon", "coordinates": coords})
        self.acts = rows

    def asset_sites(self) -> None:
        """Where the damaged infrastructure is (most of it near the front line), what it is
        called and whom it serves; placed before the hazards, some of which block it."""
        rng, rnd, reg = self.rng(5), self.rnd(5), self.region
        n = round(1000 * self.scale)
        mix = dict(zip(ASSET_MIX, _alloc(n, list(ASSET_MIX.values())), strict=True))
        mix["road_segment"] += max(0, mix["bridge"] - len(reg.bridges))
        mix["bridge"] = min(mix["bridge"], len(reg.bridges))
        pop, sxy = reg.settle_pop.astype(float), reg.settle_xy
        near = np.exp(-reg.settle_front_m / 20_000) + 0.05
        out: list[tuple] = []  # kind, geometry (metres), name, population served, work per unit
        counter: dict[tuple[str, int], int] = {}
        for kind in ASSET_MIX:
            if kind in SITE_POP:
                ok = pop >= SITE_POP[kind][0]
                if kind == "substation":
                    ok = np.isin(np.arange(len(pop)), reg.substations)
                ok = ok if ok.any() else np.ones(len(pop), dtype=bool)
                w = np.where(ok, pop ** SITE_POP[kind][1] * near, 0.0)
                for s in rng.choice(len(pop), mix[kind], p=w / w.sum()):
                    counter[kind, s] = k = counter.get((kind, s), 0) + 1
                    r, a = (
                        reg.settle_radius[s] * math.sqrt(rnd.random()),
                        rnd.uniform(0, 2 * math.pi),
                    )
                    c = sxy[s] + r * np.array([math.cos(a), math.sin(a)])
                    geom = shapely.Point(c)
                    if kind == "housing" and rnd.random() < 0.5:
                        w2, l2 = rnd.uniform(6, 15), rnd.uniform(15, 45)
                        geom = shapely.affinity.rotate(shapely.box(-l2, -w2, l2, w2), rnd.uniform(0, 180), origin=(0, 0))  # fmt: skip
                        geom = shapely.affinity.translate(geom, *c)
                    d = np.hypot(*(sxy - c).T)
                    served = {
                        "housing": min(pop[s], math.exp(rnd.gauss(math.log(80), 0.8))),
                        "school": min(pop[s] * rnd.uniform(0.3, 1.0), 8_000 * rnd.uniform(0.5, 1)),
                        "hospital": pop[s] + 0.5 * pop[(d < 25_000) & (d > 0)].sum(),
                        "water_plant": pop[s] + 0.5 * pop[(d < 8_000) & (d > 0)].sum(),
                        "substation": pop[d < 15_000].sum(),
                    }[kind]
                    label = SITE_NAME[kind].format(reg.settle_names[s], k)
                    if k == 1 and kind != "housing":
                        label = label.removesuffix(" 1").removesuffix(" No.")
                    out.append((kind, geom, label, served, 1.0))
            elif kind == "bridge":
                bxy = np.array([(x, y) for x, y, _, _ in reg.bridges]).reshape(-1, 2)
                w = np.exp(-reg.front_distance(bxy) / 20_000) + 0.05
                for b in rng.choice(len(bxy), mix[kind], replace=False, p=w / w.sum()):
                    x, y, road, river = reg.bridges[b]
                    served = pop[reg.road_ends[road]].sum()
                    label = f"Bridge over the {reg.rivers[river][0]} on the {reg.road_name(road)}"
                    out.append((kind, shapely.Point(x, y), label, served, 1.0))
            else:
                lines = reg.road_lines if kind == "road_segment" else reg.power_lines
                ends = reg.road_ends if kind == "road_segment" else reg.power_ends
                mid = np.array([ln.interpolate(0.5, normalized=True).coords[0] for ln in lines])
                w = np.exp(-reg.front_distance(mid) / 20_000) + 0.05
                if kind == "road_segment":
                    w *= np.where(np.array(reg.road_class) == "primary", 3.0, 1.0)
                for i in rng.choice(len(lines), mix[kind], p=w / w.sum()):
                    line = lines[i]
                    span = line.length * rnd.uniform(0.3, 0.95)  # a stretch, never all of it twice
                    span = min(span, rnd.uniform(1_000, 8_000 if kind == "road_segment" else 15_000))  # fmt: skip
                    d0 = rnd.uniform(0, line.length - span)
                    geom = shapely.ops.substring(line, d0, d0 + span)
                    base = reg.road_name(i) if kind == "road_segment" else reg.power_name(i)
                    label = f"{base}, km {d0 / 1000:.1f}-{(d0 + span) / 1000:.1f}"
                    out.append((kind, geom, label, pop[ends[i]].sum() * rnd.uniform(0.3, 1), span / 1000))  # fmt: skip
        geoms = np.array([o[1] for o in out], dtype=object)
        rep = (
            shapely.get_coordinates(shapely.point_on_surface(geoms))
            if len(out)
            else np.empty((0, 2))
        )
        self.as_out, self.as_geoms, self.as_rep = out, geoms, rep

    def assets(self) -> None:
        """Damage, condition and whether an unreleased hazard blocks each asset."""
        rng, rnd, reg = self.rng(11), self.rnd(11), self.region
        out, geoms, rep = self.as_out, self.as_geoms, self.as_rep
        front = reg.front_distance(rep)
        severity = rng.uniform(size=len(out)) ** (1 / (1 + np.exp(-front / 15_000)))
        damage = np.searchsorted([0.25, 0.6, 0.85], severity)
        day = rng.integers(60, TODAY - 50, len(out))
        order = np.argsort(day, kind="stable")
        flat = np.concatenate([v + c for v, c in zip(self.h_v, self.h_xy, strict=True)])
        rings = np.repeat(np.arange(len(self.h_v)), [len(v) for v in self.h_v])
        hz = shapely.STRtree(shapely.polygons(shapely.linearrings(flat, indices=rings)))
        buf = shapely.buffer(geoms, [ACCESS_BUFFER_M[o[0]] for o in out])
        left, right = hz.query(buf, predicate="intersects")
        blocked = np.zeros(len(out), dtype=bool)
        blocked[left[~self.h_done[right]]] = True
        district = reg.district_of(rep)
        self.as_ids = self.ids("AS", len(out), 4)
        self.as_rows: list[dict[str, Any]] = []
        for rid, i in zip(self.as_ids, order, strict=True):
            kind, geom, label, served, units = out[i]
            lo, hi = WORK[kind]
            q = rnd.uniform(*DAMAGE_Q[damage[i]])
            props = {
                "name": label,
                "kind": kind,
                "damage": DAMAGE[damage[i]],
                "district": reg.district_names[district[i]],
                "assessed_on": _ISO[day[i]],
                "population_served": max(1, round(served)),
                "work_worker_days": float(round(units * lo * (hi / lo) ** q)),
                "condition": "damaged",
            }
            self.as_rows.append({"id": rid, "props": props, "geom": reg.geojson(geom), "blocked": bool(blocked[i]), "day": int(day[i])})  # fmt: skip

    def projects(self) -> None:
        """Reconstruction of ~30% of the assets: a third completed (restored), a third under
        way, a third planned; work starts only on assets no hazard blocks."""
        rnd = self.rnd(6)
        brigades = [i for i, k in enumerate(self.t_kind) if k == "construction"]
        rows, n = self.as_rows, len(self.as_rows)
        free = [i for i in range(n) if not rows[i]["blocked"]]
        rnd.shuffle(free)
        done, doing = free[: round(0.1 * n)], free[round(0.1 * n) : round(0.2 * n)]
        rest = sorted(set(range(n)) - set(done) - set(doing))
        planned = set(rnd.sample(rest, min(len(rest), round(0.3 * n) - len(done) - len(doing))))
        status = {**dict.fromkeys(done, "completed"), **dict.fromkeys(doing, "in_progress")}
        status.update(dict.fromkeys(planned, "planned"))
        self.p_ids = self.ids("PRJ", len(status) if brigades else 0, 4)
        self.p_team: dict[int, tuple[int, int, str]] = {}  # brigade -> (start, project, status)
        out = []
        for i in sorted(status) if brigades else []:
            row, st = rows[i], status[i]
            props = row["props"]
            idle = [b for b in brigades if b not in self.p_team] if st == "in_progress" else []
            team = rnd.choice(idle or brigades)
            work = props["work_worker_days"]
            dur = max(1, math.ceil(work / self.t_pers[team] * rnd.uniform(1.0, 1.3)))
            lo = max(row["day"] + 14, int(self.t_avail[team]))
            p: dict[str, Any] = {}
            if st == "completed" and lo + dur < TODAY - 12:
                s = rnd.randint(lo, TODAY - 12 - dur)
                e = s + dur
                props.update(condition="restored", assessed_on=_ISO[e + rnd.randint(1, 10)])
                p = {"updated_on": _ISO[e], "start_date": _ISO[s], "end_date": _ISO[e]}
            elif st != "planned" and lo < TODAY - 5:
                st = "suspended" if rnd.random() < 0.1 else "in_progress"
                a = max(lo, TODAY - dur + 2)
                s = rnd.randint(a, TODAY - 5) if a <= TODAY - 5 else rnd.randint(lo, TODAY - 5)
                props.update(condition="under_reconstruction", assessed_on=_ISO[min(TODAY, s + rnd.randint(1, 14))])  # fmt: skip
                p = {"updated_on": _ISO[rnd.randint(s, TODAY)], "start_date": _ISO[s], "end_date": _ISO[s + dur]}  # fmt: skip
                if self.p_team.get(team, (-1,))[0] < s:
                    self.p_team[team] = (s, len(out), st)
            else:
                st = "planned"
                p = {"updated_on": _ISO[min(TODAY, row["day"] + rnd.randint(10, 120))]}
                if rnd.random() < 0.5:
                    p["start_date"] = _ISO[TODAY + rnd.randint(10, 200)]
                if rnd.random() < 0.6:
                    team = -1
            org = int(self.t_org[team]) if team >= 0 else int(self.t_org[rnd.choice(brigades)])
            p = {"asset_id": row["id"], "organisation": self.org_ids[org], **p, "status": st}
            if team >= 0:
                p["team"] = self.t_ids[team]
            p["work_worker_days"] = work
            out.append(p)
        for row in rows:
            self.add("asset", row["id"], row["props"], row["geom"])
        for pid, p in zip(self.p_ids, out, strict=True):
            self.add("project", pid, p)

    def finds(self) -> None:
        """EO found by technical survey and clearance (approved ones), on CHAs mostly."""
        rng, rnd = self.rng(7), self.rnd(7)
        n = round(2000 * self.scale)
        rows = self.acts
        pool = [j for j, r in enumerate(rows) if r[1] != "nts" and r[6] == "approved"] or list(range(len(rows)))  # fmt: skip
        if not n or not pool:
            return
        w = np.array([(6.0 if self.h_cha[rows[j][0]] else 1.0) * (1 + math.log1p(self.h_area[rows[j][0]] / 1e4)) for j in pool])  # fmt: skip
        pick = rng.choice(pool, n, p=w / w.sum())
        out = []
        for j in pick:
            h, _, piece, team, s, e, _ = rows[j]
            xy = self.h_xy[h] + _point_in(rnd, self.h_v[h], piece) * (1 + 0.15 * (rnd.random() < 0.05))  # fmt: skip
            cat = rnd.choice(self.h_cont[h])
            qty = {"ap_mine": rnd.choice((1, 1, 1, 2, 3)), "cluster_munition": rnd.randint(1, 12), "abandoned_ordnance": rnd.randint(5, 200)}.get(cat, rnd.choice((1, 1, 2)))  # fmt: skip
            day = rnd.randint(s, e)
            st = "approved" if day < TODAY - 10 and rnd.random() < 0.95 else "submitted"
            disposal = rnd.choices(DISPOSAL, (0.6, 0.25, 0.05, 0.03, 0.07))[0]
            out.append((day, xy, h, team, cat, qty, st, disposal))
        out.sort(key=lambda r: r[0])
        for fid, (day, xy, h, team, cat, qty, st, disposal) in zip(
            self.ids("EO", n, 5), out, strict=True
        ):
            props = {
                "organisation": self.org_ids[self.t_org[team]],
                "found_on": _ISO[day],
                "category": cat,
                "ordnance_type": rnd.choice(ORDNANCE[cat]),
                "quantity": qty,
                "disposal": disposal,
                "hazard_id": self.h_ids[h],
                "team": self.t_ids[team],
                "status": st,
            }
            self.add("find", fid, props, self.point(xy))

    def accidents(self) -> None:
        """EO accidents in and near hazards, with the people harmed (names are synthetic)."""
        rng, rnd, reg = self.rng(8), self.rnd(8), self.region
        n = round(60 * self.scale)
        w = np.exp(-self.h_front / 10_000) * np.where(self.h_cha, 2.0, 1.0)
        rows = []
        for h in rng.choice(len(self.h_ids), n, p=w / w.sum()):
            inside = rnd.random() < 0.7
            piece = (0.0, 1.0, 0, 99) if inside else (1.1, 1.5, 0, 99)  # just outside it
            xy = self.h_xy[h] + _point_in(rnd, self.h_v[h], piece)
            rows.append((rnd.randint(30, TODAY - 5), int(h), xy, inside))
        rows.sort(key=lambda r: r[0])
        pts = np.array([r[2] for r in rows]).reshape(-1, 2)
        district = reg.district_of(pts) if rows else []
        deminers = [i for i, k in enumerate(self.t_kind) if k != "construction"]
        for aid, (day, h, xy, inside), d in zip(self.ids("ACC", n, 4), rows, district, strict=True):
            what = rnd.choices(ACCIDENT_ACTIVITY, (0.12, 0.3, 0.14, 0.08, 0.1, 0.06, 0.08, 0.06, 0.06))[0]  # fmt: skip
            cat = rnd.choice(self.h_cont[h])
            people = []
            for _ in range(rnd.choices((1, 2, 3, 4), (0.72, 0.18, 0.07, 0.03))[0]):
                child = what != "demining" and rnd.random() < (0.9 if what == "playing" else 0.25 if what in ("herding", "collecting") else 0.08)  # fmt: skip
                sex = "male" if rnd.random() < (0.85 if what == "demining" else 0.75) else "female"
                killed = rnd.random() < (0.5 if cat == "at_mine" else 0.3)
                name = f"{rnd.choice(FIRST[sex])} {rnd.choice(SURNAME_A)}{rnd.choice(SURNAME_B[sex])}"  # fmt: skip
                people.append({"sex": sex, "age_group": "child" if child else "adult", "outcome": "killed" if killed else "injured", "role": "deminer" if what == "demining" else "civilian", "name": name})  # fmt: skip
            props: dict[str, Any] = {
                "occurred_on": _ISO[day],
                "district": reg.district_names[d],
                "device_category": cat,
                "activity_at_time": what,
                "device_type": rnd.choice(ORDNANCE[cat]),
            }
            if what == "demining" and deminers:
                props["organisation"] = self.org_ids[self.t_org[rnd.choice(deminers)]]
            elif rnd.random() < 0.5:
                props["organisation"] = self.org_ids[0]
            if inside:
                props["hazard_id"] = self.h_ids[h]
            props["casualties"] = people
            props["status"] = (
                "approved" if rnd.random() < 0.85 and day < TODAY - 14 else "submitted"
            )
            self.add("accident", aid, props, self.point(xy))

    def daily_reports(self) -> None:
        """One report per team per working day (Monday to Saturday) in the last weeks."""
        rng, rnd = self.rng(9), self.rnd(9)
        n, nt = round(2000 * self.scale), len(self.t_ids)
        work = {h: [] for h in range(nt)}  # team -> [(start, hazard)]
        for h, _, _, team, s, _, _ in self.acts:
            work[team].append((s, h))
        for jobs in work.values():
            jobs.sort()
        base_xy = self.region.settle_xy[self.t_base]
        nearest = shapely.STRtree(shapely.points(self.h_xy)).query_nearest(shapely.points(base_xy), all_matches=False)[1]  # fmt: skip
        start = {t: s for t, (s, _, st) in self.p_team.items() if st == "in_progress"}
        avail = np.array([start.get(t, -1) if k == "construction" else self.t_avail[t] for t, k in enumerate(self.t_kind)])  # fmt: skip
        for weeks in range(7, 200, 7):
            days = np.array([d for d in range(TODAY - 7 * weeks, TODAY + 1) if (EPOCH + timedelta(days=d)).weekday() < 6])  # fmt: skip
            ok = (avail[:, None] >= 0) & (avail[:, None] <= days[None, :])
            if ok.sum() >= n or weeks > 150:
                break
        slots = np.flatnonzero(ok.ravel())
        slots = (
            np.sort(rng.choice(slots, min(n, len(slots)), replace=False)) if len(slots) else slots
        )
        rows = sorted((int(days[s % len(days)]), int(s // len(days))) for s in slots)
        for rid, (day, t) in zip(self.ids("DR", len(rows), 5), rows, strict=True):
            kind, pers = self.t_kind[t], int(self.t_pers[t])
            present = max(1, pers - sum(rnd.random() < 0.08 for _ in range(pers)))
            props: dict[str, Any] = {"team": self.t_ids[t], "report_date": _ISO[day], "people_present": present}  # fmt: skip
            if kind == "construction":
                props["project_id"] = self.p_ids[self.p_team[t][1]]
            else:
                mine = [h for s, h in work[t] if s <= day]
                props["hazard_id"] = self.h_ids[mine[-1] if mine else int(nearest[t])]
                prod = self.t_prod[t] or 0.0
                area = {"manual": present * prod, "dog": 3 * prod, "mechanical": prod * rnd.uniform(3, 6), "survey": present * prod * 0.5}.get(kind, 0.0)  # fmt: skip
                props["area_worked_m2"] = round(area * rnd.uniform(0.6, 1.1), 1)
                props["finds"] = rnd.choices((0, 1, 2, 3), (0.75, 0.15, 0.07, 0.03))[0] if kind != "survey" else 0  # fmt: skip
            props["worker_days"] = float(present)
            if rnd.random() < 0.04:
                props["incidents"] = rnd.choice(INCIDENTS)
            props["status"] = "submitted" if day > TODAY - 3 or rnd.random() < 0.08 else "approved"
            self.add("daily_report", rid, props)

    def pledges(self) -> None:
        """One pledge per organisation and team kind, covering the teams it sent (some still
        to arrive), and top-ups not yet met."""
        rnd = self.rnd(10)
        pairs: dict[tuple[int, str], list[int]] = {}
        for t, k in enumerate(self.t_kind):
            pairs.setdefault((int(self.t_org[t]), k), []).append(t)
        rows = []
        for (o, kind), teams in sorted(pairs.items(), key=lambda p: (p[0][0], list(TEAM_KINDS).index(p[0][1]))):  # fmt: skip
            pers = int(self.t_pers[teams].sum())
            first = int(self.t_avail[teams].min())
            rows.append((o, kind, pers, len(teams), int(self.t_avail[teams].max()) + rnd.randint(0, 45), max(0, first - rnd.randint(30, 180))))  # fmt: skip
            if rnd.random() < 0.15:  # more promised than is on the ground
                more = max(1, round(pers * rnd.uniform(0.1, 0.4)))
                size = int(np.mean(TEAM_KINDS[kind][1]))
                rows.append((o, kind, more, max(1, round(more / size)), TODAY + rnd.randint(30, 220), TODAY - rnd.randint(20, 200)))  # fmt: skip
        for pid, (o, kind, pers, nteams, by, on) in zip(
            self.ids("PL", len(rows), 3), rows, strict=True
        ):
            props = {"organisation": self.org_ids[o], "team_kind": kind, "personnel": pers, "by_date": _ISO[by], "pledged_on": _ISO[on], "teams": nteams}  # fmt: skip
            self.add("pledge", pid, props)

"""Damaged infrastructure and its reconstruction: where the assets are (most of them near
the former front line), their damage, whether a hazard blocks them, and the projects
rebuilding them."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import shapely
import shapely.affinity
import shapely.ops

from clearfield.domain.records import ACCESS_BUFFER_M
from clearfield.scenario.programme import ISO, TODAY, Programme, alloc

__all__ = ["Assets"]


ASSET_MIX = {"housing": 0.45, "school": 0.15, "road_segment": 0.14, "power_line": 0.07, "bridge": 0.05, "hospital": 0.05, "substation": 0.045, "water_plant": 0.045}  # fmt: skip
SITE_POP = {"housing": (0, 0.6), "school": (300, 0.7), "hospital": (3_000, 0.8), "water_plant": (2_000, 0.8), "substation": (0, 0.0)}  # fmt: skip
SITE_NAME = {"housing": "{} residential block {}", "school": "{} school No. {}", "hospital": "{} hospital No. {}", "water_plant": "{} water treatment plant {}", "substation": "{} 110/10 kV substation {}"}  # fmt: skip
# worker-days to rebuild when destroyed-ish (per km for roads and power lines): low, high
WORK = {"housing": (50, 500), "school": (300, 3_000), "hospital": (1_500, 12_000), "bridge": (1_000, 20_000), "substation": (400, 4_000), "water_plant": (800, 8_000), "road_segment": (150, 1_500), "power_line": (30, 300)}  # fmt: skip
DAMAGE = ("light", "moderate", "severe", "destroyed")
DAMAGE_Q = ((0.0, 0.35), (0.2, 0.6), (0.45, 0.85), (0.7, 1.0))  # where in WORK's range, log scale


class Assets(Programme):
    """The ``asset_sites`` stage (before the hazards, some of which block an asset), then
    ``assets`` (after the activities, which decide what is still blocked) and
    ``projects``."""

    def asset_sites(self) -> None:
        """Where the damaged infrastructure is (most of it near the front line), what it is
        called and whom it serves; placed before the hazards, some of which block it."""
        rng, rnd, reg = self.rng(5), self.rnd(5), self.region
        n = round(1000 * self.scale)
        mix = dict(zip(ASSET_MIX, alloc(n, list(ASSET_MIX.values())), strict=True))
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
                "assessed_on": ISO[day[i]],
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
                props.update(condition="restored", assessed_on=ISO[e + rnd.randint(1, 10)])
                p = {"updated_on": ISO[e], "start_date": ISO[s], "end_date": ISO[e]}
            elif st != "planned" and lo < TODAY - 5:
                st = "suspended" if rnd.random() < 0.1 else "in_progress"
                a = max(lo, TODAY - dur + 2)
                s = rnd.randint(a, TODAY - 5) if a <= TODAY - 5 else rnd.randint(lo, TODAY - 5)
                props.update(condition="under_reconstruction", assessed_on=ISO[min(TODAY, s + rnd.randint(1, 14))])  # fmt: skip
                p = {"updated_on": ISO[rnd.randint(s, TODAY)], "start_date": ISO[s], "end_date": ISO[s + dur]}  # fmt: skip
                if self.p_team.get(team, (-1,))[0] < s:
                    self.p_team[team] = (s, len(out), st)
            else:
                st = "planned"
                p = {"updated_on": ISO[min(TODAY, row["day"] + rnd.randint(10, 120))]}
                if rnd.random() < 0.5:
                    p["start_date"] = ISO[TODAY + rnd.randint(10, 200)]
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

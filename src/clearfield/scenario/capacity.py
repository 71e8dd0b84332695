"""Who does the work: the organisations, their teams (kind, size, base, arrival and
productivity) and the personnel they pledged."""

from __future__ import annotations

import math
import random
from typing import Any

import numpy as np

from clearfield.scenario.programme import ISO, TODAY, Programme, alloc

__all__ = ["ORGANISATIONS", "TEAM_KINDS", "Capacity"]


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


class Capacity(Programme):
    """The ``organisations`` (``org_ids``), ``teams`` (the ``t_*`` arrays, one entry per
    team, and ``by_kind``/``by_org_kind`` for ``team_for``) and ``pledges`` stages."""

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
            plan += [(o, kind) for o, k in enumerate(alloc(n, w)) for _ in range(k)]
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
                "available_from": ISO[day],
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
            props = {"organisation": self.org_ids[o], "team_kind": kind, "personnel": pers, "by_date": ISO[by], "pledged_on": ISO[on], "teams": nteams}  # fmt: skip
            self.add("pledge", pid, props)

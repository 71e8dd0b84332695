"""What comes back from the field: explosive ordnance found, accidents and the people they
harmed, and the teams' daily reports."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import numpy as np
import shapely

from clearfield.scenario.hazards import point_in
from clearfield.scenario.programme import EPOCH, ISO, TODAY, Programme

__all__ = ["FieldReturns"]


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


class FieldReturns(Programme):
    """The ``finds``, ``accidents`` and ``daily_reports`` stages, which draw on the teams,
    hazards, activities and projects."""

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
            xy = self.h_xy[h] + point_in(rnd, self.h_v[h], piece) * (1 + 0.15 * (rnd.random() < 0.05))  # fmt: skip
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
                "found_on": ISO[day],
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
            xy = self.h_xy[h] + point_in(rnd, self.h_v[h], piece)
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
                "occurred_on": ISO[day],
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
            props: dict[str, Any] = {"team": self.t_ids[t], "report_date": ISO[day], "people_present": present}  # fmt: skip
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

"""Land release: the non-technical survey, technical survey and clearance activities on
each hazard, each a piece of it (see ``hazards``), done by a team of a fitting kind."""

from __future__ import annotations

from typing import Any

import numpy as np

from clearfield.scenario.hazards import piece_rings
from clearfield.scenario.programme import ISO, TODAY, Y2025, Programme

__all__ = ["Releases"]


# activity kind: team kinds that do it, with weights
DOERS = {
    "nts": (("survey", 1.0),),
    "ts": (("survey", 0.4), ("manual", 0.35), ("mechanical", 0.15), ("dog", 0.1)),
    "clearance": (("manual", 0.8), ("dog", 0.2)),  # a machine never clears alone (IMAS 09.10)
}
REJECTIONS = ("polygon does not match the marked area on the ground", "missing QA sign-off", "area worked exceeds the daily reports", "dates inconsistent with the daily reports")  # fmt: skip


class Releases(Programme):
    """The ``activities`` stage: ``acts`` (hazard, kind, piece, team, start, end, status)
    and ``h_done``, whether approved activities released all of a hazard."""

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
        rings = [[self.h_xy[r[0]] + g for g in piece_rings(self.h_v[r[0]], *r[2])] for r in rows]
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
                "start_date": ISO[s],
                "end_date": ISO[e],
                "status": status,
            }
            if kind != "nts":
                at_mines = "at_mine" in self.h_cont[h] and kind == "clearance"
                props["depth_cm"] = 50.0 if at_mines else float(rnd.choice((13, 20, 20, 30)))
            if status == "rejected":
                props["rejection_reason"] = rnd.choice(REJECTIONS)
            self.add("activity", rid, props, {"type": "Polygon", "coordinates": coords})
        self.acts = rows

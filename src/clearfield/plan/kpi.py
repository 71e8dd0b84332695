"""What a plan achieves, week by week: the figures operations officers and donors follow.

Area released, assets restored, people whose services are back, and how busy sappers
and builders are; for a plan and for today's practice side by side; and each team's
Gantt chart as data the dashboard and the reports draw.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from clearfield.plan.problem import Assignment, Problem, travel_days

__all__ = ["Kpis", "compare", "gantt", "kpis"]

WEEK = 7.0


@dataclass(slots=True)
class Kpis:
    weeks: int
    released_m2: list[float]  # per week
    assets_restored: list[int]  # per week
    population_restored: list[float]  # cumulative, at the end of each week
    sapper_utilisation: list[float]  # busy personnel-days ÷ available personnel-days
    builder_utilisation: list[float]
    benefit: float
    tasks_done: int

    def totals(self) -> dict[str, float]:
        return {
            "benefit": self.benefit,
            "tasks_done": self.tasks_done,
            "released_m2": float(sum(self.released_m2)),
            "assets_restored": int(sum(self.assets_restored)),
            "population_restored": self.population_restored[-1]
            if self.population_restored
            else 0.0,
            "sapper_utilisation": _mean(self.sapper_utilisation),
            "builder_utilisation": _mean(self.builder_utilisation),
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "weeks": self.weeks,
            "released_m2_per_week": self.released_m2,
            "assets_restored_per_week": self.assets_restored,
            "population_restored_by_week": self.population_restored,
            "sapper_utilisation_per_week": self.sapper_utilisation,
            "builder_utilisation_per_week": self.builder_utilisation,
            "totals": self.totals(),
        }


def _mean(xs: list[float]) -> float:
    return float(np.mean(xs)) if xs else 0.0


def _week_overlap(start: float, end: float, weeks: int) -> np.ndarray:
    """Days of [start, end) falling in each week."""
    edges = np.arange(weeks + 1) * WEEK
    return np.clip(np.minimum(edges[1:], end) - np.maximum(edges[:-1], start), 0, None)


def kpis(problem: Problem, assignments: list[Assignment]) -> Kpis:
    weeks = max(1, math.ceil(problem.horizon_days / WEEK))
    tasks = {t.id: t for t in problem.tasks}
    teams = {t.id: t for t in problem.teams}
    released = np.zeros(weeks)
    restored = np.zeros(weeks, dtype=int)
    population = np.zeros(weeks)
    busy = {"sapper": np.zeros(weeks), "builder": np.zeros(weeks)}
    avail = {"sapper": np.zeros(weeks), "builder": np.zeros(weeks)}
    for team in problem.teams:
        side = "builder" if team.kind == "construction" else "sapper"
        avail[side] += team.personnel * _week_overlap(team.available_from_day, problem.horizon_days, weeks)  # fmt: skip
    benefit = 0.0
    for a in assignments:
        t, team = tasks[a.task], teams[a.team]
        w = min(weeks - 1, int(a.end_day // WEEK))
        benefit += t.weight * (problem.horizon_days - a.end_day)
        if t.kind == "reconstruction":
            restored[w] += 1
            population[w] += t.weight
        released[w] += t.released_m2
        side = "builder" if team.kind == "construction" else "sapper"
        busy[side] += team.personnel * _week_overlap(a.start_day, a.end_day, weeks)
    util = {
        side: np.divide(busy[side], avail[side], out=np.zeros(weeks), where=avail[side] > 0)
        for side in busy
    }
    return Kpis(
        weeks=weeks,
        released_m2=[round(float(x), 1) for x in released],
        assets_restored=[int(x) for x in restored],
        population_restored=[float(x) for x in np.cumsum(population)],
        sapper_utilisation=[round(float(x), 4) for x in util["sapper"]],
        builder_utilisation=[round(float(x), 4) for x in util["builder"]],
        benefit=benefit,
        tasks_done=len(assignments),
    )


def compare(problem: Problem, plan: list[Assignment], baseline: list[Assignment]) -> dict[str, Any]:
    """The plan's totals against today's practice, with the ratio of each."""
    ours, base = kpis(problem, plan).totals(), kpis(problem, baseline).totals()
    return {
        "plan": ours,
        "baseline": base,
        "ratio": {k: (ours[k] / base[k] if base[k] else None) for k in ours},
    }


def gantt(problem: Problem, assignments: list[Assignment]) -> dict[str, list[dict[str, Any]]]:
    """Team id → its tasks in order, with the travel before each (days)."""
    tasks = {t.id: t for t in problem.tasks}
    teams = {t.id: t for t in problem.teams}
    rows: dict[str, list[dict[str, Any]]] = {t.id: [] for t in problem.teams}
    for a in sorted(assignments, key=lambda a: (a.team, a.start_day)):
        t = tasks[a.task]
        prev = rows[a.team][-1]["location"] if rows[a.team] else teams[a.team].base
        hop = travel_days(prev, t.location, problem.detour, problem.speed_km_per_day)
        rows[a.team].append(
            {
                "task": a.task,
                "kind": t.kind,
                "subject": t.subject,
                "start_day": a.start_day,
                "end_day": a.end_day,
                "travel_days": round(hop, 3),
                "location": t.location,
            }
        )
    return rows

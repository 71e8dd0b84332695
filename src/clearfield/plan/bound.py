"""An upper bound on the benefit of any feasible plan: the weekly capacity relaxation.

Relax a plan to its work: each team pool offers, week by week, the work its teams
can do once they have arrived (m² or worker-days), and each task needs its work done,
not before its earliest start (release day and its predecessor chain at their
fastest). A task may be split over teams and weeks, but no week holds more of it than a week
of its fastest team (one team works a task at a time). Travel and the exact order
are dropped. A unit
of a task's work done in week t is credited

    weight / work × (horizon − max(start of week t, earliest start) − shortest duration / 2)

With work spread evenly over a task's duration, a task's credited units average a
time no later than its mean busy time (end − duration / 2), so every real plan's
benefit is at most its credit, and the best credit, a transportation problem solved
exactly as a min-cost flow (OR-Tools), bounds every plan. Weights and capacities are
rounded so that the bound only grows: it stays a bound.
"""

from __future__ import annotations

import math

import numpy as np
from ortools.graph.python import min_cost_flow

from clearfield.plan.problem import Problem, team_pools

__all__ = ["earliest_starts", "upper_bound"]

BUCKET_DAYS = 7.0
_COST_SCALE = 1e7  # the largest credit per unit becomes this many integer cost units


def earliest_starts(problem: Problem) -> dict[str, float]:
    """Earliest start of every task: release day, the team pool's first arrival, and each
    predecessor at its shortest duration (the critical path)."""
    tasks = {t.id: t for t in problem.tasks}
    arrive = {t.id: t.available_from_day for t in problem.teams}
    memo: dict[str, float] = {}
    for root in tasks:
        stack = [root]
        while stack:
            tid = stack[-1]
            if tid in memo:
                stack.pop()
                continue
            t = tasks[tid]
            todo = [p for p in t.predecessors if p not in memo]
            if todo:
                stack += todo
                continue
            stack.pop()
            first = min((arrive[k] for k in t.durations), default=math.inf)
            es = max(t.release_day, first)
            for p in t.predecessors:
                pt = tasks[p]
                es = max(es, memo[p] + min(pt.durations.values(), default=math.inf))
            memo[tid] = es
    return memo


def upper_bound(problem: Problem) -> float:
    """The bound described in the module docstring (in benefit units)."""
    H = problem.horizon_days
    es = earliest_starts(problem)
    teams = {t.id: t for t in problem.teams}
    total = 0.0
    for team_ids, rows in team_pools(problem):
        tasks = [problem.tasks[i] for i in rows if problem.tasks[i].weight > 0]
        if tasks:
            total += _pool_bound(problem, tasks, [teams[k] for k in team_ids], es, H)
    return total


def _pool_bound(
    problem: Problem, tasks: list, teams: list, es: dict[str, float], H: float
) -> float:
    # work units: the task's own (m², worker-days) when every team has a rate, else
    # days of the pool's fastest team for that task, with one team-day per team-day
    use_rates = all(t.work > 0 for t in tasks) and all(k.rate > 0 for k in teams)
    rate = {k.id: (k.rate if use_rates else 1.0) for k in teams}
    n_b = math.ceil(H / BUCKET_DAYS)
    starts = np.arange(n_b) * BUCKET_DAYS
    ends = np.minimum(starts + BUCKET_DAYS, H)
    cap = np.zeros(n_b)
    for k in teams:
        cap += rate[k.id] * np.clip(ends - np.maximum(starts, k.available_from_day), 0, None)
    rows = []
    for t in tasks:
        dmin = min(t.durations.values())
        need = t.work if use_rates else dmin
        first = es[t.id]
        if first + dmin > H + 1e-9 or need <= 0:
            continue
        at = np.maximum(starts, first)
        credit = t.weight / need * (H - at - dmin / 2.0)
        ok = (ends > first) & (credit > 0)
        # one team at a time: a week holds at most a week of the fastest team's work
        fastest = max(need / d for d in t.durations.values()) if use_rates else 1.0
        most = fastest * np.clip(ends - at, 0, None)
        if ok.any():
            rows.append((need, np.flatnonzero(ok), credit[ok], most[ok]))
    if not rows:
        return 0.0
    unit = min(r[0] for r in rows) / 100.0  # integer flow units; rounding up only loosens
    top = max(float(r[2].max()) for r in rows) * unit
    scale = _COST_SCALE / top
    flow = min_cost_flow.SimpleMinCostFlow()
    sink = len(rows) + n_b
    supplies = np.zeros(sink + 1, dtype=np.int64)
    a_start, a_end, a_cap, a_cost = [], [], [], []
    for j, (need, buckets, credit, most) in enumerate(rows):
        units = math.ceil(need / unit)
        supplies[j] = units
        a_start += [j] * (len(buckets) + 1)
        a_end += [len(rows) + b for b in buckets.tolist()] + [sink]
        a_cap += [min(units, math.ceil(m / unit)) for m in most.tolist()] + [units]
        a_cost += [-math.ceil(c * unit * scale) for c in credit.tolist()] + [0]
    for b in range(n_b):
        a_start.append(len(rows) + b)
        a_end.append(sink)
        a_cap.append(math.ceil(cap[b] / unit))
        a_cost.append(0)
    supplies[sink] = -int(supplies[: len(rows)].sum())
    flow.add_arcs_with_capacity_and_unit_cost(
        np.asarray(a_start, dtype=np.int32),
        np.asarray(a_end, dtype=np.int32),
        np.asarray(a_cap, dtype=np.int64),
        np.asarray(a_cost, dtype=np.int64),
    )
    flow.set_nodes_supplies(np.arange(sink + 1, dtype=np.int32), supplies)
    status = flow.solve()
    if status != flow.OPTIMAL:
        raise RuntimeError(f"the bound's min-cost flow did not solve (status {status})")
    # each rounded-up cost is at most one integer unit above the credit: the bound holds
    return -flow.optimal_cost() / scale

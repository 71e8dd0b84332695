"""Dispatching: each time a team is free, give it a task. Today's practice and our start.

Programmes today keep a priority list and send each free team to the highest-priority
task it can do, nearest first among equals (:func:`baseline`). The same simulation with a different choice, the task that
brings most benefit per day of the team's time, travel included, counting what a
hazard unblocks (:func:`benefit_first`), is the planner's first plan, which the
optimiser then improves.

The simulation is event-driven and vectorised per team pool, so a programme of
10,000 tasks and 300 teams dispatches in seconds.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from clearfield.plan.problem import TICKS_PER_DAY, Assignment, Problem, team_pools, ticks

__all__ = ["Chooser", "baseline", "benefit_first", "dispatch", "unblock_value"]

_EPS = 1e-9


@dataclass(slots=True)
class _Pool:
    """The tasks one group of teams can do, as arrays (rows: tasks, columns: teams)."""

    tasks: list[int]  # problem task indices
    teams: list[int]  # problem team indices
    xy: np.ndarray  # task locations (km)
    dur: np.ndarray  # days; inf where the team cannot do the task
    rank: np.ndarray  # priority score in whole points, higher first (today's list)
    value: np.ndarray  # what the chooser ranks by (weight plus what it unblocks)


Chooser = Callable[[_Pool, np.ndarray, int, np.ndarray, np.ndarray], int]
"""(pool, candidate rows, team column, travel days, days from now until each could start)
-> the chosen row."""


def _nearest_of_highest_rank(pool: _Pool, rows: np.ndarray, col: int, travel: np.ndarray, wait: np.ndarray) -> int:  # fmt: skip
    best = pool.rank[rows].max()
    equals = np.flatnonzero(pool.rank[rows] == best)
    return int(rows[equals[np.argmin(travel[equals])]])


def _most_benefit_per_day(pool: _Pool, rows: np.ndarray, col: int, travel: np.ndarray, wait: np.ndarray) -> int:  # fmt: skip
    # Smith's rule: benefit per day of the team's time, travel and waiting included
    return int(rows[np.argmax(pool.value[rows] / (pool.dur[rows, col] + wait))])


def unblock_value(problem: Problem) -> np.ndarray:
    """Per task: its weight plus its share of every reconstruction it is a (transitive)
    precondition of. An asset counts only once its whole chain is done, so its weight
    is spread over the chain in proportion to each task's shortest duration: every
    task of the chain then has the chain's benefit per day of work, and a short chain
    to a hospital outranks a long one to a shed."""
    index = {t.id: i for i, t in enumerate(problem.tasks)}
    dmin = np.array([min(t.durations.values(), default=np.inf) for t in problem.tasks])
    value = np.array([t.weight for t in problem.tasks], dtype=float)
    for t in problem.tasks:
        if t.kind != "reconstruction" or not t.predecessors:
            continue
        chain: set[int] = set()
        stack = [index[p] for p in t.predecessors]
        while stack:
            i = stack.pop()
            if i not in chain:
                chain.add(i)
                stack += [index[p] for p in problem.tasks[i].predecessors]
        days = float(sum(dmin[i] for i in chain))
        if not math.isfinite(days) or days <= 0:
            continue
        for i in chain:
            value[i] += t.weight * dmin[i] / days
    return value


def baseline(problem: Problem) -> list[Assignment]:
    """Today's practice: the free team takes the task with the highest priority score (in
    whole points, as lists print it) that it can do, the nearest among equals."""
    return dispatch(problem, _nearest_of_highest_rank)


def benefit_first(problem: Problem) -> list[Assignment]:
    """The planner's first plan: most benefit per day of team time, unblocking counted."""
    return dispatch(problem, _most_benefit_per_day, unblock_value(problem))


def dispatch(
    problem: Problem, choose: Chooser, value: np.ndarray | None = None
) -> list[Assignment]:
    """Simulate free teams picking tasks with ``choose`` until nothing more fits the horizon."""
    tasks, teams, horizon = problem.tasks, problem.teams, problem.horizon_days
    t_index = {t.id: i for i, t in enumerate(tasks)}
    team_index = {t.id: i for i, t in enumerate(teams)}
    values = value if value is not None else np.array([t.weight for t in tasks], dtype=float)
    pool_of_team: dict[int, int] = {}
    pools: list[_Pool] = []
    groups = [({team_index[k] for k in ks}, rows) for ks, rows in team_pools(problem) if rows]
    for cols_set, rows in groups:
        cols = sorted(cols_set)
        dur = np.full((len(rows), len(cols)), np.inf)
        col_of = {c: j for j, c in enumerate(cols)}
        for r, i in enumerate(rows):
            for team_id, d in tasks[i].durations.items():
                dur[r, col_of[team_index[team_id]]] = d
        pools.append(
            _Pool(
                tasks=rows,
                teams=cols,
                xy=np.array([tasks[i].location for i in rows], dtype=float).reshape(-1, 2),
                dur=dur,
                rank=np.array([round(tasks[i].priority) for i in rows]),
                value=values[rows],
            )
        )
        for c in cols:
            pool_of_team[c] = len(pools) - 1
    row_of = {i: (p, r) for p, pool in enumerate(pools) for r, i in enumerate(pool.tasks)}

    n = len(tasks)
    pending = np.array([len(t.predecessors) for t in tasks])
    ready = np.array([t.release_day if not t.predecessors else math.inf for t in tasks])
    pred_end = np.array([t.release_day for t in tasks], dtype=float)
    successors: list[list[int]] = [[] for _ in range(n)]
    for i, t in enumerate(tasks):
        for p in t.predecessors:
            successors[t_index[p]].append(i)
    open_rows = [np.ones(len(p.tasks), dtype=bool) for p in pools]
    ready_rows = [ready[p.tasks] for p in pools]

    parked: list[list[int]] = [[] for _ in pools]
    out: list[Assignment] = []
    where = {i: np.array(t.base, dtype=float) for i, t in enumerate(teams)}
    events = [(t.available_from_day, i) for i, t in enumerate(teams) if i in pool_of_team]
    heapq.heapify(events)
    factor = problem.detour / problem.speed_km_per_day
    while events:
        now, k = heapq.heappop(events)
        p = pool_of_team[k]
        pool = pools[p]
        col = pool.teams.index(k)
        can = open_rows[p] & np.isfinite(pool.dur[:, col])
        if not can.any():
            continue  # nothing left this team can ever do
        rows = np.flatnonzero(can & (ready_rows[p] <= now + _EPS))
        if len(rows):
            # travel in whole ticks, rounded up, as the optimiser counts it
            travel = np.ceil(np.hypot(*(pool.xy[rows] - where[k]).T) * factor * TICKS_PER_DAY - 1e-9) / TICKS_PER_DAY  # fmt: skip
            start = np.maximum(now + travel, ready_rows[p][rows])
            fits = start + pool.dur[rows, col] <= horizon + _EPS
            rows, travel, start = rows[fits], travel[fits], start[fits]
        if not len(rows):
            later = ready_rows[p][can & (ready_rows[p] > now + _EPS)]
            if len(later) and later.min() < horizon:  # wait for the first to be ready
                heapq.heappush(events, (float(later.min()), k))
            else:  # wait until another team's work makes a task of this pool ready
                parked[p].append(k)
            continue
        r = choose(pool, rows, col, travel, start - now)
        pos = int(np.flatnonzero(rows == r)[0])
        i = pool.tasks[r]
        begin = ticks(float(start[pos])) / TICKS_PER_DAY  # whole ticks, never early
        end = round(begin + float(pool.dur[r, col]), 6)
        if end > horizon + _EPS:
            open_rows[p][r] = False  # rounding pushed it past the horizon: leave it out
            heapq.heappush(events, (now, k))
            continue
        out.append(Assignment(teams[k].id, tasks[i].id, begin, end))
        open_rows[p][r] = False
        where[k] = pool.xy[r]
        for s in successors[i]:
            pending[s] -= 1
            pred_end[s] = max(pred_end[s], end)
            if pending[s] == 0:
                ready[s] = pred_end[s]
                sp, sr = row_of.get(s, (None, None))
                if sp is not None:
                    ready_rows[sp][sr] = ready[s]
                    for waiting in parked[sp]:
                        heapq.heappush(events, (max(now, ready[s]), waiting))
                    parked[sp].clear()
        heapq.heappush(events, (end, k))
    return out

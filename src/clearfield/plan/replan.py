"""Re-planning: the plan after something changed, keeping what is already under way.

Between two plans, daily reports come in, a team leaves, a new hazard is found, an
accident suspends a site. The problem is rebuilt from the records in the previous
plan's time frame (same first day, same horizon), and then:

- tasks the previous plan finished before today are done and drop out, with their
  place among predecessors;
- tasks under way today stay with their team, start and end (work in progress is not
  reshuffled), unless their team is gone or their site is suspended;
- everything else may not start before today: it is re-optimised, starting from the
  previous plan's order of what remains, so teams are not sent elsewhere for nothing.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Callable

from clearfield.plan.improve import improve, retime
from clearfield.plan.problem import Assignment, Plan, Problem

__all__ = ["replan", "replan_problem"]

_EPS = 1e-9


def replan_problem(problem: Problem, previous: Plan, today: float) -> Problem:
    """The problem from day ``today`` on: done tasks out, work in progress fixed."""
    tasks = {t.id: t for t in problem.tasks}
    teams = {t.id for t in problem.teams}
    done = {a.task for a in previous.assignments if a.end_day <= today + _EPS}
    running: dict[str, Assignment] = {}
    for a in previous.assignments:
        t = tasks.get(a.task)
        if (
            t is not None
            and a.start_day < today + _EPS < a.end_day
            and a.team in teams
            and a.team in t.durations
            and t.release_day <= a.start_day + _EPS  # not suspended since it began
        ):
            running[a.task] = a
    out = []
    for t in problem.tasks:
        if t.id in done:
            continue
        preds = tuple(p for p in t.predecessors if p not in done)
        if not t.durations.keys() <= teams:  # a team that left does no more work
            t = dataclasses.replace(t, durations={k: d for k, d in t.durations.items() if k in teams})  # fmt: skip
        if t.id in running:
            a = running[t.id]
            out.append(dataclasses.replace(t, predecessors=preds, fixed=(a.team, a.start_day, a.end_day)))  # fmt: skip
        else:
            out.append(
                dataclasses.replace(
                    t, predecessors=preds, release_day=max(t.release_day, today), fixed=None
                )
            )
    busy = {a.team for a in running.values()}
    new_teams = [
        t
        if t.id in busy
        else dataclasses.replace(t, available_from_day=max(t.available_from_day, today))
        for t in problem.teams
    ]
    return dataclasses.replace(problem, tasks=out, teams=new_teams)


def replan(
    problem: Problem,
    previous: Plan,
    today: float,
    *,
    time_limit: float = 3.0,
    seed: int = 0,
    workers: int = 2,
    progress: Callable[[float, float], None] | None = None,
) -> tuple[Problem, list[Assignment], list[Assignment], dict[str, float]]:
    """Re-plan from day ``today`` (days since the previous plan's first day).

    Returns the problem as it stands today (done work out, work in progress fixed), the
    previous plan carried on as it was (what remains of it, re-timed), and the new
    assignments; the verifier checks both against that problem.
    """
    now = replan_problem(problem, previous, today)
    present = {t.id for t in now.tasks}
    teams = {t.id for t in now.teams}
    order: dict[str, list[tuple[float, str]]] = defaultdict(list)
    fixed_first: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for t in now.tasks:
        if t.fixed is not None:
            fixed_first[t.fixed[0]].append((t.fixed[1], t.id))
    pinned = {t.id for t in now.tasks if t.fixed is not None}
    for a in previous.assignments:
        if a.task in present and a.team in teams and a.task not in pinned:
            order[a.team].append((a.start_day, a.task))
    sequences: dict[str, list[str]] = {}
    for k in teams:
        first = [tid for _, tid in sorted(fixed_first.get(k, []))]
        rest = [tid for _, tid in sorted(order.get(k, []))]
        if first or rest:
            sequences[k] = first + rest
    by_id = {t.id: t for t in now.tasks}
    sequences = {
        k: [tid for tid in seq if k in by_id[tid].durations] for k, seq in sequences.items()
    }
    start = retime(now, sequences)
    assignments, info = improve(
        now,
        start,
        time_limit=time_limit,
        seed=seed,
        workers=workers,
        frozen_before=today,
        progress=progress,
    )
    return now, start, assignments, info

"""The optimiser: large-neighbourhood search with CP-SAT over a few teams at a time.

A whole programme (10,000 tasks, 250 teams, a year) is far too big for one CP-SAT
model, so the plan is improved a sector at a time: a handful of neighbouring teams of
one pool, and a window of weeks. Their tasks in the window are freed, joined by
unassigned tasks nearby that are ready, and re-solved exactly by the scheduling core
(optional intervals for the team choice, a circuit per team for travel, precedences
with the rest of the plan fixed around them), warm-started from the current plan. A
move is kept when the whole plan, re-timed so every task starts as early as its team,
its predecessors and travel allow, is at least as good.

Inside a window a task is worth its own weight plus its share of what it unblocks
(``dispatch.unblock_value``), so clearing the ground around a hospital early pays
before the brigade's task moves; the move is then judged by the true benefit.

Times are in ticks of a tenth of a day, so travel is not rounded up to whole days.
With the same seed and worker count the search is deterministic: each window has a
deterministic time budget, and the number of windows follows from the time limit.
"""

from __future__ import annotations

import itertools
import math
import random
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from clearfield.plan.dispatch import unblock_value
from clearfield.plan.problem import (
    TICKS_PER_DAY,
    Assignment,
    Problem,
    benefit_of,
    team_pools,
    ticks,
)
from clearfield.plan.scheduling import Job, Mode, Schedule, SchedulingProblem, solve

__all__ = ["improve", "retime"]

_TEAMS_PER_WINDOW = (2, 3, 4)
_TASKS_PER_TEAM = 8
_EXTRA_CANDIDATES = 12
_WINDOWS_PER_SECOND = 2  # the search's budget, deterministic for a seed
_WINDOW_WORK = 0.25  # CP-SAT deterministic time per window (about seconds)

Progress = Callable[[float, float], None]


@dataclass(slots=True)
class _Index:
    problem: Problem
    task: dict[str, int]
    team: dict[str, int]
    successors: list[list[int]]

    @classmethod
    def of(cls, problem: Problem) -> _Index:
        task = {t.id: i for i, t in enumerate(problem.tasks)}
        succ: list[list[int]] = [[] for _ in problem.tasks]
        for i, t in enumerate(problem.tasks):
            for p in t.predecessors:
                succ[task[p]].append(i)
        return cls(problem, task, {t.id: i for i, t in enumerate(problem.teams)}, succ)

    def travel(self, a: tuple[float, float], b: tuple[float, float]) -> int:
        p = self.problem
        return ticks(math.hypot(a[0] - b[0], a[1] - b[1]) * p.detour / p.speed_km_per_day)


def retime(problem: Problem, sequences: dict[str, list[str]], index: _Index | None = None) -> list[Assignment]:  # fmt: skip
    """The earliest plan that keeps each team's order: every task starts as soon as its
    team is free and has travelled, its predecessors are done and it is released (in
    ticks). Tasks that no longer fit the horizon are dropped, with what depends on them."""
    ix = index or _Index.of(problem)
    tasks, H = problem.tasks, round(problem.horizon_days * TICKS_PER_DAY)
    dropped: set[int] = set()
    while True:
        order_pos: dict[int, tuple[str, int]] = {}
        for k, seq in sequences.items():
            for n, tid in enumerate(seq):
                order_pos[ix.task[tid]] = (k, n)
        # missing predecessors drop a task
        bad = {
            i
            for i in order_pos
            if any(
                ix.task[p] not in order_pos or ix.task[p] in dropped for p in tasks[i].predecessors
            )
        }
        if bad - dropped:
            dropped |= bad
            sequences = {
                k: [t for t in seq if ix.task[t] not in dropped] for k, seq in sequences.items()
            }
            continue
        # longest path over team order and precedences (Kahn's algorithm)
        indeg: dict[int, int] = {i: 0 for i in order_pos}
        nxt: dict[int, list[int]] = defaultdict(list)
        for seq in sequences.values():
            for a, b in itertools.pairwise(seq):
                nxt[ix.task[a]].append(ix.task[b])
                indeg[ix.task[b]] += 1
        for i in order_pos:
            for p in tasks[i].predecessors:
                nxt[ix.task[p]].append(i)
                indeg[i] += 1
        start: dict[int, int] = {}
        end: dict[int, int] = {}
        ready = [i for i, d in indeg.items() if d == 0]
        earliest: dict[int, int] = {i: ticks(tasks[i].release_day) for i in order_pos}
        for k, seq in sequences.items():
            if seq:
                team = problem.teams[ix.team[k]]
                first = ix.task[seq[0]]
                go = ticks(team.available_from_day) + ix.travel(team.base, tasks[first].location)
                earliest[first] = max(earliest[first], go)
        while ready:
            i = ready.pop()
            k, n = order_pos[i]
            s = earliest[i]
            fixed = tasks[i].fixed
            if fixed is not None:  # work in progress keeps its team and start
                s = ticks(fixed[1])
            start[i] = s
            end[i] = s + ticks(tasks[i].durations[k])
            for j in nxt[i]:
                if order_pos[j][0] == k and order_pos[j][1] == n + 1:
                    earliest[j] = max(earliest[j], end[i] + ix.travel(tasks[i].location, tasks[j].location))  # fmt: skip
                else:
                    earliest[j] = max(earliest[j], end[i])
                indeg[j] -= 1
                if indeg[j] == 0:
                    ready.append(j)
        if len(start) < len(order_pos):
            raise ValueError("team orders and precedences form a cycle")
        late = {i for i in order_pos if end[i] > H}
        if not late:
            break
        dropped |= late
        sequences = {
            k: [t for t in seq if ix.task[t] not in dropped] for k, seq in sequences.items()
        }
    return [
        Assignment(k, tasks[i].id, start[i] / TICKS_PER_DAY, end[i] / TICKS_PER_DAY)
        for i, (k, _) in order_pos.items()
    ]


def _sequences(assignments: list[Assignment]) -> dict[str, list[str]]:
    out: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for a in assignments:
        out[a.team].append((a.start_day, a.task))
    return {k: [t for _, t in sorted(v)] for k, v in out.items()}


def improve(
    problem: Problem,
    assignments: list[Assignment],
    *,
    time_limit: float,
    seed: int = 0,
    workers: int = 2,
    frozen_before: float = 0.0,
    progress: Progress | None = None,
) -> tuple[list[Assignment], dict[str, float]]:
    """Improve a feasible plan by LNS for about ``time_limit`` seconds; never makes it worse.

    Nothing that starts before day ``frozen_before`` moves (re-planning: the past, and
    work in progress)."""
    t0 = time.perf_counter()
    ix = _Index.of(problem)
    rng = random.Random(seed)
    current = retime(problem, _sequences(assignments), ix)
    best = benefit_of(problem, current)
    start_benefit = best
    value = unblock_value(problem)
    pools = [teams for teams, _ in team_pools(problem)]
    windows = max(1, int(time_limit * _WINDOWS_PER_SECOND))
    tried = kept = 0
    for n in range(windows):
        if time.perf_counter() - t0 > 3 * time_limit:  # a much slower machine: stop anyway
            break
        tried += 1
        move = _window(problem, ix, current, value, pools, rng, workers, seed + n, frozen_before)
        if move is None:
            continue
        candidate = retime(problem, move, ix)
        score = benefit_of(problem, candidate)
        if score >= best - 1e-9:
            kept += score > best + 1e-9
            current, best = candidate, score
        if progress is not None:
            progress(time.perf_counter() - t0, time_limit)
    return current, {
        "windows": tried,
        "improving_windows": kept,
        "start_benefit": start_benefit,
        "benefit": best,
    }


def _window(
    problem: Problem,
    ix: _Index,
    current: list[Assignment],
    value: np.ndarray,
    pools: list[list[str]],
    rng: random.Random,
    workers: int,
    seed: int,
    frozen_before: float = 0.0,
) -> dict[str, list[str]] | None:
    """Free a few neighbouring teams' tasks in a window and re-solve them with CP-SAT;
    return the new team orders (None when nothing changed)."""
    tasks = problem.tasks
    seqs = _sequences(current)
    placed = {a.task: a for a in current}
    busy_pools = [p for p in pools if any(k in seqs for k in p)]
    if not busy_pools:
        return None
    pool = rng.choice(busy_pools)
    k0 = rng.choice([k for k in pool if k in seqs])
    t_lo = rng.uniform(frozen_before, max(frozen_before, problem.horizon_days * 0.8))

    def where(k: str, day: float) -> tuple[float, float]:
        last = None
        for tid in seqs.get(k, []):
            if placed[tid].start_day <= day:
                last = tid
        return tasks[ix.task[last]].location if last else problem.teams[ix.team[k]].base

    centre = np.array(where(k0, t_lo))
    others = sorted(
        (float(np.hypot(*(np.array(where(k, t_lo)) - centre))), k) for k in pool if k != k0
    )
    chosen = [k0] + [k for _, k in others[: rng.choice(_TEAMS_PER_WINDOW) - 1]]
    free: list[str] = []
    machines: dict[str, tuple[int, int]] = {}
    fixed_after: dict[str, str] = {}
    pinned: dict[str, str] = {}
    locs: list[tuple[float, float]] = []

    def loc(xy: tuple[float, float]) -> int:
        locs.append(xy)
        return len(locs) - 1

    jobs: dict[str, Job] = {}
    for k in chosen:
        seq = seqs.get(k, [])
        before = [t for t in seq if placed[t].start_day < t_lo]
        inside = [t for t in seq if placed[t].start_day >= t_lo][:_TASKS_PER_TEAM]
        after = [t for t in seq if t not in before and t not in inside]
        free += inside
        if before:  # the team's last task before the window, pinned: travel counts from it
            last = placed[before[-1]]
            avail = ticks(last.start_day)
            base = loc(tasks[ix.task[last.task]].location)
            pinned[k] = last.task
        else:
            team = problem.teams[ix.team[k]]
            avail = ticks(team.available_from_day)
            base = loc(team.base)
        machines[k] = (avail, base)
        if after:
            fixed_after[k] = after[0]
    if not free:
        return None
    free_set = set(free)
    # unassigned tasks of the pool nearby whose predecessors are placed outside the window
    team_set = set(chosen)
    extra = []
    for i, t in enumerate(tasks):
        if t.id in placed or not (team_set & t.durations.keys()):
            continue
        if all(p in placed and p not in free_set for p in t.predecessors):
            d = float(np.hypot(*(np.array(t.location) - centre)))
            extra.append((-value[i] / (1.0 + min(t.durations.values())) / (1.0 + d / 50.0), t.id))
    extra.sort()
    candidates = free + [tid for _, tid in extra[:_EXTRA_CANDIDATES]]
    H = round(problem.horizon_days * TICKS_PER_DAY)
    scale = 1e4 / max(1e-9, max(value[ix.task[t]] for t in candidates))
    precedences: list[tuple[str, str]] = []
    in_model = set(candidates)
    for tid in candidates:
        i = ix.task[tid]
        t = tasks[i]
        release = ticks(t.release_day)
        for p in t.predecessors:
            if p in in_model:
                precedences.append((p, tid))
            else:
                release = max(release, ticks(placed[p].end_day))
        deadline = H
        must = False
        for s in ix.successors[i]:
            sid = tasks[s].id
            if sid in placed and sid not in in_model:
                deadline = min(deadline, ticks(placed[sid].start_day) - 0)
                must = True
        modes = tuple(
            Mode(duration=ticks(d), machine=k) for k, d in t.durations.items() if k in team_set
        )
        if not modes:
            return None
        jobs[tid] = Job(
            id=tid,
            modes=modes,
            release=release,
            deadline=deadline,
            weight=max(0, round(value[i] * scale)),
            optional=not must,
            location=loc(t.location),
        )
    for k, tid in [*fixed_after.items(), *pinned.items()]:
        a = placed[tid]
        t = tasks[ix.task[tid]]
        jobs[tid] = Job(
            id=tid,
            modes=(Mode(duration=ticks(t.durations[k]), machine=k),),
            location=loc(t.location),
            fixed=(ticks(a.start_day), 0),
            release=0,
        )
    for k, tid in fixed_after.items():
        # the rest of the team's plan follows this task: nothing new may go after it
        after_end = jobs[tid].fixed[0] + jobs[tid].modes[0].duration  # type: ignore[index]
        if after_end < H:
            jobs[f"{k}/rest"] = Job(
                id=f"{k}/rest",
                modes=(Mode(duration=H - after_end, machine=k),),
                location=jobs[tid].location,
                fixed=(after_end, 0),
            )
    travel = np.array([[ix.travel(a, b) for b in locs] for a in locs], dtype=np.int64)
    sp = SchedulingProblem(
        jobs=list(jobs.values()),
        horizon=H,
        objective="benefit",
        precedences=precedences,
        machines=machines,
        travel=travel,
    )
    # the current plan fits every deadline: it is the warm start
    hint_starts, hint_modes = {}, {}
    for tid, job in jobs.items():
        if tid in placed:
            on = placed[tid].team
            hint_starts[tid] = ticks(placed[tid].start_day)
            hint_modes[tid] = next(n for n, m in enumerate(job.modes) if m.machine == on)
    hint = Schedule(hint_starts, hint_modes, 0, 0, False, "HINT", 0.0)
    result = solve(
        sp,
        time_limit=40 * _WINDOW_WORK,
        deterministic_time=_WINDOW_WORK,
        workers=workers,
        seed=seed,
        hint=hint,
    )
    if result.status not in ("OPTIMAL", "FEASIBLE"):
        return None
    new = dict(seqs)
    for k in chosen:
        day: dict[str, float] = {}
        for tid in seqs.get(k, []):
            if tid not in free_set:
                day[tid] = placed[tid].start_day
        for j, st in result.starts.items():
            if jobs[j].fixed is None and jobs[j].modes[result.modes[j]].machine == k:
                day[j] = st / TICKS_PER_DAY
        new[k] = sorted(day, key=lambda tid: day[tid])
    return new

"""The planner's scheduling core: one CP-SAT model for jobs, modes, resources and teams.

The mine action planner and the PSPLIB benchmark share this model, so the core is
measured on public instances with known optima before it plans real work. A job
runs in exactly one of its modes (optional jobs in at most one); a mode holds
renewable resources while it runs (``AddCumulative``), uses up non-renewable
budgets, and may need a machine — a team — that does one job at a time and
travels between locations (``AddCircuit`` over a depot node at the team's base).

Everything is in integer ticks and pure: no files, no database. ``serial_sgs`` is a
fast heuristic (serial schedule generation) used to warm-start makespan problems.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from ortools.sat.python import cp_model
from ortools.sat.python.cp_model_helper import Literal as Literal_

__all__ = [
    "Job",
    "Mode",
    "Schedule",
    "SchedulingProblem",
    "priority_rule",
    "serial_sgs",
    "solve",
]

_STATUS = {
    cp_model.OPTIMAL: "OPTIMAL",
    cp_model.FEASIBLE: "FEASIBLE",
    cp_model.INFEASIBLE: "INFEASIBLE",
    cp_model.UNKNOWN: "UNKNOWN",
    cp_model.MODEL_INVALID: "MODEL_INVALID",
}


@dataclass(frozen=True, slots=True)
class Mode:
    """One way to run a job: how long it takes and what it holds, uses up or needs."""

    duration: int
    machine: str | None = None
    demands: Mapping[str, int] = field(default_factory=dict)
    consumes: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Job:
    """A unit of work; ``fixed`` pins work in progress (or jobs outside an LNS window)."""

    id: str
    modes: tuple[Mode, ...]
    release: int = 0
    deadline: int | None = None
    weight: int = 0
    optional: bool = False
    location: int = 0
    fixed: tuple[int, int] | None = None


@dataclass(slots=True)
class SchedulingProblem:
    """Jobs, their order, the resources and teams they share, and what to optimise."""

    jobs: list[Job]
    horizon: int
    objective: Literal["makespan", "benefit"] = "makespan"
    precedences: list[tuple[str, str]] = field(default_factory=list)
    capacities: dict[str, int] = field(default_factory=dict)
    budgets: dict[str, int] = field(default_factory=dict)
    machines: dict[str, tuple[int, int]] = field(default_factory=dict)
    travel: Any = None


@dataclass(slots=True)
class Schedule:
    """A solution with the solver's proof: the bound tells how far from optimal it may be."""

    starts: dict[str, int]
    modes: dict[str, int]
    objective: int
    bound: int
    optimal: bool
    status: str
    wall_seconds: float


# --- validation ---------------------------------------------------------------------


def _travel_matrix(problem: SchedulingProblem) -> list[list[int]] | None:
    """The travel matrix as plain ints (numpy or lists accepted), checked square and >= 0."""
    if problem.travel is None:
        return None
    rows = [[int(x) for x in row] for row in problem.travel]
    n = len(rows)
    for i, row in enumerate(rows):
        if len(row) != n:
            raise ValueError(f"travel matrix is not square: row {i} has {len(row)} of {n} entries")
        if any(x < 0 for x in row):
            raise ValueError(f"travel matrix row {i} has a negative travel time")
    return rows


def _check_modes(job: Job, problem: SchedulingProblem, n_locations: int | None) -> None:
    if not job.modes:
        raise ValueError(f"job {job.id!r} has no modes")
    for k, mode in enumerate(job.modes):
        where = f"job {job.id!r} mode {k}"
        if mode.duration < 0:
            raise ValueError(f"{where}: negative duration {mode.duration}")
        if mode.machine is not None and mode.machine not in problem.machines:
            raise ValueError(f"{where}: unknown machine {mode.machine!r}")
        for name, q in mode.demands.items():
            if name not in problem.capacities:
                raise ValueError(f"{where}: unknown renewable resource {name!r}")
            if q < 0:
                raise ValueError(f"{where}: negative demand {q} of {name!r}")
        for name, q in mode.consumes.items():
            if name not in problem.budgets:
                raise ValueError(f"{where}: unknown non-renewable resource {name!r}")
            if q < 0:
                raise ValueError(f"{where}: negative consumption {q} of {name!r}")
    if n_locations is not None and not 0 <= job.location < n_locations:
        raise ValueError(f"job {job.id!r}: location {job.location} outside the travel matrix")
    if job.fixed is not None:
        start, k = job.fixed
        if not 0 <= k < len(job.modes):
            raise ValueError(f"job {job.id!r}: fixed mode {k} does not exist")
        end = start + job.modes[k].duration
        limit = problem.horizon if job.deadline is None else min(job.deadline, problem.horizon)
        if start < job.release or end > limit:
            raise ValueError(
                f"job {job.id!r}: fixed at {start}..{end}, outside its window {job.release}..{limit}"
            )


def _validate(problem: SchedulingProblem) -> tuple[dict[str, Job], list[list[int]] | None]:
    """Reject malformed input with a message naming the fault, before any model is built."""
    if problem.objective not in ("makespan", "benefit"):
        raise ValueError(f"unknown objective {problem.objective!r}")
    if problem.horizon < 0:
        raise ValueError(f"negative horizon {problem.horizon}")
    for kind, table in (("capacity", problem.capacities), ("budget", problem.budgets)):
        for name, q in table.items():
            if q < 0:
                raise ValueError(f"negative {kind} {q} of {name!r}")
    travel = _travel_matrix(problem)
    n_locations = None if travel is None else len(travel)
    for name, (available, base) in problem.machines.items():
        if available < 0:
            raise ValueError(f"machine {name!r}: negative availability {available}")
        if n_locations is not None and not 0 <= base < n_locations:
            raise ValueError(f"machine {name!r}: base {base} outside the travel matrix")
    jobs: dict[str, Job] = {}
    for job in problem.jobs:
        if job.id in jobs:
            raise ValueError(f"duplicate job id {job.id!r}")
        if job.release < 0 or (job.deadline is not None and job.deadline < 0):
            raise ValueError(f"job {job.id!r}: negative release or deadline")
        if job.weight < 0:
            raise ValueError(f"job {job.id!r}: negative weight {job.weight}")
        _check_modes(job, problem, n_locations)
        jobs[job.id] = job
    successors: dict[str, list[str]] = {j: [] for j in jobs}
    for before, after in problem.precedences:
        for name in (before, after):
            if name not in jobs:
                raise ValueError(f"precedence ({before!r}, {after!r}) names unknown job {name!r}")
        if before == after:
            raise ValueError(f"precedence ({before!r}, {after!r}) links a job to itself")
        successors[before].append(after)
    _topological_order(successors)
    return jobs, travel


def _topological_order(successors: Mapping[str, Sequence[str]]) -> list[str]:
    """Jobs in an order that respects every precedence; a cycle is malformed input."""
    indegree = dict.fromkeys(successors, 0)
    for after in (a for succ in successors.values() for a in succ):
        indegree[after] += 1
    ready = [j for j, n in indegree.items() if n == 0]
    order: list[str] = []
    while ready:
        j = ready.pop()
        order.append(j)
        for a in successors[j]:
            indegree[a] -= 1
            if indegree[a] == 0:
                ready.append(a)
    if len(order) < len(indegree):
        cycle = sorted(j for j, n in indegree.items() if n > 0)
        raise ValueError(f"precedence cycle among jobs {cycle[:10]}")
    return order


# Solver parameters, measured with bench/psplib.py on the 8 j60 instances the plain model
# left open (10 s, 2 workers): reasoning over precedences inside the cumulative raised
# the summed lower bounds from 580 to 690 and proved one more optimum, at no cost in
# makespan. Tried and dropped as neutral or worse: a makespan interval in every
# cumulative, overload checker + timetable edge finding, no-overlap cliques of
# conflicting jobs across resources.
_TUNING: dict[str, dict[str, Any]] = {
    "makespan": {"exploit_all_precedences": True, "use_hard_precedences_in_cumulative": True},
    "benefit": {"exploit_all_precedences": True, "use_hard_precedences_in_cumulative": True},
}

# --- the CP-SAT model ---------------------------------------------------------------


@dataclass(slots=True)
class _JobVars:
    start: cp_model.IntVar
    end: cp_model.IntVar
    present: cp_model.IntVar  # the job is scheduled (fixed to 1 for a mandatory job)
    modes: list[cp_model.IntVar]  # one presence literal per mode
    intervals: list[cp_model.IntervalVar]


@dataclass(slots=True)
class _Model:
    model: cp_model.CpModel
    jobs: dict[str, _JobVars]
    makespan: cp_model.IntVar | None
    arcs: dict[str, list[tuple[int, int, Literal_]]]  # machine -> circuit arcs
    nodes: dict[str, list[tuple[str, int]]]  # machine -> (job, mode) per circuit node 1..


def _mandatory(job: Job, problem: SchedulingProblem) -> bool:
    # Leaving a job out only pays under "benefit"; under "makespan" it would be a loophole.
    return not job.optional or problem.objective != "benefit" or job.fixed is not None


def _job_vars(m: cp_model.CpModel, job: Job, problem: SchedulingProblem) -> _JobVars:
    """Start, end and one interval per mode; an absent optional job sits at 0..0."""
    limit = problem.horizon if job.deadline is None else min(job.deadline, problem.horizon)
    mandatory = _mandatory(job, problem)
    shortest = min(mode.duration for mode in job.modes)
    lo = job.release if mandatory else 0
    start = m.new_int_var(lo, max(lo, limit - shortest), f"s[{job.id}]")
    end = m.new_int_var(lo, max(lo, limit), f"e[{job.id}]")
    present = m.new_bool_var(f"p[{job.id}]")
    if mandatory:
        m.add(present == 1)
    else:
        m.add(start >= job.release).only_enforce_if(present)
        m.add(start == 0).only_enforce_if(present.Not())
        m.add(end == 0).only_enforce_if(present.Not())
    lits = [m.new_bool_var(f"p[{job.id},{k}]") for k in range(len(job.modes))]
    m.add(sum(lits) == present)
    intervals = []
    for k, (mode, lit) in enumerate(zip(job.modes, lits, strict=True)):
        if job.release + mode.duration > limit:
            m.add(lit == 0)  # this mode cannot fit the job's window at all
        if len(job.modes) == 1 and mandatory:
            iv = m.new_interval_var(start, mode.duration, end, f"i[{job.id},{k}]")
        else:
            iv = m.new_optional_interval_var(start, mode.duration, end, lit, f"i[{job.id},{k}]")
        intervals.append(iv)
    if len(job.modes) > 1 or not mandatory:  # redundant, but gives the LP the duration
        m.add(
            end
            == start + sum(mode.duration * lit for mode, lit in zip(job.modes, lits, strict=True))
        )
    if job.fixed is not None:
        m.add(start == job.fixed[0])
        m.add(lits[job.fixed[1]] == 1)
    return _JobVars(start, end, present, lits, intervals)


def _add_machines(
    mdl: _Model, problem: SchedulingProblem, jobs: Mapping[str, Job], travel: list[list[int]] | None
) -> None:
    """One job at a time per team; with travel, a circuit from the base through its jobs."""
    m = mdl.model
    users: dict[str, list[tuple[str, int]]] = {name: [] for name in problem.machines}
    for job in jobs.values():
        for k, mode in enumerate(job.modes):
            if mode.machine is not None:
                users[mode.machine].append((job.id, k))
    for name, nodes in users.items():
        available, base = problem.machines[name]
        if not nodes:
            continue
        intervals = [mdl.jobs[j].intervals[k] for j, k in nodes]
        for j, k in nodes:
            m.add(mdl.jobs[j].start >= available).only_enforce_if(mdl.jobs[j].modes[k])
        m.add_no_overlap(intervals)
        if travel is None:
            continue
        unused = m.new_bool_var(f"unused[{name}]")
        arcs: list[tuple[int, int, Literal_]] = [(0, 0, unused)]
        lits = [mdl.jobs[j].modes[k] for j, k in nodes]
        for lit in lits:
            m.add_implication(unused, lit.Not())
        m.add_bool_or([unused, *lits])
        for i, ((j, _), lit) in enumerate(zip(nodes, lits, strict=True), start=1):
            loc = jobs[j].location
            arcs.append((i, i, lit.Not()))
            first = m.new_bool_var(f"a[{name},0,{j}]")
            m.add(mdl.jobs[j].start >= available + travel[base][loc]).only_enforce_if(first)
            arcs.append((0, i, first))
            arcs.append((i, 0, m.new_bool_var(f"a[{name},{j},0]")))
            for i2, (j2, _) in enumerate(nodes, start=1):
                if j2 == j:  # two modes of one job are never both present
                    continue
                arc = m.new_bool_var(f"a[{name},{j},{j2}]")
                gap = travel[loc][jobs[j2].location]
                m.add(mdl.jobs[j2].start >= mdl.jobs[j].end + gap).only_enforce_if(arc)
                arcs.append((i, i2, arc))
        m.add_circuit(arcs)
        mdl.arcs[name] = arcs
        mdl.nodes[name] = nodes


def _build(problem: SchedulingProblem, jobs: Mapping[str, Job], travel: Any) -> _Model:
    m = cp_model.CpModel()
    mdl = _Model(m, {j: _job_vars(m, job, problem) for j, job in jobs.items()}, None, {}, {})
    if problem.objective == "makespan":
        mdl.makespan = m.new_int_var(0, problem.horizon, "makespan")
    for before, after in problem.precedences:
        a, b = mdl.jobs[before], mdl.jobs[after]
        m.add(a.end <= b.start).only_enforce_if(b.present)
        m.add_implication(b.present, a.present)
    for name, capacity in problem.capacities.items():
        ivs, demands = [], []
        for j, job in jobs.items():
            for k, mode in enumerate(job.modes):
                if mode.demands.get(name, 0) > 0:
                    ivs.append(mdl.jobs[j].intervals[k])
                    demands.append(mode.demands[name])
        if not ivs:
            continue
        m.add_cumulative(ivs, demands, capacity)
    for name, budget in problem.budgets.items():
        use = [
            mode.consumes[name] * mdl.jobs[j].modes[k]
            for j, job in jobs.items()
            for k, mode in enumerate(job.modes)
            if mode.consumes.get(name, 0) > 0
        ]
        if use:
            m.add(sum(use) <= budget)
    _add_machines(mdl, problem, jobs, travel)
    if mdl.makespan is not None:
        if mdl.jobs:
            m.add_max_equality(mdl.makespan, [v.end for v in mdl.jobs.values()])
        m.minimize(mdl.makespan)
    else:
        h = problem.horizon
        m.maximize(
            sum(job.weight * (h * mdl.jobs[j].present - mdl.jobs[j].end) for j, job in jobs.items())
        )
    return mdl


def _add_hint(mdl: _Model, jobs: Mapping[str, Job], hint: Schedule) -> None:
    """Warm start: every start, mode, presence and circuit arc the hint implies."""
    m = mdl.model
    ends = []
    for j, v in mdl.jobs.items():
        if j in hint.starts:
            s, k = hint.starts[j], hint.modes.get(j, 0)
            e = s + jobs[j].modes[k].duration
            ends.append(e)
        else:
            s, k, e = 0, -1, 0
        m.add_hint(v.start, s)
        m.add_hint(v.end, e)
        m.add_hint(v.present, k >= 0)
        for k2, lit in enumerate(v.modes):
            m.add_hint(lit, k2 == k)
    if mdl.makespan is not None:
        m.add_hint(mdl.makespan, max(ends, default=0))
    for name, arcs in mdl.arcs.items():
        nodes = mdl.nodes[name]
        used = [
            (hint.starts[j], i)
            for i, (j, k) in enumerate(nodes, start=1)
            if j in hint.starts and hint.modes.get(j, 0) == k
        ]
        path = [0, *(i for _, i in sorted(used)), 0]
        chosen = set(itertools.pairwise(path)) if used else {(0, 0)}
        for a, b, arc in arcs:
            if a != b or a == 0:  # a job's self-loop is its mode literal, hinted above
                m.add_hint(arc, (a, b) in chosen)


def _objective(
    problem: SchedulingProblem,
    jobs: Mapping[str, Job],
    starts: Mapping[str, int],
    modes: Mapping[str, int],
) -> int:
    """Recomputed from the schedule, never read back from the solver's objective value."""
    ends = {j: s + jobs[j].modes[modes[j]].duration for j, s in starts.items()}
    if problem.objective == "makespan":
        return max(ends.values(), default=0)
    return sum(jobs[j].weight * (problem.horizon - e) for j, e in ends.items())


def solve(
    problem: SchedulingProblem,
    *,
    time_limit: float,
    workers: int = 2,
    seed: int = 0,
    hint: Schedule | None = None,
    log: bool = False,
    deterministic_time: float | None = None,
) -> Schedule:
    """Solve with CP-SAT; the result carries the proven bound so the gap is always known.

    Raises ``ValueError`` for malformed input. A problem with no schedule found (proven
    infeasible, or none within the time limit) returns empty starts and that status.
    """
    t0 = time.perf_counter()
    jobs, travel = _validate(problem)
    mdl = _build(problem, jobs, travel)
    if hint is not None:
        _add_hint(mdl, jobs, hint)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = float(time_limit)
    if deterministic_time is not None:  # reproducible: the same work, however busy the machine
        solver.parameters.max_deterministic_time = float(deterministic_time)
    solver.parameters.num_workers = int(workers)
    solver.parameters.random_seed = int(seed)
    solver.parameters.log_search_progress = bool(log)
    for name, value in _TUNING.get(problem.objective, {}).items():
        setattr(solver.parameters, name, value)
    code = solver.solve(mdl.model)
    status = _STATUS.get(code, "UNKNOWN")
    if status == "MODEL_INVALID":  # a bug here, not in the caller's input
        raise RuntimeError(f"invalid CP-SAT model: {mdl.model.validate()}")
    wall = time.perf_counter() - t0
    if status not in ("OPTIMAL", "FEASIBLE"):
        return Schedule({}, {}, 0, 0, False, status, wall)
    starts, modes = {}, {}
    for j, v in mdl.jobs.items():
        if solver.boolean_value(v.present):
            starts[j] = solver.value(v.start)
            modes[j] = next(k for k, lit in enumerate(v.modes) if solver.boolean_value(lit))
    value = _objective(problem, jobs, starts, modes)
    raw = solver.best_objective_bound
    if status == "OPTIMAL":
        bound = value
    elif problem.objective == "makespan":
        bound = math.ceil(raw - 1e-6)
    else:
        bound = math.floor(raw + 1e-6)
    return Schedule(starts, modes, value, bound, status == "OPTIMAL", status, wall)


# --- serial schedule generation (warm start) ----------------------------------------


def priority_rule(problem: SchedulingProblem) -> list[str]:
    """Latest finish time first (shortest modes, backward from deadlines), then most successors.

    LFT is the classic best single-pass rule for the serial SGS on PSPLIB.
    """
    jobs, _ = _validate(problem)
    succ: dict[str, list[str]] = {j: [] for j in jobs}
    for before, after in problem.precedences:
        succ[before].append(after)
    order = _topological_order(succ)
    lft: dict[str, int] = {}
    below: dict[str, set[str]] = {}
    for j in reversed(order):
        job = jobs[j]
        lf = problem.horizon if job.deadline is None else min(job.deadline, problem.horizon)
        for a in succ[j]:
            lf = min(lf, lft[a] - min(md.duration for md in jobs[a].modes))
        lft[j] = lf
        below[j] = set(succ[j]).union(*(below[a] for a in succ[j]))
    index = {j: i for i, j in enumerate(jobs)}
    return sorted(jobs, key=lambda j: (lft[j], -len(below[j]), index[j]))


def _earliest_fit(
    usage: Mapping[str, np.ndarray], caps: Mapping[str, int], mode: Mode, t: int, limit: int
) -> int | None:
    """First start >= t where the mode's demands fit every resource profile, or None."""
    d = mode.duration
    while t + d <= limit:
        worst = -1
        for name, q in mode.demands.items():
            if q <= 0:
                continue
            over = np.flatnonzero(usage[name][t : t + d] + q > caps[name])
            if over.size:
                worst = max(worst, int(over[-1]))
        if worst < 0:
            return t
        t += worst + 1  # every start up to there would still cover that tick
    return None


def serial_sgs(problem: SchedulingProblem, priority: Sequence[str] | None = None) -> Schedule:
    """Serial schedule generation: each job, eligible by precedence and first in ``priority``,
    goes at its earliest feasible start in the mode that finishes first.

    A fast, feasible warm start for makespan problems. Teams only append work (after their
    last job plus travel); fixed jobs are placed first. Modes are chosen so the
    non-renewable budgets can still cover every job left. Returns status "UNKNOWN" with
    no starts when the heuristic cannot place a job (deadline, horizon or budget).
    """
    t0 = time.perf_counter()
    jobs, travel = _validate(problem)
    order = list(priority) if priority is not None else priority_rule(problem)
    rank = {j: i for i, j in enumerate(order)}
    preds: dict[str, list[str]] = {j: [] for j in jobs}
    for before, after in problem.precedences:
        preds[after].append(before)
    usage = {r: np.zeros(problem.horizon + 1, dtype=np.int64) for r in problem.capacities}
    left = dict(problem.budgets)
    min_use = {
        j: {r: min(md.consumes.get(r, 0) for md in job.modes) for r in left}
        for j, job in jobs.items()
    }
    reserve = {r: sum(u[r] for u in min_use.values()) for r in left}
    team = {name: (available, base) for name, (available, base) in problem.machines.items()}
    starts: dict[str, int] = {}
    modes: dict[str, int] = {}

    def place(j: str, s: int, k: int) -> None:
        mode = jobs[j].modes[k]
        starts[j], modes[j] = s, k
        for r, q in mode.demands.items():
            usage[r][s : s + mode.duration] += q
        for r in left:
            left[r] -= mode.consumes.get(r, 0)
            reserve[r] -= min_use[j][r]
        if mode.machine is not None:
            team[mode.machine] = (s + mode.duration, jobs[j].location)

    def failed() -> Schedule:
        return Schedule({}, {}, 0, 0, False, "UNKNOWN", time.perf_counter() - t0)

    for j in sorted((j for j in jobs if jobs[j].fixed), key=lambda j: jobs[j].fixed):  # type: ignore[arg-type, return-value]
        s, k = jobs[j].fixed  # type: ignore[misc]
        place(j, s, k)
    pending = {j for j in jobs if j not in starts}
    while pending:
        eligible = [j for j in pending if all(p in starts for p in preds[j])]
        j = min(eligible, key=lambda j: (rank.get(j, len(rank)), j))
        job = jobs[j]
        est = max([job.release, *(starts[p] + jobs[p].modes[modes[p]].duration for p in preds[j])])
        limit = problem.horizon if job.deadline is None else min(job.deadline, problem.horizon)
        best: tuple[int, int, int, int] | None = None
        for k, mode in enumerate(job.modes):
            if any(q > problem.capacities[r] for r, q in mode.demands.items()):
                continue
            if any(mode.consumes.get(r, 0) - min_use[j][r] + reserve[r] > left[r] for r in left):
                continue
            t = est
            if mode.machine is not None:
                free, loc = team[mode.machine]
                gap = 0 if travel is None else travel[loc][job.location]
                t = max(t, free + gap)  # a team leaves its base when it arrives there
            s = _earliest_fit(usage, problem.capacities, mode, t, limit)
            if s is not None and (best is None or (s + mode.duration, mode.duration, k) < best[:3]):
                best = (s + mode.duration, mode.duration, k, s)
        if best is None:
            return failed()
        place(j, best[3], best[2])
        pending.discard(j)
    value = _objective(problem, jobs, starts, modes)
    return Schedule(starts, modes, value, 0, False, "FEASIBLE", time.perf_counter() - t0)

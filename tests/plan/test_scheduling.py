"""The scheduling core: every schedule is checked here, independently of the model."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np
import pytest

from clearfield.plan.scheduling import (
    Job,
    Mode,
    Schedule,
    SchedulingProblem,
    priority_rule,
    serial_sgs,
    solve,
)


def check(problem: SchedulingProblem, s: Schedule) -> int:
    """Assert ``s`` is feasible for ``problem`` and return its objective, recomputed."""
    jobs = {j.id: j for j in problem.jobs}
    assert set(s.starts) == set(s.modes)
    ends, mode = {}, {}
    for j, start in s.starts.items():
        job = jobs[j]
        m = job.modes[s.modes[j]]
        mode[j], ends[j] = m, start + m.duration
        assert start >= job.release, f"{j} starts before its release"
        assert ends[j] <= problem.horizon, f"{j} ends after the horizon"
        if job.deadline is not None:
            assert ends[j] <= job.deadline, f"{j} ends after its deadline"
        if job.fixed is not None:
            assert (start, s.modes[j]) == job.fixed, f"{j} moved from where it was fixed"
    for job in problem.jobs:
        if not (job.optional and problem.objective == "benefit"):
            assert job.id in s.starts, f"mandatory job {job.id} left out"
    for before, after in problem.precedences:
        if after in s.starts:
            assert before in s.starts, f"{after} scheduled without {before}"
            assert s.starts[after] >= ends[before], f"{after} starts before {before} ends"
    for r, cap in problem.capacities.items():
        for t in range(problem.horizon + 1):
            used = sum(m.demands.get(r, 0) for j, m in mode.items() if s.starts[j] <= t < ends[j])
            assert used <= cap, f"{r} over capacity at tick {t}: {used} > {cap}"
    for r, budget in problem.budgets.items():
        assert sum(m.consumes.get(r, 0) for m in mode.values()) <= budget, f"{r} over budget"
    for name, (available, base) in problem.machines.items():
        seq = sorted((s.starts[j], ends[j], j) for j, m in mode.items() if m.machine == name)
        where = base
        for k, (start, _end, j) in enumerate(seq):
            gap = 0 if problem.travel is None else int(problem.travel[where][jobs[j].location])
            earliest = available + gap if k == 0 else seq[k - 1][1] + gap
            assert start >= earliest, f"{name}: {j} starts at {start}, before {earliest}"
            where = jobs[j].location
    if problem.objective == "makespan":
        value = max(ends.values(), default=0)
    else:
        value = sum(jobs[j].weight * (problem.horizon - e) for j, e in ends.items())
    assert s.objective == value, f"reported objective {s.objective}, recomputed {value}"
    return value


# --- a small team-and-travel case: the best benefit by brute force -----------------------

TRAVEL = np.array(
    [
        [0, 2, 3, 4, 2],
        [2, 0, 2, 3, 3],
        [3, 2, 0, 1, 4],
        [4, 3, 1, 0, 2],
        [2, 3, 4, 2, 0],
    ]
)


def teams_case(horizon: int = 14) -> SchedulingProblem:
    """Two teams (bases 0 and 4), five tasks; c is optional and only one team can do it."""
    jobs = [
        Job("a", (Mode(3, "t1"), Mode(2, "t2")), location=1, weight=5),
        Job("b", (Mode(2, "t1"), Mode(4, "t2")), location=2, weight=3),
        Job("c", (Mode(4, "t2"),), location=3, weight=1, optional=True),
        Job("d", (Mode(1, "t1"), Mode(1, "t2")), location=3, weight=4, release=4),
        Job("e", (Mode(2, "t1"), Mode(3, "t2")), location=4, weight=2, optional=True),
    ]
    return SchedulingProblem(
        jobs=jobs,
        horizon=horizon,
        objective="benefit",
        precedences=[("a", "d")],
        machines={"t1": (0, 0), "t2": (1, 4)},
        travel=TRAVEL,
    )


def brute_force(problem: SchedulingProblem) -> int:
    """Best benefit over every choice of modes, left-out jobs and team sequences.

    Benefit only falls as work ends later, so for fixed choices and sequences the
    earliest starts are best; they come from relaxing the constraints to a fixpoint.
    """
    jobs = problem.jobs
    choices = [range(-1 if j.optional else 0, len(j.modes)) for j in jobs]
    best = -1
    for pick in itertools.product(*choices):
        chosen = {j.id: k for j, k in zip(jobs, pick, strict=True) if k >= 0}
        by_team: dict[str, list[str]] = {t: [] for t in problem.machines}
        for j in jobs:
            if j.id in chosen:
                by_team[j.modes[chosen[j.id]].machine].append(j.id)
        if any(a not in chosen for a, b in problem.precedences if b in chosen):
            continue
        for orders in itertools.product(*(itertools.permutations(v) for v in by_team.values())):
            value = _earliest(problem, chosen, dict(zip(by_team, orders, strict=True)))
            best = max(best, value if value is not None else -1)
    return best


def _earliest(problem, chosen, orders) -> int | None:
    jobs = {j.id: j for j in problem.jobs}
    dur = {j: jobs[j].modes[k].duration for j, k in chosen.items()}
    start = {j: jobs[j].release for j in chosen}
    for _ in range(len(chosen) + 1):
        old = dict(start)
        for a, b in problem.precedences:
            if b in chosen:
                start[b] = max(start[b], start[a] + dur[a])
        for team, seq in orders.items():
            available, base = problem.machines[team]
            prev = None
            for j in seq:
                if prev is None:
                    low = available + int(problem.travel[base][jobs[j].location])
                else:
                    low = (
                        start[prev]
                        + dur[prev]
                        + int(problem.travel[jobs[prev].location][jobs[j].location])
                    )
                start[j] = max(start[j], low)
                prev = j
        if start == old:
            break
    if any(start[j] + dur[j] > problem.horizon for j in chosen):
        return None
    return sum(jobs[j].weight * (problem.horizon - start[j] - dur[j]) for j in chosen)


@pytest.mark.parametrize("horizon", [8, 10, 14])
def test_benefit_with_teams_travel_and_optional_jobs_matches_brute_force(horizon):
    problem = teams_case(horizon)
    s = solve(problem, time_limit=10, workers=2)
    assert s.status == "OPTIMAL"
    assert check(problem, s) == brute_force(problem) == s.bound


def test_an_optional_job_is_left_out_when_it_cannot_pay():
    problem = teams_case(8)
    s = solve(problem, time_limit=10)
    assert "c" not in s.starts and "e" not in s.starts
    assert {"a", "b", "d"} <= set(s.starts)


def test_without_travel_teams_only_never_overlap():
    problem = teams_case(14)
    problem.travel = None
    s = solve(problem, time_limit=10)
    assert s.optimal
    check(problem, s)


def test_fixed_work_in_progress_stays_and_others_work_around_it():
    problem = teams_case(14)
    problem.jobs[1] = Job("b", (Mode(2, "t1"), Mode(4, "t2")), location=2, weight=3, fixed=(5, 0))
    s = solve(problem, time_limit=10)
    assert (s.starts["b"], s.modes["b"]) == (5, 0)
    assert check(problem, s) > 0


def test_hint_is_accepted_and_the_answer_is_the_same():
    problem = teams_case(14)
    first = solve(problem, time_limit=10)
    again = solve(problem, time_limit=10, hint=first)
    assert again.objective == first.objective
    check(problem, again)


# --- makespan: cumulative, budgets, deadlines ---------------------------------------


def cumulative_case() -> SchedulingProblem:
    """Multi-mode jobs on one renewable resource with a budget on the fast modes."""
    fast, slow = {"cash": 2}, {}
    jobs = [
        Job(
            f"j{i}",
            (
                Mode(4, demands={"crew": 2}, consumes=slow),
                Mode(2, demands={"crew": 3}, consumes=fast),
            ),
        )
        for i in range(5)
    ]
    jobs.append(Job("late", (Mode(1, demands={"crew": 1}),), release=3, deadline=12))
    return SchedulingProblem(
        jobs=jobs,
        horizon=30,
        precedences=[("j0", "j1"), ("j1", "j2")],
        capacities={"crew": 4},
        budgets={"cash": 4},
    )


def test_makespan_multi_mode_is_optimal_and_feasible():
    problem = cumulative_case()
    s = solve(problem, time_limit=10)
    assert s.optimal and s.bound == s.objective
    check(problem, s)
    assert sum(1 for m in s.modes.values() if m == 1) <= 2  # the budget holds


def test_serial_sgs_is_feasible_and_no_better_than_the_optimum():
    problem = cumulative_case()
    heuristic = serial_sgs(problem)
    assert heuristic.status == "FEASIBLE"
    assert check(problem, heuristic) >= solve(problem, time_limit=10).objective


def test_serial_sgs_with_teams_and_travel_is_feasible():
    problem = teams_case(40)
    problem.objective = "makespan"
    check(problem, serial_sgs(problem))


def test_priority_rule_respects_precedences():
    order = priority_rule(cumulative_case())
    assert order.index("j0") < order.index("j1") < order.index("j2")


def test_infeasible_problem_returns_no_starts():
    problem = SchedulingProblem(
        jobs=[Job("a", (Mode(5, demands={"crew": 1}),), deadline=3)],
        horizon=10,
        capacities={"crew": 1},
    )
    s = solve(problem, time_limit=5)
    assert s.status == "INFEASIBLE" and s.starts == {}


def test_empty_problem():
    s = solve(SchedulingProblem(jobs=[], horizon=10), time_limit=1)
    assert (s.status, s.objective, s.starts) == ("OPTIMAL", 0, {})


def test_same_seed_and_workers_give_the_same_result():
    problem = teams_case(14)
    runs = [solve(problem, time_limit=10, workers=1, seed=7) for _ in range(2)]
    assert runs[0].starts == runs[1].starts and runs[0].objective == runs[1].objective


# --- malformed input ----------------------------------------------------------------


def _bad_cases() -> Iterator[tuple[SchedulingProblem, str]]:
    a = Job("a", (Mode(1),))
    yield SchedulingProblem([a], 5, precedences=[("a", "zz")]), "unknown job 'zz'"
    yield SchedulingProblem([a, Job("a", (Mode(2),))], 5), "duplicate job id 'a'"
    yield SchedulingProblem([Job("x", ())], 5), "job 'x' has no modes"
    yield SchedulingProblem([Job("x", (Mode(-1),))], 5), "job 'x' mode 0: negative duration -1"
    yield SchedulingProblem([Job("x", (Mode(1, "t9"),))], 5), "unknown machine 't9'"
    yield (
        SchedulingProblem([Job("x", (Mode(1, demands={"crew": 1}),))], 5),
        "unknown renewable resource 'crew'",
    )
    yield (
        SchedulingProblem([Job("x", (Mode(1, consumes={"cash": 1}),))], 5),
        "unknown non-renewable resource 'cash'",
    )
    b = Job("b", (Mode(1),))
    yield SchedulingProblem([a, b], 5, precedences=[("a", "b"), ("b", "a")]), "precedence cycle"
    yield (
        SchedulingProblem([a], 5, machines={"t": (0, 0)}, travel=[[0, 1]]),
        "travel matrix is not square",
    )
    yield (
        SchedulingProblem(
            [Job("x", (Mode(1, "t"),), location=3)], 5, machines={"t": (0, 0)}, travel=[[0]]
        ),
        "location 3 outside the travel matrix",
    )
    yield SchedulingProblem([Job("x", (Mode(1),), fixed=(0, 2))], 5), "fixed mode 2 does not exist"
    yield SchedulingProblem([a], 5, objective="fastest"), "unknown objective 'fastest'"  # type: ignore[arg-type]


@pytest.mark.parametrize(("problem", "message"), list(_bad_cases()), ids=lambda x: str(x)[:30])
def test_malformed_input_is_refused_with_a_precise_message(problem, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        solve(problem, time_limit=1)

"""The independent plan verifier: each rule feasible at its boundary and broken once.

The problems and plans here are built by hand (and, in the property test, greedily
by the test itself) so nothing depends on the solver.
"""

from __future__ import annotations

import ast
import copy
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearfield.errors import ClearfieldError, RecordError
from clearfield.plan import verify as verify_module
from clearfield.plan.verify import PlanFileError, Verdict, load_and_verify, verify

# A hand-made problem. speed 10 km/day and detour 1.5: 1 km of straight line is 0.15 day.
#   T1 base (0, 0), available from day 0 (key absent); T2 base (30, 40), available from day 3.
#   A (10, 0)  T1:2 T2:1            -> T1 1.5..3.5   travel from base 10 km = 1.5 (binding)
#   B (10, 20) T1:3  after A, rel 7 -> T1 7..10      travel from A 20 km = 3.0, release binding
#   E (10, 30) T1:1                 -> T1 11.5..12.5 travel from B 10 km = 1.5 (binding)
#   C (30, 40) T2:4                 -> T2 3..7       at T2's base, available_from binding
#   D (30, 40) T2:1  after B        -> T2 10..11     predecessor B binding
# benefit = 1*(30-3.5) + 2*(30-10) + 1*(30-12.5) + 0.5*(30-7) + 1*(30-11) = 114.5


def task(id: str, location: list[float], durations: dict[str, float], **kw: Any) -> dict:
    return {
        "id": id,
        "kind": "clearance",
        "weight": kw.get("weight", 1.0),
        "location": location,
        "durations": durations,
        "predecessors": kw.get("predecessors", []),
        "release_day": kw.get("release_day", 0),
    }


def make_problem() -> dict[str, Any]:
    return {
        "horizon_days": 30,
        "speed_km_per_day": 10,
        "detour": 1.5,
        "teams": [
            {"id": "T1", "kind": "manual", "personnel": 8, "base": [0, 0]},
            {
                "id": "T2",
                "kind": "mechanical",
                "personnel": 3,
                "base": [30, 40],
                "available_from_day": 3,
            },
        ],
        "tasks": [
            task("A", [10, 0], {"T1": 2, "T2": 1}),
            task("B", [10, 20], {"T1": 3}, predecessors=["A"], release_day=7, weight=2.0),
            task("E", [10, 30], {"T1": 1}),
            task("C", [30, 40], {"T2": 4}, weight=0.5),
            task("D", [30, 40], {"T2": 1}, predecessors=["B"]),
        ],
    }


def assignment(team: str, task: str, start: float, end: float) -> dict[str, Any]:
    return {"team": team, "task": task, "start_day": start, "end_day": end}


def make_plan() -> dict[str, Any]:
    return {
        "horizon_days": 30,
        "benefit": 114.5,
        "baseline_benefit": 90.0,
        "upper_bound": 150.0,
        "solve_seconds": 0.5,
        "assignments": [
            assignment("T1", "A", 1.5, 3.5),
            assignment("T1", "B", 7, 10),
            assignment("T1", "E", 11.5, 12.5),
            assignment("T2", "C", 3, 7),
            assignment("T2", "D", 10, 11),
        ],
    }


def claim(problem: dict, plan: dict) -> float:
    """The benefit a correct planner would claim: first assignment of each task counts."""
    weight = {t["id"]: t["weight"] for t in problem["tasks"]}
    seen: dict[str, float] = {}
    for a in plan["assignments"]:
        if a["task"] in weight:
            seen.setdefault(a["task"], a["end_day"])
    return sum(weight[t] * (problem["horizon_days"] - end) for t, end in seen.items())


def at(plan: dict, task_id: str) -> dict:
    return next(a for a in plan["assignments"] if a["task"] == task_id)


def test_the_hand_made_plan_is_feasible_with_its_benefit_worked_out_by_hand():
    verdict = verify(make_problem(), make_plan())
    assert verdict == Verdict(
        feasible=True, violations=[], benefit=114.5, claimed_benefit=114.5, assigned=5, tasks=5
    )


def test_a_plan_that_assigns_nothing_is_feasible_with_zero_benefit():
    plan = make_plan() | {"assignments": [], "benefit": 0}
    verdict = verify(make_problem(), plan)
    assert (verdict.feasible, verdict.benefit, verdict.assigned, verdict.tasks) == (True, 0, 0, 5)


def shift(task_id: str, start: float, end: float, team: str | None = None) -> Callable:
    def change(plan: dict) -> None:
        a = at(plan, task_id)
        a.update(start_day=start, end_day=end)
        if team:
            a["team"] = team

    return change


def drop(task_id: str) -> Callable:
    def change(plan: dict) -> None:
        plan["assignments"].remove(at(plan, task_id))

    return change


def add(team: str, task_id: str, start: float, end: float) -> Callable:
    def change(plan: dict) -> None:
        plan["assignments"].append(assignment(team, task_id, start, end))

    return change


BROKEN = {
    "unknown team": (
        shift("C", 3, 7, team="T9"),
        ["task C on team T9: team T9 is not in the problem"],
    ),
    "unknown task": (
        add("T1", "Z", 20, 21),
        ["assignment #5: task Z is not in the problem"],
    ),
    "team that cannot do the task": (
        # T2 after D (30,40) to E (10,30): 22.36 km = 3.354 days, so 16 is late enough
        shift("E", 16, 17, team="T2"),
        ["task E on team T2: the task has no duration for team T2"],
    ),
    "too short": (
        shift("B", 7, 9.5),
        ["task B on team T1 lasts 2.5 days (7.0 to 9.5), shorter than its duration 3.0"],
    ),
    "before release": (
        shift("B", 6.8, 9.8),
        ["task B on team T1 starts at 6.8, before its release day 7.0"],
    ),
    "predecessor unassigned": (
        drop("A"),
        ["task B on team T1 needs predecessor A, not assigned"],
    ),
    "predecessor late": (
        shift("D", 9.5, 10.5),
        ["task D on team T2 starts at 9.5, before predecessor B ends at 10.0"],
    ),
    "overlap on a team": (
        shift("E", 9.5, 10.5),
        ["task E on team T1 starts at 9.5, before task B on the same team ends at 10.0"],
    ),
    "travel between consecutive tasks": (
        shift("E", 11, 12),
        [
            "task E on team T1 starts at 11.0, but task B ends at 10.0 and travel from it "
            "takes 1.5 days (earliest start 11.5)"
        ],
    ),
    "travel from the base": (
        shift("A", 1, 3),
        [
            "task A on team T1 starts at 1.0, but travel from the team's base takes 1.5 days "
            "after it is available from day 0.0 (earliest start 1.5)"
        ],
    ),
    "before available_from_day": (
        shift("C", 2.5, 6.5),
        ["task C on team T2 starts at 2.5, before the team is available from day 3.0"],
    ),
    "after the horizon": (
        shift("E", 11.5, 30.5),
        ["task E on team T1 ends at 30.5, after the horizon 30.0"],
    ),
    "duplicate assignment": (
        # T2 after D (30,40) to A (10,0): 44.72 km = 6.708 days, so 18 is late enough
        add("T2", "A", 18, 19),
        ["task A is assigned more than once (assignments #0 and #5)"],
    ),
}


@pytest.mark.parametrize("change, expected", BROKEN.values(), ids=BROKEN.keys())
def test_each_rule_broken_once_gives_exactly_its_violation(change, expected):
    problem, plan = make_problem(), make_plan()
    change(plan)
    plan["benefit"] = claim(problem, plan)
    verdict = verify(problem, plan)
    assert verdict.violations == expected
    assert not verdict.feasible


def test_a_negative_start_is_reported_even_for_a_task_released_before_day_0():
    problem, plan = make_problem(), make_plan()
    problem["tasks"].append(task("F", [0, 0], {"T1": 1}, release_day=-5))
    plan["assignments"] = [assignment("T1", "F", 0, 1)]
    plan["benefit"] = 29
    assert verify(problem, plan).feasible
    plan["assignments"] = [assignment("T1", "F", -1, 0)]
    plan["benefit"] = 30
    assert verify(problem, plan).violations == [
        "task F on team T1 starts at -1.0, before day 0",
        "task F on team T1 starts at -1.0, before the team is available from day 0.0",
    ]


def test_travel_from_the_base_counts_from_the_day_the_team_is_available():
    problem, plan = make_problem(), make_plan()
    problem["teams"][1]["base"] = [30, 30]  # 10 km from C: 1.5 days after day 3
    at(plan, "C").update(start_day=4.5, end_day=8.5)
    plan["benefit"] = claim(problem, plan)
    assert verify(problem, plan).feasible
    at(plan, "C").update(start_day=4, end_day=8)
    plan["benefit"] = claim(problem, plan)
    assert verify(problem, plan).violations == [
        "task C on team T2 starts at 4.0, but travel from the team's base takes 1.5 days "
        "after it is available from day 3.0 (earliest start 4.5)"
    ]


def test_a_task_spanning_two_later_ones_is_reported_against_each():
    problem, plan = make_problem(), make_plan()
    at(plan, "A").update(start_day=1.5, end_day=20)  # long enough to cover B and E
    plan["benefit"] = claim(problem, plan)
    violations = verify(problem, plan).violations
    assert "task B on team T1 starts at 7.0, before task A on the same team ends at 20.0" in (
        violations
    )
    assert "task E on team T1 starts at 11.5, before task A on the same team ends at 20.0" in (
        violations
    )


def test_times_within_the_tolerance_are_accepted():
    problem, plan = make_problem(), make_plan()
    at(plan, "E").update(start_day=11.5 - 5e-7, end_day=12.5)
    at(plan, "D").update(start_day=10 - 5e-7, end_day=11)
    plan["benefit"] = claim(problem, plan)
    assert verify(problem, plan).feasible


def test_a_wrong_claimed_benefit_is_a_violation():
    plan = make_plan() | {"benefit": 116.0}
    verdict = verify(make_problem(), plan)
    assert verdict.violations == ["claimed benefit 116.0 differs from the recomputed 114.5"]
    assert (verdict.benefit, verdict.claimed_benefit) == (114.5, 116.0)


def test_a_claimed_benefit_within_one_millionth_is_accepted_and_a_null_one_is_not_checked():
    assert verify(make_problem(), make_plan() | {"benefit": 114.5 * (1 + 5e-7)}).feasible
    verdict = verify(make_problem(), make_plan() | {"benefit": None})
    assert verdict.feasible and verdict.claimed_benefit is None and verdict.benefit == 114.5


def test_a_benefit_above_the_claimed_upper_bound_is_a_violation():
    verdict = verify(make_problem(), make_plan() | {"upper_bound": 100.0})
    assert verdict.violations == ["recomputed benefit 114.5 exceeds the claimed upper bound 100.0"]


def test_a_plan_for_another_horizon_is_a_violation():
    verdict = verify(make_problem(), make_plan() | {"horizon_days": 40})
    assert verdict.violations == ["plan horizon_days 40.0 differs from the problem's 30.0"]


# -- the files ------------------------------------------------------------------------------


def write(path: Path, data: Any) -> Path:
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def test_load_and_verify_reads_both_files(tmp_path):
    verdict = load_and_verify(
        write(tmp_path / "problem.json", make_problem()), write(tmp_path / "plan.json", make_plan())
    )
    assert verdict.feasible and verdict.benefit == 114.5


def broken_problem(change: Callable[[dict], None]) -> dict:
    problem = make_problem()
    change(problem)
    return problem


def tasks_by_id(problem: dict) -> dict[str, dict]:
    return {t["id"]: t for t in problem["tasks"]}


MALFORMED_PROBLEMS = {
    "not JSON": ("{not json", None, "is not JSON"),
    "not an object": ([1, 2], None, "expected a JSON object, found an array of 2"),
    "missing top-level key": (
        broken_problem(lambda p: p.pop("detour")),
        "[detour]",
        "missing key 'detour'",
    ),
    "missing task key": (
        broken_problem(lambda p: tasks_by_id(p)["B"].pop("release_day")),
        "task B [release_day]",
        "missing key 'release_day'",
    ),
    "unknown predecessor": (
        broken_problem(lambda p: tasks_by_id(p)["B"].update(predecessors=["Q"])),
        "task B [predecessors]",
        "predecessor 'Q' is not a task",
    ),
    "own predecessor": (
        broken_problem(lambda p: tasks_by_id(p)["B"].update(predecessors=["B"])),
        "task B [predecessors]",
        "lists itself as a predecessor",
    ),
    "NaN weight": (
        broken_problem(lambda p: tasks_by_id(p)["C"].update(weight=math.nan)),
        "task C [weight]",
        "expected a finite number, found nan",
    ),
    "infinite coordinate": (
        broken_problem(lambda p: p["teams"][0].update(base=[0, math.inf])),
        "team T1 [base]",
        "expected a finite number, found inf",
    ),
    "negative duration": (
        broken_problem(lambda p: tasks_by_id(p)["A"]["durations"].update(T2=-1)),
        "task A [durations]",
        "must be at least 0, found -1.0",
    ),
    "duration for an unknown team": (
        broken_problem(lambda p: tasks_by_id(p)["A"]["durations"].update(T9=1)),
        "task A [durations]",
        "durations name unknown team 'T9'",
    ),
    "duplicate team": (
        broken_problem(lambda p: p["teams"].append(dict(p["teams"][0]))),
        "team T1 [id]",
        "duplicate team id",
    ),
    "duplicate task": (
        broken_problem(lambda p: p["tasks"].append(dict(p["tasks"][0]))),
        "task A [id]",
        "duplicate task id",
    ),
    "wrong type": (
        broken_problem(lambda p: p["teams"][1].update(personnel="three")),
        "team T2 [personnel]",
        "expected a whole number >= 0, found string 'three'",
    ),
    "boolean for a number": (
        broken_problem(lambda p: p.update(horizon_days=True)),
        "[horizon_days]",
        "expected a number, found boolean True",
    ),
    "zero speed": (
        broken_problem(lambda p: p.update(speed_km_per_day=0)),
        "[speed_km_per_day]",
        "must be positive, found 0.0",
    ),
    "team without an id": (
        broken_problem(lambda p: p["teams"][1].pop("id")),
        "team #1 [id]",
        "missing key 'id'",
    ),
}


@pytest.mark.parametrize(
    "content, record, reason", MALFORMED_PROBLEMS.values(), ids=MALFORMED_PROBLEMS.keys()
)
def test_a_malformed_problem_file_is_refused_naming_file_record_and_reason(
    tmp_path, content, record, reason
):
    problem_path = write(tmp_path / "problem.json", content)
    plan_path = write(tmp_path / "plan.json", make_plan())
    with pytest.raises(PlanFileError) as caught:
        load_and_verify(problem_path, plan_path)
    err = caught.value
    assert isinstance(err, RecordError) and isinstance(err, ClearfieldError)
    assert err.code == "BAD_PLAN_FILE"
    assert err.source == str(problem_path)
    text = str(err)
    assert text.startswith(str(problem_path))
    assert reason in text and reason in err.message
    if record:
        assert f"{problem_path}: {record}" in text or f"{problem_path} {record}" in text


def broken_plan(change: Callable[[dict], None]) -> dict:
    plan = make_plan()
    change(plan)
    return plan


MALFORMED_PLANS = {
    "not JSON": ("", None, "is not JSON"),
    "missing key": (broken_plan(lambda p: p.pop("assignments")), "[assignments]", "missing key"),
    "missing upper_bound": (
        broken_plan(lambda p: p.pop("upper_bound")),
        "[upper_bound]",
        "missing key 'upper_bound'",
    ),
    "assignment without a start": (
        broken_plan(lambda p: p["assignments"][1].pop("start_day")),
        "assignment #1 [start_day]",
        "missing key 'start_day'",
    ),
    "infinite end": (
        broken_plan(lambda p: p["assignments"][2].update(end_day=math.inf)),
        "assignment #2 [end_day]",
        "expected a finite number, found inf",
    ),
    "NaN benefit": (
        broken_plan(lambda p: p.update(benefit=math.nan)),
        "[benefit]",
        "expected a finite number, found nan",
    ),
    "numeric task id": (
        broken_plan(lambda p: p["assignments"][0].update(task=7)),
        "assignment #0 [task]",
        "expected a non-empty string, found number 7",
    ),
}


@pytest.mark.parametrize(
    "content, record, reason", MALFORMED_PLANS.values(), ids=MALFORMED_PLANS.keys()
)
def test_a_malformed_plan_file_is_refused_naming_file_record_and_reason(
    tmp_path, content, record, reason
):
    problem_path = write(tmp_path / "problem.json", make_problem())
    plan_path = write(tmp_path / "plan.json", content)
    with pytest.raises(PlanFileError) as caught:
        load_and_verify(problem_path, plan_path)
    text = str(caught.value)
    assert text.startswith(str(plan_path)) and reason in text
    if record:
        assert f"{plan_path}: {record}" in text or f"{plan_path} {record}" in text


def test_a_missing_file_is_refused_naming_it(tmp_path):
    plan_path = write(tmp_path / "plan.json", make_plan())
    with pytest.raises(PlanFileError, match=r"nowhere\.json: cannot be read"):
        load_and_verify(tmp_path / "nowhere.json", plan_path)


def test_verify_on_dicts_names_which_one_is_malformed():
    with pytest.raises(PlanFileError, match=r"^problem: task B \[predecessors\]: predecessor"):
        verify(broken_problem(lambda p: tasks_by_id(p)["B"].update(predecessors=["Q"])), {})
    with pytest.raises(PlanFileError, match=r"^plan \[horizon_days\]: missing key"):
        verify(make_problem(), {})


def test_the_verifier_shares_nothing_with_the_solver():
    tree = ast.parse(Path(verify_module.__file__).read_text())
    modules = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    modules |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    ours = {m for m in modules if m.split(".")[0] == "clearfield"}
    assert ours == {"clearfield.errors"}
    assert not {m for m in modules - ours if m.split(".")[0] not in {"__future__", *STDLIB}}


STDLIB = {"json", "math", "collections", "dataclasses", "pathlib", "typing"}


# -- property: greedy feasible plans pass, and pulling one task earlier fails -----------------


def travel(a: tuple[float, float], b: tuple[float, float], detour: float, speed: float) -> float:
    return math.hypot(b[0] - a[0], b[1] - a[1]) * detour / speed


@st.composite
def problems_and_plans(draw: st.DrawFn) -> tuple[dict, dict, list[float]]:
    """A random small problem, a feasible plan built greedily, and each assignment's earliest start."""
    coord = st.floats(0, 50, allow_nan=False)
    speed = draw(st.floats(5, 50))
    detour = draw(st.floats(1, 2))
    teams = []
    for i in range(draw(st.integers(1, 4))):
        team = {"id": f"T{i}", "kind": "manual", "personnel": 5, "base": [draw(coord), draw(coord)]}
        if draw(st.booleans()):
            team["available_from_day"] = draw(st.floats(0, 5))
        teams.append(team)
    ids = [t["id"] for t in teams]
    tasks = []
    for i in range(draw(st.integers(1, 8))):
        able = draw(st.lists(st.sampled_from(ids), min_size=1, unique=True))
        tasks.append(
            task(
                f"H{i}",
                [draw(coord), draw(coord)],
                {t: draw(st.floats(0.1, 10)) for t in able},
                predecessors=draw(
                    st.lists(st.sampled_from([f"H{j}" for j in range(i)]), unique=True)
                )
                if i
                else [],
                release_day=draw(st.floats(0, 10)),
                weight=draw(st.floats(0, 5)),
            )
        )

    free = {t["id"]: t.get("available_from_day", 0.0) for t in teams}
    where = {t["id"]: tuple(t["base"]) for t in teams}
    end_of: dict[str, float] = {}
    assignments, earliest = [], []
    for t in tasks:
        if not draw(st.booleans()) or not all(p in end_of for p in t["predecessors"]):
            continue
        team = draw(st.sampled_from(sorted(t["durations"])))
        here = tuple(t["location"])
        first = max(
            0.0,
            t["release_day"],
            free[team] + travel(where[team], here, detour, speed),
            *(end_of[p] for p in t["predecessors"]),
        )
        start = first + draw(st.sampled_from([0.0, 0.0, draw(st.floats(0, 3))]))
        end = start + t["durations"][team] + draw(st.sampled_from([0.0, draw(st.floats(0, 2))]))
        assignments.append(assignment(team, t["id"], start, end))
        earliest.append(first)
        end_of[t["id"]], free[team], where[team] = end, end, here
    horizon = max([*end_of.values(), 0.0]) + draw(st.floats(0, 5))
    weight = {t["id"]: t["weight"] for t in tasks}
    problem = {
        "horizon_days": horizon,
        "speed_km_per_day": speed,
        "detour": detour,
        "teams": teams,
        "tasks": tasks,
    }
    plan = {
        "horizon_days": horizon,
        "benefit": math.fsum(weight[a["task"]] * (horizon - a["end_day"]) for a in assignments),
        "baseline_benefit": None,
        "upper_bound": None,
        "solve_seconds": 0.0,
        "assignments": assignments,
    }
    return problem, plan, earliest


@settings(deadline=None, max_examples=150)
@given(problems_and_plans(), st.data())
def test_greedy_feasible_plans_pass_and_one_task_pulled_too_early_fails(case, data):
    problem, plan, earliest = case
    verdict = verify(problem, plan)
    assert verdict.violations == []
    assert verdict.feasible and verdict.assigned == len(plan["assignments"])
    if not plan["assignments"]:
        return
    i = data.draw(st.integers(0, len(plan["assignments"]) - 1))
    early = copy.deepcopy(plan)
    a = early["assignments"][i]
    pull = a["start_day"] - earliest[i] + data.draw(st.floats(0.01, 0.05))
    a["start_day"] -= pull
    a["end_day"] -= pull
    early["benefit"] = claim(problem, early)
    verdict = verify(problem, early)
    assert not verdict.feasible
    assert all(f"task {a['task']} " in v for v in verdict.violations), verdict.violations


def test_twenty_thousand_tasks_on_three_hundred_teams_are_checked_in_one_pass():
    # each team works its tasks one after another at its own base; every 7th task waits for
    # the previous team's task of the slot before. An O(n^2) check would not finish here.
    teams = [{"id": f"T{k}", "kind": "manual", "personnel": 5, "base": [k, 0]} for k in range(300)]
    tasks, assignments = [], []
    for i in range(20_000):
        k, slot = i % 300, i // 300
        preds = [f"H{i - 301}"] if i % 7 == 0 and k and slot else []
        tasks.append(task(f"H{i}", [k, 0], {f"T{k}": 1}, predecessors=preds))
        assignments.append(assignment(f"T{k}", f"H{i}", slot, slot + 1))
    problem = {
        "horizon_days": 100,
        "speed_km_per_day": 10,
        "detour": 1.0,
        "teams": teams,
        "tasks": tasks,
    }
    plan = make_plan() | {"horizon_days": 100, "benefit": None, "upper_bound": None}
    plan["assignments"] = assignments
    verdict = verify(problem, plan)
    assert verdict.feasible and verdict.assigned == verdict.tasks == 20_000
    plan["assignments"][-1] = assignment("T299", "H0", 0, 1)  # wrong team, overlap, duplicate
    assert len(verify(problem, plan).violations) >= 3

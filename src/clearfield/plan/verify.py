"""Check a plan against its problem from the two JSON files alone.

A planner that grades its own work proves little: a bug in how it models travel,
precedence or durations would appear in the plan *and* in the check. So this
verifier shares nothing with the solver. It reads the problem file and the plan
file as DESIGN.md's contract defines them, rebuilds every rule from that text and
imports nothing from ``clearfield.plan`` or ``clearfield.domain`` -- only the
standard library and ``clearfield.errors`` for the error class. Anyone can read
it against the contract, and any other tool's plan can be checked the same way.

Two kinds of fault are kept apart:

* a file that is not JSON or does not follow the contract (missing key, wrong
  type, duplicate id, unknown predecessor, negative duration, non-finite number)
  raises :class:`PlanFileError` naming the file, the record and the reason;
* a well-formed plan that breaks a scheduling rule gives a :class:`Verdict` with
  ``feasible=False`` and one line per violation, with the numbers.

Times are days (floats) compared with a tolerance of ``TOLERANCE_DAYS``; the
claimed benefit must match the recomputed one to ``BENEFIT_RTOL`` (relative).

>>> problem = {
...     "horizon_days": 10, "speed_km_per_day": 20, "detour": 1.0,
...     "teams": [{"id": "T1", "kind": "manual", "personnel": 8, "base": [0, 0]}],
...     "tasks": [{"id": "A", "kind": "clearance", "weight": 2.0, "location": [20, 0],
...                "durations": {"T1": 3}, "predecessors": [], "release_day": 0}],
... }
>>> plan = {"horizon_days": 10, "benefit": 12.0, "baseline_benefit": None,
...         "upper_bound": None, "solve_seconds": 0.1,
...         "assignments": [{"team": "T1", "task": "A", "start_day": 1, "end_day": 4}]}
>>> verify(problem, plan).feasible
True
>>> plan["assignments"][0].update(start_day=0.5, end_day=3.5)
>>> verify(problem, plan).violations[0]
"task A on team T1 starts at 0.5, but travel from the team's base takes 1.0 days after it is available from day 0.0 (earliest start 1.0)"
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from clearfield.errors import RecordError

__all__ = [
    "BENEFIT_RTOL",
    "TOLERANCE_DAYS",
    "PlanFileError",
    "Verdict",
    "check_problem_file",
    "load_and_verify",
    "verify",
]

TOLERANCE_DAYS = 1e-6
BENEFIT_RTOL = 1e-6


class PlanFileError(RecordError):
    """A problem or plan file that is not JSON or does not follow the contract.

    ``record`` reads ``"<file>: <record>"`` (a team or task id, or an assignment
    index), ``field`` the key at fault and ``message`` the reason; ``source`` is the file.
    """

    code = "BAD_PLAN_FILE"

    def __init__(
        self, source: str, reason: str, *, item: str | None = None, field: str | None = None
    ):
        super().__init__(reason, record=f"{source}: {item}" if item else source, field=field)
        self.source = source
        self.item = item


@dataclass
class Verdict:
    """What the verifier found: every violation, and the benefit recomputed from the plan."""

    feasible: bool
    violations: list[str] = field(default_factory=list)
    benefit: float = 0.0
    claimed_benefit: float | None = None
    assigned: int = 0
    tasks: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "feasible": self.feasible,
            "violations": list(self.violations),
            "benefit": self.benefit,
            "claimed_benefit": self.claimed_benefit,
            "assigned": self.assigned,
            "tasks": self.tasks,
        }


# -- the two files, read strictly ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Team:
    id: str
    x: float
    y: float
    available_from: float


@dataclass(frozen=True, slots=True)
class _Task:
    id: str
    weight: float
    x: float
    y: float
    durations: dict[str, float]
    predecessors: tuple[str, ...]
    release: float


@dataclass(frozen=True, slots=True)
class _Problem:
    horizon: float
    speed: float
    detour: float
    teams: dict[str, _Team]
    tasks: dict[str, _Task]


@dataclass(frozen=True, slots=True)
class _Assignment:
    index: int
    team: str
    task: str
    start: float
    end: float


@dataclass(frozen=True, slots=True)
class _Plan:
    horizon: float
    benefit: float | None
    upper_bound: float | None
    assignments: list[_Assignment]


class _Reader:
    """Typed access to one decoded file; every fault raises PlanFileError naming it."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, reason: str, item: str | None = None, key: str | None = None) -> NoReturn:
        raise PlanFileError(self.source, reason, item=item, field=key)

    def mapping(self, value: Any, item: str | None) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            self.fail(f"expected a JSON object, found {_kind(value)}", item)
        return value

    def get(self, obj: Mapping[str, Any], key: str, item: str | None) -> Any:
        if key not in obj:
            self.fail(f"missing key {key!r}", item, key)
        return obj[key]

    def number(
        self,
        value: Any,
        item: str | None,
        key: str,
        *,
        minimum: float | None = None,
        positive: bool = False,
    ) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(f"expected a number, found {_kind(value)}", item, key)
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            self.fail(f"expected a finite number, found {value!r}", item, key)
        if positive and number <= 0:
            self.fail(f"must be positive, found {number!r}", item, key)
        if minimum is not None and number < minimum:
            self.fail(f"must be at least {minimum!r}, found {number!r}", item, key)
        return number

    def optional_number(self, value: Any, item: str | None, key: str) -> float | None:
        return None if value is None else self.number(value, item, key)

    def string(self, value: Any, item: str | None, key: str) -> str:
        if not isinstance(value, str) or not value:
            self.fail(f"expected a non-empty string, found {_kind(value)}", item, key)
        return value

    def point(self, value: Any, item: str | None, key: str) -> tuple[float, float]:
        if not isinstance(value, list | tuple) or len(value) != 2:
            self.fail(f"expected [x_km, y_km], found {_kind(value)}", item, key)
        return self.number(value[0], item, key), self.number(value[1], item, key)

    def array(self, value: Any, item: str | None, key: str) -> list[Any]:
        if not isinstance(value, list | tuple):
            self.fail(f"expected a JSON array, found {_kind(value)}", item, key)
        return list(value)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {value!r}"
    if isinstance(value, str):
        return f"string {value!r}"
    if isinstance(value, int | float):
        return f"number {value!r}"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return f"an array of {len(value)}"
    return type(value).__name__


def _read_problem(data: Any, source: str) -> _Problem:
    r = _Reader(source)
    top = r.mapping(data, None)
    horizon = r.number(r.get(top, "horizon_days", None), None, "horizon_days", minimum=0)
    speed = r.number(r.get(top, "speed_km_per_day", None), None, "speed_km_per_day", positive=True)
    detour = r.number(r.get(top, "detour", None), None, "detour", minimum=0)

    teams: dict[str, _Team] = {}
    for i, raw in enumerate(r.array(r.get(top, "teams", None), None, "teams")):
        where = f"team #{i}"
        obj = r.mapping(raw, where)
        team_id = r.string(r.get(obj, "id", where), where, "id")
        where = f"team {team_id}"
        if team_id in teams:
            r.fail("duplicate team id", where, "id")
        r.string(r.get(obj, "kind", where), where, "kind")
        personnel = r.get(obj, "personnel", where)
        if isinstance(personnel, bool) or not isinstance(personnel, int) or personnel < 0:
            r.fail(f"expected a whole number >= 0, found {_kind(personnel)}", where, "personnel")
        x, y = r.point(r.get(obj, "base", where), where, "base")
        available = obj.get("available_from_day")
        available = (
            0.0
            if available is None
            else r.number(available, where, "available_from_day", minimum=0)
        )
        teams[team_id] = _Team(team_id, x, y, available)

    tasks: dict[str, _Task] = {}
    for i, raw in enumerate(r.array(r.get(top, "tasks", None), None, "tasks")):
        where = f"task #{i}"
        obj = r.mapping(raw, where)
        task_id = r.string(r.get(obj, "id", where), where, "id")
        where = f"task {task_id}"
        if task_id in tasks:
            r.fail("duplicate task id", where, "id")
        r.string(r.get(obj, "kind", where), where, "kind")
        weight = r.number(r.get(obj, "weight", where), where, "weight")
        x, y = r.point(r.get(obj, "location", where), where, "location")
        durations: dict[str, float] = {}
        for team_id, days in r.mapping(r.get(obj, "durations", where), where).items():
            if team_id not in teams:
                r.fail(f"durations name unknown team {team_id!r}", where, "durations")
            durations[team_id] = r.number(days, where, "durations", minimum=0)
        predecessors = tuple(
            r.string(p, where, "predecessors")
            for p in r.array(r.get(obj, "predecessors", where), where, "predecessors")
        )
        release = r.number(r.get(obj, "release_day", where), where, "release_day")
        tasks[task_id] = _Task(task_id, weight, x, y, durations, predecessors, release)

    for task in tasks.values():
        for p in task.predecessors:
            if p == task.id:
                r.fail("lists itself as a predecessor", f"task {task.id}", "predecessors")
            if p not in tasks:
                r.fail(f"predecessor {p!r} is not a task", f"task {task.id}", "predecessors")
    return _Problem(horizon, speed, detour, teams, tasks)


def _read_plan(data: Any, source: str) -> _Plan:
    r = _Reader(source)
    top = r.mapping(data, None)
    horizon = r.number(r.get(top, "horizon_days", None), None, "horizon_days")
    benefit = r.optional_number(r.get(top, "benefit", None), None, "benefit")
    r.optional_number(r.get(top, "baseline_benefit", None), None, "baseline_benefit")
    upper = r.optional_number(r.get(top, "upper_bound", None), None, "upper_bound")
    r.optional_number(r.get(top, "solve_seconds", None), None, "solve_seconds")
    assignments = []
    for i, raw in enumerate(r.array(r.get(top, "assignments", None), None, "assignments")):
        where = f"assignment #{i}"
        obj = r.mapping(raw, where)
        assignments.append(
            _Assignment(
                i,
                r.string(r.get(obj, "team", where), where, "team"),
                r.string(r.get(obj, "task", where), where, "task"),
                r.number(r.get(obj, "start_day", where), where, "start_day"),
                r.number(r.get(obj, "end_day", where), where, "end_day"),
            )
        )
    return _Plan(horizon, benefit, upper, assignments)


def _load(path: Path) -> Any:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PlanFileError(str(path), f"cannot be read: {exc}") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise PlanFileError(str(path), f"is not JSON: {exc}") from exc


# -- the rules ------------------------------------------------------------------------------


def _n(x: float) -> str:
    """A day or an amount for a message: at most six decimals, never noise."""
    return repr(round(x, 6) + 0.0)


def _check(problem: _Problem, plan: _Plan) -> Verdict:
    tol = TOLERANCE_DAYS
    out: list[str] = []
    tasks, teams = problem.tasks, problem.teams

    if abs(plan.horizon - problem.horizon) > tol:
        out.append(
            f"plan horizon_days {_n(plan.horizon)} differs from the problem's {_n(problem.horizon)}"
        )

    first: dict[str, _Assignment] = {}  # the first assignment of each known task
    by_team: dict[str, list[_Assignment]] = {}
    for a in plan.assignments:
        task = tasks.get(a.task)
        if task is None:
            out.append(f"assignment #{a.index}: task {a.task} is not in the problem")
            continue
        label = f"task {a.task} on team {a.team}"
        if a.task in first:
            out.append(
                f"task {a.task} is assigned more than once "
                f"(assignments #{first[a.task].index} and #{a.index})"
            )
        else:
            first[a.task] = a
        if a.team not in teams:
            out.append(f"{label}: team {a.team} is not in the problem")
        else:
            by_team.setdefault(a.team, []).append(a)
            if a.team not in task.durations:
                out.append(f"{label}: the task has no duration for team {a.team}")
            elif a.end - a.start < task.durations[a.team] - tol:
                out.append(
                    f"{label} lasts {_n(a.end - a.start)} days ({_n(a.start)} to {_n(a.end)}), "
                    f"shorter than its duration {_n(task.durations[a.team])}"
                )
        if a.start < -tol:
            out.append(f"{label} starts at {_n(a.start)}, before day 0")
        if a.start < task.release - tol:
            out.append(
                f"{label} starts at {_n(a.start)}, before its release day {_n(task.release)}"
            )
        if a.end > problem.horizon + tol:
            out.append(f"{label} ends at {_n(a.end)}, after the horizon {_n(problem.horizon)}")

    for a in plan.assignments:
        task = tasks.get(a.task)
        if task is None:
            continue
        for p in task.predecessors:
            before = first.get(p)
            if before is None:
                out.append(f"task {a.task} on team {a.team} needs predecessor {p}, not assigned")
            elif a.start < before.end - tol:
                out.append(
                    f"task {a.task} on team {a.team} starts at {_n(a.start)}, "
                    f"before predecessor {p} ends at {_n(before.end)}"
                )

    def travel(x0: float, y0: float, x1: float, y1: float) -> float:
        return math.hypot(x1 - x0, y1 - y0) * problem.detour / problem.speed

    for team_id, seq in by_team.items():
        team = teams[team_id]
        seq.sort(key=lambda a: (a.start, a.end, a.index))
        prev: _Assignment | None = None
        latest: _Assignment | None = None  # the earlier assignment that ends last
        for a in seq:
            task = tasks[a.task]
            label = f"task {a.task} on team {team_id}"
            if prev is None or latest is None:
                ready = team.available_from + travel(team.x, team.y, task.x, task.y)
                if a.start < team.available_from - tol:
                    out.append(
                        f"{label} starts at {_n(a.start)}, "
                        f"before the team is available from day {_n(team.available_from)}"
                    )
                elif a.start < ready - tol:
                    out.append(
                        f"{label} starts at {_n(a.start)}, but travel from the team's base takes "
                        f"{_n(ready - team.available_from)} days after it is available from day "
                        f"{_n(team.available_from)} (earliest start {_n(ready)})"
                    )
            else:
                if a.start < prev.end - tol:
                    out.append(
                        f"{label} starts at {_n(a.start)}, "
                        f"before task {prev.task} on the same team ends at {_n(prev.end)}"
                    )
                else:
                    origin = tasks[prev.task]
                    ready = prev.end + travel(origin.x, origin.y, task.x, task.y)
                    if a.start < ready - tol:
                        out.append(
                            f"{label} starts at {_n(a.start)}, but task {prev.task} ends at "
                            f"{_n(prev.end)} and travel from it takes {_n(ready - prev.end)} days "
                            f"(earliest start {_n(ready)})"
                        )
                if latest is not prev and a.start < latest.end - tol:
                    out.append(
                        f"{label} starts at {_n(a.start)}, "
                        f"before task {latest.task} on the same team ends at {_n(latest.end)}"
                    )
            prev = a
            if latest is None or a.end > latest.end:
                latest = a

    benefit = math.fsum(tasks[t].weight * (problem.horizon - a.end) for t, a in first.items())
    if plan.benefit is not None and abs(plan.benefit - benefit) > BENEFIT_RTOL * max(
        1.0, abs(benefit)
    ):
        out.append(f"claimed benefit {_n(plan.benefit)} differs from the recomputed {_n(benefit)}")
    if plan.upper_bound is not None and benefit > plan.upper_bound + BENEFIT_RTOL * max(
        1.0, abs(plan.upper_bound)
    ):
        out.append(
            f"recomputed benefit {_n(benefit)} exceeds the claimed upper bound "
            f"{_n(plan.upper_bound)}"
        )

    return Verdict(
        feasible=not out,
        violations=out,
        benefit=benefit,
        claimed_benefit=plan.benefit,
        assigned=len(first),
        tasks=len(tasks),
    )


def verify(problem: Mapping[str, Any], plan: Mapping[str, Any]) -> Verdict:
    """Check a decoded ``plan`` against a decoded ``problem`` (both as in DESIGN.md).

    Raises :class:`PlanFileError` (naming ``problem`` or ``plan``) when either does
    not follow the contract; otherwise returns the :class:`Verdict`.
    """
    return _check(_read_problem(problem, "problem"), _read_plan(plan, "plan"))


def load_and_verify(problem_path: Path, plan_path: Path) -> Verdict:
    """Read both JSON files and check the plan; a malformed file raises :class:`PlanFileError`."""
    problem = _read_problem(_load(problem_path), str(problem_path))
    plan = _read_plan(_load(plan_path), str(plan_path))
    return _check(problem, plan)


def check_problem_file(data: Any, source: str) -> None:
    """Raise :class:`PlanFileError` when ``data`` does not follow the problem contract, so a
    problem file from another tool is refused with its fault named before anyone plans it."""
    _read_problem(data, source)

"""The planning problem and a plan, as DESIGN.md's problem and plan file contracts say.

A problem is what anyone needs to check or solve a plan without Clearfield: teams
with their base and arrival day, tasks with their benefit weight, location, the
duration for each team that can do them, predecessors and release day. Coordinates
are km in a local equidistant projection; times are days from the plan's first day.
Extra members (``subject``, ``priority``, ``work``...) say where a task comes from;
the contract's readers ignore them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "TICKS_PER_DAY",
    "Assignment",
    "Plan",
    "Problem",
    "Task",
    "Team",
    "benefit_of",
    "team_pools",
    "ticks",
    "travel_days",
]

TICKS_PER_DAY = 10
"""Planners work in tenths of a day: travel is rounded up to one, never to a whole day."""


def ticks(days: float) -> int:
    """Days as whole ticks, rounded up (a plan in ticks is never earlier than allowed)."""
    return math.ceil(days * TICKS_PER_DAY - 1e-9)


@dataclass(frozen=True, slots=True)
class Team:
    id: str
    kind: str
    personnel: int
    base: tuple[float, float]
    available_from_day: float = 0.0
    organisation: str | None = None
    rate: float = 0.0  # work units per day, in the unit of the tasks it does (for bounds)


@dataclass(frozen=True, slots=True)
class Task:
    id: str
    kind: str  # nts | ts | preparation | clearance | reconstruction
    weight: float  # benefit per day the task is done before the horizon
    location: tuple[float, float]
    durations: dict[str, float]  # team id -> days
    predecessors: tuple[str, ...] = ()
    release_day: float = 0.0
    subject: str = ""  # the hazard or asset the task works on
    work: float = 0.0  # work units (m² of standard clearance, or worker-days)
    released_m2: float = 0.0  # hazard ground this task releases (cancels, reduces, clears)
    priority: float = 0.0  # the priority score of its subject (0..100)
    priority_band: int = 0  # 1 (highest) .. 5, as programmes' priority lists have it
    fixed: tuple[str, float, float] | None = None  # (team, start, end): in progress


@dataclass(slots=True)
class Problem:
    horizon_days: float
    speed_km_per_day: float
    detour: float
    teams: list[Team]
    tasks: list[Task]
    start_date: str = ""
    origin: tuple[float, float] = (0.0, 0.0)  # lon, lat of the projection's centre
    notes: dict[str, Any] = field(default_factory=dict)

    def travel(self, a: tuple[float, float], b: tuple[float, float]) -> float:
        return travel_days(a, b, self.detour, self.speed_km_per_day)

    def to_json(self) -> dict[str, Any]:
        return {
            "horizon_days": self.horizon_days,
            "speed_km_per_day": self.speed_km_per_day,
            "detour": self.detour,
            "start_date": self.start_date,
            "origin": list(self.origin),
            "notes": self.notes,
            "teams": [
                {
                    "id": t.id,
                    "kind": t.kind,
                    "personnel": t.personnel,
                    "base": list(t.base),
                    "available_from_day": t.available_from_day,
                    "organisation": t.organisation,
                    "rate": t.rate,
                }
                for t in self.teams
            ],
            "tasks": [
                {
                    "id": t.id,
                    "kind": t.kind,
                    "weight": t.weight,
                    "location": list(t.location),
                    "durations": t.durations,
                    "predecessors": list(t.predecessors),
                    "release_day": t.release_day,
                    "subject": t.subject,
                    "work": t.work,
                    "released_m2": t.released_m2,
                    "priority": t.priority,
                    "priority_band": t.priority_band,
                    **({"fixed": list(t.fixed)} if t.fixed else {}),
                }
                for t in self.tasks
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Problem:
        """A problem from its file (``clearfield plan --problem-in``); the verifier checks
        the contract's shape, so this trusts it and fills what is optional."""
        teams = [
            Team(
                id=str(t["id"]),
                kind=str(t["kind"]),
                personnel=int(t["personnel"]),
                base=(float(t["base"][0]), float(t["base"][1])),
                available_from_day=float(t.get("available_from_day", 0.0)),
                organisation=t.get("organisation"),
                rate=float(t.get("rate", 0.0)),
            )
            for t in data["teams"]
        ]
        tasks = [
            Task(
                id=str(t["id"]),
                kind=str(t["kind"]),
                weight=float(t["weight"]),
                location=(float(t["location"][0]), float(t["location"][1])),
                durations={str(k): float(v) for k, v in t["durations"].items()},
                predecessors=tuple(str(p) for p in t.get("predecessors", ())),
                release_day=float(t.get("release_day", 0.0)),
                subject=str(t.get("subject", "")),
                work=float(t.get("work", 0.0)),
                released_m2=float(t.get("released_m2", 0.0)),
                priority=float(t.get("priority", 0.0)),
                priority_band=int(t.get("priority_band", 0)),
                fixed=tuple(t["fixed"]) if t.get("fixed") else None,  # type: ignore[arg-type]
            )
            for t in data["tasks"]
        ]
        return cls(
            horizon_days=float(data["horizon_days"]),
            speed_km_per_day=float(data["speed_km_per_day"]),
            detour=float(data["detour"]),
            teams=teams,
            tasks=tasks,
            start_date=str(data.get("start_date", "")),
            origin=tuple(data.get("origin", (0.0, 0.0))),  # type: ignore[arg-type]
            notes=dict(data.get("notes", {})),
        )


def team_pools(problem: Problem) -> list[tuple[list[str], list[int]]]:
    """Teams that share tasks, with those tasks (indices into ``problem.tasks``): the team
    pools (survey teams, deminers, machines, brigades), largest first. Each task belongs
    to the one pool of the teams in its ``durations``; a team that can do nothing is a
    pool of its own without tasks."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for t in problem.tasks:
        ks = list(t.durations)
        for k in ks[1:]:
            parent[find(k)] = find(ks[0])
    teams: dict[str, list[str]] = {}
    for team in problem.teams:
        teams.setdefault(find(team.id), []).append(team.id)
    tasks: dict[str, list[int]] = {root: [] for root in teams}
    for i, t in enumerate(problem.tasks):
        if t.durations:
            tasks.setdefault(find(next(iter(t.durations))), []).append(i)
    pools = [(teams.get(root, []), tasks[root]) for root in tasks]
    return sorted(pools, key=lambda p: (-len(p[0]), p[0][:1]))


def travel_days(
    a: tuple[float, float], b: tuple[float, float], detour: float, speed: float
) -> float:
    """Road time between two points: straight distance × detour ÷ speed (DESIGN.md)."""
    return math.hypot(a[0] - b[0], a[1] - b[1]) * detour / speed


@dataclass(frozen=True, slots=True)
class Assignment:
    team: str
    task: str
    start_day: float
    end_day: float


@dataclass(slots=True)
class Plan:
    horizon_days: float
    assignments: list[Assignment]
    benefit: float = 0.0
    baseline_benefit: float | None = None
    upper_bound: float | None = None
    solve_seconds: float = 0.0
    method: str = ""
    start_date: str = ""  # the problem's day 0, so a later re-plan keeps the time frame

    def to_json(self) -> dict[str, Any]:
        return {
            "horizon_days": self.horizon_days,
            "benefit": self.benefit,
            "baseline_benefit": self.baseline_benefit,
            "upper_bound": self.upper_bound,
            "solve_seconds": round(self.solve_seconds, 3),
            "method": self.method,
            "start_date": self.start_date,
            "assignments": [
                {"team": a.team, "task": a.task, "start_day": a.start_day, "end_day": a.end_day}
                for a in sorted(self.assignments, key=lambda a: (a.team, a.start_day))
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Plan:
        return cls(
            horizon_days=float(data["horizon_days"]),
            assignments=[
                Assignment(
                    str(a["team"]), str(a["task"]), float(a["start_day"]), float(a["end_day"])
                )
                for a in data["assignments"]
            ],
            benefit=float(data.get("benefit", 0.0)),
            baseline_benefit=data.get("baseline_benefit"),
            upper_bound=data.get("upper_bound"),
            solve_seconds=float(data.get("solve_seconds", 0.0)),
            method=str(data.get("method", "")),
            start_date=str(data.get("start_date", "")),
        )


def benefit_of(problem: Problem, assignments: list[Assignment]) -> float:
    """Σ weight × (horizon − end) over assigned tasks: the objective of DESIGN.md."""
    weight = {t.id: t.weight for t in problem.tasks}
    return float(sum(weight[a.task] * (problem.horizon_days - a.end_day) for a in assignments))

"""The programme's current plan, read and parsed once per planning run.

A year's problem is tens of megabytes of JSON; the dashboard asks for the plan, its
KPIs, Gantt and progress on every event, and alerts look at it on every daily report.
Each asks this object, which reads the store's newest run id (one cheap query) and
parses a run only when a newer one has been stored.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import orjson

from clearfield.plan.kpi import Kpis, kpis
from clearfield.plan.problem import Plan, Problem
from clearfield.store.base import Store

__all__ = ["CurrentPlan", "PlanRun"]


@dataclass(frozen=True, slots=True)
class PlanRun:
    id: int
    actor: str
    finished_at: str
    summary: dict[str, Any]
    problem: Problem
    plan: Plan
    baseline: Plan
    problem_json: dict[str, Any]
    plan_json: dict[str, Any]
    plan_kpis: Kpis
    baseline_kpis: Kpis


class CurrentPlan:
    def __init__(self, store: Store):
        self.store = store
        self._lock = threading.Lock()
        self._run: PlanRun | None = None

    def get(self) -> PlanRun | None:
        """The newest stored plan run, or None before the first."""
        newest = self.store.latest_plan_run_id()
        if newest is None:
            return None
        with self._lock:
            if self._run is None or self._run.id != newest:
                self._run = _parse(self.store.latest_plan_run())
            return self._run


def _parse(row: dict[str, Any] | None) -> PlanRun:
    assert row is not None  # runs are never deleted
    problem_json = orjson.loads(row["problem"])
    plan_json = orjson.loads(row["plan"])
    problem = Problem.from_json(problem_json)
    plan = Plan.from_json(plan_json)
    baseline = Plan.from_json(orjson.loads(row["baseline"]))
    return PlanRun(
        id=int(row["id"]),
        actor=row["actor"],
        finished_at=row["finished_at"],
        summary=orjson.loads(row["summary"]),
        problem=problem,
        plan=plan,
        baseline=baseline,
        problem_json=problem_json,
        plan_json=plan_json,
        plan_kpis=kpis(problem, plan.assignments),
        baseline_kpis=kpis(problem, baseline.assignments),
    )

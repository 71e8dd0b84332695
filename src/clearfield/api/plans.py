"""Plans over the API: start a planning run, read the current plan, its KPIs and Gantt.

A run takes seconds to a minute, so ``POST /api/plans`` answers 202 at once and plans
in a worker thread; when it is done the plan is stored (``plan_run``) and a ``plan``
event goes to every open dashboard. One run at a time; field reports ask for re-plans
from the current plan (:meth:`PlanRunner.replan`).
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
from fastapi import APIRouter, Body, Depends, FastAPI
from fastapi.responses import JSONResponse

from clearfield import planning
from clearfield.api.current_plan import CurrentPlan, PlanRun
from clearfield.api.events import Broker
from clearfield.domain.roles import check
from clearfield.errors import ClearfieldError, NotFound
from clearfield.plan.kpi import gantt
from clearfield.plan.problem import Plan
from clearfield.store.base import Store
from clearfield.users import User

__all__ = ["PlanRunner", "add_plans"]

MAX_TIME_LIMIT = 600.0


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class PlanRunner:
    """The one planning run that may be going on, and what the last one said.

    A run plans the programme afresh (``start``) or re-plans it from the current plan
    as its records now stand (``replan``: after field reports). A re-plan asked for
    while a run goes on is made once that run ends, so no report is left unplanned.
    """

    REPLAN_SECONDS = 5.0

    def __init__(self, store: Store, broker: Broker):
        self.store, self.broker = store, broker
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None
        self.error: str | None = None
        self.replan_asked: str | None = None  # who asked for a re-plan during a run
        self.closed = False
        self.running = False  # set and cleared under the lock (a thread's end is not)

    def close(self) -> None:
        """Take no more runs, and wait for the one going on (the server is stopping)."""
        with self.lock:
            self.closed, thread = True, self.thread
        if thread is not None:
            thread.join(timeout=MAX_TIME_LIMIT + 60)

    def start(self, user: User, time_limit: float) -> bool:
        """Plan afresh; False when a run is going on."""
        with self.lock:
            if self.closed or self.running:
                return False
            self._launch(self._plan, user.name, time_limit)
            return True

    def replan(self, actor: str) -> None:
        """Re-plan from the current plan (nothing to do without one), now or after the
        run going on."""
        with self.lock:
            if self.closed:
                return
            if self.running:
                self.replan_asked = actor
                return
            self._launch(self._replan, actor, self.REPLAN_SECONDS)

    def _launch(self, target: Any, actor: str, time_limit: float) -> None:
        """Start a run (the caller holds the lock)."""
        self.running = True
        self.thread = threading.Thread(
            target=self._run, args=(target, actor, time_limit), daemon=True, name="planning"
        )
        self.thread.start()

    def _plan(self, actor: str, time_limit: float) -> planning.PlanResult | None:
        problem = planning.build(self.store)
        return planning.plan_problem(problem, time_limit=time_limit)

    def _replan(self, actor: str, time_limit: float) -> planning.PlanResult | None:
        run = self.store.latest_plan_run()
        if run is None:
            return None
        previous = Plan.from_json(orjson.loads(run["plan"]))
        return planning.replan_programme(self.store, previous, time_limit=time_limit)

    def _run(self, target: Any, actor: str, time_limit: float) -> None:
        started = _now()
        try:
            result = target(actor, time_limit)
            if result is not None:
                run, summary = planning.save_run(self.store, actor, started, result)
                self.error = None
                self.broker.publish(
                    "plan",
                    {
                        "run": run,
                        "method": result.plan.method,
                        "benefit": summary["benefit"],
                        "baseline_benefit": summary["baseline_benefit"],
                        "upper_bound": summary["upper_bound"],
                        "verified": summary["verified"],
                    },
                )
        except ClearfieldError as exc:
            self.error = str(exc)
            self.broker.publish("alert", {"kind": "plan_failed", "message": self.error})
        except Exception as exc:  # a bug: say so to the dashboards instead of going silent
            self.error = f"the planning run failed unexpectedly ({type(exc).__name__}: {exc})"
            self.broker.publish("alert", {"kind": "plan_failed", "message": self.error})
            raise
        finally:
            with self.lock:
                again, self.replan_asked = self.replan_asked, None
                if again is not None and not self.closed:
                    self._launch(self._replan, again, self.REPLAN_SECONDS)
                else:
                    self.running = False


def add_plans(
    app: FastAPI,
    store: Store,
    runner: PlanRunner,
    current_plan: CurrentPlan,
    current_user: Any,
) -> None:
    router = APIRouter(prefix="/api/plans")

    @router.post("", status_code=202)
    def start(
        time_limit: float = Body(20.0, embed=True, ge=0, le=MAX_TIME_LIMIT),
        user: User = Depends(current_user),
    ) -> JSONResponse:
        """Start a planning run (planner or admin); a ``plan`` event says when it is done."""
        check(user.role, "plan")
        if not runner.start(user, time_limit):
            return JSONResponse(
                {"error": "CONFLICT", "message": "a planning run is going on; wait for its event"},
                status_code=409,
            )
        return JSONResponse({"status": "running", "time_limit": time_limit}, status_code=202)

    def latest() -> PlanRun:
        run = current_plan.get()
        if run is None:
            raise NotFound("no plan yet; a planner starts one with POST /api/plans")
        return run

    @router.get("/current")
    def current(user: User = Depends(current_user)) -> dict[str, Any]:
        """The latest plan: plan vs today's practice vs the bound, and weekly KPIs of both."""
        check(user.role, "read_plan")
        run = latest()
        return {
            "run": run.id,
            "started_by": run.actor,
            "finished_at": run.finished_at,
            "summary": run.summary,
            "kpis": {"plan": run.plan_kpis.as_dict(), "baseline": run.baseline_kpis.as_dict()},
            "running": runner.running,
            "last_error": runner.error,
        }

    @router.get("/current/gantt")
    def current_gantt(
        team: str | None = None, user: User = Depends(current_user)
    ) -> dict[str, Any]:
        """Each team's tasks in order (start, end, travel before): the Gantt chart's data."""
        check(user.role, "read_plan")
        run = latest()
        rows = gantt(run.problem, run.plan.assignments)
        if team is not None:
            if team not in rows:
                raise NotFound(f"no team {team!r} in the plan")
            rows = {team: rows[team]}
        return {"run": run.id, "start_date": run.problem.start_date, "teams": rows}

    @router.get("/current/progress")
    def progress(user: User = Depends(current_user)) -> dict[str, Any]:
        """Land released per week: what the current plan foresaw, and what approved
        releases say happened (the dashboard's planned-against-actual chart)."""
        check(user.role, "read_plan")
        run = latest()
        planned = run.plan_kpis.released_m2
        first = date.fromisoformat(run.problem.start_date)
        actual = [0.0] * len(planned)
        last = first + timedelta(days=7 * len(planned) - 1)
        for day, _category, m2 in store.released_by_day(first, last):
            week = (date.fromisoformat(day) - first).days // 7
            if 0 <= week < len(actual):
                actual[week] += m2
        return {
            "start_date": run.problem.start_date,
            "weeks": len(planned),
            "planned_m2": planned,
            "actual_m2": [round(x, 1) for x in actual],
        }

    @router.get("/current/plan.json")
    def plan_file(user: User = Depends(current_user)) -> JSONResponse:
        """The plan file (DESIGN's contract), for `clearfield plan verify`."""
        check(user.role, "read_plan")
        return JSONResponse(latest().plan_json)

    @router.get("/current/problem.json")
    def problem_file(user: User = Depends(current_user)) -> JSONResponse:
        check(user.role, "read_plan")
        return JSONResponse(latest().problem_json)

    app.include_router(router)
    app.state.plan_runner = runner

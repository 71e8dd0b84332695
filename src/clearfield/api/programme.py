"""Programme-wide figures the dashboard shows beside the land release statistics."""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import Any

import numpy as np
from fastapi import APIRouter, Depends, FastAPI

from clearfield.api.alerts import late_tasks
from clearfield.api.cache import UntilChange
from clearfield.api.current_plan import CurrentPlan, PlanRun
from clearfield.domain.geometry import local_metric
from clearfield.domain.roles import Role, check, sees_full_hazards
from clearfield.planning import programme_date
from clearfield.stats import personnel_by_partner
from clearfield.store.base import Store
from clearfield.users import User

__all__ = ["add_programme"]


def add_programme(
    app: FastAPI, store: Store, current_plan: CurrentPlan, kept: UntilChange, current_user: Any
) -> None:
    router = APIRouter()

    @router.get("/api/personnel")
    def personnel(user: User = Depends(current_user)) -> dict[str, Any]:
        """Sappers and builders pledged (pledges), deployed (teams arrived by the
        programme's date) and active (teams with a task under way in the current plan)."""
        check(user.role, "stats")
        today = programme_date(store)
        run = current_plan.get()
        key = ("personnel", today, None if run is None else run.id)
        return kept.get(key, lambda: _personnel(store, today, run))

    @router.get("/api/teams/current")
    def teams_at_work(user: User = Depends(current_user)) -> dict[str, Any]:
        """Each team at the task the current plan has it on today (``state``: ``at
        work``), or else at the next it goes to (``on the way``), as GeoJSON points
        where the planner placed the task: on the hazard's remaining ground, or the
        asset. A field lead sees their own organisation's teams; an observer sees each
        place rounded to 0.01° (it is on a hazard)."""
        check(user.role, "read_plan")
        today = programme_date(store)
        run = current_plan.get()
        at_work = [] if run is None else _at_work(run, today)
        if user.role is Role.FIELD_LEAD:
            at_work = [f for f in at_work if f["properties"]["organisation"] == user.organisation]
        if not sees_full_hazards(user.role):
            at_work = [_rounded(f) for f in at_work]
        return {"type": "FeatureCollection", "as_of": today.isoformat(), "features": at_work}

    @router.get("/api/alerts/late")
    def late(user: User = Depends(current_user)) -> dict[str, Any]:
        """Tasks of the current plan more than two days late (no approved record of them)."""
        check(user.role, "read_plan")
        today = programme_date(store)
        found = late_tasks(store, today, current=current_plan)
        return {"as_of": today.isoformat(), "count": len(found), "tasks": found[:500]}

    app.include_router(router)


def _personnel(store: Store, today: date, run: PlanRun | None) -> dict[str, Any]:
    counts = personnel_by_partner(store, today, None if run is None else run.plan)
    return {"as_of": counts["as_of"], **counts["total"]}


def _at_work(run: PlanRun, today: date) -> list[dict[str, Any]]:
    start = run.plan_json.get("start_date")
    if not start:
        return []
    first = date.fromisoformat(start)
    day = (today - first).days
    # each team's task under way today, else the next it goes to (travelling, or
    # waiting for its turn); a team with nothing left is not on the map
    current: dict[str, Any] = {}
    for a in sorted(run.plan.assignments, key=lambda a: a.start_day):
        if a.end_day > day and a.team not in current:
            current[a.team] = a
    under_way = list(current.values())
    if not under_way:
        return []
    tasks = {t.id: t for t in run.problem.tasks}
    teams = {t.id: t for t in run.problem.teams}
    km = np.array([tasks[a.task].location for a in under_way], dtype=float)
    lon, lat = local_metric(*run.problem.origin).transform(
        km[:, 0] * 1000, km[:, 1] * 1000, direction="INVERSE"
    )
    out = []
    for a, x, y in zip(under_way, lon.tolist(), lat.tolist(), strict=True):
        team, task = teams[a.team], tasks[a.task]
        out.append(
            {
                "type": "Feature",
                "id": team.id,
                "geometry": {"type": "Point", "coordinates": [round(x, 6), round(y, 6)]},
                "properties": {
                    "id": team.id,  # what a click on the map opens: the team's record
                    "team": team.id,
                    "organisation": team.organisation,
                    "team_kind": team.kind,
                    "personnel": team.personnel,
                    "task": task.id,
                    "task_kind": task.kind,
                    "subject": task.subject,
                    "state": "at work" if a.start_day <= day else "on the way",
                    "since": (first + timedelta(days=int(a.start_day))).isoformat(),
                    "until": (first + timedelta(days=math.ceil(a.end_day))).isoformat(),
                },
            }
        )
    return out


def _rounded(feature: dict[str, Any]) -> dict[str, Any]:
    x, y = feature["geometry"]["coordinates"]
    point = {"type": "Point", "coordinates": [round(x, 2), round(y, 2)]}
    properties = {**feature["properties"], "generalised": True}
    return {**feature, "geometry": point, "properties": properties}

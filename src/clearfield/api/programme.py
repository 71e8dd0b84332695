"""Programme-wide figures the dashboard shows beside the land release statistics."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, FastAPI

from clearfield.api.alerts import late_tasks
from clearfield.api.cache import UntilChange
from clearfield.api.current_plan import CurrentPlan, PlanRun
from clearfield.domain.roles import check
from clearfield.planning import programme_date
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

    @router.get("/api/alerts/late")
    def late(user: User = Depends(current_user)) -> dict[str, Any]:
        """Tasks of the current plan more than two days late (no approved record of them)."""
        check(user.role, "read_plan")
        today = programme_date(store)
        found = late_tasks(store, today, current=current_plan)
        return {"as_of": today.isoformat(), "count": len(found), "tasks": found[:500]}

    app.include_router(router)


def _personnel(store: Store, today: date, run: PlanRun | None) -> dict[str, Any]:
    """Pledged by the approved pledges, deployed by the teams arrived by ``today``,
    active by the teams with a task of ``run`` under way on ``today``."""
    pledged = {"sappers": 0, "builders": 0}
    for s in store.records("pledge", counted_only=True):
        side = "builders" if s.record.team_kind.value == "construction" else "sappers"  # type: ignore[attr-defined]
        pledged[side] += s.record.personnel  # type: ignore[attr-defined]
    deployed = {"sappers": 0, "builders": 0}
    size: dict[str, tuple[str, int]] = {}
    for s in store.records("team", counted_only=True):
        t = s.record
        side = "builders" if t.kind.value == "construction" else "sappers"  # type: ignore[attr-defined]
        size[t.id] = (side, t.personnel)  # type: ignore[attr-defined]
        if t.available_from is None or t.available_from <= today:  # type: ignore[attr-defined]
            deployed[side] += t.personnel  # type: ignore[attr-defined]
    active = {"sappers": 0, "builders": 0}
    if run is not None:
        plan = run.plan_json
        if plan.get("start_date"):
            day = (today - date.fromisoformat(plan["start_date"])).days
            busy = {a["team"] for a in plan["assignments"] if a["start_day"] <= day < a["end_day"]}
            for team in busy:
                if team in size:
                    side, n = size[team]
                    active[side] += n
    return {
        "as_of": today.isoformat(),
        "pledged": pledged,
        "deployed": deployed,
        "active": active,
    }

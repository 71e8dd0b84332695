"""Alerts raised by what comes in: the things an operations officer must see at once.

- an accident reported;
- a daily report from a team working where the current plan has not tasked it (the
  report's hazard is not the subject of any of the team's tasks under way that day).

- a task of the current plan more than two days past its planned end with no approved
  record showing it done (:func:`late_tasks`, listed for the dashboard; pushed once
  when it becomes late by :class:`LateTaskWatch`, which a server runs every few
  minutes: days pass without anything arriving).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from clearfield.api.current_plan import CurrentPlan, PlanRun
from clearfield.store.base import Store

__all__ = ["LateTaskWatch", "late_tasks", "submission_alerts"]


def submission_alerts(
    store: Store, features: list[Any], current: CurrentPlan | None = None
) -> list[dict[str, Any]]:
    """Alerts for the features of an accepted submission."""
    out: list[dict[str, Any]] = []
    reports = []
    for f in features:
        props = f.get("properties") if isinstance(f, dict) else None
        if not isinstance(props, dict):
            continue
        kind = props.get("record_type")
        if kind == "accident":
            out.append(
                {
                    "kind": "accident",
                    "id": props.get("id"),
                    "hazard_id": props.get("hazard_id"),
                    "district": props.get("district"),
                    "occurred_on": props.get("occurred_on"),
                    "message": f"accident {props.get('id')} reported in {props.get('district')}",
                }
            )
        elif kind == "daily_report" and props.get("hazard_id") and props.get("team"):
            reports.append(props)
    if reports:
        out += _untasked((current or CurrentPlan(store)).get(), reports)
    return out


def _untasked(run: PlanRun | None, reports: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if run is None:
        return []
    plan = run.plan_json
    start = plan.get("start_date")
    if not start:
        return []
    first = date.fromisoformat(start)
    by_team: dict[str, list[tuple[float, float, str]]] = {}
    for a in plan["assignments"]:
        by_team.setdefault(a["team"], []).append(
            (a["start_day"], a["end_day"], a["task"].split("/")[0])
        )
    out = []
    for r in reports:
        try:
            day = (date.fromisoformat(str(r.get("report_date"))) - first).days
        except ValueError:
            continue
        tasks = by_team.get(r["team"], [])
        here = {subject for s, e, subject in tasks if s - 1 <= day <= e + 1}
        if r["hazard_id"] not in here:
            out.append(
                {
                    "kind": "untasked_report",
                    "id": r.get("id"),
                    "team": r["team"],
                    "hazard_id": r["hazard_id"],
                    "message": f"team {r['team']} reported work on {r['hazard_id']} on "
                    f"{r.get('report_date')}, where the plan has not tasked it",
                }
            )
    return out


def late_tasks(
    store: Store, today: date, grace_days: float = 2.0, current: CurrentPlan | None = None
) -> list[dict[str, Any]]:
    """Tasks of the current plan that should have ended more than ``grace_days`` ago and
    that no approved record shows done: an approved release of the same kind on the
    hazard since the plan began, or the asset restored."""
    run = (current or CurrentPlan(store)).get()
    if run is None:
        return []
    plan = run.plan_json
    if not plan.get("start_date"):
        return []
    first = date.fromisoformat(plan["start_date"])
    day = (today - first).days
    due = [a for a in plan["assignments"] if a["end_day"] + grace_days < day]
    if not due:
        return []
    done: set[tuple[str, str]] = set()
    for s in store.records("activity", counted_only=True):
        a = s.record
        if a.end_date >= first:  # type: ignore[attr-defined]
            done.add((a.hazard_id, a.kind.value))  # type: ignore[attr-defined]
    restored = {
        s.record.id
        for s in store.records("asset", counted_only=True)
        if s.record.condition.value == "restored"  # type: ignore[attr-defined]
    }
    out = []
    for a in due:
        subject, _, part = a["task"].partition("/")
        kind = "reconstruction" if part == "build" else part.rstrip("0123456789")
        if kind == "reconstruction":
            ok = subject in restored
        elif kind == "prep":  # ground preparation leaves no release of its own
            ok = True
        else:
            ok = (subject, {"clear": "clearance"}.get(kind, kind)) in done
        if not ok:
            late = day - a["end_day"]
            out.append(
                {
                    "kind": "late_task",
                    "task": a["task"],
                    "team": a["team"],
                    "days_late": round(late, 1),
                    "message": f"{a['task']} ({a['team']}) was due {late:.0f} days ago "
                    "and no approved record shows it done",
                }
            )
    return sorted(out, key=lambda x: -x["days_late"])


class LateTaskWatch:
    """The tasks that have become late since the last look, each announced once.

    A task stays announced while it stays late (a new plan keeps its task ids, so a
    re-plan does not announce it again); once done, or no longer in the plan, it is
    forgotten, and would be announced again were it late again.
    """

    def __init__(self, store: Store, current: CurrentPlan):
        self.store = store
        self.current = current
        self._late: set[str] | None = None  # None: not looked yet

    def newly_late(self, today: date) -> list[dict[str, Any]]:
        """Late tasks not late at the last look (none at the first: that look is the
        baseline, what a dashboard lists when it opens)."""
        late = late_tasks(self.store, today, current=self.current)
        known, self._late = self._late, {x["task"] for x in late}
        if known is None:
            return []
        return [x for x in late if x["task"] not in known]

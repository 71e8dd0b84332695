"""Alerts raised by what comes in: the things an operations officer must see at once.

- an accident reported;
- a daily report from a team working where the current plan has not tasked it (the
  report's hazard is not the subject of any of the team's tasks under way that day).

A task running late against its plan is the third alert of issue 4; it needs the
plan's progress tracking and is not raised yet (docs/ROADMAP.md).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import orjson

from clearfield.store.base import Store

__all__ = ["submission_alerts"]


def submission_alerts(store: Store, features: list[Any]) -> list[dict[str, Any]]:
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
        out += _untasked(store, reports)
    return out


def _untasked(store: Store, reports: list[dict[str, Any]]) -> list[dict[str, Any]]:
    run = store.latest_plan_run()  # type: ignore[attr-defined]
    if run is None:
        return []
    plan = orjson.loads(run["plan"])
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

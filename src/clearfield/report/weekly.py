"""The figures of the weekly situation report, gathered from the store (no HTTP).

Oversight bodies, donors and the national authority read the weekly report, not the
database, so every figure here must be the one ``clearfield stats`` gives for the same
period: land release comes from :func:`clearfield.stats.programme_stats` with the ISO
week as ``--from``/``--to``, never from a second computation that could drift.

Personal data never reaches a report: accidents are aggregated (counts by outcome, sex
and age group); ``personal_data`` only adds the list of accidents (id, date, district,
device, counts), still without a name, for the roles allowed to see it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, timedelta
from typing import Any

import orjson

from clearfield.domain.enums import AssetCondition, Disposal, ReleaseCategory
from clearfield.plan.kpi import gantt
from clearfield.plan.problem import Plan, Problem
from clearfield.planning import programme_date
from clearfield.stats import personnel_by_partner, programme_stats
from clearfield.store.base import Store

__all__ = ["CATEGORIES", "GANTT_WEEKS", "HISTORY_WEEKS", "week_bounds", "weekly_figures"]

CATEGORIES = tuple(c.value for c in ReleaseCategory)
HISTORY_WEEKS = 12  # weeks the released-by-week chart looks back over
GANTT_WEEKS = 4  # weeks the Gantt looks ahead over


def week_bounds(week: str) -> tuple[date, date]:
    """Monday and Sunday of an ISO week ``YYYY-Www``; a clear error for anything else.

    >>> week_bounds("2026-W47")
    (datetime.date(2026, 11, 16), datetime.date(2026, 11, 22))
    """
    try:
        year, w = week.upper().split("-W")
        monday = date.fromisocalendar(int(year), int(w), 1)
    except ValueError as exc:
        raise ValueError(f"week must be an ISO week like 2026-W47, not {week!r}") from exc
    return monday, monday + timedelta(days=6)


def last_whole_week(store: Store) -> str:
    """The ISO week before the programme's date: the week a weekly report tells of."""
    return _iso_week(programme_date(store) - timedelta(days=7))


def _iso_week(d: date) -> str:
    y, w, _ = d.isocalendar()
    return f"{y}-W{w:02d}"


def weekly_figures(store: Store, week: str, *, personal_data: bool) -> dict[str, Any]:
    """Everything the weekly report shows for ``week`` (``YYYY-Www``), as plain values.

    Figures "this week" are over records dated in the week; "previous" over the week
    before; states (hazards remaining, assets restored) are at the end of each week.
    ``personal_data`` (``domain.roles.sees_personal_data`` of the reader) adds the list
    of the week's accidents; without it the report is an observer's: aggregates only,
    and (``render.weekly_charts``) hazards on the map generalised to points.
    """
    start, end = week_bounds(week)
    prev_start, prev_end = start - timedelta(days=7), start - timedelta(days=1)
    programme = store.programme()
    now = programme_stats(store)
    this = programme_stats(store, since=start, until=end)
    prev = programme_stats(store, since=prev_start, until=prev_end)
    by_org = programme_stats(store, by="organisation", since=start, until=end)
    by_district = programme_stats(store, by="district", since=start, until=end)
    assets = _assets(store)
    run = _plan(store)
    finds = _finds(store, start, end)
    accidents = _accidents(store, start, end, personal_data)
    flags = store.quality_flags()
    names = {s.record.id: s.record.name for s in store.records("organisation")}  # type: ignore[attr-defined]
    released_week = sum(this["released_m2"].values())
    activity = (
        released_week > 0
        or finds["total"] > 0
        or accidents["count"] > 0
        or any(a["restored_on"] and start <= a["restored_on"] <= end for a in assets)
    )
    return {
        "programme": programme.get("programme") or "Clearfield programme",
        "region": programme.get("region"),
        "synthetic": now["synthetic"],
        "week": week,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "previous_week": _iso_week(prev_start),
        "date_of_information": min(end, programme_date(store)).isoformat(),
        "personal_data": personal_data,
        "activity": activity,
        "headline": {
            "released_m2": {"this": this["released_m2"], "previous": prev["released_m2"]},
            "released_total_m2": {
                "this": released_week,
                "previous": sum(prev["released_m2"].values()),
            },
            "remaining_m2": {
                "this": _remaining_at(store, now, end),
                "previous": _remaining_at(store, now, prev_end),
            },
            "assets_restored": {
                "this": _restored_by(assets, end),
                "previous": _restored_by(assets, prev_end),
            },
            "population_restored": {
                "this": _population_by(assets, end),
                "previous": _population_by(assets, prev_end),
            },
            "assets_blocked": now["assets"]["blocked"],
            "pending_review": now["pending_review"],
            "planned_m2": _planned_in(run, start, end) if run else None,
        },
        "stats": this,
        "by_organisation": _groups(by_org, names),
        "by_district": _groups(by_district),
        "finds": finds,
        "accidents": accidents,
        "personnel": _personnel(store, end, run, names),
        "history": _history(store, run, end),
        "gantt": _gantt(run, end, names) if run else None,
        "plan": None if run is None else {"start_date": run[1].start_date, "method": run[1].method},
        "quality": {"open": len(flags), "by_code": dict(Counter(f.code for f in flags))},
    }


def _groups(stats: dict[str, Any], names: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Groups that released land in the period, each with its total (for the table)."""
    rows = []
    for key, g in stats["by"]["groups"].items():
        total = sum(g["released_m2"].values())
        if total > 0:
            label = (names or {}).get(key, key)
            rows.append({"key": key, "label": label, "released_m2": g["released_m2"], "total_m2": total})  # fmt: skip
    return rows


def _remaining_at(store: Store, now: dict[str, Any], day: date) -> float:
    """Hazard ground left at the end of ``day``: today's remainder plus what approved
    releases dated after ``day`` have taken off since (the accounts keep no history)."""
    later = programme_stats(store, since=day + timedelta(days=1))
    return float(now["remaining_m2"] + sum(later["released_m2"].values()))


def _assets(store: Store) -> list[dict[str, Any]]:
    out = []
    for s in store.records("asset", counted_only=True):
        a = s.record
        restored = a.condition is AssetCondition.RESTORED  # type: ignore[attr-defined]
        out.append(
            {
                # a restored asset's counted version is dated by the assessment that found it so
                "restored_on": a.assessed_on if restored else None,  # type: ignore[attr-defined]
                "population": a.population_served or 0,  # type: ignore[attr-defined]
            }
        )
    return out


def _restored_by(assets: list[dict[str, Any]], day: date) -> int:
    return sum(1 for a in assets if a["restored_on"] and a["restored_on"] <= day)


def _population_by(assets: list[dict[str, Any]], day: date) -> int:
    return sum(a["population"] for a in assets if a["restored_on"] and a["restored_on"] <= day)


def _finds(store: Store, start: date, end: date) -> dict[str, Any]:
    """Approved EO finds of the week: items found and destroyed, by category."""
    found: Counter[str] = Counter()
    destroyed: Counter[str] = Counter()
    gone = {Disposal.DESTROYED_IN_SITU, Disposal.REMOVED_FOR_DESTRUCTION}
    for s in store.records("find", counted_only=True):
        f = s.record
        if start <= f.found_on <= end:  # type: ignore[attr-defined]
            found[f.category.value] += f.quantity  # type: ignore[attr-defined]
            if f.disposal in gone:  # type: ignore[attr-defined]
                destroyed[f.category.value] += f.quantity  # type: ignore[attr-defined]
    rows = [{"category": c, "found": found[c], "destroyed": destroyed[c]} for c in sorted(found)]
    return {"rows": rows, "total": sum(found.values()), "destroyed": sum(destroyed.values())}


def _accidents(store: Store, start: date, end: date, personal_data: bool) -> dict[str, Any]:
    """Approved accidents of the week, aggregated; names are never read into the figures."""
    outcome: Counter[str] = Counter()
    sex: Counter[str] = Counter()
    age: Counter[str] = Counter()
    listed = []
    count = 0
    for s in store.records("accident", counted_only=True):
        a = s.record
        if not start <= a.occurred_on <= end:  # type: ignore[attr-defined]
            continue
        count += 1
        for c in a.casualties:  # type: ignore[attr-defined]
            outcome[c.outcome.value] += 1
            sex[c.sex.value] += 1
            age[c.age_group.value] += 1
        if personal_data:
            listed.append(
                {
                    "id": a.id,
                    "date": a.occurred_on.isoformat(),  # type: ignore[attr-defined]
                    "district": a.district,  # type: ignore[attr-defined]
                    "device": a.device_category.value,  # type: ignore[attr-defined]
                    "killed": a.killed,  # type: ignore[attr-defined]
                    "injured": a.injured,  # type: ignore[attr-defined]
                }
            )
    return {
        "count": count,
        "casualties": sum(outcome.values()),
        "by_outcome": dict(sorted(outcome.items())),
        "by_sex": dict(sorted(sex.items())),
        "by_age_group": dict(sorted(age.items())),
        "list": sorted(listed, key=lambda r: (r["date"], r["id"])),
    }


def _personnel(
    store: Store, day: date, run: tuple[Problem, Plan] | None, names: dict[str, str]
) -> dict[str, Any]:
    """The dashboard's personnel figures by partner, each row with its partner's name."""
    out = personnel_by_partner(store, day, None if run is None else run[1])
    out["rows"] = [
        {**r, "name": names.get(r["organisation"], r["organisation"])} for r in out["rows"]
    ]
    return out


def _plan(store: Store) -> tuple[Problem, Plan] | None:
    """The current plan (the newest stored run) with its problem, when one is stored."""
    row = store.latest_plan_run()
    if row is None:
        return None
    plan = Plan.from_json(orjson.loads(row["plan"]))
    if not plan.start_date:
        return None
    return Problem.from_json(orjson.loads(row["problem"])), plan


def _planned_by_day(run: tuple[Problem, Plan]) -> dict[date, float]:
    """m² the plan releases, on the day each task ends (as ``plan.kpi.kpis`` counts it)."""
    problem, plan = run
    first = date.fromisoformat(plan.start_date or "")
    tasks = {t.id: t for t in problem.tasks}
    out: dict[date, float] = defaultdict(float)
    for a in plan.assignments:
        out[first + timedelta(days=int(a.end_day))] += tasks[a.task].released_m2
    return out


def _planned_in(run: tuple[Problem, Plan], start: date, end: date) -> float:
    return float(sum(m2 for d, m2 in _planned_by_day(run).items() if start <= d <= end))


def _history(store: Store, run: tuple[Problem, Plan] | None, end: date) -> list[dict[str, Any]]:
    """Released m² by category for each of the last weeks up to ``end``, and planned m²."""
    first = end - timedelta(days=7 * HISTORY_WEEKS - 1)
    weeks: dict[str, dict[str, Any]] = {}
    for i in range(HISTORY_WEEKS):
        monday = first + timedelta(days=7 * i)
        weeks[_iso_week(monday)] = {
            "week": _iso_week(monday),
            "released_m2": dict.fromkeys(CATEGORIES, 0.0),
            "planned_m2": 0.0 if run else None,
        }
    for d, category, m2 in store.released_by_day(first, end):
        weeks[_iso_week(date.fromisoformat(str(d)[:10]))]["released_m2"][category] += m2
    if run is not None:
        for d, m2 in _planned_by_day(run).items():
            if first <= d <= end:
                weeks[_iso_week(d)]["planned_m2"] += m2
    return list(weeks.values())


def _gantt(run: tuple[Problem, Plan], end: date, names: dict[str, str]) -> dict[str, Any]:
    """Each team's tasks of the current plan in the ``GANTT_WEEKS`` after ``end``, the
    teams by organisation name, then id."""
    problem, plan = run
    first = date.fromisoformat(plan.start_date or "")
    lo = (end - first).days + 1
    hi = lo + 7 * GANTT_WEEKS
    teams = {t.id: t for t in problem.teams}
    rows = []
    for team, tasks in gantt(problem, plan.assignments).items():
        bars = [
            {
                "task": t["task"],
                "kind": t["kind"],
                "subject": t["subject"],
                "from_day": max(t["start_day"], lo) - lo,
                "to_day": min(t["end_day"], hi) - lo,
            }
            for t in tasks
            if t["end_day"] > lo and t["start_day"] < hi
        ]
        if bars:
            org = teams[team].organisation or ""
            rows.append({"team": team, "kind": teams[team].kind, "organisation": names.get(org, org) or "no organisation", "bars": bars})  # fmt: skip
    rows.sort(key=lambda r: (r["organisation"], r["team"]))
    return {"from": (end + timedelta(days=1)).isoformat(), "days": hi - lo, "rows": rows}

"""Programme statistics (DESIGN's ``clearfield stats --json`` contract), from approved records.

Hazard figures are over the current approved version of each hazard; released area
is over approved releases (in the period, when one is given), each square metre
once, under the first release; blocked assets are derived spatially from the
remaining hazard ground within their access buffers.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from datetime import date
from typing import Any

from clearfield.domain.access import blocking
from clearfield.domain.access import near as access_near
from clearfield.domain.accounting import remaining_ground
from clearfield.domain.enums import AssetCondition, HazardStatus, ReleaseCategory, TeamKind
from clearfield.errors import BadParameter
from clearfield.plan.problem import Plan
from clearfield.store.base import Store

__all__ = ["GROUPINGS", "blocked_assets", "personnel_by_partner", "programme_stats"]

GROUPINGS = ("organisation", "district", "month", "status", "hazard")


def _empty_release() -> dict[str, float]:
    return {c.value: 0.0 for c in ReleaseCategory}


def programme_stats(
    store: Store,
    *,
    by: str | None = None,
    since: date | None = None,
    until: date | None = None,
) -> dict[str, Any]:
    """The statistics of the contract, plus ``by`` groups when asked for."""
    if by is not None and by not in GROUPINGS:
        raise BadParameter(f"must be one of {', '.join(GROUPINGS)}, not {by!r}", record="by")
    hazards = {"count": 0, "area_m2": 0.0, "by_status": {s.value: 0 for s in HazardStatus}}
    remaining = 0.0
    for _, status, count, area, rest in store.hazard_totals(None):
        hazards["count"] += count
        hazards["area_m2"] += area or 0.0
        hazards["by_status"][status] = count
        remaining += rest or 0.0
    released = _empty_release()
    outside = 0.0
    for _, category, m2, out in store.release_totals(None, since, until):
        released[category] += m2 or 0.0
        outside += out or 0.0
    personnel = {"sappers": 0, "construction_workers": 0}
    for _, kind, count in store.personnel(None):
        personnel["sappers" if TeamKind(kind).is_sapper else "construction_workers"] += int(count)
    assets = store.asset_summary()
    blocked = blocked_assets(store)
    result: dict[str, Any] = {
        "hazards": hazards,
        "released_m2": released,
        "remaining_m2": remaining,
        "flagged_outside_m2": outside,
        "personnel": personnel,
        "assets": {
            "count": assets["count"],
            "blocked": len(blocked),
            "restored": assets["restored"],
        },
        "pending_review": store.pending_count(),
        "synthetic": store.programme().get("synthetic") == "true",
    }
    if since or until:
        result["period"] = {
            "from": since.isoformat() if since else None,
            "to": until.isoformat() if until else None,
        }
    if by is not None:
        result["by"] = {"key": by, "groups": _groups(store, by, since, until)}
    return result


def _groups(store: Store, by: str, since: date | None, until: date | None) -> dict[str, Any]:
    groups: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"hazards": 0, "area_m2": 0.0, "remaining_m2": 0.0, "released_m2": _empty_release()}
    )
    for key, _, count, area, rest in store.hazard_totals(by):
        g = groups[key or "unknown"]
        g["hazards"] += count
        g["area_m2"] += area or 0.0
        g["remaining_m2"] += rest or 0.0
    for key, category, m2, _ in store.release_totals(by, since, until):
        groups[key or "unknown"]["released_m2"][category] += m2 or 0.0
    if by == "organisation":
        for key, kind, count in store.personnel(by):
            g = groups[key or "unknown"]
            role = "sappers" if TeamKind(kind).is_sapper else "construction_workers"
            g.setdefault("personnel", {"sappers": 0, "construction_workers": 0})[role] += int(count)
    return dict(sorted(groups.items()))


_BLOCKED_LOCK = threading.Lock()


def blocked_assets(store: Store) -> dict[str, list[str]]:
    """Asset id → hazards still blocking it (remaining ground within its access buffer).

    Kept on the store until its next change (every write and review adds an audit
    event): it costs seconds at 50,000 hazards, and a server's dashboards ask for it on
    every event.
    """
    with _BLOCKED_LOCK:  # one thread computes; the others wait for its answer
        mark = store.change_mark()
        cached = getattr(store, "_blocked_cache", None)
        if cached is not None and cached[0] == mark:
            return cached[1]
        result = _blocked_assets(store)
        store._blocked_cache = (mark, result)  # type: ignore[attr-defined]
        return result


def _blocked_assets(store: Store) -> dict[str, list[str]]:
    assets = [
        (s.record.id, s.record.geometry, s.record.buffer_m)  # type: ignore[attr-defined]
        for s in store.records("asset", counted_only=True)
        if s.record.condition is not AssetCondition.RESTORED  # type: ignore[attr-defined]
    ]
    if not assets:
        return {}
    hazards = store.open_hazards()
    # A hazard polygon contains its remaining ground, so hazards whose whole polygon is
    # out of every buffer cannot block: only the others need their remainder computed.
    close = access_near(assets, hazards)  # by boxes in degrees, then exactly in metres
    near = {h for ids in blocking(assets, [h for h in hazards if h[0] in close]).values() for h in ids}  # fmt: skip
    releases = store.approved_releases(near)
    remaining = []
    for rid, hazard in hazards:
        if rid not in near:
            continue
        rest = remaining_ground(hazard, releases[rid])
        if not rest.is_empty:
            remaining.append((rid, rest))
    return blocking(assets, remaining)


def personnel_by_partner(store: Store, day: date, plan: Plan | None) -> dict[str, Any]:
    """Sappers and builders pledged, deployed and active on ``day``, by partner and in all.

    Pledged: approved pledges. Deployed: approved teams arrived by ``day``. Active: those
    teams with a task of ``plan`` under way on ``day`` (none when no plan is given). The
    dashboard's ``/api/personnel`` shows the totals; the weekly report, the rows.
    """
    zero = {"sappers": 0, "builders": 0}
    rows: dict[str, dict[str, dict[str, int]]] = defaultdict(
        lambda: {"pledged": dict(zero), "deployed": dict(zero), "active": dict(zero)}
    )

    def side(kind: TeamKind) -> str:
        return "sappers" if kind.is_sapper else "builders"

    for s in store.records("pledge", counted_only=True):
        p = s.record
        rows[p.organisation]["pledged"][side(p.team_kind)] += p.personnel  # type: ignore[attr-defined]
    busy: set[str] = set()
    if plan is not None and plan.start_date:
        d = (day - date.fromisoformat(plan.start_date)).days
        busy = {a.team for a in plan.assignments if a.start_day <= d < a.end_day}
    for s in store.records("team", counted_only=True):
        t = s.record
        org = rows[t.organisation]  # type: ignore[attr-defined]
        if t.available_from is None or t.available_from <= day:  # type: ignore[attr-defined]
            org["deployed"][side(t.kind)] += t.personnel  # type: ignore[attr-defined]
        if t.id in busy:
            org["active"][side(t.kind)] += t.personnel  # type: ignore[attr-defined]
    total = {k: {s_: sum(r[k][s_] for r in rows.values()) for s_ in zero} for k in ("pledged", "deployed", "active")}  # fmt: skip
    return {
        "as_of": day.isoformat(),
        "rows": [{"organisation": k, **v} for k, v in sorted(rows.items())],
        "total": total,
    }

"""The problem builder: from a snapshot of the programme's records to the tasks of DESIGN.md.

Work on a hazard follows land release. An SHA is surveyed (NTS) first, which cancels
the ground found clean; a CHA gets a technical survey, which reduces it; then the
part expected to hold mines is cleared in work packages that several teams can work
at once. On open farmland a flail prepares the ground first (IMAS 09.10: a machine
never clears on its own) and the search that follows goes faster. An asset is rebuilt
after every hazard blocking its access buffer is released.

Work is counted in one unit per team pool, so that every team of a pool does a task
in ``work ÷ its rate`` days: m² of NTS for survey teams, m² of standard manual search
for manual and dog teams, m² of ground preparation for machines, worker-days for
brigades. That is also what makes the upper bound (``plan.bound``) exact to compute.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from clearfield.domain.geometry import local_metric, project
from clearfield.domain.priority import AssetFacts, HazardFacts, band, score_assets, score_hazards
from clearfield.domain.records import Accident, Asset, EOFind, Hazard, Team
from clearfield.plan.problem import Problem, Task
from clearfield.plan.problem import Team as PlanTeam

__all__ = ["Options", "Snapshot", "build_problem", "team_rate"]


@dataclass(frozen=True, slots=True)
class Options:
    """Planning assumptions; every one is a programme's to change."""

    horizon_days: float = 365.0
    speed_km_per_day: float = 240.0  # 40 km/h on damaged roads, 6 hours of driving
    detour: float = 1.3
    # share of a hazard's remaining ground expected to hold mines, so to be cleared
    contaminated_sha: float = 0.05  # under 5% of SHAs hold mines (JMA 13.2)
    contaminated_cha_direct: float = 0.5
    contaminated_cha_indirect: float = 0.25
    ts_sampling: float = 0.2  # a technical survey searches about a fifth of the ground
    package_work_m2: float = 3_000.0  # ~15 days of a manual team of 8
    prepared_speedup: float = 3.0  # search after a flail goes this much faster
    prepare_from_m2: float = 20_000.0  # machines prepare packages of hazards this large
    suspend_after_accident_days: float = 30.0
    # benefit of a hectare released, per day, in people served (DESIGN: land value)
    land_value_per_ha: Mapping[str, float] = field(
        default_factory=lambda: {
            "residential": 20.0,
            "agricultural": 10.0,
            "road": 10.0,
            "industrial": 5.0,
            "other": 2.0,
            "forest": 1.0,
            "water": 0.5,
        }
    )
    hazard_weights: Mapping[str, float] | None = None  # priority criteria (domain.priority)
    asset_weights: Mapping[str, float] | None = None


# how fast ground is searched, relative to open farmland
_COVER = {"forest": 0.5, "residential": 0.7, "industrial": 0.8, "agricultural": 1.2}
# field defaults of Team.productivity_m2 (m² per person per day; per machine-hour)
_PRODUCTIVITY = {"manual": 25.0, "dog": 850.0 / 3, "mechanical": 1_250.0, "survey": 15_000.0}
_POOL = {
    "nts": ("survey",),
    "ts": ("manual", "dog"),
    "clearance": ("manual", "dog"),
    "preparation": ("mechanical",),
    "reconstruction": ("construction",),
}


def team_rate(team: Team) -> float:
    """Work units a team does per day: m² (manual, dog, survey, machine) or worker-days."""
    kind = team.kind.value
    if kind == "construction":
        return float(team.personnel)
    per = team.productivity_m2 or _PRODUCTIVITY.get(kind, 0.0)
    if kind == "mechanical":
        return per * 6.0  # one machine, six working hours
    return per * team.personnel


@dataclass(slots=True)
class Snapshot:
    """What the planner reads of a programme: counted records and derived facts."""

    start: date
    hazards: list[Hazard]
    remaining: dict[str, BaseGeometry]  # hazard id -> where its work is (EPSG:4326 polygon)
    remaining_m2: dict[str, float]  # hazard id -> area left to release (its account)
    assets: list[Asset]  # damaged, not restored
    teams: list[Team]
    blocking: dict[str, list[str]]  # asset id -> hazards blocking it
    accidents: list[Accident] = field(default_factory=list)
    finds: list[EOFind] = field(default_factory=list)
    # m² searched on a hazard since its last approved release (approved daily reports):
    # ground in progress, not yet released, that the plan need not search again
    progress_m2: dict[str, float] = field(default_factory=dict)


def build_problem(snap: Snapshot, options: Options | None = None) -> Problem:
    """The planning problem of a snapshot: teams, tasks, durations, precedences, weights."""
    o = options or Options()
    geoms = [snap.remaining[h.id] for h in snap.hazards] + [a.geometry for a in snap.assets]
    teams = [t for t in snap.teams if t.kind.value in _TEAM_KINDS]
    if not geoms:
        lon0, lat0 = 0.0, 0.0
    else:
        minx, miny, maxx, maxy = shapely.total_bounds(np.asarray(geoms, dtype=object))
        lon0, lat0 = float(minx + maxx) / 2, float(miny + maxy) / 2
    tr = local_metric(lon0, lat0)

    def km(points: list[BaseGeometry]) -> np.ndarray:
        if not points:
            return np.zeros((0, 2))
        pts = project(np.asarray(points, dtype=object), tr)
        return np.column_stack([shapely.get_x(pts), shapely.get_y(pts)]) / 1000.0

    h_xy = km([shapely.point_on_surface(snap.remaining[h.id]) for h in snap.hazards])
    a_xy = km([shapely.point_on_surface(a.geometry) for a in snap.assets])
    centre = h_xy.mean(axis=0) if len(h_xy) else np.zeros(2)
    t_xy = km([t.geometry for t in teams if t.geometry is not None])
    bases = iter(t_xy.tolist())
    plan_teams = [
        PlanTeam(
            id=t.id,
            kind=t.kind.value,
            personnel=t.personnel,
            base=tuple(next(bases)) if t.geometry is not None else tuple(centre.tolist()),  # type: ignore[arg-type]
            available_from_day=float(max(0, (t.available_from - snap.start).days))
            if t.available_from
            else 0.0,
            organisation=t.organisation,
            rate=team_rate(t),
        )
        for t in teams
    ]
    h_scores, a_scores = _scores(snap, o, h_xy, a_xy)
    blocks: dict[str, list[str]] = defaultdict(list)  # hazard -> assets it blocks
    for aid, hids in snap.blocking.items():
        for hid in hids:
            blocks[hid].append(aid)
    suspended = _suspensions(snap, o)
    # without machines in the programme, every package is searched by hand or by dogs
    has_machines = any(t.kind == "mechanical" for t in plan_teams)
    tasks: list[Task] = []
    hazard_tasks: dict[str, list[str]] = {}
    for h, xy in zip(snap.hazards, h_xy, strict=True):
        made = _hazard_tasks(
            h,
            snap.remaining_m2[h.id],
            tuple(xy),
            h_scores[h.id].total,
            o,
            machines=has_machines,
            searched_m2=snap.progress_m2.get(h.id, 0.0),
        )
        value = 0.0 if blocks.get(h.id) else o.land_value_per_ha.get(h.land_use.value, 1.0)
        release = suspended.get(h.id, 0.0)
        for t, released_m2 in made:
            tasks.append(
                Task(
                    **_task_fields(t),
                    weight=value * released_m2 / 10_000.0,
                    released_m2=released_m2,
                    release_day=release,
                )
            )
        hazard_tasks[h.id] = [t.id for t, _ in made]
    for a, xy in zip(snap.assets, a_xy, strict=True):
        work = float(a.work_worker_days or 0.0)
        if work <= 0:
            continue
        preds = tuple(p for hid in snap.blocking.get(a.id, ()) for p in hazard_tasks.get(hid, ()))
        score = a_scores[a.id].total
        tasks.append(
            Task(
                id=f"{a.id}/build",
                kind="reconstruction",
                weight=float(a.population_served or 0),
                location=(float(xy[0]), float(xy[1])),
                durations={},
                predecessors=preds,
                subject=a.id,
                work=work,
                priority=round(score, 2),
                priority_band=band(score),
            )
        )
    tasks = [_with_durations(t, plan_teams, o.horizon_days) for t in tasks]
    return Problem(
        horizon_days=o.horizon_days,
        speed_km_per_day=o.speed_km_per_day,
        detour=o.detour,
        teams=plan_teams,
        tasks=tasks,
        start_date=snap.start.isoformat(),
        origin=(lon0, lat0),
        notes={
            "weights": "asset: population served per day; hazard not blocking an asset: "
            "land value per hectare released per day (options.land_value_per_ha)",
            "work": "nts: m2 surveyed; ts/clearance: m2 of standard manual search; "
            "preparation: m2 flailed; reconstruction: worker-days",
        },
    )


_TEAM_KINDS = {k for kinds in _POOL.values() for k in kinds}


def _task_fields(t: Task) -> dict[str, Any]:
    return {
        "id": t.id,
        "kind": t.kind,
        "location": t.location,
        "durations": t.durations,
        "predecessors": t.predecessors,
        "subject": t.subject,
        "work": t.work,
        "priority": t.priority,
        "priority_band": t.priority_band,
    }


def _hazard_tasks(
    h: Hazard,
    remaining_m2: float,
    xy: tuple[float, float],
    score: float,
    o: Options,
    *,
    machines: bool,
    searched_m2: float = 0.0,
) -> list[tuple[Task, float]]:
    """The land release tasks of one hazard, each with the m² it releases."""
    cover = _COVER.get(h.land_use.value, 1.0)
    if h.status.value == "SHA":
        share = o.contaminated_sha
    elif h.direct_evidence:
        share = o.contaminated_cha_direct
    else:
        share = o.contaminated_cha_indirect
    common: dict[str, Any] = {
        "location": (float(xy[0]), float(xy[1])),
        "durations": {},
        "subject": h.id,
        "priority": round(score, 2),
        "priority_band": band(score),
    }
    out: list[tuple[Task, float]] = []
    survey_m2 = remaining_m2 * (1.0 - share)
    if h.status.value == "SHA":
        first = Task(id=f"{h.id}/nts", kind="nts", weight=0.0, work=remaining_m2, **common)
    else:
        work = survey_m2 * o.ts_sampling / cover
        first = Task(id=f"{h.id}/ts", kind="ts", weight=0.0, work=work, **common)
    out.append((first, survey_m2))
    clear_m2 = max(0.0, remaining_m2 * share - searched_m2)
    prepared = (
        machines and h.land_use.value in ("agricultural", "other") and clear_m2 >= o.prepare_from_m2
    )
    search = clear_m2 / cover / (o.prepared_speedup if prepared else 1.0)
    n = max(1, math.ceil(search / o.package_work_m2)) if clear_m2 > 1.0 else 0
    for k in range(1, n + 1):
        preds: tuple[str, ...] = (first.id,)
        if prepared:
            prep = Task(
                id=f"{h.id}/prep{k}",
                kind="preparation",
                weight=0.0,
                work=clear_m2 / n,
                predecessors=preds,
                **common,
            )
            out.append((prep, 0.0))
            preds = (prep.id,)
        clear = Task(
            id=f"{h.id}/clear{k}",
            kind="clearance",
            weight=0.0,
            work=search / n,
            predecessors=preds,
            **common,
        )
        out.append((clear, clear_m2 / n))
    return out


def _with_durations(t: Task, teams: list[PlanTeam], horizon: float) -> Task:
    """Durations in whole working days for every team of the task's pool that can do it
    within the horizon."""
    kinds = _POOL[t.kind]
    durations = {}
    for team in teams:
        if team.kind in kinds and team.rate > 0:
            d = max(1.0, float(math.ceil(t.work / team.rate - 1e-9)))
            if team.available_from_day + d <= horizon:
                durations[team.id] = d
    return Task(**{**_task_fields(t), "durations": durations}, weight=t.weight,
                released_m2=t.released_m2, release_day=t.release_day, fixed=t.fixed)  # fmt: skip


def _suspensions(snap: Snapshot, o: Options) -> dict[str, float]:
    """Hazards where an accident happened recently stay closed while it is investigated."""
    out: dict[str, float] = {}
    for acc in snap.accidents:
        if acc.hazard_id is None:
            continue
        reopen = (acc.occurred_on - snap.start).days + o.suspend_after_accident_days
        if reopen > 0:
            out[acc.hazard_id] = max(out.get(acc.hazard_id, 0.0), float(reopen))
    return out


def _scores(snap: Snapshot, o: Options, h_xy: np.ndarray, a_xy: np.ndarray) -> tuple[dict, dict]:
    """Priority scores from facts the records give: people near, assets blocked,
    accidents, finds, evidence, distance to infrastructure."""
    pop = np.array([float(a.population_served or 0) for a in snap.assets])
    by_id = {a.id: i for i, a in enumerate(snap.assets)}
    blocks: dict[str, list[int]] = defaultdict(list)
    for aid, hids in snap.blocking.items():
        for hid in hids:
            blocks[hid].append(by_id[aid])
    accidents: dict[str, int] = defaultdict(int)
    for acc in snap.accidents:
        if acc.hazard_id:
            accidents[acc.hazard_id] += 1
    finds: dict[str, int] = defaultdict(int)
    for f in snap.finds:
        if f.hazard_id:
            finds[f.hazard_id] += 1
    near_pop = np.zeros(len(h_xy))
    access = np.zeros(len(h_xy))
    if len(a_xy) and len(h_xy):
        tree = shapely.STRtree(shapely.points(a_xy))
        hi, ai = tree.query(shapely.points(h_xy), predicate="dwithin", distance=5.0)
        np.add.at(near_pop, hi, pop[ai])
        _, dist = tree.query_nearest(shapely.points(h_xy), return_distance=True, all_matches=False)
        access = dist
    facts = [
        HazardFacts(
            id=h.id,
            area_m2=snap.remaining_m2[h.id],
            status=h.status.value,
            land_use=h.land_use.value,
            direct_evidence=bool(h.direct_evidence),
            indirect_evidence=bool(h.indirect_evidence),
            finds=finds.get(h.id, 0),
            accidents=accidents.get(h.id, 0),
            population_nearby=float(near_pop[i]),
            assets_blocked=len(blocks.get(h.id, ())),
            population_blocked=float(pop[blocks[h.id]].sum()) if blocks.get(h.id) else 0.0,
            access_km=float(access[i]) if len(access) else 0.0,
        )
        for i, h in enumerate(snap.hazards)
    ]
    blocked_by = {aid: len(hids) for aid, hids in snap.blocking.items()}
    a_facts = [
        AssetFacts(
            id=a.id,
            kind=a.kind.value,
            damage=a.damage.value,
            population_served=float(a.population_served or 0),
            blocked_by=blocked_by.get(a.id, 0),
        )
        for a in snap.assets
    ]
    return score_hazards(facts, o.hazard_weights), score_assets(a_facts, o.asset_weights)

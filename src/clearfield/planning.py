"""Planning services: read a snapshot of the programme from the store, build the problem,
plan it against today's practice and the bound. The CLI and the API call these.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import orjson

from clearfield.domain.enums import AssetCondition
from clearfield.domain.records import DailyReport
from clearfield.errors import ClearfieldError
from clearfield.plan.bound import upper_bound
from clearfield.plan.build import Options, Snapshot, build_problem
from clearfield.plan.dispatch import baseline, benefit_first
from clearfield.plan.improve import improve
from clearfield.plan.kpi import compare
from clearfield.plan.problem import Plan, Problem, benefit_of
from clearfield.plan.replan import replan
from clearfield.plan.verify import Verdict, verify
from clearfield.stats import blocked_assets
from clearfield.store.base import Store

__all__ = [
    "PlanError",
    "PlanResult",
    "build",
    "plan_problem",
    "programme_date",
    "replan_programme",
    "save_run",
    "snapshot",
    "summary",
    "verify_plan",
]

Progress = Callable[[str], None]


class PlanError(ClearfieldError):
    """A planning request that cannot be met as asked (a plan file without its frame...)."""

    code = "BAD_PLAN_REQUEST"


def snapshot(store: Store, start: date | None = None) -> Snapshot:
    """The counted records the planner needs, with each hazard's ground left to release."""
    accounts = store.hazard_accounts()
    if start is None:
        start = programme_date(store)
    open_ids = {h for h, a in accounts.items() if a.get("remaining_m2", 0.0) > 1.0}
    hazards = [
        s.record for s in store.records("hazard", counted_only=True) if s.record.id in open_ids
    ]
    assets = [
        s.record
        for s in store.records("asset", counted_only=True)
        if s.record.condition is not AssetCondition.RESTORED  # type: ignore[attr-defined]
    ]
    return Snapshot(
        progress_m2=_progress(store, open_ids),
        start=start,
        hazards=hazards,  # type: ignore[arg-type]
        remaining={h.id: h.geometry for h in hazards},  # type: ignore[misc]
        remaining_m2={h.id: float(accounts[h.id]["remaining_m2"]) for h in hazards},
        assets=assets,  # type: ignore[arg-type]
        teams=[s.record for s in store.records("team", counted_only=True)],  # type: ignore[misc]
        blocking=blocked_assets(store),
        accidents=[s.record for s in store.records("accident", counted_only=True)],  # type: ignore[misc]
        finds=[s.record for s in store.records("find", counted_only=True)],  # type: ignore[misc]
    )


def _progress(store: Store, hazard_ids: set[str]) -> dict[str, float]:
    """m² worked per hazard in approved daily reports since its last approved release."""
    last: dict[str, date] = {}
    for s in store.records("activity", counted_only=True):
        a = s.record
        if a.hazard_id in hazard_ids:  # type: ignore[attr-defined]
            last[a.hazard_id] = max(last.get(a.hazard_id, a.end_date), a.end_date)  # type: ignore[attr-defined]
    out: dict[str, float] = {}
    for s in store.records("daily_report", counted_only=True):
        r = s.record
        assert isinstance(r, DailyReport)
        hid = r.hazard_id
        if hid in hazard_ids and r.area_worked_m2 and (hid not in last or r.report_date > last[hid]):  # fmt: skip
            out[hid] = out.get(hid, 0.0) + float(r.area_worked_m2)
    return out


@dataclass(slots=True)
class PlanResult:
    problem: Problem
    plan: Plan
    baseline: Plan
    search: dict[str, float]


def plan_problem(
    problem: Problem,
    *,
    time_limit: float = 60.0,
    seed: int = 0,
    workers: int = 2,
    progress: Progress | None = None,
) -> PlanResult:
    """Plan a problem: today's practice, the planner's plan and the bound on any plan.

    The planner starts from the better of today's practice and its own dispatch (most
    benefit per day, unblocking counted) and improves it by large-neighbourhood search
    with CP-SAT for ``time_limit`` seconds.
    """
    say = progress or (lambda _msg: None)
    say("today's practice: priority list, nearest team")
    t0 = time.perf_counter()
    base = baseline(problem)
    base_s = time.perf_counter() - t0
    base_benefit = benefit_of(problem, base)
    say("upper bound on any plan's benefit")
    bound = upper_bound(problem)
    t0 = time.perf_counter()
    say("planning: benefit-first dispatch")
    start = benefit_first(problem)
    if benefit_of(problem, start) < base_benefit:  # never start worse than today's practice
        start = base
    ours, search = improve(
        problem,
        start,
        time_limit=time_limit,
        seed=seed,
        workers=workers,
        progress=lambda done, limit: say(f"planning: improving ({done:.0f} of {limit:.0f} s)"),
    )
    plan = Plan(
        horizon_days=problem.horizon_days,
        assignments=ours,
        benefit=benefit_of(problem, ours),
        baseline_benefit=base_benefit,
        upper_bound=bound,
        solve_seconds=time.perf_counter() - t0,
        method="benefit-first dispatch + CP-SAT large-neighbourhood search",
        start_date=problem.start_date,
    )
    base_plan = Plan(
        horizon_days=problem.horizon_days,
        assignments=base,
        benefit=base_benefit,
        baseline_benefit=base_benefit,
        upper_bound=bound,
        solve_seconds=base_s,
        method="priority list, nearest team (today's practice)",
        start_date=problem.start_date,
    )
    return PlanResult(problem, plan, base_plan, search)


def replan_programme(
    store: Store,
    previous: Plan,
    *,
    as_of: date | None = None,
    time_limit: float = 3.0,
    seed: int = 0,
    workers: int = 2,
    progress: Progress | None = None,
) -> PlanResult:
    """Re-plan the programme as its records stand, from ``as_of`` (default: the
    programme's as-of date), in the previous plan's time frame. The baseline of the
    result is the previous plan carried on unchanged."""
    if not previous.start_date:
        raise PlanError("the previous plan has no start_date; re-plan needs the plan file "
                        "`clearfield plan --out` wrote")  # fmt: skip
    first = date.fromisoformat(previous.start_date)
    say = progress or (lambda _msg: None)
    say("reading the programme")
    snap = snapshot(store, first)
    today_date = as_of or programme_date(store)
    today = float((today_date - first).days)
    if not 0 <= today < previous.horizon_days:
        raise PlanError(
            f"{today_date} is outside the previous plan's horizon "
            f"({previous.start_date} + {previous.horizon_days:.0f} days)"
        )
    problem = build_problem(snap, Options(horizon_days=previous.horizon_days))
    t0 = time.perf_counter()
    say("re-planning")
    now, kept, ours, search = replan(
        problem, previous, today, time_limit=time_limit, seed=seed, workers=workers
    )
    seconds = time.perf_counter() - t0
    bound = upper_bound(now)
    kept_benefit = benefit_of(now, kept)

    def as_plan(assignments: list, method: str, secs: float) -> Plan:
        return Plan(
            horizon_days=now.horizon_days,
            assignments=assignments,
            benefit=benefit_of(now, assignments),
            baseline_benefit=kept_benefit,
            upper_bound=bound,
            solve_seconds=secs,
            method=method,
            start_date=now.start_date,
        )

    return PlanResult(
        now,
        as_plan(ours, f"re-planned from day {today:.0f}", seconds),
        as_plan(kept, "the previous plan carried on", 0.0),
        search,
    )


def programme_date(store: Store) -> date:
    """The programme's "today": its ``as_of`` date (a scenario's, or an import's), else
    the calendar's."""
    as_of = store.programme().get("as_of")
    return date.fromisoformat(as_of) if as_of else datetime.now(UTC).date()


def save_run(store: Store, actor: str, started_at: str, result: PlanResult) -> tuple[int, dict[str, Any]]:  # fmt: skip
    """Verify a plan, store it as the programme's current plan; return its run id and summary."""
    verdict = verify_plan(result.problem, result.plan)
    info = summary(result, verdict)
    run = store.save_plan_run(  # type: ignore[attr-defined]
        actor,
        started_at,
        datetime.now(UTC).isoformat(timespec="seconds"),
        orjson.dumps(info).decode(),
        orjson.dumps(result.plan.to_json()).decode(),
        orjson.dumps(result.baseline.to_json()).decode(),
        orjson.dumps(result.problem.to_json()).decode(),
    )
    return run, info


def verify_plan(problem: Problem, plan: Plan) -> Verdict:
    """The independent verifier's verdict on a plan (it sees only the two files' content)."""
    return verify(problem.to_json(), plan.to_json())


def summary(result: PlanResult, verdict: Verdict) -> dict[str, Any]:
    """What ``clearfield plan`` prints: plan vs today's practice vs the bound, and KPIs."""
    p, problem = result.plan, result.problem
    comparison = compare(problem, p.assignments, result.baseline.assignments)
    for side in ("plan", "baseline"):
        comparison[side]["released_km2"] = comparison[side].pop("released_m2") / 1e6
    bound = p.upper_bound or 0.0
    return {
        "horizon_days": problem.horizon_days,
        "start_date": problem.start_date,
        "teams": len(problem.teams),
        "tasks": len(problem.tasks),
        "benefit": p.benefit,
        "baseline_benefit": p.baseline_benefit,
        "upper_bound": bound,
        "ratio_to_baseline": p.benefit / p.baseline_benefit if p.baseline_benefit else None,
        "plan_vs_bound": p.benefit / bound if bound else None,
        "baseline_vs_bound": (p.baseline_benefit or 0.0) / bound if bound else None,
        "solve_seconds": p.solve_seconds,
        "method": p.method,
        "baseline_label": "previous plan"
        if p.method.startswith("re-planned")
        else "today's practice",
        "search": result.search,
        "verified": verdict.feasible,
        "violations": verdict.violations[:20],
        "plan": comparison["plan"],
        "baseline": comparison["baseline"],
    }


def build(store: Store, options: Options | None = None, start: date | None = None) -> Problem:
    """The planning problem of the programme in the store."""
    return build_problem(snapshot(store, start), options)

"""The planner on real scenario data in a real SQLite store, every plan checked by the
independent verifier, and the bound checked against brute force on small problems."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearfield import planning, services
from clearfield.plan.bound import upper_bound
from clearfield.plan.build import Options
from clearfield.plan.dispatch import baseline, benefit_first
from clearfield.plan.improve import improve, retime
from clearfield.plan.kpi import compare, gantt, kpis
from clearfield.plan.problem import Plan, Problem, Task, Team, benefit_of
from clearfield.plan.verify import verify
from clearfield.scenario import generate
from conftest import postgres_url
from pg import PostgresCluster


@pytest.fixture(scope="module")
def problem(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Problem]:
    """The reference scenario at 3% scale, imported into a real SQLite file, as a problem."""
    path = tmp_path_factory.mktemp("plan") / "programme.db"
    store = services.open_store(f"sqlite:///{path}")
    scen = generate(scale=0.03, seed=5)
    services.import_features(store, scen.features, source="test", actor="test")
    store.set_programme(scen.metadata, actor="test")
    yield planning.build(store, Options(horizon_days=180))
    store.close()


def test_the_problem_is_the_same_from_either_store(
    problem: Problem, postgres: PostgresCluster
) -> None:
    """The planner reads its snapshot through the store: the PostGIS store gives the
    very problem the embedded store gives, for the same records."""
    url = postgres_url(postgres.new_database())
    store = services.open_store(url)
    try:
        scen = generate(scale=0.03, seed=5)
        services.import_features(store, scen.features, source="test", actor="test")
        store.set_programme(scen.metadata, actor="test")
        other = planning.build(store, Options(horizon_days=180))
    finally:
        store.close()
    _assert_same_problem(other.to_json(), problem.to_json())


def _assert_same_problem(a: dict, b: dict) -> None:
    """The same problem, but for the land release accounts' areas: PostGIS measures them
    on the ellipsoid itself, the embedded store in an equal-area plane (within 0.01%), so
    work and weights agree to 0.01% (or a square metre) and a duration may round to the next day."""
    assert {k: v for k, v in a.items() if k != "tasks"} == {k: v for k, v in b.items() if k != "tasks"}  # fmt: skip
    assert [t["id"] for t in a["tasks"]] == [t["id"] for t in b["tasks"]]
    for x, y in zip(a["tasks"], b["tasks"], strict=True):
        for key in x.keys() | y.keys():
            if isinstance(x[key], float):
                slack = 1.0 if key in ("work", "released_m2") else 1e-6  # (a sliver's m²)
                assert x[key] == pytest.approx(y[key], rel=1e-4, abs=slack), (x["id"], key)
            elif key == "durations":
                assert x[key].keys() == y[key].keys()
                assert all(abs(x[key][k] - y[key][k]) <= 1 for k in x[key]), x["id"]
            else:
                assert x[key] == y[key], (x["id"], key)


def _check(problem: Problem, plan: Plan) -> float:
    verdict = verify(problem.to_json(), plan.to_json())
    assert verdict.feasible, verdict.violations[:5]
    return verdict.benefit


def test_problem_follows_land_release(problem: Problem) -> None:
    tasks = {t.id: t for t in problem.tasks}
    kinds = {t.kind for t in problem.tasks}
    assert {"nts", "clearance", "reconstruction"} <= kinds
    for t in problem.tasks:
        assert t.durations, f"{t.id} has no team that can do it"
        if t.kind == "clearance":  # survey first (NTS for an SHA, TS for a CHA)
            chain = [p for p in t.predecessors]
            while chain and tasks[chain[0]].kind == "preparation":
                chain = list(tasks[chain[0]].predecessors)
            assert chain and tasks[chain[0]].kind in ("nts", "ts")
        if t.kind == "reconstruction":  # rebuilt only after its blocking hazards
            assert all(tasks[p].kind != "reconstruction" for p in t.predecessors)
        for team_id, days in t.durations.items():
            team = next(k for k in problem.teams if k.id == team_id)
            assert days == max(1.0, math.ceil(t.work / team.rate - 1e-9))
    blocked = [t for t in problem.tasks if t.kind == "reconstruction" and t.predecessors]
    assert blocked, "the scenario has assets blocked by hazards"


def test_plan_beats_baseline_is_feasible_and_under_the_bound(problem: Problem) -> None:
    result = planning.plan_problem(problem, time_limit=4, seed=1)
    ours = _check(problem, result.plan)
    base = _check(problem, result.baseline)
    assert ours == pytest.approx(result.plan.benefit, rel=1e-9)
    assert ours >= base
    assert ours <= result.plan.upper_bound * (1 + 1e-9)
    assert base <= upper_bound(problem) * (1 + 1e-9)


def test_search_never_makes_a_plan_worse_and_is_deterministic(problem: Problem) -> None:
    start = baseline(problem)
    a, info = improve(problem, start, time_limit=3, seed=3, workers=1)
    b, _ = improve(problem, start, time_limit=3, seed=3, workers=1)
    _check(problem, Plan(problem.horizon_days, b, benefit_of(problem, b)))
    assert info["benefit"] >= benefit_of(problem, retime(problem, _seqs(start))) - 1e-6
    assert _check(problem, Plan(problem.horizon_days, a, benefit_of(problem, a))) >= 0
    assert sorted((x.task, x.team, x.start_day) for x in a) == sorted(
        (x.task, x.team, x.start_day) for x in b
    )


def _seqs(assignments: list) -> dict[str, list[str]]:
    out: dict[str, list[tuple[float, str]]] = {}
    for a in assignments:
        out.setdefault(a.team, []).append((a.start_day, a.task))
    return {k: [t for _, t in sorted(v)] for k, v in out.items()}


def test_problem_file_round_trip_and_plan_of_a_file(problem: Problem, tmp_path: Path) -> None:
    again = Problem.from_json(problem.to_json())
    assert again.to_json() == problem.to_json()
    plan = benefit_first(again)
    assert _check(again, Plan(again.horizon_days, plan, benefit_of(again, plan))) == pytest.approx(
        benefit_of(problem, benefit_first(problem))
    )


def test_kpis_add_up(problem: Problem) -> None:
    plan = benefit_first(problem)
    _check(problem, Plan(problem.horizon_days, plan, benefit_of(problem, plan)))
    k = kpis(problem, plan)
    done = {a.task for a in plan}
    released = sum(t.released_m2 for t in problem.tasks if t.id in done)
    assert sum(k.released_m2) == pytest.approx(released, rel=1e-6)
    rebuilt = [t for t in problem.tasks if t.id in done and t.kind == "reconstruction"]
    assert sum(k.assets_restored) == len(rebuilt)
    assert k.population_restored[-1] == pytest.approx(sum(t.weight for t in rebuilt))
    assert all(0 <= u <= 1 + 1e-9 for u in k.sapper_utilisation + k.builder_utilisation)
    assert k.benefit == pytest.approx(benefit_of(problem, plan))
    base = baseline(problem)
    _check(problem, Plan(problem.horizon_days, base, benefit_of(problem, base)))
    cmp = compare(problem, plan, base)
    assert cmp["ratio"]["benefit"] == pytest.approx(cmp["plan"]["benefit"] / cmp["baseline"]["benefit"])  # fmt: skip
    chart = gantt(problem, plan)
    assert sum(len(v) for v in chart.values()) == len(plan)
    for rows in chart.values():
        assert all(a["end_day"] <= b["start_day"] for a, b in itertools.pairwise(rows))


# --- the bound against brute force -------------------------------------------------------


def _best_by_brute_force(p: Problem) -> float:
    """The best benefit over every assignment and order, each timed as early as possible
    (written here, sharing nothing with the planner)."""
    ids = [t.id for t in p.tasks]
    tasks = {t.id: t for t in p.tasks}
    teams = {t.id: t for t in p.teams}
    best = 0.0
    options = [[None, *t.durations] for t in p.tasks]
    for choice in itertools.product(*options):
        by_team: dict[str, list[str]] = {}
        for tid, k in zip(ids, choice, strict=True):
            if k is not None:
                by_team.setdefault(k, []).append(tid)
        assigned = {tid for tid, k in zip(ids, choice, strict=True) if k is not None}
        if any(p_ not in assigned for tid in assigned for p_ in tasks[tid].predecessors):
            continue
        for orders in itertools.product(*(itertools.permutations(v) for v in by_team.values())):
            seq = dict(zip(by_team, orders, strict=True))
            end: dict[str, float] = {}
            ok, progress = True, True
            while progress and len(end) < len(assigned):
                progress = False
                for k, order in seq.items():
                    here, free = teams[k].base, teams[k].available_from_day
                    for tid in order:
                        t = tasks[tid]
                        if tid in end:
                            here, free = t.location, end[tid]
                            continue
                        if any(q not in end for q in t.predecessors):
                            break
                        go = free + math.dist(here, t.location) * p.detour / p.speed_km_per_day
                        start = max(go, t.release_day, *(end[q] for q in t.predecessors))
                        end[tid] = start + t.durations[k]
                        here, free, progress = t.location, end[tid], True
            if len(end) < len(assigned) or any(e > p.horizon_days + 1e-9 for e in end.values()):
                ok = False
            if ok:
                best = max(
                    best, sum(tasks[t].weight * (p.horizon_days - e) for t, e in end.items())
                )
    return best


@st.composite
def small_problems(draw: st.DrawFn) -> Problem:
    n_teams = draw(st.integers(1, 2))
    teams = [
        Team(
            id=f"K{k}",
            kind="manual",
            personnel=8,
            base=(draw(st.floats(0, 50)), draw(st.floats(0, 50))),
            available_from_day=draw(st.sampled_from([0.0, 0.0, 5.0])),
            rate=draw(st.sampled_from([100.0, 200.0])),
        )
        for k in range(n_teams)
    ]
    tasks = []
    for i in range(draw(st.integers(1, 4))):
        work = draw(st.sampled_from([300.0, 800.0, 1500.0, 4000.0]))
        preds = tuple(f"T{j}" for j in range(i) if draw(st.booleans()) and j == i - 1)
        tasks.append(
            Task(
                id=f"T{i}",
                kind="clearance",
                weight=draw(st.sampled_from([0.0, 1.0, 3.0, 10.0])),
                location=(draw(st.floats(0, 50)), draw(st.floats(0, 50))),
                durations={k.id: max(1.0, math.ceil(work / k.rate)) for k in teams},
                predecessors=preds,
                release_day=draw(st.sampled_from([0.0, 0.0, 3.0])),
                work=work,
            )
        )
    return Problem(horizon_days=draw(st.sampled_from([10.0, 20.0, 40.0])),
                   speed_km_per_day=60.0, detour=1.3, teams=teams, tasks=tasks)  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(small_problems())
def test_bound_is_never_below_the_best_plan(p: Problem) -> None:
    best = _best_by_brute_force(p)
    assert upper_bound(p) >= best * (1 - 1e-9) - 1e-9
    for plan in (baseline(p), benefit_first(p)):
        assert verify(
            p.to_json(), Plan(p.horizon_days, plan, benefit_of(p, plan)).to_json()
        ).feasible
        assert benefit_of(p, plan) <= best + 1e-6

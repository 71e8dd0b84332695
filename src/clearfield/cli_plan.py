"""``clearfield plan``: plan the programme (or a problem file), and check a plan."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.table import Table

from clearfield.cli_common import Database, JsonFlag, err, fail, open_store, out
from clearfield.errors import ClearfieldError

__all__ = ["plan_app", "print_summary"]

plan_app = typer.Typer(
    help="Plan which team goes where next, against today's practice and a bound; "
    "`clearfield plan verify PROBLEM PLAN` checks a plan.",
    invoke_without_command=True,
)


def _write(path: Path | None, data: dict[str, Any]) -> None:
    if path is not None:
        path.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2))


@plan_app.callback()
def plan(
    ctx: typer.Context,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write the plan here (DESIGN's plan file).")
    ] = None,
    baseline_out: Annotated[
        Path | None,
        typer.Option("--baseline-out", help="Write today's practice (the baseline) as a plan."),
    ] = None,
    problem_out: Annotated[
        Path | None,
        typer.Option("--problem-out", help="Write the planning problem (DESIGN's problem file)."),
    ] = None,
    problem_in: Annotated[
        Path | None,
        typer.Option("--problem-in", help="Plan this problem file instead of the database."),
    ] = None,
    time_limit: Annotated[
        float, typer.Option("--time-limit", help="Seconds the optimiser may use.", min=0)
    ] = 60.0,
    horizon: Annotated[
        float, typer.Option("--horizon", help="Planning horizon in days.", min=1)
    ] = 365.0,
    replan: Annotated[
        Path | None,
        typer.Option(
            "--replan",
            help="Re-plan from this earlier plan file as the records stand today: work "
            "under way stays, the rest is re-optimised.",
        ),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Today for --replan (YYYY-MM-DD; default the programme's)."),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same plan).")] = 0,
    workers: Annotated[int, typer.Option("--workers", help="Solver threads.", min=1)] = 2,
    database: Database = None,
    as_json: JsonFlag = False,
) -> None:
    """Plan the programme: today's practice (priority list, nearest team), the planner's
    plan and an upper bound on any plan's benefit, checked by the independent verifier."""
    if ctx.invoked_subcommand is not None:
        return
    from datetime import date

    from clearfield import planning
    from clearfield.plan.build import Options
    from clearfield.plan.problem import Plan, Problem

    try:
        with err.status("reading the programme") as status:
            if replan is not None:
                previous = Plan.from_json(_read_json(replan))
                try:
                    today = date.fromisoformat(as_of) if as_of else None
                except ValueError:
                    raise planning.PlanError(f"--as-of {as_of!r} is not a date (YYYY-MM-DD)") from None  # fmt: skip
                store = open_store(database, create=False)
                result = planning.replan_programme(
                    store,
                    previous,
                    as_of=today,
                    time_limit=time_limit,
                    seed=seed,
                    workers=workers,
                    progress=lambda msg: status.update(msg),
                )
                store.close()
                problem = result.problem
            else:
                if problem_in is not None:
                    from clearfield.plan.verify import check_problem_file

                    data = _read_json(problem_in)
                    check_problem_file(data, str(problem_in))
                    problem = Problem.from_json(data)
                else:
                    store = open_store(database, create=False)
                    problem = planning.build(store, Options(horizon_days=horizon))
                    store.close()
                result = planning.plan_problem(
                    problem,
                    time_limit=time_limit,
                    seed=seed,
                    workers=workers,
                    progress=lambda msg: status.update(msg),
                )
            _write(problem_out, problem.to_json())
        verdict = planning.verify_plan(problem, result.plan)
    except ClearfieldError as exc:
        fail(exc, as_json)
        return
    _write(out_file, result.plan.to_json())
    _write(baseline_out, result.baseline.to_json())
    summary = planning.summary(result, verdict)
    if as_json:
        out.print_json(data=summary)
    else:
        print_summary(summary)
    if not verdict.feasible:
        err.print("[bold red]the plan failed verification[/]: " + "; ".join(verdict.violations[:5]))
        raise typer.Exit(code=1)


def _read_json(path: Path) -> Any:
    from clearfield.plan.verify import PlanFileError

    try:
        return orjson.loads(path.read_bytes())
    except OSError as exc:
        raise PlanFileError(str(path), f"cannot be read ({exc.strerror})") from None
    except orjson.JSONDecodeError as exc:
        raise PlanFileError(str(path), f"not valid JSON: {exc}") from None


def print_summary(s: dict[str, Any]) -> None:
    t = Table(title=f"Plan over {s['horizon_days']:.0f} days", title_justify="left")
    t.add_column("")
    t.add_column("planner", justify="right")
    t.add_column(s["baseline_label"], justify="right")
    t.add_column("ratio", justify="right")
    rows = [
        ("benefit (people-days served)", "benefit", "{:,.0f}"),
        ("tasks done", "tasks_done", "{:,.0f}"),
        ("land released (km²)", "released_km2", "{:,.2f}"),
        ("assets restored", "assets_restored", "{:,.0f}"),
        ("people with services back", "population_restored", "{:,.0f}"),
        ("sapper utilisation", "sapper_utilisation", "{:.0%}"),
        ("builder utilisation", "builder_utilisation", "{:.0%}"),
    ]
    for label, key, fmt in rows:
        ours, base = s["plan"][key], s["baseline"][key]
        ratio = f"{ours / base:.3f}×" if base else "-"
        t.add_row(label, fmt.format(ours), fmt.format(base), ratio)
    out.print(t)
    out.print(
        f"upper bound on any plan's benefit: {s['upper_bound']:,.0f}; the plan reaches "
        f"{s['plan_vs_bound']:.1%} of it ({s['baseline_label']} {s['baseline_vs_bound']:.1%}). "
        f"{s['teams']} teams, {s['tasks']:,} tasks; solved in {s['solve_seconds']:.1f} s "
        f"({s['method']}). Verified: {'feasible' if s['verified'] else 'NOT feasible'}."
    )


@plan_app.command("verify")
def verify(
    problem: Annotated[Path, typer.Argument(help="Problem file (DESIGN's contract).")],
    plan_file: Annotated[Path, typer.Argument(metavar="PLAN", help="Plan file to check.")],
    as_json: JsonFlag = False,
) -> None:
    """Check a plan against a problem from the two files alone.

    Every team able to do its tasks, durations, release days, predecessors, no overlap,
    travel, horizon; and recompute its benefit. Exits 1 when the plan is not feasible."""
    from clearfield.plan.verify import load_and_verify

    try:
        verdict = load_and_verify(problem, plan_file)
    except ClearfieldError as exc:
        fail(exc, as_json)
        return
    if as_json:
        out.print_json(data=verdict.to_json())
    else:
        state = "[green]feasible[/]" if verdict.feasible else "[bold red]NOT feasible[/]"
        out.print(
            f"{state}: {verdict.assigned:,} of {verdict.tasks:,} tasks assigned; "
            f"benefit {verdict.benefit:,.1f} (recomputed)"
        )
        for v in verdict.violations:
            out.print(f"  {v}", markup=False, highlight=False, soft_wrap=True)
    if not verdict.feasible:
        raise typer.Exit(code=1)

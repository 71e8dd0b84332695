"""``clearfield psplib``: run the planner's scheduling core on public PSPLIB instances.

A thin shell over ``clearfield.plan.psplib``; registered by the main CLI with
``app.add_typer(psplib_app, name="psplib")``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated

import orjson
import typer

from clearfield.cli_common import err, out
from clearfield.errors import ClearfieldError
from clearfield.plan.psplib import InstanceError, solve_instance

__all__ = ["psplib_app"]

psplib_app = typer.Typer(
    help="PSPLIB benchmark instances (.sm single mode, .mm multi mode): solve them with the "
    "planner's scheduling core and compare with published optima.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _fail(exc: ClearfieldError, as_json: bool) -> None:
    """One line on stderr (and the JSON error shape on stdout with --json), then exit.

    A bad file exits 2, like a rejected import; anything else exits 1.
    """
    if as_json:
        fault = {"record": exc.record, "field": None, "reason": exc.message}
        body = {"error": exc.code, "message": str(exc), "faults": [fault]}
        sys.stdout.write(orjson.dumps(body).decode() + "\n")
    err.print(f"[bold red]error[/] {exc}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=2 if isinstance(exc, InstanceError) else 1)


@psplib_app.callback()
def psplib() -> None:
    """PSPLIB benchmark instances: solve them with the planner's scheduling core."""


@psplib_app.command("solve")
def solve_command(
    file: Annotated[Path, typer.Argument(help="A PSPLIB .sm or .mm instance file.")],
    time_limit: Annotated[
        float, typer.Option("--time-limit", min=0.0, help="Solver time limit in seconds.")
    ] = 10.0,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Solver threads.")] = 2,
    seed: Annotated[int, typer.Option("--seed", help="Solver random seed.")] = 0,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json", help='Print {"makespan", "lower_bound", "optimal", "starts": {job: start}}.'
        ),
    ] = False,
) -> None:
    """Solve a PSPLIB instance for the shortest makespan and report the proven lower bound."""
    t0 = time.perf_counter()
    try:
        result = solve_instance(file, time_limit, workers=workers, seed=seed)
    except ClearfieldError as exc:
        _fail(exc, as_json)
    if as_json:
        sys.stdout.write(orjson.dumps(result).decode() + "\n")
        return
    proof = "optimal" if result["optimal"] else f"lower bound {result['lower_bound']}"
    out.print(
        f"{file.name}: makespan [bold]{result['makespan']}[/] ({proof}), "
        f"{len(result['starts'])} jobs, {time.perf_counter() - t0:.1f} s",  # type: ignore[arg-type]
        highlight=False,
    )

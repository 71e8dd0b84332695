"""What every ``clearfield`` command shares: consoles, common options, errors, progress bars."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from clearfield import services
from clearfield.config import database_url
from clearfield.errors import ClearfieldError, ImportRejected

__all__ = ["Actor", "Database", "JsonFlag", "err", "fail", "open_store", "out", "progress_bar"]

# On a terminal, Rich fits its width; piped into a file or another program, lines stay
# whole (Rich would otherwise squeeze every table into 80 columns).
out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 160)

Database = Annotated[
    str | None,
    typer.Option(
        "--database",
        "-d",
        help="sqlite:///PATH or postgresql://USER@HOST:PORT/DB (default "
        "$CLEARFIELD_DATABASE or sqlite:///clearfield.db)",
        show_default=False,
    ),
]
JsonFlag = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]
Actor = Annotated[
    str, typer.Option("--actor", help="Who is acting, for the audit log.", envvar="CLEARFIELD_USER")
]


def fail(exc: ClearfieldError, as_json: bool = False) -> None:
    """Print the error (one unwrapped line per fault, for people and for grep) and exit."""
    if as_json:
        faults = exc.errors if isinstance(exc, ImportRejected) else [exc]
        sys.stdout.write(
            json.dumps(
                {
                    "error": exc.code,
                    "message": str(exc),
                    "faults": [
                        {
                            "record": e.record,
                            "field": getattr(e, "field", None),
                            "reason": e.message,
                        }
                        for e in faults
                    ],
                }
            )
            + "\n"
        )
    if isinstance(exc, ImportRejected):
        err.print(f"[bold red]rejected[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        for e in exc.errors:
            err.print(f"  {e}", highlight=False, markup=False, soft_wrap=True)
    else:
        err.print(f"[bold red]error[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=1 if not isinstance(exc, ImportRejected) else 2)


@contextmanager
def progress_bar(enabled: bool = True) -> Iterator[Callable[[str, int, int], None]]:
    """A Rich progress bar on stderr, fed by services' (label, done, total) callbacks."""
    if not enabled:
        yield lambda label, done, total: None
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        tasks: dict[str, Any] = {}

        def update(label: str, done: int, total: int) -> None:
            if label not in tasks:
                tasks[label] = bar.add_task(label, total=total)
            bar.update(tasks[label], completed=done, total=total)

        yield update


def open_store(database: str | None, *, create: bool = True) -> Any:
    return services.open_store(database_url(database), create=create)

"""``clearfield report``: the reports a programme sends every week."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from clearfield.cli_common import Database, fail, open_store, out
from clearfield.errors import ClearfieldError

__all__ = ["report_app"]

report_app = typer.Typer(help="Reports people read: the weekly situation report.", no_args_is_help=True)  # fmt: skip


@report_app.command("weekly")
def report_weekly(
    out_file: Annotated[Path, typer.Option("--out", help="FILE.pdf or FILE.html.")],
    week: Annotated[
        str | None,
        typer.Option(
            help="ISO week YYYY-Www; default: the last whole week before the programme's date."
        ),
    ] = None,
    no_personal_data: Annotated[
        bool,
        typer.Option("--no-personal-data", help="Aggregates only: an observer's or donor's copy."),
    ] = False,
    database: Database = None,
) -> None:
    """Write the weekly situation report: land released by IMAS category against the week
    before and the plan, by organisation and district, EO found, accidents and casualties
    (aggregated), infrastructure restored, personnel by partner, planned against actual,
    the next four weeks' Gantt, open data quality issues, and a map of the region."""
    from clearfield.report.render import weekly_report
    from clearfield.report.weekly import last_whole_week

    suffix = out_file.suffix.lower()
    try:
        if suffix not in (".pdf", ".html"):
            raise ClearfieldError("the report is written as .pdf or .html", record=str(out_file))
        if not out_file.parent.is_dir():
            raise ClearfieldError("no such folder to write the report in", record=str(out_file))
        store = open_store(database)
        try:
            week = week or last_whole_week(store)
            body = weekly_report(store, week, personal_data=not no_personal_data, pdf=suffix == ".pdf")  # fmt: skip
        except ValueError as exc:
            raise ClearfieldError(str(exc), record="--week") from None
        finally:
            store.close()
        out_file.write_bytes(body)
    except ClearfieldError as exc:
        fail(exc)
    except OSError as exc:
        fail(ClearfieldError(f"cannot write the report ({exc.strerror})", record=str(out_file)))
    out.print(f"wrote the weekly report of {week} to {out_file}")

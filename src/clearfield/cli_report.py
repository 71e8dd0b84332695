"""``clearfield report``: the reports a programme sends every week."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from clearfield.cli_common import Database, fail, open_store, out
from clearfield.errors import ClearfieldError

__all__ = ["report_app"]

report_app = typer.Typer(
    help="Reports people read: the weekly situation report, the land release report.",
    no_args_is_help=True,
)


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
    """Write the weekly situation report (PDF or HTML).

    Land released by IMAS category against the week before and the plan, by organisation
    and district, EO found, accidents and casualties (aggregated), infrastructure
    restored, personnel by partner, planned against actual, the next four weeks' Gantt,
    open data quality issues, and a map of the region."""
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


@report_app.command("land-release")
def report_land_release(
    since: Annotated[datetime, typer.Option("--from", formats=["%Y-%m-%d"], help="First day.")],
    until: Annotated[datetime, typer.Option("--to", formats=["%Y-%m-%d"], help="Last day.")],
    out_file: Annotated[Path, typer.Option("--out", help="FILE.pdf, FILE.html or FILE.xlsx.")],
    database: Database = None,
) -> None:
    """Write the IMAS land release table of a period (PDF, HTML or XLSX).

    Each hazardous area that released land in it (cancelled, reduced, cleared; released
    before; remaining), each organisation's totals and the programme's, equal to
    `clearfield stats --from --to`."""
    from clearfield.report.land_release import check_period, land_release_figures, land_release_xlsx
    from clearfield.report.render import land_release_report

    suffix = out_file.suffix.lower()
    first, last = since.date(), until.date()
    try:
        if suffix not in (".pdf", ".html", ".xlsx"):
            raise ClearfieldError("the report is written as .pdf, .html or .xlsx", record=str(out_file))  # fmt: skip
        if not out_file.parent.is_dir():
            raise ClearfieldError("no such folder to write the report in", record=str(out_file))
        try:
            check_period(first, last)
        except ValueError as exc:
            raise ClearfieldError(str(exc), record="--from/--to") from None
        store = open_store(database)
        try:
            if suffix == ".xlsx":
                land_release_xlsx(land_release_figures(store, first, last, personal_data=False), out_file)  # fmt: skip
            else:
                out_file.write_bytes(land_release_report(store, first, last, personal_data=False, pdf=suffix == ".pdf"))  # fmt: skip
        finally:
            store.close()
    except ClearfieldError as exc:
        fail(exc)
    except OSError as exc:
        fail(ClearfieldError(f"cannot write the report ({exc.strerror})", record=str(out_file)))
    out.print(f"wrote the land release report of {first} to {last} to {out_file}")

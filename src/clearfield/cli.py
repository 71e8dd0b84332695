"""The ``clearfield`` command: a thin shell over services. Each command's docstring is its --help."""

from __future__ import annotations

import dataclasses
import json
import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.markup import escape
from rich.table import Table

from clearfield import __version__, services
from clearfield.cli_audit import audit_app
from clearfield.cli_backup import backup_command, restore_command
from clearfield.cli_common import (
    Actor,
    Database,
    JsonFlag,
    err,
    fail,
    open_store,
    out,
    progress_bar,
)
from clearfield.cli_ingest import forms, ingest_app, print_ingest
from clearfield.cli_plan import plan_app
from clearfield.cli_psplib import psplib_app
from clearfield.cli_report import report_app
from clearfield.cli_server import serve, users_app
from clearfield.config import database_url
from clearfield.domain.enums import ReviewStatus
from clearfield.errors import ClearfieldError, ImportRejected, NotFound, StoreError

app = typer.Typer(
    # help as Markdown, for every command group too: in Typer's "rich" mode a docstring
    # keeps its line breaks, so help wrapped at 88 columns in the source broke
    # mid-sentence in an 80-column terminal
    rich_markup_mode="markdown",
    name="clearfield",
    help="Clearfield: records, land release accounting and planning for mine action and "
    "reconstruction. The database is --database URL, else $CLEARFIELD_DATABASE, else "
    "sqlite:///clearfield.db.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
review_app = typer.Typer(
    help="The review queue: list, submit, approve or reject records.", no_args_is_help=True
)
app.add_typer(review_app, name="review")
app.add_typer(plan_app, name="plan")
app.add_typer(psplib_app, name="psplib")
app.add_typer(users_app, name="users")
app.add_typer(ingest_app, name="ingest")
app.add_typer(report_app, name="report")
app.add_typer(audit_app, name="audit")
app.command("serve")(serve)
app.command("forms")(forms)
app.command("backup")(backup_command)
app.command("restore")(restore_command)


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="GeoJSON (EPSG:4326), GeoPackage or CSV with WKT")],
    repair: Annotated[
        bool,
        typer.Option(
            "--repair",
            help="Repair self-intersecting polygons with make_valid, and record that it did.",
        ),
    ] = False,
    database: Database = None,
    actor: Actor = "cli",
    as_json: JsonFlag = False,
) -> None:
    """Import a file of records in one transaction: all of it, or nothing.

    Each feature's properties.record_type says what it is (organisation, team, hazard,
    activity, find, accident, asset, project, daily_report, pledge). A record with a
    stored id and a later date of information becomes a new version; the same record
    sent again is left unchanged. Any bad feature rejects the whole file: every fault
    is printed with the feature's index and id, and the exit code is 2.

    A KoboToolbox export (its JSON or data API page) or an ODK Central one (OData JSON,
    CSV, or the CSV zip) of Clearfield's field forms is ingested instead: each
    submission becomes records submitted for review, or is kept unmapped with the
    reason (printed); one received before is skipped.
    """
    from clearfield.ingest import ingest
    from clearfield.io import read_file, read_submissions

    url = database_url(database)
    path = Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None
    created = path if path is not None and not path.exists() else None
    store = None
    try:
        submissions = read_submissions(file)
        if submissions is not None:  # a KoboToolbox or ODK Central export
            store = open_store(database)
            ingested = ingest(store, submissions, actor=actor)
            store.close()
            print_ingest(file, ingested, as_json)
            return
        features, carried = read_file(file)  # before opening: a bad file makes no database
        store = open_store(database)
        current = store.programme()
        empty = store.is_empty()
        if current.get("synthetic") == "true" and carried.get("synthetic") != "true":
            err.print(
                "[yellow]warning[/] this database holds synthetic (demo) data; records "
                "imported here are mixed with it"
            )
        elif (
            carried.get("synthetic") == "true" and not empty and current.get("synthetic") != "true"
        ):
            err.print(
                "[yellow]warning[/] this file holds synthetic (demo) data; it is being mixed "
                "into a database of real records"
            )
        with progress_bar(not as_json) as progress:
            report = services.import_features(
                store,
                features,
                source=str(file),
                actor=actor,
                repair=repair,
                progress=progress,
                hand_over=True,  # (read for this import alone)
            )
        if empty and carried.get("synthetic") == "true":  # an export of a demo stays marked
            store.set_programme(carried, actor=services.SCENARIO_ACTOR)
        store.close()
    except ClearfieldError as exc:
        if created is not None and created.exists() and isinstance(exc, ImportRejected):
            if store is not None:
                store.close()  # the database was made for this import: leave none behind
            for suffix in ("", "-wal", "-shm"):
                Path(f"{created}{suffix}").unlink(missing_ok=True)
        fail(exc, as_json)
    if as_json:
        out.print_json(json.dumps({**report.as_dict(), "history": dict(report.history)}))
        return
    out.print(
        f"imported {file}: {report.written} written "
        f"(new: {_counts(report.created)}; new versions: {_counts(report.versioned)}), "
        f"{sum(report.unchanged.values())} unchanged",
        soft_wrap=True,
    )
    if report.history:
        out.print(
            f"  kept as history, dated before their record's current version: "
            f"{_counts(report.history)} (the current versions stay as they were)",
            soft_wrap=True,
        )
    for line in report.repaired:
        out.print(f"  repaired {line}", markup=False, soft_wrap=True)
    if report.flags:
        out.print(f"  {len(report.flags)} data quality flags (all: `clearfield check`):")
        for line in report.flags[:20]:
            out.print(f"    {line}", markup=False, soft_wrap=True)
        if len(report.flags) > 20:
            out.print(f"    ... and {len(report.flags) - 20} more")


def _counts(d: dict[str, int]) -> str:
    return ", ".join(f"{n} {t}" for t, n in d.items()) or "none"


@app.command()
def export(
    file: Annotated[
        Path,
        typer.Argument(
            help="Output .gpkg (one layer per record type), "
            ".geojson or .xlsx (one sheet per record type)"
        ),
    ],
    database: Database = None,
    no_personal_data: Annotated[
        bool, typer.Option("--no-personal-data", help="Leave out casualty names.")
    ] = False,
) -> None:
    """Export the current version of every record, with review status and release accounts."""
    from clearfield.export import export as run

    try:
        store = open_store(database, create=False)
        with progress_bar() as progress:
            counts = run(store, file, personal_data=not no_personal_data, progress=progress)
    except ClearfieldError as exc:
        fail(exc)
    out.print(f"wrote {file}: {_counts({k: v for k, v in counts.items() if v})}")


@app.command()
def stats(
    by: Annotated[
        str | None,
        typer.Option("--by", help="Group by organisation, district, month, status or hazard."),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option("--from", help="Releases ending on or after this date (YYYY-MM-DD)."),
    ] = None,
    until: Annotated[
        str | None, typer.Option("--to", help="Releases ending on or before this date.")
    ] = None,
    recompute: Annotated[
        bool,
        typer.Option(
            "--recompute", help="Recompute every land release account from the geometries first."
        ),
    ] = False,
    database: Database = None,
    as_json: JsonFlag = False,
) -> None:
    """Land release statistics from approved records.

    Hazards, released and remaining area, personnel, assets blocked and restored,
    records waiting for review."""
    from clearfield.stats import GROUPINGS, programme_stats

    if by is not None and by not in GROUPINGS:
        err.print(f"[bold red]error[/] --by must be one of {', '.join(GROUPINGS)}, not {by!r}")
        raise typer.Exit(1)
    period: list[date | None] = []
    for flag, text in (("--from", since), ("--to", until)):
        try:
            period.append(date.fromisoformat(text) if text else None)
        except ValueError:
            err.print(f"[bold red]error[/] {flag} {text!r} is not a date (YYYY-MM-DD)")
            raise typer.Exit(1) from None
    if period[0] and period[1] and period[1] < period[0]:
        err.print(f"[bold red]error[/] --to {until} is before --from {since}")
        raise typer.Exit(1)
    try:
        store = open_store(database, create=False)
        if recompute:
            with progress_bar(not as_json) as progress:
                store.refresh_accounts(progress=lambda d, t: progress("accounting", d, t))
        result = programme_stats(store, by=by, since=period[0], until=period[1])
    except ClearfieldError as exc:
        fail(exc)
    if as_json:
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
        return
    names = None
    if by == "organisation":  # show the organisations' names, not only their ids
        names = {
            o.record.id: f"{o.record.name} ({o.record.id})"  # type: ignore[attr-defined]
            for o in store.records("organisation")
        }
    _print_stats(result, store.programme(), names)


def _print_stats(
    s: dict[str, Any], programme: dict[str, str], names: dict[str, str] | None = None
) -> None:
    title = programme.get("programme", "Clearfield programme")
    if programme.get("synthetic") == "true" and "synthetic" not in title.lower():
        title += " (synthetic data)"
    if "period" in s:
        span = f"{s['period']['from'] or 'the start'} to {s['period']['to'] or 'today'}"
        title += f"\nreleases ending {span}; hazards and remaining area as of today"
    t = Table(title=title, show_header=False)
    t.add_column(style="bold")
    t.add_column(justify="right")
    h = s["hazards"]
    t.add_row(
        "hazardous areas",
        f"{h['count']:,} ({h['by_status']['SHA']:,} SHA, {h['by_status']['CHA']:,} CHA)",
    )
    t.add_row("recorded hazard area", _km2(h["area_m2"]))
    for cat, m2 in s["released_m2"].items():
        t.add_row(f"released: {cat}", _km2(m2))
    t.add_row("remaining hazard area", _km2(s["remaining_m2"]))
    t.add_row("flagged outside hazards", _km2(s["flagged_outside_m2"]))
    t.add_row(
        "sappers / construction workers",
        f"{s['personnel']['sappers']:,} / {s['personnel']['construction_workers']:,}",
    )
    a = s["assets"]
    t.add_row(
        "damaged assets (blocked / restored)",
        f"{a['count']:,} ({a['blocked']:,} / {a['restored']:,})",
    )
    t.add_row("waiting for review", f"{s['pending_review']:,}")
    out.print(t)
    if "by" in s:
        key = s["by"]["key"]
        unit, scale = ("m²", 1.0) if key == "hazard" else ("km²", 1e6)
        g = Table(title=f"by {key}, areas in {unit}", caption=_GROUP_MEANING.get(key))
        for col in ("group", "hazards", "area", "cancelled", "reduced", "cleared", "remaining"):
            g.add_column(col, justify="left" if col == "group" else "right")
        for group, v in s["by"]["groups"].items():
            r = v["released_m2"]
            label = names.get(group, group) if names else group
            g.add_row(
                label,
                f"{v['hazards']:,}",
                *(
                    f"{m2 / scale:,.{0 if scale == 1 else 3}f}"
                    for m2 in (
                        v["area_m2"],
                        r["cancelled"],
                        r["reduced"],
                        r["cleared"],
                        v["remaining_m2"],
                    )
                ),
            )
        out.print(g)


def _km2(m2: float) -> str:
    return f"{m2 / 1e6:,.3f} km²"


# where a grouping means two things for hazards and for releases, the table says so
_GROUP_MEANING = {
    "organisation": "hazards and their area: the organisation that recorded them; "
    "cancelled, reduced, cleared: the organisation that did the work",
    "month": "hazards: the month they were recorded; cancelled, reduced, cleared: the "
    "month the release ended",
}


@app.command()
def check(database: Database = None, as_json: JsonFlag = False) -> None:
    """Data quality flags on current records; flags never reject.

    Duplicates, overlaps, long segments, releases outside their hazard, very large
    hazards, swapped coordinates."""
    try:
        flags = open_store(database, create=False).quality_flags()
    except ClearfieldError as exc:
        fail(exc)
    if as_json:
        sys.stdout.write(json.dumps([dataclasses.asdict(f) for f in flags]) + "\n")
        return
    t = Table(title=f"{len(flags)} data quality flags")
    for col in ("record", "version", "check", "message"):
        t.add_column(col)
    for f in flags:
        t.add_row(f"{f.record_type} {f.record_id}", str(f.version), f.code, f.message)
    out.print(t)


@app.command()
def scenario(
    scale: Annotated[
        float,
        typer.Option(
            "--scale",
            help="1 = the reference region: 1,000 sappers, 5,000 builders, ~5,000 hazards",
        ),
    ] = 1.0,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same scenario.")] = 1,
    replace: Annotated[
        bool,
        typer.Option(
            "--replace",
            help="Replace an existing scenario database (never one holding real records).",
        ),
    ] = False,
    database: Database = None,
) -> None:
    """Build the synthetic reference scenario into a new database (marked synthetic)."""
    _build_scenario(database, scale, seed, replace)


def _build_scenario(database: str | None, scale: float, seed: int, replace: bool) -> Any:
    from clearfield.scenario import generate
    from clearfield.scenario.generate import check_scale

    url = database_url(database)
    try:
        check_scale(scale)
    except ValueError as exc:
        fail(ClearfieldError(str(exc), record="--scale"))
    try:
        where = services.holding_programme(url)
    except ClearfieldError as exc:
        fail(exc)
    if where is not None:
        if not replace:
            err.print(
                f"[bold red]error[/] {where} exists; use --replace to rebuild it or choose "
                "another --database"
            )
            raise typer.Exit(1)
        why = services.replaceable(url)
        if why is not None:
            err.print(
                f"[bold red]error[/] {where} will not be replaced: {why}. Choose another "
                "--database, or move it away yourself."
            )
            raise typer.Exit(1)
        services.erase(url)
    try:
        store = services.open_store(url)
        with progress_bar() as progress:
            scen = generate(
                scale=scale, seed=seed, progress=lambda d, t: progress("generating scenario", d, t)
            )
            report = services.import_features(
                store,
                scen.features,
                source=f"scenario scale={scale} seed={seed}",
                actor=services.SCENARIO_ACTOR,
                progress=progress,
            )
            meta = dict(scen.metadata)
            meta.update({f"context.{k}": json.dumps(v) for k, v in scen.context.items()})
            store.set_programme(meta, actor=services.SCENARIO_ACTOR)
    except ClearfieldError as exc:
        fail(exc)
    out.print(
        f"built {scen.metadata.get('programme', 'scenario')} into {url}: "
        f"{report.written:,} records ({_counts(report.created)})"
    )
    return store


@app.command()
def demo(
    database: Database = None,
    time_limit: Annotated[
        float, typer.Option("--time-limit", help="Seconds the planner may use.", min=0)
    ] = 20.0,
    serve_after: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve the dashboard afterwards.")
    ] = True,
    port: Annotated[int, typer.Option("--port", help="Port to serve on.")] = 8000,
) -> None:
    """Build the reference scenario, plan it and serve the dashboard on 127.0.0.1.

    The scenario (scale 1, seed 1) replaces a previous demo in the database (never a
    database holding real records); its statistics are printed; it is planned against
    today's practice (writing plan.json and baseline.json); one user per role is made;
    then the dashboard is served (unless --no-serve)."""
    from datetime import UTC, datetime

    from clearfield import planning
    from clearfield.cli_plan import print_summary
    from clearfield.stats import programme_stats
    from clearfield.users import demo_users

    store = _build_scenario(database, 1.0, 1, True)
    _print_stats(programme_stats(store), store.programme())
    started = datetime.now(UTC).isoformat(timespec="seconds")
    with err.status("planning") as status:
        problem = planning.build(store)
        result = planning.plan_problem(
            problem, time_limit=time_limit, progress=lambda msg: status.update(msg)
        )
    _, info = planning.save_run(store, "demo", started, result)
    Path("plan.json").write_bytes(orjson.dumps(result.plan.to_json()))
    Path("baseline.json").write_bytes(orjson.dumps(result.baseline.to_json()))
    out.print()
    print_summary(info)
    out.print("wrote plan.json and baseline.json (`clearfield plan --help` for more)")
    first_org = next((t.organisation for t in problem.teams if t.organisation), None)
    users = demo_users(store, first_org)
    store.close()
    table = Table(title="Demo users (passwords shown once)", title_justify="left")
    for column in ("user", "role", "organisation", "password"):
        table.add_column(column)
    for name, role, org, password in users:
        table.add_row(name, role, org or "", password)
    out.print(table)
    if serve_after:
        out.print(f"dashboard: http://127.0.0.1:{port}/  (Ctrl-C stops it)")
        serve(host="127.0.0.1", port=port, database=database)


@review_app.command("list")
def review_list(
    record_type: Annotated[
        str | None, typer.Option("--type", help="Only this record type.")
    ] = None,
    organisation: Annotated[
        str | None, typer.Option("--organisation", help="Only this organisation's records.")
    ] = None,
    database: Database = None,
    as_json: JsonFlag = False,
) -> None:
    """Records waiting for review (submitted), oldest first.

    With what an officer checks: kind, hazard, date of information, area, organisation."""
    if record_type is not None:
        _known_type(record_type)
    try:
        store = open_store(database, create=False)
        if organisation is not None and not store.existing("organisation", [organisation]):
            raise NotFound(f"no organisation with id {organisation!r}", record=organisation)
        queue = services.pending(store, record_type)
    except ClearfieldError as exc:
        fail(exc)
    if organisation is not None:
        queue = [q for q in queue if getattr(q.record, "organisation", None) == organisation]
    if as_json:
        sys.stdout.write(
            json.dumps(
                [
                    {
                        "record_type": s.record.RECORD_TYPE,
                        "id": s.record.id,
                        "version": s.version,
                        "stored_at": s.stored_at,
                        "info_date": str(s.record.info_date) if s.record.info_date else None,
                        "organisation": getattr(s.record, "organisation", None),
                        "area_m2": s.area_m2,
                    }
                    for s in queue
                ]
            )
            + "\n"
        )
        return
    t = Table(title=f"{len(queue)} record{'' if len(queue) == 1 else 's'} waiting for review")
    for col in ("type", "id", "v", "kind", "hazard", "date", "area m²", "organisation", "stored"):
        t.add_column(col, justify="right" if col == "area m²" else "left")
    for s in queue:
        rec = s.record
        t.add_row(
            rec.RECORD_TYPE,
            rec.id,
            str(s.version),
            str(getattr(rec, "kind", None) or getattr(rec, "category", None) or ""),
            str(getattr(rec, "hazard_id", None) or ""),
            str(rec.info_date or ""),
            f"{s.area_m2:,.0f}" if s.area_m2 else "",
            str(getattr(rec, "organisation", "") or ""),
            s.stored_at[:10],
        )
    out.print(t)


def _review(
    record_type: str,
    record_ids: list[str],
    status: ReviewStatus,
    reason: str | None,
    database: str | None,
    actor: str,
) -> None:
    """Review each record in turn; each is its own transaction, and the first refusal stops."""
    _known_type(record_type)
    done = 0
    try:
        store = open_store(database, create=False)
        for record_id in record_ids:
            s = services.review(store, record_type, record_id, status, actor=actor, reason=reason)
            out.print(f"{record_type} {record_id} version {s.version} is now {status.value}")
            done += 1
    except ClearfieldError as exc:
        if done:
            err.print(f"{done} of {len(record_ids)} reviewed before this error")
        fail(exc)


def _known_type(record_type: str) -> None:
    """Exit, listing the record types, if ``record_type`` is not one (a typo would
    otherwise read as "nothing found")."""
    try:
        services.check_record_type(record_type)
    except ClearfieldError as exc:
        err.print(f"[bold red]error[/] {escape(exc.message)}", highlight=False)
        raise typer.Exit(1) from None


RecordType = Annotated[str, typer.Argument(help="hazard, activity, find, accident, ...")]
RecordId = Annotated[str, typer.Argument(help="The record's id")]
RecordIds = Annotated[list[str], typer.Argument(help="One or more record ids")]


@review_app.command("approve")
def review_approve(
    record_type: RecordType, record_ids: RecordIds, database: Database = None, actor: Actor = "cli"
) -> None:
    """Approve submitted records: from now on they count."""
    _review(record_type, record_ids, ReviewStatus.APPROVED, None, database, actor)


@review_app.command("reject")
def review_reject(
    record_type: RecordType,
    record_ids: RecordIds,
    reason: Annotated[str, typer.Option("--reason", help="Why; the field team sees it.")],
    database: Database = None,
    actor: Actor = "cli",
) -> None:
    """Reject submitted records, with a reason."""
    _review(record_type, record_ids, ReviewStatus.REJECTED, reason, database, actor)


@review_app.command("submit")
def review_submit(
    record_type: RecordType, record_ids: RecordIds, database: Database = None, actor: Actor = "cli"
) -> None:
    """Submit drafts (or corrected rejected records) for review."""
    _review(record_type, record_ids, ReviewStatus.SUBMITTED, None, database, actor)


@review_app.command("show")
def review_show(record_type: RecordType, record_id: RecordId, database: Database = None) -> None:
    """A record's versions and its audit trail."""
    _known_type(record_type)
    try:
        store = open_store(database, create=False)
        history = store.history(record_type, record_id)
        events = store.audit_events(record_type, record_id)
    except ClearfieldError as exc:
        fail(exc)
    from clearfield.domain.parse import record_properties

    for s in history:
        mark = " (current)" if s.is_current else ""
        counted = ", counts" if s.is_counted else ""
        out.print(
            f"version {s.version}{mark}: {s.record.review_status.value}{counted}, "
            f"date of information {s.record.info_date}, stored {s.stored_at}",
            soft_wrap=True,
        )
        props = record_properties(s.record)
        for key in ("record_type", "id"):
            props.pop(key)
        area = f"; area {s.area_m2:,.0f} m²" if s.area_m2 else ""
        out.print(f"  {json.dumps(props, ensure_ascii=False)}{area}", markup=False, soft_wrap=True)
    out.print("audit trail:")
    for e in events:
        after = json.loads(e["after"]) if e["after"] else {}
        reason = after.get("rejection_reason") if e["action"] == "rejected" else None
        note = f" reason: {reason}" if reason else (f" {e['detail']}" if e["detail"] else "")
        out.print(
            f"  {e['at']} {e['actor']} {e['action']} v{e['version']}{note}",
            markup=False,
            soft_wrap=True,
        )


@app.command("copy")
def copy_command(
    source: Annotated[str, typer.Argument(help="sqlite:///PATH or postgresql://... to copy from")],
    target: Annotated[str, typer.Argument(help="An empty database to copy into (made if missing)")],
) -> None:
    """Copy a whole programme from one store to another, e.g. SQLite to PostGIS.

    Records, versions, audit trail, users and plans; then every table's rows and
    checksum are checked."""
    from clearfield.copy import copy_programme

    try:
        src = services.open_store(source, create=False)
        dst = services.open_store(target)
        try:
            with progress_bar() as progress:
                checks = copy_programme(src, dst, progress)
        finally:
            src.close()
            dst.close()
    except ClearfieldError as exc:
        fail(exc)
        return
    rows = sum(c.rows for c in checks)
    out.print(f"copied {rows:,} rows in {len(checks)} tables; counts and checksums agree")
    for c in checks:
        out.print(f"  {c.table:<16} {c.rows:>10,}  {c.sha256[:16]}", highlight=False)


@app.command()
def migrate(
    database: Database = None,
    check: Annotated[
        bool, typer.Option("--check", help="Change nothing; exit 1 if the schema is behind.")
    ] = False,
) -> None:
    """Bring the database's schema to the newest revision; say from which to which.

    Opening a database does it too."""
    url = database_url(database)
    try:
        before, head = services.schema_revisions(url)
        if before is None and url.startswith("sqlite:///"):
            raise StoreError(f"no database at {url}; nothing to migrate")
        if check:
            if before != head:
                err.print(
                    f"schema {before or '(none)'}, behind the newest {head}: run clearfield migrate"
                )
                raise typer.Exit(1)
            out.print(f"schema {before}, the newest")
            return
        open_store(database).close()  # (a missing SQLite file was refused above)
    except ClearfieldError as exc:
        fail(exc)
        return
    if before == head:
        out.print(f"schema {head}, the newest: nothing to do")
    else:
        out.print(f"schema {before or '(none)'} → {head}")


@app.command()
def version() -> None:
    """Print Clearfield's version."""
    out.print(__version__)


if __name__ == "__main__":  # pragma: no cover
    app()

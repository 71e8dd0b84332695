"""``clearfield ingest`` and ``clearfield forms``: field forms and what comes back from them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from clearfield.cli_common import Database, JsonFlag, fail, open_store, out
from clearfield.errors import ClearfieldError

__all__ = ["forms", "ingest_app", "print_ingest"]

ingest_app = typer.Typer(
    help="Field submissions from KoboToolbox and ODK Central: organisations' ingest keys, "
    "and what was received (`clearfield import` takes their export files).",
    no_args_is_help=True,
)


@ingest_app.command("key")
def ingest_key(
    organisation: Annotated[str, typer.Argument(help="The organisation's id.")],
    database: Database = None,
) -> None:
    """Give an organisation a new ingest key, print it once (the old one stops working).

    Its servers post to /api/ingest/kobo or /api/ingest/odk with HTTP Basic
    authentication: the organisation's id as user name, this key as password.
    """
    from clearfield.ingest import new_ingest_key

    try:
        store = open_store(database)
        if not any(s.record.id == organisation for s in store.records("organisation")):
            raise ClearfieldError("no such organisation", record=organisation)
        key, digest = new_ingest_key()
        store.set_ingest_key(organisation, digest, actor="cli")
        store.close()
    except ClearfieldError as exc:
        fail(exc)
    out.print(key)


@ingest_app.command("list")
def ingest_list(
    unmapped: Annotated[
        bool, typer.Option("--unmapped", help="Only those that made no record (to fix).")
    ] = False,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 100,
    database: Database = None,
    as_json: JsonFlag = False,
) -> None:
    """List the field submissions received: what records each made, or why none."""
    try:
        store = open_store(database)
        rows = store.field_return_list("unmapped" if unmapped else None, limit)
        store.close()
    except ClearfieldError as exc:
        fail(exc, as_json)
    if as_json:
        out.print_json(json.dumps(rows))
        return
    table = Table("received", "instance id", "form", "status", "records or reason")
    for r in rows:
        made = ", ".join(f"{t} {i}" for t, i in r["records"])
        table.add_row(r["received_at"], r["instance_id"], r["form_id"] or "?", r["status"], made or r["reason"])  # fmt: skip
    out.print(table)


@ingest_app.command("show")
def ingest_show(
    instance_id: Annotated[str, typer.Argument(help="The submission's meta/instanceID.")],
    database: Database = None,
) -> None:
    """Print a submission as it was received (JSON).

    To fix one kept unmapped: edit it and `clearfield import` it; it is then tried
    again."""
    try:
        store = open_store(database)
        kept = store.field_returns([instance_id]).get(instance_id)
        store.close()
        if kept is None:
            raise ClearfieldError("no field submission with this instance id", record=instance_id)
    except ClearfieldError as exc:
        fail(exc)
    out.print_json(kept.raw)


def print_ingest(file: Path, report: Any, as_json: bool) -> None:
    """What an import of submissions did: mapped, kept unmapped (and why), resent."""
    if as_json:
        out.print_json(json.dumps(report.as_dict()))
        return
    out.print(
        f"ingested {file}: {report.received} submissions, {len(report.mapped)} mapped to "
        f"{len(report.records)} records (submitted for review), {len(report.unmapped)} kept "
        f"unmapped, {len(report.duplicates)} received before",
        soft_wrap=True,
    )
    for instance_id, reason in report.unmapped.items():
        out.print(f"  unmapped {instance_id}: {reason}", markup=False, soft_wrap=True)


def forms(
    folder: Annotated[Path, typer.Argument(help="Where to write the forms (.xlsx).")],
) -> None:
    """Write the field forms (XLSForms for ODK Collect and KoboToolbox) to a folder.

    Load them into KoboToolbox or ODK Central as they are; docs/forms.md lists their
    fields and what each becomes.
    """
    from clearfield.forms import write_forms

    for path in write_forms(folder):
        out.print(str(path))

"""``clearfield audit``: the audit trail, checked as the hash chain it is written as."""

from __future__ import annotations

import json
import re
import sys
from typing import Annotated

import typer

from clearfield.cli_common import Database, JsonFlag, err, fail, open_store, out, progress_bar
from clearfield.errors import ClearfieldError

__all__ = ["audit_app"]

audit_app = typer.Typer(
    help="The audit trail: who changed what, when, before and after; tamper-evident.",
    no_args_is_help=True,
)


@audit_app.command("verify")
def audit_verify(
    head: Annotated[
        str | None,
        typer.Option(
            "--head",
            help="A chain head noted earlier (12 or more hex digits): check the trail "
            "still holds it, so events deleted from its end show too.",
        ),
    ] = None,
    as_json: JsonFlag = False,
    database: Database = None,
) -> None:
    """Check that the audit trail is whole.

    Every event still hashes to the hash it was written with, chained to the event
    before it. Exit 0 and print the number of events and the chain head (note it
    somewhere else, and pass it as --head later); exit 1 naming the first event that was
    altered, deleted or written round Clearfield."""
    from clearfield.store.audit_chain import verify

    try:
        if head is not None and not re.fullmatch(r"[0-9a-fA-F]{12,64}", head):
            raise ClearfieldError("a chain head is 12 to 64 hex digits", record="--head")
        store = open_store(database, create=False)
        try:
            with progress_bar(not as_json) as progress:
                check = verify(store, head=head, progress=progress)
        finally:
            store.close()
    except ClearfieldError as exc:
        fail(exc, as_json)
        return
    if as_json:
        fields = ("intact", "events", "head", "pk", "record", "reason")
        sys.stdout.write(json.dumps({f: getattr(check, f) for f in fields}) + "\n")
    elif check.intact:
        out.print(
            f"audit trail intact: {check.events:,} events, chain head {check.head[:12]}",
            highlight=False,
        )
    elif check.pk is None:
        err.print(f"[bold red]audit trail broken[/]: {check.reason}", highlight=False)
    else:
        err.print(
            f"[bold red]audit trail broken[/] at event {check.pk} ({check.record}): "
            f"{check.reason}; the {check.events:,} events before that are intact",
            highlight=False,
            soft_wrap=True,
        )
    if not check.intact:
        raise typer.Exit(1)

"""``clearfield backup`` and ``clearfield restore``: a programme into one file and back."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from clearfield.cli_common import Database, fail, out, progress_bar
from clearfield.config import database_url
from clearfield.errors import ClearfieldError

__all__ = ["backup_command", "restore_command"]

BackupFile = Annotated[Path, typer.Argument(help="The backup file.", show_default=False)]


def backup_command(file: BackupFile, database: Database = None) -> None:
    """Back up the whole programme into FILE while the server keeps serving.

    An SQLite database is copied page by page with SQLite's online backup API and
    checked with PRAGMA integrity_check; a PostgreSQL one is written by pg_dump
    --format=custom (one consistent snapshot) and read back with pg_restore --list. FILE
    is written whole or not at all; one already there is replaced only if it is a
    backup."""
    from clearfield.backup import backup

    try:
        with progress_bar() as progress:
            report = backup(database_url(database), file, progress)
    except ClearfieldError as exc:
        fail(exc)
        return
    rows = sum(report.rows.values())
    what = f"{rows:,} rows in {len(report.rows)} tables, " if report.rows else ""
    out.print(
        f"backed up the {_store(report.kind)} database into {report.path} ({what}"
        f"{report.bytes / 1e6:,.1f} MB, {report.seconds:.1f} s); checked",
        highlight=False,
        soft_wrap=True,
    )


def restore_command(
    file: BackupFile,
    database: Database = None,
    replace: Annotated[
        bool,
        typer.Option("--replace", help="Overwrite a database that holds records."),
    ] = False,
) -> None:
    """Restore the backup FILE into the database.

    An SQLite backup goes into an SQLite file (written beside it, checked, then renamed
    into place), a PostgreSQL one into a PostgreSQL database with pg_restore in one
    transaction (a failed restore changes nothing). A database that holds records is
    refused unless --replace. Then every table's rows and checksum are printed. Stop the
    server of that database first; to move a programme between SQLite and PostgreSQL,
    restore it then `clearfield copy` it."""
    from clearfield.backup import restore

    try:
        with progress_bar() as progress:
            report = restore(file, database_url(database), replace=replace, progress=progress)
    except ClearfieldError as exc:
        fail(exc)
        return
    rows = sum(c.rows for c in report.checks)
    out.print(
        f"restored {file} into {report.target}: {rows:,} rows in {len(report.checks)} tables "
        f"({report.seconds:.1f} s)",
        highlight=False,
        soft_wrap=True,
    )
    for c in report.checks:
        out.print(f"  {c.table:<16} {c.rows:>10,}  {c.sha256[:16]}", highlight=False)


def _store(kind: str) -> str:
    return "SQLite" if kind == "sqlite" else "PostgreSQL"

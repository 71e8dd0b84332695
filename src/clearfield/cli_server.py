"""``clearfield serve`` and ``clearfield users``: the server and its accounts."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from clearfield.cli_common import Actor, Database, err, fail, open_store, out
from clearfield.config import database_url
from clearfield.errors import ClearfieldError

__all__ = ["serve", "users_app"]

users_app = typer.Typer(help="Accounts of the server: add and list users.", no_args_is_help=True)


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="The user's sign-in name.")],
    role: Annotated[
        str,
        typer.Option("--role", help="admin | im_officer | planner | field_lead | observer"),
    ],
    organisation: Annotated[
        str | None, typer.Option("--organisation", help="The user's organisation id.")
    ] = None,
    password_stdin: Annotated[
        bool,
        typer.Option("--password-stdin", help="Read the password from standard input."),
    ] = False,
    database: Database = None,
    actor: Actor = "cli",
) -> None:
    """Add a user. Without --password-stdin a password is generated and printed once."""
    from clearfield.users import add_user

    given = sys.stdin.readline().rstrip("\n") if password_stdin else None
    try:
        store = open_store(database, create=False)
        password = add_user(store, name, role, organisation, given, actor)
    except ClearfieldError as exc:
        fail(exc)
        return
    out.print(f"added {name} ({role}{', ' + organisation if organisation else ''})")
    if given is None:
        out.print(f"password (shown once): {password}", highlight=False)


@users_app.command("list")
def users_list(database: Database = None) -> None:
    """List the users: name, role, organisation."""
    try:
        store = open_store(database, create=False)
        rows = list(store.users())
    except ClearfieldError as exc:
        fail(exc)
        return
    for r in rows:
        out.print(f"{r['name']}\t{r['role']}\t{r['organisation'] or ''}", highlight=False)


def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8000,
    database: Database = None,
    basemap_tiles: Annotated[
        str | None,
        typer.Option(
            "--basemap-tiles",
            envvar="CLEARFIELD_BASEMAP_TILES",
            help="XYZ raster tile URL ({z}/{x}/{y}) drawn under the map, e.g. an offline "
            "tile server; without it the basemap is the programme's own context only.",
        ),
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            help="Server processes (PostgreSQL store only; live events reach every "
            "process's dashboards through the database).",
        ),
    ] = 1,
) -> None:
    """Serve the API (OpenAPI at /docs) on HOST:PORT; GET /api/health answers 200 when ready."""
    import os

    import uvicorn

    from clearfield.api.app import check_basemap_tiles, create_app

    url = database_url(database)
    if workers > 1 and url.startswith("sqlite:///"):
        err.print(
            "[bold red]error[/] --workers: several server processes need the PostgreSQL "
            "store (live events pass between them through it); the embedded store "
            "serves from one"
        )
        raise typer.Exit(1)
    try:
        if workers == 1:
            app = create_app(url, basemap_tiles=basemap_tiles)
        else:  # each worker builds its own app: here only check what they will be given
            check_basemap_tiles(basemap_tiles)
            open_store(database, create=False).close()
    except ClearfieldError as exc:
        fail(exc)
        return
    err.print(f"serving on http://{host}:{port}/ (API docs at /docs)")
    if workers == 1:
        # open event streams (dashboards) get 2 s at shutdown, then the server stops
        uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=2)
        return
    os.environ["CLEARFIELD_DATABASE"] = url  # what each worker process builds its app from
    if basemap_tiles:
        os.environ["CLEARFIELD_BASEMAP_TILES"] = basemap_tiles
    uvicorn.run(
        "clearfield.api.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        timeout_graceful_shutdown=2,
    )

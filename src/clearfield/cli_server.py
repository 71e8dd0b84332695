"""``clearfield serve`` and ``clearfield users``: the server and its accounts."""

from __future__ import annotations

import copy
import logging
import re
import sys
from collections.abc import Callable
from typing import Annotated, Any

import typer

from clearfield.cli_common import Actor, Database, err, fail, open_store, out
from clearfield.config import database_url, log_level
from clearfield.errors import ClearfieldError
from clearfield.store.base import Store

__all__ = ["RedactSecrets", "log_config", "serve", "users_app"]

users_app = typer.Typer(
    help="Accounts of the server: add users, set passwords, list them.", no_args_is_help=True
)


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

    _with_password(
        database,
        password_stdin,
        lambda store, given: add_user(store, name, role, organisation, given, actor),
        f"added {name} ({role}{', ' + organisation if organisation else ''})",
    )


@users_app.command("passwd")
def users_passwd(
    name: Annotated[str, typer.Argument(help="The user's sign-in name.")],
    password_stdin: Annotated[
        bool,
        typer.Option("--password-stdin", help="Read the new password from standard input."),
    ] = False,
    database: Database = None,
    actor: Actor = "cli",
) -> None:
    """Set a user's password (12 to 256 characters, not the name, not a common one).

    Without --password-stdin a password is generated and printed once."""
    from clearfield.users import set_password

    _with_password(
        database,
        password_stdin,
        lambda store, given: set_password(store, name, given, actor),
        f"password of {name} changed",
    )


def _with_password(
    database: str | None,
    password_stdin: bool,
    write: Callable[[Store, str | None], str],
    done: str,
) -> None:
    """Read the password from standard input (or let ``write`` make one), write it, say
    ``done``, and show a generated password once."""
    given = sys.stdin.readline().rstrip("\n") if password_stdin else None
    try:
        password = write(open_store(database, create=False), given)
    except ClearfieldError as exc:
        fail(exc)
        return
    out.print(done)
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
    try:
        logging_ = {"log_config": log_config(log_level()), "log_level": log_level()}
    except ClearfieldError as exc:
        fail(exc)
        return
    err.print(f"serving on http://{host}:{port}/ (API docs at /docs)")
    if workers == 1:
        # open event streams (dashboards) get 2 s at shutdown, then the server stops
        uvicorn.run(app, host=host, port=port, timeout_graceful_shutdown=2, **logging_)  # type: ignore[arg-type]
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
        timeout_graceful_shutdown=2,
        **logging_,  # type: ignore[arg-type]
    )


_SECRET_PARAMETER = re.compile(
    r"([?&](?:access_token|token|key|api_key|apikey|password|passwd|pwd|secret|session"
    r"|csrf|csrf_token|code|auth|authorization|username)=)[^&\s\"]*",
    re.IGNORECASE,
)
_JWT = re.compile(r"eyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]{8,}")


def redact(text: str) -> str:
    """The text with the values of secret-looking query parameters and anything shaped
    like a bearer token (a JWT) replaced.

    >>> redact("GET /api/events?access_token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.abcdefghijk&x=1")
    'GET /api/events?access_token=[redacted]&x=1'
    >>> redact("/a/eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.abcdefghijk")
    '/a/[redacted]'
    """
    return _JWT.sub("[redacted]", _SECRET_PARAMETER.sub(r"\1[redacted]", text))


class RedactSecrets(logging.Filter):
    """A logging filter for the server's handlers: no token, key or password that a
    client put in a URL reaches the log (uvicorn's access log prints the query)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


def log_config(level: str) -> dict[str, Any]:
    """uvicorn's logging, with secrets redacted from every line and Clearfield's own
    messages (failed sign-ins, lockouts, faults of background work) timestamped on
    standard error; ``level`` (``CLEARFIELD_LOG_LEVEL``): ``info`` adds the access log,
    one line per request. Request bodies, headers and passwords are never logged."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"redact": {"()": "clearfield.cli_server.RedactSecrets"}}
    config["formatters"]["clearfield"] = {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}  # fmt: skip
    for handler in config["handlers"].values():
        handler["filters"] = ["redact"]
    config["handlers"]["clearfield"] = {
        "formatter": "clearfield",
        "class": "logging.StreamHandler",
        "stream": "ext://sys.stderr",
        "filters": ["redact"],
    }
    config["loggers"]["clearfield"] = {
        "handlers": ["clearfield"],
        "level": level.upper(),
        "propagate": False,
    }
    return config

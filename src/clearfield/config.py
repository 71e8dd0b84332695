"""Where the database is: ``--database URL``, else ``CLEARFIELD_DATABASE``, else ./clearfield.db."""

from __future__ import annotations

import os

DEFAULT_DATABASE = "sqlite:///clearfield.db"


def database_url(explicit: str | None = None) -> str:
    return explicit or os.environ.get("CLEARFIELD_DATABASE") or DEFAULT_DATABASE

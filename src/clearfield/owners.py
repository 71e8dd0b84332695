"""Whose records are these? The organisation each stored record and team belongs to.

A field delivery (``ingest``) and a field lead's submission (the API) may only make or
change their own organisation's records, with their own organisation's teams; both ask
:class:`Owners` which organisation a reference belongs to.
"""

from __future__ import annotations

import contextlib
from typing import Any

from clearfield.errors import NotFound
from clearfield.store.base import Store

__all__ = ["Owners"]


class Owners:
    """Whose records are these? The organisation of stored records and teams, read once."""

    def __init__(self, store: Store):
        self.store = store
        self.known: dict[tuple[str, str], str | None] = {}

    def of(self, record_type: str, record_id: str) -> str | None:
        """The organisation of a stored record (a daily report's: its team's); None when
        it is not stored or belongs to none."""
        key = (record_type, record_id)
        if key not in self.known:
            self.known[key] = None
            with contextlib.suppress(NotFound):
                rec = self.store.history(record_type, record_id)[-1].record
                org = getattr(rec, "organisation", None)
                team = getattr(rec, "team", None)
                if org is None and isinstance(team, str):
                    org = self.of("team", team)
                self.known[key] = org
        return self.known[key]

    def foreign(self, features: list[dict[str, Any]], organisation: str) -> str:
        """Why these records are not ``organisation``'s to make, or "" when they are: an
        answer naming another organisation or its team, or a record stored already (an
        edit's original, a hazard updated) that is another organisation's."""
        for f in features:
            props = f["properties"]
            for name in ("organisation", "team"):
                value = props.get(name)
                if value is None:
                    continue
                if not isinstance(value, str):
                    return f"its {name} is not text"
                theirs = value.strip() if name == "organisation" else self.of("team", value.strip())  # fmt: skip
                if theirs is not None and theirs != organisation:
                    return f"its {name} {value.strip()!r} is of organisation {theirs!r}"
            theirs = self.of(props["record_type"], str(props["id"]).strip())
            if theirs is not None and theirs != organisation:
                return f"{props['record_type']} {props['id']} is stored as organisation {theirs!r}'s"  # fmt: skip
        return ""

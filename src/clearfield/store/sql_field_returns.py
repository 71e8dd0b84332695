"""Field submissions as received, and the organisations' ingest keys, in either store.

A mixin of :class:`~clearfield.store.sql.SQLStore`. Submissions are written by
``write`` in the transaction of the records they made (:func:`keep`), so a submission
is stored with its records or not at all, and an unmapped one is kept all the same.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Connection, Engine

from clearfield.store.base import FieldReturn
from clearfield.store.sql_batches import executemany, temp_table

__all__ = ["FieldReturns", "keep"]

_COLUMNS = (
    "instance_id, root_id, deprecated_id, source, form_id, organisation, status, reason, "
    "records, raw"
)


class FieldReturns:
    """Lookups of stored field submissions (by instance id, by status) and ingest keys."""

    engine: Engine

    def field_returns(self, instance_ids: Collection[str]) -> dict[str, FieldReturn]:
        """The stored submissions among these instance ids (a resent one, an edit's original)."""
        if not instance_ids:
            return {}
        with self.engine.connect() as conn:
            temp_table(conn, "wanted_instances", "id TEXT PRIMARY KEY", [(i,) for i in instance_ids])  # fmt: skip
            rows = conn.exec_driver_sql(
                f"SELECT {_COLUMNS} FROM field_submission "
                "WHERE instance_id IN (SELECT id FROM wanted_instances)"
            ).all()
            conn.rollback()
        return {r[0]: _field_return(r) for r in rows}

    def field_return_list(self, status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:  # fmt: skip
        """The latest submissions received (``status``: mapped or unmapped), newest first."""
        where, args = ("WHERE status = ?", (status,)) if status else ("", ())
        with self.engine.connect() as conn:
            rows = conn.exec_driver_sql(
                f"SELECT pk, received_at, actor, {_COLUMNS} FROM field_submission {where} "
                "ORDER BY pk DESC LIMIT ?",
                (*args, limit),
            ).all()
        out = []
        for pk, received_at, actor, *rest in rows:
            fr = _field_return(tuple(rest))
            out.append(
                {
                    "pk": pk,
                    "received_at": received_at,
                    "actor": actor,
                    **{k: getattr(fr, k) for k in FieldReturn.__dataclass_fields__ if k != "raw"},
                    "records": [list(r) for r in fr.records],
                }
            )
        return out

    def set_ingest_key(self, organisation: str, key_hash: str, actor: str) -> None:
        """Give an organisation a new ingest key (its hash); the old one stops working."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self._writing() as conn:  # type: ignore[attr-defined]
            conn.exec_driver_sql("DELETE FROM ingest_key WHERE organisation = ?", (organisation,))
            conn.exec_driver_sql(
                "INSERT INTO ingest_key (organisation, key_hash, created_at, created_by) "
                "VALUES (?, ?, ?, ?)",
                (organisation, key_hash, now, actor),
            )

    def ingest_key(self, organisation: str) -> str | None:
        """The hash of an organisation's ingest key, if it has one."""
        with self.engine.connect() as conn:
            return conn.exec_driver_sql(
                "SELECT key_hash FROM ingest_key WHERE organisation = ?", (organisation,)
            ).scalar()


def keep(conn: Connection, returns: Sequence[FieldReturn], actor: str, now: str) -> None:
    """Insert received submissions in the caller's transaction; one kept unmapped before
    is replaced by its new try (a mapped one stored already fails the transaction: the
    caller dropped resent ones before)."""
    if not returns:
        return
    temp_table(conn, "tried_again", "id TEXT PRIMARY KEY", [(r.instance_id,) for r in returns])
    conn.exec_driver_sql(
        "DELETE FROM field_submission WHERE status = 'unmapped' "
        "AND instance_id IN (SELECT id FROM tried_again)"
    )
    executemany(
        conn,
        f"INSERT INTO field_submission (received_at, actor, {_COLUMNS}) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                now,
                actor,
                r.instance_id,
                r.root_id,
                r.deprecated_id,
                r.source,
                r.form_id,
                r.organisation,
                r.status,
                r.reason,
                json.dumps([list(x) for x in r.records]),
                r.raw,
            )
            for r in returns
        ],
    )


def _field_return(row: tuple[Any, ...]) -> FieldReturn:
    *head, records, raw = row
    return FieldReturn(*head, records=tuple(tuple(x) for x in json.loads(records)), raw=raw)  # type: ignore[arg-type]

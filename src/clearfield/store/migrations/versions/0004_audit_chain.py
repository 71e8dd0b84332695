"""The audit trail as a hash chain: a ``hash`` column, filled in for the events there are.

Each event's hash is the SHA-256 of the hash before it and the event (see
:mod:`clearfield.store.audit_chain`); the events already stored are chained here, in
key order, so an upgraded database verifies. The append-only triggers are set aside
for that one update, in this migration's transaction, and are back when it commits.

Revision ID: 0004
Revises: 0003
"""

from typing import Any

from alembic import op

from clearfield.store.audit_chain import COLUMNS, GENESIS, link
from clearfield.store.dialect import dialect_of

revision = "0004"
down_revision = "0003"

_PAGE = 10_000
_SQLITE_TRIGGER = """CREATE TRIGGER audit_event_append_only_update BEFORE UPDATE ON audit_event
       BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END"""


def upgrade() -> None:
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    op.execute("ALTER TABLE audit_event ADD COLUMN hash TEXT")
    if postgres:
        op.execute("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only")
    else:
        op.execute("DROP TRIGGER audit_event_append_only_update")
    _chain_stored_events(bind, postgres)
    if postgres:
        op.execute("ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only")
    else:
        op.execute(_SQLITE_TRIGGER)


def downgrade() -> None:
    op.execute("ALTER TABLE audit_event DROP COLUMN hash")


def _chain_stored_events(bind: Any, postgres: bool) -> None:
    """Hash every stored event in key order, a page at a time, on the driver's own
    cursor (the placeholders are then the driver's, whatever engine runs this)."""
    dialect = dialect_of(bind)
    select = dialect.placeholders(
        f"SELECT {', '.join(COLUMNS)} FROM audit_event WHERE pk > ? ORDER BY pk LIMIT {_PAGE}"
    )
    if postgres:  # one statement per page: 250,000 single updates take minutes there
        update = (
            "UPDATE audit_event AS a SET hash = v.hash FROM (SELECT unnest(%s::bigint[]) AS pk, "
            "unnest(%s::text[]) AS hash) AS v WHERE a.pk = v.pk"
        )
    else:
        update = "UPDATE audit_event SET hash = ? WHERE pk = ?"
    cur = bind.connection.driver_connection.cursor()
    try:
        previous, after = GENESIS, -(2**63)
        while True:
            cur.execute(select, (after,))
            page = cur.fetchall()
            if not page:
                break
            hashes = []
            for row in page:
                previous = link(previous, tuple(row))
                hashes.append(previous)
            pks = [row[0] for row in page]
            if postgres:
                cur.execute(update, (pks, hashes))
            else:
                cur.executemany(update, list(zip(hashes, pks, strict=True)))
            after = pks[-1]
    finally:
        cur.close()

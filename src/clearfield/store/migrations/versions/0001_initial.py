"""Initial embedded schema: versioned records, R*Tree index, audit log, accounts.

Revision ID: 0001
Revises:
"""

from alembic import op

revision = "0001"
down_revision = None

STATEMENTS = [
    """CREATE TABLE programme (key TEXT PRIMARY KEY, value TEXT NOT NULL)""",
    # One row per record (type + id); its versions hang below it.
    """CREATE TABLE entity (
        pk INTEGER PRIMARY KEY,
        record_type TEXT NOT NULL,
        record_id TEXT NOT NULL,
        UNIQUE (record_type, record_id)
    )""",
    """CREATE TABLE record_version (
        pk INTEGER PRIMARY KEY,
        entity_pk INTEGER NOT NULL REFERENCES entity(pk),
        version INTEGER NOT NULL,
        info_date TEXT,
        stored_at TEXT NOT NULL,
        review_status TEXT NOT NULL
            CHECK (review_status IN ('draft', 'submitted', 'approved', 'rejected')),
        rejection_reason TEXT,
        is_current INTEGER NOT NULL DEFAULT 0,
        is_counted INTEGER NOT NULL DEFAULT 0,
        kind TEXT,
        organisation TEXT,
        district TEXT,
        parent_pk INTEGER REFERENCES entity(pk),
        properties TEXT NOT NULL,
        geometry BLOB,
        area_m2 REAL,
        content_hash TEXT NOT NULL,
        repair_note TEXT,
        UNIQUE (entity_pk, version)
    )""",
    "CREATE INDEX record_version_current ON record_version (is_current, entity_pk)",
    "CREATE INDEX record_version_counted ON record_version (is_counted, entity_pk)",
    "CREATE INDEX record_version_parent ON record_version (parent_pk)",
    "CREATE INDEX record_version_review ON record_version (review_status)",
    "CREATE VIRTUAL TABLE record_bbox USING rtree(pk, minx, maxx, miny, maxy)",
    """CREATE TABLE audit_event (
        pk INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        record_type TEXT NOT NULL,
        record_id TEXT NOT NULL,
        version INTEGER,
        before TEXT,
        after TEXT,
        detail TEXT
    )""",
    "CREATE INDEX audit_event_record ON audit_event (record_type, record_id)",
    """CREATE TRIGGER audit_event_append_only_update BEFORE UPDATE ON audit_event
       BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END""",
    """CREATE TRIGGER audit_event_append_only_delete BEFORE DELETE ON audit_event
       BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END""",
    """CREATE TABLE quality_flag (
        pk INTEGER PRIMARY KEY,
        version_pk INTEGER NOT NULL REFERENCES record_version(pk),
        code TEXT NOT NULL,
        message TEXT NOT NULL,
        other_pk INTEGER REFERENCES entity(pk),
        raised_at TEXT NOT NULL
    )""",
    "CREATE INDEX quality_flag_version ON quality_flag (version_pk)",
    # Land release accounts, kept up to date in the transaction that changes their inputs.
    """CREATE TABLE hazard_account (
        entity_pk INTEGER PRIMARY KEY REFERENCES entity(pk),
        version_pk INTEGER NOT NULL REFERENCES record_version(pk),
        hazard_m2 REAL NOT NULL,
        cancelled_m2 REAL NOT NULL,
        reduced_m2 REAL NOT NULL,
        cleared_m2 REAL NOT NULL,
        remaining_m2 REAL NOT NULL,
        outside_m2 REAL NOT NULL
    )""",
    """CREATE TABLE release_account (
        activity_pk INTEGER PRIMARY KEY REFERENCES entity(pk),
        hazard_pk INTEGER NOT NULL REFERENCES entity(pk),
        category TEXT NOT NULL CHECK (category IN ('cancelled', 'reduced', 'cleared')),
        released_m2 REAL NOT NULL,
        outside_m2 REAL NOT NULL,
        end_date TEXT NOT NULL,
        organisation TEXT
    )""",
    "CREATE INDEX release_account_hazard ON release_account (hazard_pk)",
]


def upgrade() -> None:
    for sql in STATEMENTS:
        op.execute(sql)


def downgrade() -> None:
    for table in (
        "release_account",
        "hazard_account",
        "quality_flag",
        "audit_event",
        "record_bbox",
        "record_version",
        "entity",
        "programme",
    ):
        op.execute(f"DROP TABLE IF EXISTS {table}")

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


# The same tables on PostgreSQL/PostGIS: keys the store gives (entity, version) are
# plain, the others identities; WKB in bytea with a PostGIS geometry generated from it
# (GiST-indexed, for spatial SQL), and the box table an ordinary table.
POSTGRES_STATEMENTS = [
    "CREATE EXTENSION IF NOT EXISTS postgis",
    """CREATE TABLE programme (key TEXT PRIMARY KEY, value TEXT NOT NULL)""",
    """CREATE TABLE entity (
        pk BIGINT PRIMARY KEY,
        record_type TEXT NOT NULL,
        record_id TEXT NOT NULL,
        UNIQUE (record_type, record_id)
    )""",
    """CREATE TABLE record_version (
        pk BIGINT PRIMARY KEY,
        entity_pk BIGINT NOT NULL REFERENCES entity(pk),
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
        parent_pk BIGINT REFERENCES entity(pk),
        properties TEXT NOT NULL,
        geometry BYTEA,
        area_m2 DOUBLE PRECISION,
        content_hash TEXT NOT NULL,
        repair_note TEXT,
        geom geometry(Geometry, 4326)
            GENERATED ALWAYS AS (ST_GeomFromWKB(geometry, 4326)) STORED,
        UNIQUE (entity_pk, version)
    )""",
    "CREATE INDEX record_version_current ON record_version (is_current, entity_pk)",
    "CREATE INDEX record_version_counted ON record_version (is_counted, entity_pk)",
    "CREATE INDEX record_version_parent ON record_version (parent_pk)",
    "CREATE INDEX record_version_review ON record_version (review_status)",
    "CREATE INDEX record_version_geom ON record_version USING gist (geom)",
    """CREATE TABLE record_bbox (
        pk BIGINT PRIMARY KEY,
        minx DOUBLE PRECISION NOT NULL,
        maxx DOUBLE PRECISION NOT NULL,
        miny DOUBLE PRECISION NOT NULL,
        maxy DOUBLE PRECISION NOT NULL
    )""",
    "CREATE INDEX record_bbox_box ON record_bbox USING gist "
    "(box(point(minx, miny), point(maxx, maxy)))",
    "CREATE INDEX record_bbox_x ON record_bbox (minx, maxx)",
    """CREATE TABLE audit_event (
        pk BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
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
    """CREATE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS
       'BEGIN RAISE EXCEPTION ''audit events are append-only''; END'""",
    """CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event
       FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()""",
    """CREATE TABLE quality_flag (
        pk BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        version_pk BIGINT NOT NULL REFERENCES record_version(pk),
        code TEXT NOT NULL,
        message TEXT NOT NULL,
        other_pk BIGINT REFERENCES entity(pk),
        raised_at TEXT NOT NULL
    )""",
    "CREATE INDEX quality_flag_version ON quality_flag (version_pk)",
    """CREATE TABLE hazard_account (
        entity_pk BIGINT PRIMARY KEY REFERENCES entity(pk),
        version_pk BIGINT NOT NULL REFERENCES record_version(pk),
        hazard_m2 DOUBLE PRECISION NOT NULL,
        cancelled_m2 DOUBLE PRECISION NOT NULL,
        reduced_m2 DOUBLE PRECISION NOT NULL,
        cleared_m2 DOUBLE PRECISION NOT NULL,
        remaining_m2 DOUBLE PRECISION NOT NULL,
        outside_m2 DOUBLE PRECISION NOT NULL
    )""",
    """CREATE TABLE release_account (
        activity_pk BIGINT PRIMARY KEY REFERENCES entity(pk),
        hazard_pk BIGINT NOT NULL REFERENCES entity(pk),
        category TEXT NOT NULL CHECK (category IN ('cancelled', 'reduced', 'cleared')),
        released_m2 DOUBLE PRECISION NOT NULL,
        outside_m2 DOUBLE PRECISION NOT NULL,
        end_date TEXT NOT NULL,
        organisation TEXT
    )""",
    "CREATE INDEX release_account_hazard ON release_account (hazard_pk)",
]


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for sql in POSTGRES_STATEMENTS if postgres else STATEMENTS:
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
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS audit_event_append_only()")

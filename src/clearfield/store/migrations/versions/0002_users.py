"""Users of the server (argon2 password hashes), idempotent submissions, plan runs.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"

STATEMENTS = [
    """CREATE TABLE app_user (
        name TEXT PRIMARY KEY,
        role TEXT NOT NULL
            CHECK (role IN ('admin', 'im_officer', 'planner', 'field_lead', 'observer')),
        organisation TEXT,
        password_hash TEXT NOT NULL,
        created_at TEXT NOT NULL,
        disabled INTEGER NOT NULL DEFAULT 0
    )""",
    # A submission's client-generated id: the same key again gets the stored answer.
    """CREATE TABLE submission (
        key TEXT PRIMARY KEY,
        user_name TEXT NOT NULL,
        request_hash TEXT NOT NULL,
        status_code INTEGER NOT NULL,
        response TEXT NOT NULL,
        created_at TEXT NOT NULL
    )""",
    # A planning run: who started it, when, and what came out (plan file contract JSON).
    """CREATE TABLE plan_run (
        id INTEGER PRIMARY KEY,
        actor TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT NOT NULL,
        summary TEXT NOT NULL,
        plan TEXT NOT NULL,
        baseline TEXT NOT NULL,
        problem TEXT NOT NULL
    )""",
    # The key that signs the server's tokens: one per database, never exported.
    """CREATE TABLE server_secret (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        secret TEXT NOT NULL
    )""",
]


def upgrade() -> None:
    for sql in STATEMENTS:
        op.execute(sql)


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS plan_run")
    op.execute("DROP TABLE IF EXISTS server_secret")
    op.execute("DROP TABLE IF EXISTS submission")
    op.execute("DROP TABLE IF EXISTS app_user")

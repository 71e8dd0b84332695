"""The stores' users (for the server) and remembered submissions (idempotency).

A mixin of :class:`~clearfield.store.sql.SQLStore`. Passwords arrive hashed:
hashing is the edge's business (``clearfield.users``), the store keeps what it is given.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Connection, Engine

from clearfield.errors import NotFound, StoreError
from clearfield.store.audit_chain import append as append_audit_events
from clearfield.store.base import RememberedAnswer
from clearfield.store.sql_batches import executemany

__all__ = ["UserQueries", "remember"]


class UserQueries:
    """Users of the server and the answers given to submissions, by their client id."""

    engine: Engine
    _writing: Callable[[], AbstractContextManager[Connection]]

    def add_user(
        self, name: str, role: str, organisation: str | None, password_hash: str, actor: str
    ) -> None:
        now = datetime.now(UTC).isoformat(timespec="seconds")
        try:
            with self._writing() as conn:
                conn.exec_driver_sql(
                    "INSERT INTO app_user (name, role, organisation, password_hash, created_at) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (name, role, organisation, password_hash, now),
                )
                after = json.dumps({"role": role, "organisation": organisation})
                append_audit_events(
                    conn, [(now, actor, "user_add", "user", name, None, None, after, None)]
                )
        except StoreError:  # the primary key: the name is taken
            raise StoreError(f"a user named {name!r} exists already", code="CONFLICT") from None

    def set_password(self, name: str, password_hash: str, actor: str) -> None:
        """Replace a user's password hash; the audit log says who did, never the hash."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self._writing() as conn:
            changed = conn.exec_driver_sql(
                "UPDATE app_user SET password_hash = ? WHERE name = ?", (password_hash, name)
            ).rowcount
            if not changed:
                raise NotFound(f"no user named {name!r}", record=name)
            append_audit_events(
                conn, [(now, actor, "user_password", "user", name, None, None, None, None)]
            )

    def server_secret(self) -> str:
        """The key that signs tokens, made on first use (random, 256 bits) and then kept in
        memory: every request checks a token, and must not take the write lock to do it."""
        known = getattr(self, "_secret", None)
        if known:
            return str(known)
        with self._writing() as conn:
            conn.exec_driver_sql(
                "INSERT INTO server_secret (id, secret) VALUES (1, ?) ON CONFLICT DO NOTHING",
                (secrets.token_hex(32),),
            )
            secret = str(conn.exec_driver_sql("SELECT secret FROM server_secret").scalar())
        self._secret = secret
        return secret

    def user(self, name: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = (
                conn.exec_driver_sql(
                    "SELECT name, role, organisation, password_hash, disabled FROM app_user "
                    "WHERE name = ?",
                    (name,),
                )
                .mappings()
                .first()
            )
        return dict(row) if row else None

    def users(self) -> Iterator[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT name, role, organisation, created_at, disabled FROM app_user ORDER BY name"
            ).mappings()
            yield from (dict(r) for r in rows.all())

    def submissions(self, keys: Collection[str]) -> dict[str, dict[str, Any]]:
        """The answers stored for these client ids (Idempotency-Keys), those that were seen."""
        if not keys:
            return {}
        with self.engine.connect() as conn:
            return _answers(conn, keys)

    def remember_submissions(
        self, answers: Sequence[RememberedAnswer]
    ) -> dict[str, dict[str, Any]]:
        """Store answers whose keys have none yet (refusals: an accepted submission's answer
        is stored with its records, by ``write``); return what is stored for every key.
        The first of two racing retries wins, and both answer alike."""
        with self._writing() as conn:
            remember(conn, answers, if_new=True)
            return _answers(conn, [a.key for a in answers])


def remember(conn: Connection, answers: Sequence[RememberedAnswer], *, if_new: bool) -> None:
    """Insert answers; a key stored already fails the transaction unless ``if_new``."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    executemany(
        conn,
        "INSERT INTO submission (key, user_name, request_hash, status_code, response, "
        f"created_at) VALUES (?, ?, ?, ?, ?, ?){' ON CONFLICT DO NOTHING' if if_new else ''}",
        [(a.key, a.user, a.request_hash, a.status_code, a.response, now) for a in answers],
    )


def _answers(conn: Connection, keys: Collection[str]) -> dict[str, dict[str, Any]]:
    marks = ", ".join("?" * len(keys))
    rows = conn.exec_driver_sql(
        "SELECT key, user_name, request_hash, status_code, response FROM submission "
        f"WHERE key IN ({marks})",
        tuple(keys),
    ).mappings()
    return {r["key"]: dict(r) for r in rows}

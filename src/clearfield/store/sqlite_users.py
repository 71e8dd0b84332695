"""The embedded store's users (for the server) and remembered submissions (idempotency).

A mixin of :class:`~clearfield.store.sqlite.SQLiteStore`. Passwords arrive hashed:
hashing is the edge's business (``clearfield.users``), the store keeps what it is given.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Connection, Engine

from clearfield.errors import StoreError

__all__ = ["UserQueries"]


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
                conn.exec_driver_sql(
                    "INSERT INTO audit_event (at, actor, action, record_type, record_id, "
                    "version, before, after, detail) VALUES (?, ?, 'user_add', 'user', ?, "
                    "NULL, NULL, ?, NULL)",
                    (now, actor, name, json.dumps({"role": role, "organisation": organisation})),
                )
        except StoreError:  # the primary key: the name is taken
            raise StoreError(f"a user named {name!r} exists already", code="CONFLICT") from None

    def server_secret(self) -> str:
        """The key that signs tokens, made on first use (random, 256 bits) and then kept in
        memory: every request checks a token, and must not take the write lock to do it."""
        known = getattr(self, "_secret", None)
        if known:
            return str(known)
        with self._writing() as conn:
            conn.exec_driver_sql(
                "INSERT OR IGNORE INTO server_secret (id, secret) VALUES (1, ?)",
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

    def submission(self, key: str) -> dict[str, Any] | None:
        """The answer stored for a submission's client id, if it was seen."""
        with self.engine.connect() as conn:
            row = (
                conn.exec_driver_sql(
                    "SELECT user_name, request_hash, status_code, response FROM submission "
                    "WHERE key = ?",
                    (key,),
                )
                .mappings()
                .first()
            )
        return dict(row) if row else None

    def remember_submission(
        self, key: str, user: str, request_hash: str, status_code: int, response: str
    ) -> dict[str, Any]:
        """Store the answer unless one is stored already; return the one that is (the first
        of two racing retries wins, and both answer alike)."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self._writing() as conn:
            conn.exec_driver_sql(
                "INSERT OR IGNORE INTO submission (key, user_name, request_hash, status_code, "
                "response, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (key, user, request_hash, status_code, response, now),
            )
        stored = self.submission(key)
        assert stored is not None
        return stored

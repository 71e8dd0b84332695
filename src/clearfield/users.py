"""Users of the server: accounts with argon2 password hashes, and signed bearer tokens."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from clearfield.domain.roles import Role
from clearfield.errors import ClearfieldError, RecordError
from clearfield.store.base import Store

__all__ = [
    "AuthError",
    "RecentUsers",
    "User",
    "add_user",
    "authenticate",
    "demo_users",
    "issue_token",
    "token_subject",
    "user_from_row",
]

_HASHER = PasswordHasher()
TOKEN_SECONDS = 12 * 3600


class AuthError(ClearfieldError):
    """Wrong name or password, or a token that is not valid (HTTP 401)."""

    code = "UNAUTHORIZED"


@dataclass(frozen=True, slots=True)
class User:
    name: str
    role: Role
    organisation: str | None


def add_user(
    store: Store, name: str, role: str, organisation: str | None, password: str | None, actor: str
) -> str:
    """Create a user; return the password (generated when none is given, shown once)."""
    if not name or not name.strip() or len(name) > 100:
        raise RecordError("a user name is 1 to 100 characters", record=name, field="name")
    try:
        r = Role(role)
    except ValueError:
        raise RecordError(
            f"unknown role {role!r}; one of {', '.join(x.value for x in Role)}",
            record=name,
            field="role",
        ) from None
    if r is Role.FIELD_LEAD and not organisation:
        raise RecordError("a field_lead needs an organisation", record=name, field="organisation")
    if password is not None and len(password) < 10:
        raise RecordError("a password needs at least 10 characters", record=name, field="password")
    password = password or secrets.token_urlsafe(12)
    store.add_user(name.strip(), r.value, organisation, _HASHER.hash(password), actor)  # type: ignore[attr-defined]
    return password


def demo_users(store: Store, organisation: str | None) -> list[tuple[str, str, str | None, str]]:
    """One user per role for a demo, with generated passwords: (name, role, org, password)."""
    made = []
    for role in Role:
        org = organisation if role is Role.FIELD_LEAD else None
        made.append((role.value, role.value, org, add_user(store, role.value, role.value, org, None, "demo")))  # fmt: skip
    return made


def authenticate(store: Store, name: str, password: str) -> User:
    row = store.user(name)  # type: ignore[attr-defined]
    try:
        if row is None or row["disabled"]:
            raise VerificationError
        _HASHER.verify(row["password_hash"], password)
    except (VerificationError, InvalidHashError):
        raise AuthError("wrong user name or password") from None
    return User(row["name"], Role(row["role"]), row["organisation"])


def issue_token(store: Store, user: User) -> str:
    now = int(time.time())
    claims = {"sub": user.name, "iat": now, "exp": now + TOKEN_SECONDS}
    return jwt.encode(claims, store.server_secret(), algorithm="HS256")  # type: ignore[attr-defined]


def token_subject(store: Store, token: str) -> str:
    """The user name a token was issued to, once its signature and expiry check out."""
    try:
        claims = jwt.decode(token, store.server_secret(), algorithms=["HS256"])  # type: ignore[attr-defined]
    except jwt.PyJWTError as exc:
        raise AuthError(f"the token is not valid ({exc})") from None
    return str(claims.get("sub"))


def user_from_row(row: dict[str, Any] | None) -> User:
    if row is None or row["disabled"]:
        raise AuthError("the token's user no longer exists or is disabled")
    return User(row["name"], Role(row["role"]), row["organisation"])


class RecentUsers:
    """A server's users by name, each read from the store at most every ``seconds``.

    Every request names its user, and reading the row each time costs a connection and
    a query per request, a fifth of a small submission's price. A user disabled or
    changed (by ``clearfield users``, in another process) takes effect within
    ``seconds``; a token's own signature and expiry are checked on every request.
    """

    def __init__(self, store: Store, seconds: float = 2.0):
        self.store = store
        self.seconds = seconds
        self._rows: dict[str, tuple[float, dict[str, Any] | None]] = {}

    def known(self, name: str) -> tuple[bool, dict[str, Any] | None]:
        """(True, row) when read less than ``seconds`` ago; (False, None) otherwise."""
        hit = self._rows.get(name)
        if hit is None or time.monotonic() - hit[0] > self.seconds:
            return False, None
        return True, hit[1]

    def load(self, name: str) -> dict[str, Any] | None:
        row = self.store.user(name)  # type: ignore[attr-defined]
        if len(self._rows) > 10_000:  # names from valid tokens only, but bound it anyway
            self._rows.clear()
        self._rows[name] = (time.monotonic(), row)
        return row

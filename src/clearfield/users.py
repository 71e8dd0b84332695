"""Users of the server: accounts with argon2 password hashes, and signed bearer tokens.

Passwords follow NIST SP 800-63B (:func:`check_password`): long rather than
"complex" (12 to 256 characters, any characters, spaces welcome), and never one that
an attacker tries first: the user's own name, a single repeated or sequential run of
characters, or one of the most common passwords (a short list shipped here).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from functools import cache
from itertools import pairwise
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
    "check_password",
    "demo_users",
    "issue_token",
    "token_subject",
    "user_from_row",
]

_HASHER = PasswordHasher()
TOKEN_SECONDS = 12 * 3600
MIN_PASSWORD, MAX_PASSWORD = 12, 256
"""A password's length, in characters (NIST SP 800-63B: at least 8, and accept 64+)."""


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
    if password is not None:
        check_password(name, password)
    password = password or secrets.token_urlsafe(12)
    store.add_user(name.strip(), r.value, organisation, _HASHER.hash(password), actor)  # type: ignore[attr-defined]
    return password


def set_password(store: Store, name: str, password: str | None, actor: str) -> str:
    """Give a user a new password (generated when none is given); return it. The policy
    of :func:`check_password` holds; tokens already issued stay valid until they expire."""
    if password is not None:
        check_password(name, password)
    password = password or secrets.token_urlsafe(12)
    store.set_password(name, _HASHER.hash(password), actor)  # type: ignore[attr-defined]
    return password


def demo_users(store: Store, organisation: str | None) -> list[tuple[str, str, str | None, str]]:
    """One user per role for a demo, with generated passwords: (name, role, org, password)."""
    made = []
    for role in Role:
        org = organisation if role is Role.FIELD_LEAD else None
        made.append((role.value, role.value, org, add_user(store, role.value, role.value, org, None, "demo")))  # fmt: skip
    return made


def check_password(name: str, password: str) -> None:
    """Refuse a password that breaks the policy, with a :class:`RecordError` naming the
    user and the rule (never the password). Call it wherever a password is set.

    >>> check_password("officer", "correct horse battery")
    >>> check_password("officer", "short")
    Traceback (most recent call last):
    ...
    clearfield.errors.RecordError: officer [password]: a password needs at least 12 characters; this one has 5
    >>> check_password("officer", "Password1234")
    Traceback (most recent call last):
    ...
    clearfield.errors.RecordError: officer [password]: this password is one of the most common ones, the first an attacker tries; choose another (a few unrelated words make a good one)
    """

    def refuse(rule: str) -> RecordError:
        return RecordError(rule, record=name, field="password")

    if len(password) < MIN_PASSWORD:
        raise refuse(f"a password needs at least {MIN_PASSWORD} characters; this one has {len(password)}")  # fmt: skip
    if len(password) > MAX_PASSWORD:
        raise refuse(f"a password has at most {MAX_PASSWORD} characters; this one has {len(password)}")  # fmt: skip
    plain, own = ("".join(text.casefold().split()) for text in (password, name))
    if plain == own or (_stem(own) and _stem(plain) == _stem(own)):
        raise refuse("a password must not be the user name (with or without digits added)")
    steps = {ord(b) - ord(a) for a, b in pairwise(plain)}
    if len(steps) <= 1 and steps <= {-1, 0, 1}:
        raise refuse("a password must not be one character repeated or a run such as 'abcdef…'")
    if plain in COMMON_PASSWORDS or _stem(plain) in COMMON_STEMS:
        raise refuse(
            "this password is one of the most common ones, the first an attacker tries; "
            "choose another (a few unrelated words make a good one)"
        )


def _stem(text: str) -> str:
    """The text without the digits and symbols at its end: 'password123!' → 'password'."""
    return text.rstrip("0123456789!@#$%^&*?.,;:-_+=~ ")


@cache
def _dummy_hash() -> str:
    return _HASHER.hash(secrets.token_urlsafe(16))


def authenticate(store: Store, name: str, password: str) -> User:
    """The user of this name and password, or an AuthError that does not say which was
    wrong: an unknown name costs one password check too, so timing does not tell."""
    usable = len(password) <= MAX_PASSWORD and "\x00" not in name and len(name) <= 256
    row = store.user(name) if usable else None  # type: ignore[attr-defined]
    try:
        if row is None or row["disabled"]:
            _HASHER.verify(_dummy_hash(), password[:MAX_PASSWORD])
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


COMMON_STEMS = frozenset(
    """password passw0rd p@ssw0rd p@ssword pa55word qwerty qwertyuiop asdfghjkl zxcvbnm
    letmein welcome changeme iloveyou admin administrator root secret default guest
    login master monkey dragon football baseball superman batman princess sunshine
    trustno1 starwars whatever computer internet abc abcd abcdef qwe asd zxc
    clearfield demining minefield sapper deminer""".split()  # noqa: SIM905
)
"""Words that, with digits or symbols added at the end, make a common password."""

COMMON_PASSWORDS = frozenset(
    """123456789012 1234567890123 12345678901234 123456789000 123456123456 123123123123
    121212121212 123456654321 147258369147 987654321098 098765432112 112233445566
    111222333444 123321123321 1q2w3e4r5t6y 1q2w3e4r5t6y7u 1q2w3e4r5t6y7u8i 1qaz2wsx3edc
    1qaz2wsx3edc4rfv qazwsxedcrfv qazwsxedcrfvtgb zaq12wsxcde3 zaq1zaq1zaq1 zaq1xsw2cde3
    q1w2e3r4t5y6 q1w2e3r4t5y6u7 1a2b3c4d5e6f a1b2c3d4e5f6 1234qwerasdf 1234qwerasdfzxcv
    qwer1234asdf qwertyqwerty qwerty123456 qwertyuiop12 qwertyuiopasdf asdfasdfasdf
    asdf1234asdf asdfghjklqwerty zxcvbnmasdfg abc123abc123 abcd1234abcd abcabcabcabc
    passwordpassword password1234 password12345 password123456 mypassword123
    mypassword1234 newpassword1 newpassword123 yourpassword thisismypassword
    passwordispassword mysecretpassword secretpassword supersecretpassword
    letmeinletmein iloveyouiloveyou iloveyoubaby iloveyoutoo123 ihateyou1234
    lovelovelove babygirl1234 michael12345 jennifer1234 charlie12345 jordan232323
    liverpool1234 chelsea12345 arsenal12345 manchester12 manchesterunited barcelona123
    realmadrid12 spongebob123 pokemon12345 minecraft123 fortnite1234 blink182blink
    basketball12 basketball123 football12345 soccer123456 hockey123456 tigger123456
    shadow123456 buster123456 jessica12345 ashley123456 daniel123456 superman12345
    trustno1trustno1 starwars1234 harrypotter1 harrypotter123 thequickbrownfox
    thequickbrownfoxjumpsoverthelazydog correcthorsebatterystaple
    opensesame123 hellohello123 helloworld123 helloworld1234 goodmorning1 goodmorning123
    happybirthday happybirthday1 christmas123 chocolate123 butterfly123 sunflower123
    princess12345 angel1234567 freedom12345 computer1234 internet1234 windows12345
    microsoft123 administrator1 admin1234567 adminadmin123 admin123456789
    rootpassword rootroot1234 root12345678 changeme1234 changemenow1 default12345
    welcome12345 welcome123456 welcomewelcome letmein12345 whatever1234 nothing12345
    1password1234 password1password zaq!2wsx3edc !qaz2wsx3edc 1qaz!qaz1qaz
    clearfield123 clearfield1234 clearfieldadmin minefield1234 demining1234""".split()  # noqa: SIM905
)
"""Common passwords of 12 characters or more (shorter ones fail the length rule), in
lower case without spaces, from the public lists of leaked passwords."""

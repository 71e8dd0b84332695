"""The audit trail as a hash chain: each event's hash covers the event and the hash before it.

An event's ``hash`` is the hex SHA-256 of the hash of the event before it (64 zeros
before the first) followed by the event's canonical bytes, so changing, inserting or
deleting an event anywhere but at the very end breaks every hash after it, and
:func:`verify` names the first event that no longer follows.

Order and keys: the chain runs in ``pk`` order and the ``pk`` is part of what is
hashed. Writers give the keys themselves, the next ones after the newest event
(``MAX(pk) + 1, ...``), read with that event's hash as the first statement of the
write transaction, which already holds the stores' write lock (SQLite's ``BEGIN
IMMEDIATE``, PostgreSQL's advisory lock), so no other writer can slip in between
the read and the insert. Keys given so have no holes (a rolled-back write gives its
keys back), which lets :func:`verify` tell a deleted event (a hole before an event
that no longer chains) from an altered one (no hole). Hashing the key also makes a
renumbered event an altered one, and ``clearfield copy``, which keeps keys, keeps a
chain that verifies. (Chaining by insertion order without the key would leave the
key unprotected and PostgreSQL's identity keys free to skip, so a hole would say
nothing.)

Canonical bytes: the ten columns as a compact JSON array, ``[pk, at, actor, action,
record_type, record_id, version, before, after, detail]``, ASCII-escaped. Every
column but the two integers is ``TEXT`` in both stores' schema (``before`` and
``after`` hold JSON *as text*), so both drivers give back exactly the string that
was written: it is hashed as it is, never parsed and re-serialised (which would
depend on key order and float formatting). A value of any other type is refused
rather than guessed at.

What it shows and what it does not: an event edited or deleted in the database, by
hand or by a tool that goes round Clearfield (the append-only triggers must be
dropped first), or events removed from the middle. It cannot show events removed
from the *end*, nor a trail rewritten whole with the hashes recomputed: for those,
keep the chain head that ``clearfield audit verify`` prints somewhere else (a
report, a ticket) and check later that it is still in the trail (``--head``).

>>> first = link(GENESIS, (1, "2026-01-01T00:00:00+00:00", "t", "create", "hazard",
...                        "HA-1", 1, None, '{"name": "A"}', "import"))
>>> len(first), first == link(GENESIS, (1, "2026-01-01T00:00:00+00:00", "t", "create",
...                         "hazard", "HA-1", 1, None, '{"name": "B"}', "import"))
(64, False)
>>> canonical((2, "at", "t", "user_add", "user", "ana", None, None, '{"role": "é"}', None))
b'[2,"at","t","user_add","user","ana",null,null,"{\\\\"role\\\\": \\\\"\\\\u00e9\\\\"}",null]'
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy.engine import Connection

from clearfield.store.sql_batches import executemany

__all__ = ["COLUMNS", "GENESIS", "AuditCheck", "append", "canonical", "link", "verify"]

GENESIS = "0" * 64
"""The "hash before" the first event."""

COLUMNS = (
    "pk",
    "at",
    "actor",
    "action",
    "record_type",
    "record_id",
    "version",
    "before",
    "after",
    "detail",
)
"""The columns an event's hash covers, in the order they are hashed."""

_INTEGERS = (0, 6)  # pk, version
_TEXT = frozenset({str, type(None)})
_ENCODE = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"), check_circular=False).encode
_PAGE = 10_000  # events read at a time by verify

Progress = Callable[[str, int, int], None]


def canonical(row: Sequence[Any]) -> bytes:
    """The bytes of an event (its :data:`COLUMNS`, in order) that its hash covers.

    >>> canonical((7, "a", "b", "c", "d", "e", 3, None, "[1, 2]", None))
    b'[7,"a","b","c","d","e",3,null,"[1, 2]",null]'
    >>> canonical((7, "a", "b", "c", "d", "e", 3, None, {"x": 1}, None))
    Traceback (most recent call last):
    ...
    TypeError: audit_event.after is dict, not text: the chain hashes what is stored
    """
    if len(row) == len(COLUMNS):  # the usual case, checked at a glance
        pk, at, actor, action, record_type, record_id, version, before, after, detail = row
        if (
            type(pk) is int
            and str is type(at) is type(actor) is type(action) is type(record_type)
            and type(record_id) is str
            and (version is None or type(version) is int)
            and type(before) in _TEXT
            and type(after) in _TEXT
            and type(detail) in _TEXT
        ):
            try:
                out = orjson.dumps(row)
            except orjson.JSONEncodeError:  # an integer beyond 64 bits
                out = b"\x80"
            # printable ASCII out: no character needed more than JSON's own escapes, which
            # orjson writes as the ASCII encoder does; anything else goes the slow way
            if out.isascii() and b"\x7f" not in out:
                return out
            return _ENCODE(list(row)).encode("ascii")
    else:
        raise TypeError(f"an audit event has {len(COLUMNS)} columns, not {len(row)}")
    values: list[Any] = []
    for i, (name, value) in enumerate(zip(COLUMNS, row, strict=True)):
        if value is None:
            values.append(None)
        elif i in _INTEGERS:
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"audit_event.{name} is {type(value).__name__}, not an integer")
            values.append(value)  # (an int subclass: JSON writes the number)
        elif isinstance(value, str):
            values.append(value)  # (a str subclass: JSON writes its characters)
        else:
            raise TypeError(
                f"audit_event.{name} is {type(value).__name__}, not text: "
                "the chain hashes what is stored"
            )
    return _ENCODE(values).encode("ascii")


def link(previous: str, row: Sequence[Any]) -> str:
    """The hash of an event (its :data:`COLUMNS`) after the event whose hash is ``previous``."""
    return hashlib.sha256(previous.encode("ascii") + canonical(row)).hexdigest()


def append(conn: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert audit events (``at, actor, action, record_type, record_id, version, before,
    after, detail``) at the end of the chain, with their keys and hashes.

    Call it inside a write transaction (``SQLStore._writing``), whose lock keeps the
    newest event the newest until the transaction ends: one read of it, then hashing.
    """
    if rows:
        executemany(conn, INSERT, chain(newest(conn), rows))


INSERT = (
    "INSERT INTO audit_event (pk, at, actor, action, record_type, record_id, version, "
    "before, after, detail, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
"""An event with its key and hash, as :func:`chain` gives it."""


def newest(conn: Connection) -> tuple[int, str]:
    """The key and hash of the chain's newest event (0 and :data:`GENESIS` for none); read
    it under the write lock."""
    last = conn.exec_driver_sql("SELECT pk, hash FROM audit_event ORDER BY pk DESC LIMIT 1").first()
    return (0, GENESIS) if last is None else (int(last[0]), last[1] or GENESIS)


def chain(head: tuple[int, str], rows: Sequence[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Events after ``head`` (the key and hash of the event before them) with their keys
    and hashes, ready for :data:`INSERT`; the head of the next ones is the last's
    ``(pk, hash)``."""
    values: list[Any] = []
    chain_into(head, rows, values)
    width = len(COLUMNS) + 1
    return [tuple(values[i : i + width]) for i in range(0, len(values), width)]


def chain_into(
    head: tuple[int, str], rows: Sequence[tuple[Any, ...]], out: list[Any]
) -> tuple[int, str]:
    """As :func:`chain`, each event's values (key, columns, hash) put at the end of ``out``
    one after the other, as a bulk insert binds them; returns the new head."""
    pk, previous = head
    for row in rows:
        pk += 1
        event = (pk, *row)
        previous = link(previous, event)
        out += event
        out.append(previous)
    return pk, previous


@dataclass(frozen=True, slots=True)
class AuditCheck:
    """What :func:`verify` found: the events checked and the chain's head, or the first
    event that breaks the chain (its key, its record) and why."""

    events: int
    head: str
    pk: int | None = None
    record: str | None = None
    reason: str | None = None

    @property
    def intact(self) -> bool:
        return self.reason is None


def verify(store: Any, *, head: str | None = None, progress: Progress | None = None) -> AuditCheck:
    """Check the whole audit trail of a store, event by event in key order, a page at a
    time (a programme's trail may hold millions). Stops at the first broken event.

    ``head``: a chain head (or its first 12+ hex digits) noted earlier; the trail must
    still hold it, else events were removed from its end or the trail was rewritten.
    """
    engine = store.engine
    with engine.connect() as conn:  # one read transaction (SQLite: one snapshot)
        total = int(conn.exec_driver_sql("SELECT COUNT(*) FROM audit_event").scalar() or 0)
        checked, wanted = 0, None if head is None else head.lower()
        found = wanted is None
        previous, previous_pk = GENESIS, 0
        for page in _pages(conn):
            for row in page:
                event, stored = tuple(row[:-1]), row[-1]
                pk = int(event[0])
                broken = _broken(previous, previous_pk, event, stored)
                if broken is not None:
                    return AuditCheck(checked, previous, pk, f"{event[4]} {event[5]}", broken)
                previous, previous_pk = stored, pk
                checked += 1
                found = found or stored.startswith(wanted)
            if progress is not None:
                progress("checking the audit trail", checked, max(total, checked))
    if not found:
        return AuditCheck(
            checked,
            previous,
            reason=f"the chain head {head} noted earlier is not in the trail: events were "
            "deleted from its end, or the trail was rewritten",
        )
    return AuditCheck(checked, previous)


def _pages(conn: Connection) -> Iterator[list[Any]]:
    """The events with their stored hashes, in key order, ``_PAGE`` at a time."""
    select = (
        f"SELECT {', '.join(COLUMNS)}, hash FROM audit_event WHERE pk > ? ORDER BY pk LIMIT {_PAGE}"
    )
    after = -(2**63)  # (the smallest key either store holds: an event put before 1 is read too)
    while page := list(conn.exec_driver_sql(select, (after,)).all()):
        yield page
        after = int(page[-1][0])


def _broken(previous: str, previous_pk: int, event: tuple[Any, ...], stored: str | None) -> str | None:  # fmt: skip
    """Why an event does not follow from the one before it (key ``previous_pk``, hash
    ``previous``), or None when it does."""
    pk = int(event[0])
    if stored is None:
        return "it has no hash: it was written round Clearfield, not through it"
    if link(previous, event) == stored:
        return None  # (a hole in the keys of a database older than the chain: not a fault)
    if pk > previous_pk + 1:  # keys are given without holes: the events between are gone
        if pk == previous_pk + 2:
            return f"the event before it (pk {pk - 1}) was deleted"
        return f"the events before it (pk {previous_pk + 1} to {pk - 1}) were deleted"
    return "it was altered after it was written: its content does not match its hash"

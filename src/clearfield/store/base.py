"""The storage seam: what services need of a store, whatever database is behind it.

The embedded SQLite store (``store.sqlite``) is the one implementation today; the
PostgreSQL/PostGIS store of a later issue implements the same protocol, and the
same tests run on both. Types here are plain values so that nothing outside
``store/`` sees a database row.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

import orjson
from shapely.geometry.base import BaseGeometry

from clearfield.domain.enums import ReviewStatus
from clearfield.domain.records import Record


@dataclass(frozen=True, slots=True)
class VersionInfo:
    """One stored version of a record, as versioning decisions need it."""

    version: int
    info_date: date | None
    content_hash: str
    review_status: ReviewStatus


@dataclass(slots=True)
class NewVersion:
    """A version to write: the record, its number, and what was found while checking it."""

    record: Record
    version: int
    content_hash: str
    info_date: date | None
    area_m2: float | None = None
    repair_note: str | None = None
    flags: list[tuple[str, str]] = field(default_factory=list)  # (code, message)
    previous: dict[str, Any] | None = None  # the current version's properties, for the audit
    text: str | None = None  # the properties as stored (JSON), when already made
    wkb: bytes | None = None  # the geometry as WKB, when already computed
    shape: bytes | None = None  # the geometry normalised, as WKB, when already computed


REVIEW_STATE = ("review_status", "rejection_reason")
"""A version's review state: columns of its own, and no part of what the record says."""


def stored_text(values: dict[str, Any]) -> str:
    """The JSON a version's ``properties`` column holds: the record's values
    (:func:`~clearfield.domain.parse.record_values`) but its id and review state, which
    have columns of their own. Those keys are taken out of ``values``."""
    for name in ("id", *REVIEW_STATE):
        values.pop(name, None)
    return orjson.dumps(values).decode()


@dataclass(frozen=True, slots=True)
class FieldReturn:
    """A field submission as received (ODK Central, KoboToolbox), kept with what became
    of it: ``mapped`` to ``records`` ([record type, id] pairs) or ``unmapped`` with the
    ``reason``, for an officer to fix. ``raw`` is the submission's JSON as it came."""

    instance_id: str
    root_id: str  # the first instance id of its chain of edits
    deprecated_id: str | None
    source: str
    form_id: str | None
    organisation: str | None
    status: str  # mapped | unmapped
    reason: str | None
    records: tuple[tuple[str, str], ...]
    raw: str


@dataclass(frozen=True, slots=True)
class RememberedAnswer:
    """The answer given to a submission, kept under the client's id for it (the
    ``Idempotency-Key``) so that a retry is answered alike and never stored twice."""

    key: str
    user: str
    request_hash: str
    status_code: int
    response: str  # the answer's JSON


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """A stored version read back: the record and its bookkeeping."""

    record: Record
    version: int
    stored_at: str
    is_current: bool
    is_counted: bool
    area_m2: float | None
    repair_note: str | None


@dataclass(frozen=True, slots=True)
class QualityFlag:
    record_type: str
    record_id: str
    version: int
    code: str
    message: str


class Store(Protocol):
    """Everything services ask of a store. Every write method is one transaction."""

    url: str

    def close(self) -> None: ...

    # programme metadata
    def programme(self) -> dict[str, str]: ...

    def set_programme(self, values: dict[str, str], actor: str) -> None: ...

    # records and versions
    def existing(self, record_type: str, ids: Iterable[str]) -> set[str]: ...

    def versions(self, record_type: str, ids: Iterable[str]) -> dict[str, list[VersionInfo]]: ...

    def current_properties(
        self, record_type: str, ids: Iterable[str]
    ) -> dict[str, dict[str, Any]]: ...

    def current_geometries(
        self, record_type: str, ids: Iterable[str]
    ) -> dict[str, BaseGeometry]: ...

    def records(
        self,
        record_type: str,
        *,
        bbox: tuple[float, float, float, float] | None = None,
        review_status: ReviewStatus | None = None,
        counted_only: bool = False,
    ) -> Iterator[StoredRecord]: ...

    def history(self, record_type: str, record_id: str) -> list[StoredRecord]: ...

    def geometries_near(
        self, record_type: str, bbox: tuple[float, float, float, float]
    ) -> list[tuple[str, BaseGeometry]]: ...

    def geometries_touching(
        self, record_type: str, boxes: list[tuple[float, float, float, float]]
    ) -> list[tuple[str, BaseGeometry]]: ...

    def quality_flags(self) -> list[QualityFlag]: ...

    def is_empty(self) -> bool: ...

    def records_written_by_others(self, actor: str) -> int: ...

    def extent_sample(self, limit: int = 5_000) -> list[tuple[float, float]]: ...

    def audit_events(
        self, record_type: str | None = None, record_id: str | None = None
    ) -> list[dict[str, Any]]: ...

    # writing
    def first_load_ahead(self, records: int) -> Any:
        """Start work for a first load of ``records`` into an empty store (its data
        quality checks, given part by part as the caller parses: ``.check(...)``) before
        the records are all known; None when there is none. Give it to
        :meth:`account_ahead` and close it (``.close()``) when done, written or not.
        After :meth:`account_ahead`, ``.normalised()`` gives the checked geometries'
        normalised WKB by record type, or None."""
        ...

    def account_ahead(self, versions: list[NewVersion], ahead: Any = None) -> Any:
        """Start work that :meth:`write` of these ``versions`` will need (the accounts of
        a first load) while the caller does its own, in ``ahead`` when
        :meth:`first_load_ahead` started it; None when there is none. Pass it to
        :meth:`write` and close it (``.close()``) when done, written or not."""
        ...

    def write(
        self,
        versions: list[NewVersion],
        actor: str,
        source: str,
        remember: Sequence[RememberedAnswer] = (),
        field_returns: Sequence[FieldReturn] = (),
        ahead: Any = None,
        hand_over: bool = False,
    ) -> None:
        """Store the versions in one transaction. ``hand_over``: the caller has no more
        use for ``versions``, which the write lets go as their rows are queued (the list
        is left empty)."""
        ...

    def review(
        self,
        record_type: str,
        record_id: str,
        status: ReviewStatus,
        reason: str | None,
        actor: str,
        expected: str | None = None,
    ) -> StoredRecord: ...

    def refresh_accounts(self, *, progress: Any = None) -> int: ...

    # statistics over the land release accounts the store keeps
    def hazard_totals(self, by: str | None) -> list[tuple[Any, ...]]: ...

    def release_totals(
        self, by: str | None, since: date | None, until: date | None
    ) -> list[tuple[Any, ...]]: ...

    def personnel(self, by: str | None) -> list[tuple[Any, ...]]: ...

    def asset_summary(self) -> dict[str, int]: ...

    def hazard_accounts(self) -> dict[str, dict[str, float]]: ...

    def pending_count(self) -> int: ...

    def open_hazards(self) -> list[tuple[str, BaseGeometry]]: ...

    def approved_releases(self, hazard_ids: Iterable[str]) -> dict[str, list[BaseGeometry]]: ...

    def released_by_day(self, since: date, until: date) -> list[tuple[str, str, float]]: ...

    def change_mark(self) -> int: ...

    # --- the server: users, remembered submissions, plan runs, tiles ---------------------

    def add_user(
        self, name: str, role: str, organisation: str | None, password_hash: str, actor: str
    ) -> None: ...

    def set_password(self, name: str, password_hash: str, actor: str) -> None: ...

    def user(self, name: str) -> dict[str, Any] | None: ...

    def users(self) -> Iterator[dict[str, Any]]: ...

    def server_secret(self) -> str: ...

    def submissions(self, keys: Collection[str]) -> dict[str, dict[str, Any]]: ...

    def remember_submissions(
        self, answers: Sequence[RememberedAnswer]
    ) -> dict[str, dict[str, Any]]: ...

    def save_plan_run(
        self,
        actor: str,
        started_at: str,
        finished_at: str,
        summary: str,
        plan: str,
        baseline: str,
        problem: str,
    ) -> int: ...

    def latest_plan_run_id(self) -> int | None: ...

    def field_returns(self, instance_ids: Collection[str]) -> dict[str, FieldReturn]: ...

    def field_return_list(
        self, status: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]: ...

    def set_ingest_key(self, organisation: str, key_hash: str, actor: str) -> None: ...

    def ingest_key(self, organisation: str) -> str | None: ...

    def latest_plan_run(self) -> dict[str, Any] | None: ...

    def tile_rows(
        self,
        record_type: str,
        bbox: tuple[float, float, float, float],
        min_size: tuple[float, float] = (0.0, 0.0),
        *,
        counted: bool = False,
    ) -> list[tuple[Any, ...]]: ...

"""The stores' shared body: versioned records, audit, review, accounts, in plain SQL.

The embedded store (:mod:`clearfield.store.sqlite`) and the server store
(:mod:`clearfield.store.postgis`) run this same code and SQL; they differ in how they
connect, how a write transaction keeps other writers out, and the few phrases
:mod:`clearfield.store.dialect` gives. Geometries are stored as WKB, a box table
(``record_bbox``) gives candidates by bounding box and Shapely decides exact
predicates. Every write method is one transaction: a file's records, their audit
events, quality flags and the land release accounts they change are all stored, or
none of them.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from shapely.geometry.base import BaseGeometry
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from clearfield.domain.enums import ReviewStatus
from clearfield.domain.parse import build_record, record_values
from clearfield.domain.records import RECORD_TYPES, Record
from clearfield.domain.review import check_transition, review_tag
from clearfield.errors import NotFound, ReviewError, StoreError
from clearfield.store.audit_chain import COLUMNS as HASHED_COLUMNS
from clearfield.store.audit_chain import append as append_audit_events
from clearfield.store.audit_chain import chain_into as chain_audit_events
from clearfield.store.audit_chain import newest as newest_audit_event
from clearfield.store.base import (
    FieldReturn,
    NewVersion,
    QualityFlag,
    RememberedAnswer,
    StoredRecord,
    VersionInfo,
    stored_text,
)
from clearfield.store.dialect import dialect_of
from clearfield.store.sql_accounts import (
    Accounting,
    AccountInput,
    AccountsAhead,
    LoadAccounts,
    refresh,
    start_accounts,
)
from clearfield.store.sql_batches import Inserts, executemany, inserting, temp_table
from clearfield.store.sql_field_returns import FieldReturns
from clearfield.store.sql_field_returns import keep as keep_field_returns
from clearfield.store.sql_plans import PlanRuns
from clearfield.store.sql_stats import StatisticsQueries
from clearfield.store.sql_tiles import TileQueries
from clearfield.store.sql_users import UserQueries
from clearfield.store.sql_users import remember as remember_answers
from clearfield.store.sqlite_rtree import add_packed, packable

__all__ = ["MIGRATIONS", "PROGRAMME_TABLES", "SQLStore", "migrate"]

PROGRAMME_TABLES = (
    "programme",
    "entity",
    "record_version",
    "record_bbox",
    "audit_event",
    "quality_flag",
    "hazard_account",
    "release_account",
    "app_user",
    "submission",
    "plan_run",
    "server_secret",
    "field_submission",
    "ingest_key",
)
"""Every table a programme is kept in, each after the tables its rows refer to."""

MIGRATIONS = Path(__file__).with_name("migrations")
_PARENT = {
    "activity": "hazard_id",
    "find": "hazard_id",
    "accident": "hazard_id",
    "daily_report": "hazard_id",
    "project": "asset_id",
}
_PARENT_TYPE = {"hazard_id": "hazard", "asset_id": "asset"}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _alembic_config(conn: Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


def migrate(engine: Engine) -> str:
    """Bring the schema to the newest revision; return it. Refuses a newer, unknown schema."""
    with engine.begin() as conn:
        cfg = _alembic_config(conn)
        scripts = ScriptDirectory.from_config(cfg)
        head = scripts.get_current_head()
        current = MigrationContext.configure(conn).get_current_revision()
        known = {s.revision for s in scripts.walk_revisions()}
        if current is not None and current not in known:
            raise StoreError(
                f"the database has schema revision {current!r}, newer than this Clearfield "
                f"knows ({head}); upgrade Clearfield"
            )
        if current != head:
            command.upgrade(cfg, "head")
    return head or ""


class SQLStore(StatisticsQueries, UserQueries, PlanRuns, TileQueries, FieldReturns):
    """What both stores do, over an SQLAlchemy engine; subclasses open it."""

    def __init__(self, engine: Engine, url: str):
        self.engine = engine
        self.url = url
        self._extent: tuple[int, int, list[tuple[float, float]]] | None = None

    def close(self) -> None:
        self.engine.dispose()

    def _prepare_write(self, conn: Connection, bulk: bool) -> None:
        """Before a write transaction begins (SQLite: make it BEGIN IMMEDIATE); ``bulk``:
        it writes many thousand versions."""

    def _write_ended(self, conn: Connection) -> None:
        """After a write transaction was committed or rolled back."""

    def _lock_writes(self, conn: Connection) -> None:
        """First thing in a write transaction: keep other writers out until it ends."""

    def _bulk_write(self, conn: Connection) -> None:
        """A write of many thousand versions is about to run on ``conn``."""

    def _bulk_written(self, conn: Connection) -> None:
        """A write of many thousand versions is in ``conn``'s transaction, not yet committed."""

    @contextmanager
    def _writing(self, bulk: bool = False) -> Iterator[Connection]:
        """One write transaction; writers queue one behind the other (new versions take
        the next keys, and versions are checked against what is stored)."""
        with self.engine.connect() as conn:
            try:
                self._prepare_write(conn, bulk)
                with conn.begin():
                    self._lock_writes(conn)
                    yield conn
            except IntegrityError as exc:  # rolled back; say so plainly, not as a traceback
                raise StoreError(
                    f"the database refused the change and nothing was written ({exc.orig})",
                    code="CONFLICT",
                ) from None
            finally:
                self._write_ended(conn)

    # --- programme metadata -------------------------------------------------------------

    def programme(self) -> dict[str, str]:
        with self.engine.connect() as conn:
            return dict(conn.exec_driver_sql("SELECT key, value FROM programme").all())

    def set_programme(self, values: dict[str, str], actor: str) -> None:
        with self._writing() as conn:
            before = dict(conn.exec_driver_sql("SELECT key, value FROM programme").all())
            executemany(
                conn,
                "INSERT INTO programme (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                list(values.items()),
            )
            _audit(
                conn,
                [
                    (
                        _now(),
                        actor,
                        "programme",
                        "programme",
                        "programme",
                        None,
                        json.dumps(before),
                        json.dumps(values),
                        None,
                    )
                ],
            )

    # --- reading --------------------------------------------------------------------------

    def existing(self, record_type: str, ids: Iterable[str]) -> set[str]:
        """Which of these ids are stored for this record type."""
        with self.engine.connect() as conn:
            if not _wanted_ids(conn, record_type, ids):
                return set()
            return {
                r[0]
                for r in conn.exec_driver_sql(
                    "SELECT e.record_id FROM wanted_ids w JOIN entity e "
                    "ON e.record_type = ? AND e.record_id = w.record_id",
                    (record_type,),
                )
            }

    def versions(self, record_type: str, ids: Iterable[str]) -> dict[str, list[VersionInfo]]:
        out: dict[str, list[VersionInfo]] = {}
        with self.engine.connect() as conn:
            if not _wanted_ids(conn, record_type, ids):
                return out
            rows = conn.exec_driver_sql(
                "SELECT e.record_id, v.version, v.info_date, v.content_hash, v.review_status "
                "FROM wanted_ids w JOIN entity e ON e.record_type = ? AND e.record_id = w.record_id "
                "JOIN record_version v ON v.entity_pk = e.pk ORDER BY e.pk, v.version",
                (record_type,),
            )
            for rid, version, info, digest, status in rows:
                out.setdefault(rid, []).append(
                    VersionInfo(version, _date(info), digest, ReviewStatus(status))
                )
        return out

    def current_properties(self, record_type: str, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The properties of the current versions of these records (for audit 'before')."""
        with self.engine.connect() as conn:
            if not _wanted_ids(conn, record_type, ids):
                return {}
            rows = conn.exec_driver_sql(
                "SELECT e.record_id, v.version, v.review_status, v.properties "
                "FROM wanted_ids w JOIN entity e ON e.record_type = ? AND e.record_id = w.record_id "
                "JOIN record_version v ON v.entity_pk = e.pk AND v.is_current = 1",
                (record_type,),
            )
            return {
                rid: {"version": version, "review_status": status, **json.loads(props)}
                for rid, version, status, props in rows
            }

    def current_geometries(self, record_type: str, ids: Iterable[str]) -> dict[str, BaseGeometry]:
        with self.engine.connect() as conn:
            if not _wanted_ids(conn, record_type, ids):
                return {}
            rows = conn.exec_driver_sql(
                "SELECT e.record_id, v.geometry "
                "FROM wanted_ids w JOIN entity e ON e.record_type = ? AND e.record_id = w.record_id "
                "JOIN record_version v ON v.entity_pk = e.pk AND v.is_current = 1 "
                "WHERE v.geometry IS NOT NULL",
                (record_type,),
            ).all()
        return {rid: shapely.from_wkb(wkb) for rid, wkb in rows}

    def geometries_touching(
        self, record_type: str, boxes: list[tuple[float, float, float, float]]
    ) -> list[tuple[str, BaseGeometry]]:
        """Current geometries of this type whose boxes touch any of ``boxes`` (R*Tree only)."""
        with self.engine.connect() as conn:
            temp_table(
                conn,
                "probe",
                "minx REAL, miny REAL, maxx REAL, maxy REAL",
                [tuple(b) for b in boxes],
            )
            rows = conn.exec_driver_sql(  # (distinct boxes first: not distinct blobs)
                "SELECT e.record_id, v.geometry FROM record_version v "
                "JOIN entity e ON e.pk = v.entity_pk AND e.record_type = ? "
                "WHERE v.is_current = 1 AND v.pk IN (SELECT b.pk FROM probe q "
                f"JOIN record_bbox b ON {dialect_of(conn).boxes_touch('b', 'q')})",
                (record_type,),
            ).all()
        return [(rid, shapely.from_wkb(wkb)) for rid, wkb in rows]

    def records(
        self,
        record_type: str,
        *,
        bbox: tuple[float, float, float, float] | None = None,
        review_status: ReviewStatus | None = None,
        counted_only: bool = False,
    ) -> Iterator[StoredRecord]:
        """Current (or counted) versions of a type, in key order, read a chunk at a time
        on a connection held only while the chunk is read: a caller may stop early, or
        take its time, without keeping a connection from the pool."""
        sql = [_SELECT.replace("SELECT ", "SELECT e.pk, ", 1), "WHERE e.record_type = ?"]
        args: list[Any] = [record_type]
        sql.append("AND v.is_counted = 1" if counted_only else "AND v.is_current = 1")
        if review_status is not None:
            sql.append("AND v.review_status = ?")
            args.append(review_status.value)
        if bbox is not None:
            touching, box_args = dialect_of(self.engine).box_in("b", bbox)
            sql.append(f"AND v.pk IN (SELECT b.pk FROM record_bbox b WHERE {touching})")
            args += box_args
        sql.append("AND e.pk > ? ORDER BY e.pk LIMIT ?")
        window = shapely.box(*bbox) if bbox is not None else None
        after = 0
        while True:
            with self.engine.connect() as conn:
                rows = conn.exec_driver_sql(" ".join(sql), (*args, after, _CHUNK)).all()
            for row in rows:
                stored = _stored(record_type, row[1:])
                # the box index gives boxes that touch the window; Shapely decides exactly
                if window is None or shapely.intersects(stored.record.geometry, window):
                    yield stored
            if len(rows) < _CHUNK:
                return
            after = rows[-1][0]

    def history(self, record_type: str, record_id: str) -> list[StoredRecord]:
        _known_text(record_type, record_id)
        with self.engine.connect() as conn:
            rows = conn.exec_driver_sql(
                _SELECT + " WHERE e.record_type = ? AND e.record_id = ? ORDER BY v.version",
                (record_type, record_id),
            ).all()
        if not rows:
            raise NotFound(f"no {record_type} with id {record_id!r}", record=record_id)
        return [_stored(record_type, r) for r in rows]

    def geometries_near(
        self, record_type: str, bbox: tuple[float, float, float, float]
    ) -> list[tuple[str, BaseGeometry]]:
        with self.engine.connect() as conn:
            touching, box_args = dialect_of(conn).box_in("b", bbox)
            rows = conn.exec_driver_sql(
                "SELECT e.record_id, v.geometry FROM record_bbox b "
                "JOIN record_version v ON v.pk = b.pk JOIN entity e ON e.pk = v.entity_pk "
                f"WHERE {touching} AND v.is_current = 1 AND e.record_type = ?",
                (*box_args, record_type),
            ).all()
        return [(rid, shapely.from_wkb(wkb)) for rid, wkb in rows]

    def is_empty(self) -> bool:
        """True when no record of any type is stored."""
        return self.count("SELECT EXISTS (SELECT 1 FROM entity)") == 0

    def records_written_by_others(self, actor: str) -> int:
        """How many record versions someone other than ``actor`` stored (for safe replacing)."""
        return int(
            self.count(
                "SELECT COUNT(*) FROM audit_event WHERE action IN ('create', 'new_version') "
                "AND actor != ?",
                (actor,),
            )
        )

    def extent_sample(self, limit: int = 5_000) -> list[tuple[float, float]]:
        """Up to ``limit`` box centres of current records, evenly picked: the programme's extent.

        Kept until the number of stored versions grows by a tenth: the extent of a
        programme moves slowly, and a server asks for it on every submission.
        """
        versions = int(self.count("SELECT COALESCE(MAX(pk), 0) FROM record_version"))
        cached = self._extent
        if cached is not None and cached[0] <= versions <= cached[0] * 1.1 and cached[1] == limit:
            return cached[2]
        total = int(self.count("SELECT COUNT(*) FROM record_bbox"))
        step = max(1, total // limit)
        sample = [
            (x, y)
            for x, y in self.query(
                "SELECT (b.minx + b.maxx) / 2, (b.miny + b.maxy) / 2 FROM record_bbox b "
                "JOIN record_version v ON v.pk = b.pk WHERE v.is_current = 1 AND b.pk % ? = 0",
                (step,),
            )
        ]
        self._extent = (versions, limit, sample)
        return sample

    def quality_flags(self) -> list[QualityFlag]:
        with self.engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT e.record_type, e.record_id, v.version, q.code, q.message "
                "FROM quality_flag q JOIN record_version v ON v.pk = q.version_pk "
                "JOIN entity e ON e.pk = v.entity_pk WHERE v.is_current = 1 ORDER BY q.pk"
            ).all()
            # releases outside their hazard as the accounts see them now (a hazard's new
            # version can leave an approved release outside it after that release came in)
            outside = conn.exec_driver_sql(
                "SELECT e.record_id, v.version, r.outside_m2, h.record_id FROM release_account r "
                "JOIN entity e ON e.pk = r.activity_pk JOIN entity h ON h.pk = r.hazard_pk "
                "JOIN record_version v ON v.entity_pk = r.activity_pk AND v.is_counted = 1 "
                "WHERE r.outside_m2 > 0 ORDER BY e.pk"
            ).all()
        flags = [QualityFlag(*r) for r in rows]
        seen = {(f.record_id, f.version) for f in flags if f.code == "RELEASE_OUTSIDE_HAZARD"}
        flags += [
            QualityFlag(
                "activity",
                rid,
                version,
                "RELEASE_OUTSIDE_HAZARD",
                f"reaches {m2:,.0f} m² outside hazard {hid}; only the part inside counts",
            )
            for rid, version, m2, hid in outside
            if (rid, version) not in seen
        ]
        return flags

    def audit_events(
        self, record_type: str | None = None, record_id: str | None = None
    ) -> list[dict[str, Any]]:
        sql = (
            "SELECT pk, at, actor, action, record_type, record_id, version, before, after, "
            "detail FROM audit_event"
        )
        args: tuple[Any, ...] = ()
        if record_type is not None:
            sql += " WHERE record_type = ? AND record_id = ?"
            args = (record_type, record_id)
        with self.engine.connect() as conn:
            rows = conn.exec_driver_sql(sql + " ORDER BY pk", args).mappings().all()
        return [dict(r) for r in rows]

    # --- writing --------------------------------------------------------------------------

    def first_load_ahead(self, records: int) -> AccountsAhead | None:
        """Start a worker process for a first load of ``records`` into this store, when it
        is empty and the load is large: it checks the records' data quality part by part
        while the caller parses the rest (:meth:`AccountsAhead.check`), and accounts them
        once :meth:`account_ahead` is given all. With nothing stored, the checks depend
        on the load alone (:meth:`AccountsAhead.quality_for`). None otherwise."""
        if records < _BULK or dialect_of(self.engine).name != "sqlite" or not self.is_empty():
            return None
        if (os.cpu_count() or 1) < 2:  # it would take turns with the parsing on one core
            return None
        return AccountsAhead.checking()

    def account_ahead(
        self, versions: list[NewVersion], ahead: AccountsAhead | None = None
    ) -> AccountsAhead | None:
        """Start accounting a first load of these versions (those a write will be given,
        or a guess at them) in a worker process, so the accounts are computed while the
        caller resolves versions, checks data quality and writes the rows: in ``ahead``'s
        worker when :meth:`first_load_ahead` started one. None when that gains nothing
        (and no ``ahead`` was given): a small write, one that is not a first load (its
        accounts need stored rows), or the server store (PostGIS accounts in SQL).
        :meth:`write` takes the accounts only if its versions are the same
        (:meth:`AccountsAhead.fits`); it checks under its lock that each is still the
        next version of its record, and a first load's hazards and releases are all
        new, so nothing stored can change their accounts."""
        if ahead is None and (len(versions) < _BULK or dialect_of(self.engine).name != "sqlite"):
            return None
        order: dict[tuple[str, str], int] = {}  # keys numbered as write() will number them
        for nv in versions:
            order.setdefault((nv.record.RECORD_TYPE, nv.record.id), len(order) + 1)
        today = _now()[:10]
        blocks = _type_blocks(versions) if ahead is not None else None
        if blocks is not None and len(order) == len(versions):
            # one version of each record, by type: the worker that checked them accounts
            # them from what it has, each numbered by its place
            firsts = {rtype: first for rtype, (first, _) in blocks.items()}
            ahead.start(versions, today, order, None, firsts)  # type: ignore[union-attr]
            ahead.needed = sum(blocks.get("hazard", (0, 0))) - 1  # type: ignore[union-attr]
            return ahead
        work = _fresh_accounts(versions, order, 0, today)
        mine = ahead or AccountsAhead()
        if not mine.start(versions, today, order, work) and ahead is None:
            return None
        return mine

    def write(
        self,
        versions: list[NewVersion],
        actor: str,
        source: str,
        remember: Sequence[RememberedAnswer] = (),
        field_returns: Sequence[FieldReturn] = (),
        ahead: AccountsAhead | None = None,
        hand_over: bool = False,
    ) -> None:
        """Store new versions, their audit events and flags, and refresh affected accounts.

        ``remember``: the answers to the submissions these versions came from, stored in
        the same transaction, so a submission is either stored with its answer or not at
        all (a key answered already refuses the whole write). ``field_returns``: the
        field submissions they came from (and those that made no record), likewise.
        ``ahead``: what :meth:`account_ahead` started for these versions. ``hand_over``:
        the caller has no more use for ``versions``; each chunk of them is let go once
        its rows are queued (the list is left empty), so a bulk load's records are freed
        while the thread inserts their rows, not after.
        """
        now = _now()
        count = len(versions)  # (``hand_over`` empties the list)
        bulk = count >= _BULK
        fits = ahead is not None and ahead.fits(versions, now[:10])
        if fits and hand_over:
            ahead.guess = []  # type: ignore[union-attr]  # (the versions it was: they go below)
        with self._writing(bulk=bulk) as conn:
            if bulk:
                self._bulk_write(conn)
            # one writer at a time: the new rows take the next pks, given here
            first = conn.exec_driver_sql("SELECT COALESCE(MAX(pk), 0) FROM entity").scalar()
            base = conn.exec_driver_sql("SELECT COALESCE(MAX(pk), 0) FROM record_version").scalar()
            one_each = (
                fits
                and first == base == 0
                and len(ahead.numbers) == len(versions)  # type: ignore[union-attr]
                and all(nv.version == 1 for nv in versions)
            )
            if one_each:
                # a first load, as guessed: nothing is stored, and each version is the only
                # one of its record, whose entity takes the number the accounts gave it,
                # that of its version
                keys_of = known = ahead.numbers  # type: ignore[union-attr]
            else:
                keys_of, known = _new_entities(conn, versions, first)
            head = newest_audit_event(conn)
            # a first load into an empty R*Tree writes it packed, every box known at once
            packed = bulk and dialect_of(conn).name == "sqlite" and packable(conn, "record_bbox")
            accounting: Accounting | LoadAccounts | None = None
            if fits and not one_each and isinstance(ahead.accounting, LoadAccounts):  # type: ignore[union-attr]
                fits = False  # (accounts by the numbers of a first load into an empty store)
            if fits:
                # into an empty store the write numbers all as the accounts did already
                alike = base == 0 and keys_of is ahead.numbers  # type: ignore[union-attr]
                fresh: AccountInput | None = ahead.work if alike else ahead.input_for(known, base)  # type: ignore[union-attr]
                accounting = ahead.accounting  # type: ignore[union-attr]
            else:
                if ahead is not None:  # started for other versions: free its core now
                    ahead.close()
                fresh = (
                    _fresh_accounts(versions, known, base, now[:10])
                    if dialect_of(conn).name == "sqlite"
                    else None
                )
                if fresh is not None:
                    accounting = start_accounts(fresh, alongside=True)
            try:
                touched: set[int] = set()
                hazards: set[int] = set()
                failed = False
                with inserting(conn, bulk=bulk) as inserts:
                    inserts.add(
                        "entity",
                        ("pk", "record_type", "record_id"),
                        [(pk, t, i) for (t, i), pk in keys_of.items()],
                    )
                    if packed:  # (first: the thread writes it while the rows are built)
                        add_packed(inserts, "record_bbox", *_boxes(versions, base + 1))
                    # the accounts go in once ready and their hazards' versions are in
                    # (their keys): not all at the end, for the thread to catch up with
                    pending = fresh is not None and accounting is not None
                    needed = max((h[1] for h in fresh.hazards), default=0) if fresh else 0
                    if fits:
                        needed = max(needed, ahead.needed)  # type: ignore[union-attr]
                    marks: list[int] = []
                    for a in range(0, count, _WRITE_CHUNK):
                        # run at most two chunks ahead of the inserts: rows wait in memory
                        marks.append(inserts.added)
                        if len(marks) > 2:
                            inserts.wait(through=marks[-3])
                        head = self._write_chunk(
                            inserts,
                            versions,
                            a,
                            base,
                            known,
                            now,
                            actor,
                            source,
                            head,
                            touched,
                            hazards,
                            packed,
                            one_each,
                        )
                        if hand_over:
                            _let_go(versions, a, a + _WRITE_CHUNK)
                        last = a + _WRITE_CHUNK >= count
                        written = base + a + _WRITE_CHUNK >= needed
                        if pending and (last or (written and accounting.ready())):  # type: ignore[union-attr]
                            if not accounting.write(inserts, fresh):  # type: ignore[arg-type,union-attr]
                                # its worker had none, or failed: its hazards are accounted
                                # below (in this process, if it failed)
                                failed = isinstance(accounting, LoadAccounts) and accounting.failed
                                accounting = None
                            pending = False
                _update_current(conn, touched)
                remember_answers(conn, remember, if_new=False)
                keep_field_returns(conn, field_returns, actor, now)
                if accounting is None:
                    # a new version of an activity may have moved it to another hazard: the
                    # hazards of its earlier versions need their accounts redone too
                    refresh(conn, hazards | _activity_parents(conn, touched), workers=not failed)
            finally:
                if accounting is not None:
                    accounting.close()
            if bulk:
                self._bulk_written(conn)

    @staticmethod
    def _write_chunk(
        inserts: Inserts,
        versions: list[NewVersion],
        a: int,
        base: int,
        known: dict[tuple[str, str], int],
        now: str,
        actor: str,
        source: str,
        head: tuple[int, str],
        touched: set[int],
        hazards: set[int],
        packed: bool,
        one_each: bool = False,
    ) -> tuple[int, str]:
        """Queue the rows of ``versions[a:a + _WRITE_CHUNK]`` (pks from ``base + 1 + a``) and
        their audit events after ``head``; return the new head of the audit chain. Their
        bounding boxes go to the R*Tree unless it was ``packed`` with them already.
        ``one_each``: each version is the first and only one of a record new to an empty
        store, whose entity takes the number of its version (a first load)."""
        chunk = versions[a : a + _WRITE_CHUNK]
        rows: list[Any] = []  # (the rows' values one after the other, as they are bound)
        audits, flags = [], []
        day = now[:10]
        for i, nv in enumerate(chunk):
            rec = nv.record
            rtype = rec.RECORD_TYPE
            kinds, parent_field, parent_type, has_org, has_district = _row_plan(type(rec))
            pk = base + 1 + a + i
            epk = pk if one_each else known[(rtype, rec.id)]
            parent_id = getattr(rec, parent_field) if parent_field else None
            parent = known.get((parent_type, parent_id)) if parent_id else None
            single = nv.version == 1
            text = stored_text(record_values(rec)) if nv.text is None else nv.text
            status = rec.review_status
            rows += (
                pk,
                epk,
                nv.version,
                day if nv.info_date is None else nv.info_date.isoformat(),
                now,
                status.value,
                rec.rejection_reason,
                int(single),
                int(single and status is ReviewStatus.APPROVED),
                _kind(rec, kinds),
                rec.organisation if has_org else None,  # type: ignore[attr-defined]
                rec.district if has_district else None,  # type: ignore[attr-defined]
                parent,
                text,
                _wkb(nv),
                nv.area_m2,
                nv.content_hash,
                nv.repair_note,
            )
            if not single:
                touched.add(epk)
            if rtype == "hazard":
                hazards.add(epk)
            elif parent is not None and rtype == "activity":
                hazards.add(parent)
            audits.append(
                (
                    now,
                    actor,
                    "create" if single else "new_version",
                    rtype,
                    rec.id,
                    nv.version,
                    None if nv.previous is None else json.dumps(nv.previous),
                    text,
                    f"{source}; {nv.repair_note}" if nv.repair_note else source,
                )
            )
            if nv.flags:
                flags.extend((pk, code, msg, None, now) for code, msg in nv.flags)
        inserts.add_values("record_version", _VERSION_COLUMNS, rows)
        if not packed:
            pks, boxes = _boxes(chunk, base + 1 + a)
            columns = ("pk", "minx", "maxx", "miny", "maxy")
            inserts.add(
                "record_bbox", columns, list(zip(pks.tolist(), *boxes.T.tolist(), strict=True))
            )
        chained: list[Any] = []
        head = chain_audit_events(head, audits, chained)
        if inserts.threaded:
            # SQLite takes each event's columns from its version's row, written just before
            # (the properties as they are, not bound a second time): bound are the event's
            # key, its version's key, the properties before it and its hash
            n, width = len(audits), len(AUDIT_COLUMNS)
            bound: list[Any] = [None] * (4 * n)
            bound[0::4] = chained[0::width]
            bound[1::4] = range(base + 1 + a, base + 1 + a + n)
            bound[2::4] = chained[7::width]
            bound[3::4] = chained[10::width]
            inserts.add_joined(_AUDIT_FROM_VERSIONS, 4, bound, (actor, source))
        else:
            inserts.add_values("audit_event", AUDIT_COLUMNS, chained)
        inserts.add(
            "quality_flag", ("version_pk", "code", "message", "other_pk", "raised_at"), flags
        )
        return head

    def review(
        self,
        record_type: str,
        record_id: str,
        status: ReviewStatus,
        reason: str | None,
        actor: str,
        expected: str | None = None,
    ) -> StoredRecord:
        """Move the current version of a record along draft → submitted → approved | rejected.

        ``expected``: the record's :func:`~clearfield.domain.review.review_tag` as the
        reviewer saw it; if it has moved since (a new version, another review), nothing
        is changed and a ``CONFLICT`` says so."""
        _known_text(record_type, record_id)
        if reason is not None and "\x00" in str(reason):
            raise ReviewError("the reason contains a NUL character", record=f"{record_type} {record_id}")  # fmt: skip
        with self._writing() as conn:
            row = conn.exec_driver_sql(
                "SELECT v.pk, v.entity_pk, v.version, v.review_status, v.rejection_reason "
                "FROM record_version v JOIN entity e ON e.pk = v.entity_pk "
                "WHERE e.record_type = ? AND e.record_id = ? AND v.is_current = 1",
                (record_type, record_id),
            ).first()
            if row is None:
                raise NotFound(f"no {record_type} with id {record_id!r}", record=record_id)
            pk, epk, version, old, old_reason = row
            label = f"{record_type} {record_id}"
            now = review_tag(version, ReviewStatus(old))
            if expected is not None and expected != now:
                raise StoreError(
                    f"it changed since it was read (it is {now} now, it was {expected}); "
                    "read it again before reviewing",
                    record=label,
                    code="CONFLICT",
                )
            check_transition(ReviewStatus(old), status, reason, record=label)
            conn.exec_driver_sql(
                "UPDATE record_version SET review_status = ?, rejection_reason = ? WHERE pk = ?",
                (status.value, reason, pk),
            )
            _audit(
                conn,
                [
                    (
                        _now(),
                        actor,
                        status.value,
                        record_type,
                        record_id,
                        version,
                        json.dumps({"review_status": old, "rejection_reason": old_reason}),
                        json.dumps({"review_status": status.value, "rejection_reason": reason}),
                        None,
                    )
                ],
            )
            _update_current(conn, {epk})
            if record_type == "hazard":
                refresh(conn, {epk})
            elif record_type == "activity":
                refresh(conn, _activity_parents(conn, {epk}))
        return self.history(record_type, record_id)[version - 1]

    def refresh_accounts(self, *, progress: Any = None) -> int:
        """Recompute every land release account from the stored geometries; return hazards done."""
        with self._writing() as conn:
            pks = {
                r[0]
                for r in conn.exec_driver_sql("SELECT pk FROM entity WHERE record_type = 'hazard'")
            }
            conn.exec_driver_sql("DELETE FROM release_account")
            conn.exec_driver_sql("DELETE FROM hazard_account")
            refresh(conn, pks, progress=progress)
        return len(pks)


_SELECT = (
    "SELECT e.record_id, v.version, v.stored_at, v.review_status, v.rejection_reason, "
    "v.is_current, v.is_counted, v.properties, v.geometry, v.area_m2, v.repair_note "
    "FROM record_version v JOIN entity e ON e.pk = v.entity_pk"
)

_VERSION_COLUMNS = (
    "pk",
    "entity_pk",
    "version",
    "info_date",
    "stored_at",
    "review_status",
    "rejection_reason",
    "is_current",
    "is_counted",
    "kind",
    "organisation",
    "district",
    "parent_pk",
    "properties",
    "geometry",
    "area_m2",
    "content_hash",
    "repair_note",
)


_BULK = 10_000  # versions in one write from which it counts as a bulk load
_WRITE_CHUNK = 10_000  # versions whose rows are built while the ones before them are inserted
AUDIT_COLUMNS = (*HASHED_COLUMNS, "hash")
# The audit events of versions just written, as _write_chunk makes them, their columns
# taken from the versions' rows (?1: the actor, ?2: the source; each row of the values:
# the event's key, its version's key, the properties before, its hash)
_AUDIT_FROM_VERSIONS = (
    f"INSERT INTO audit_event ({', '.join(AUDIT_COLUMNS)}) "
    "SELECT e.column1, v.stored_at, ?1, "
    "CASE WHEN v.version = 1 THEN 'create' ELSE 'new_version' END, "
    "r.record_type, r.record_id, v.version, e.column3, v.properties, "
    "CASE WHEN v.repair_note IS NULL OR v.repair_note = '' THEN ?2 "
    "ELSE ?2 || '; ' || v.repair_note END, e.column4 "
    "FROM (VALUES {rows}) AS e "
    "JOIN record_version v ON v.pk = e.column2 JOIN entity r ON r.pk = v.entity_pk"
)
_CHUNK = 5_000  # rows read at a time by ``records``


def _let_go(versions: list[Any], a: int, b: int) -> None:
    """Drop ``versions[a:b]`` (None in their place; the list is emptied after its last),
    a few thousand at a time: freeing each holds the interpreter lock, which the
    inserting thread needs now and then."""
    for start in range(a, min(b, len(versions)), _LET_GO):
        end = min(start + _LET_GO, b, len(versions))
        versions[start:end] = [None] * (end - start)
    if b >= len(versions):
        versions.clear()


_LET_GO = 5_000


def _boxes(versions: list[NewVersion], first_pk: int) -> tuple[np.ndarray, np.ndarray]:
    """The R*Tree's keys and boxes (minx, maxx, miny, maxy) of the versions with a
    geometry, the versions keyed ``first_pk``, ``first_pk + 1``, ... in order."""
    geoms = np.asarray([nv.record.geometry for nv in versions], dtype=object)
    shaped = np.nonzero(~shapely.is_missing(geoms))[0]
    bounds = _outward_float32(shapely.bounds(geoms[shaped]).reshape(-1, 4))
    return (first_pk + shaped).astype(np.int64), bounds[:, [0, 2, 1, 3]]


def _outward_float32(bounds: np.ndarray) -> np.ndarray:
    """Boxes (minx, miny, maxx, maxy) rounded outward to 32-bit floats, as SQLite's
    R*Tree keeps them: both stores then hold the very same boxes (same candidates, and
    a programme copied between them is the same to the bit)."""
    if not len(bounds):
        return bounds
    with np.errstate(invalid="ignore"):
        b32 = bounds.astype(np.float32)
        low, high = b32[:, :2], b32[:, 2:]
        low = np.where(low.astype(np.float64) > bounds[:, :2], np.nextafter(low, np.float32(-np.inf)), low)  # fmt: skip
        high = np.where(high.astype(np.float64) < bounds[:, 2:], np.nextafter(high, np.float32(np.inf)), high)  # fmt: skip
    return np.hstack([low, high]).astype(np.float64)


@cache
def _row_plan(cls: type[Record]) -> tuple[tuple[str, ...], str | None, str | None, bool, bool]:
    """What a version row takes from a record of ``cls``: the fields its ``kind`` comes
    from (the first set one, as :func:`_kind`), its parent field and the parent's type,
    and whether it has an organisation and a district."""
    names = {f.name for f in dataclasses.fields(cls)}
    kinds = ("kind", "status" if cls.RECORD_TYPE == "hazard" else "", "team_kind", "category")
    parent_field = _PARENT.get(cls.RECORD_TYPE)
    return (
        tuple(k for k in kinds if k and k in names),
        parent_field,
        _PARENT_TYPE[parent_field] if parent_field else None,
        "organisation" in names,
        "district" in names,
    )


def _kind(rec: Record, kinds: tuple[str, ...] | None = None) -> str | None:
    """The first set of the record's kind fields (``kinds``: those of its
    :func:`_row_plan`, when the caller has it), as text."""
    for name in _row_plan(type(rec))[0] if kinds is None else kinds:
        value = getattr(rec, name)
        if value is not None:
            return str(value)
    return None


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d is not None else None


def _date(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _new_entities(
    conn: Connection, versions: list[NewVersion], first: int
) -> tuple[dict[tuple[str, str], int], dict[tuple[str, str], int]]:
    """The pks of the versions' records new to the store (the next after ``first``, in
    the order the versions name them), and the pks of all their records and of the
    parents they point at (an activity's hazard) that are stored or new. Refuses the
    write if another writer stored versions of them since they were decided."""
    own = [(nv.record.RECORD_TYPE, nv.record.id) for nv in versions]
    keys = set(own)
    for nv in versions:  # and the parents the versions point at
        parent_field = _PARENT.get(nv.record.RECORD_TYPE)
        parent_id = getattr(nv.record, parent_field) if parent_field else None
        if parent_id:
            keys.add((_PARENT_TYPE[parent_field], parent_id))
    known = _entity_pks(conn, keys)
    _check_unchanged(conn, own, [nv.version for nv in versions], known)
    new = [key for key in dict.fromkeys(own) if key not in known]
    keys_of = {key: first + 1 + i for i, key in enumerate(new)}
    known.update(keys_of)
    return keys_of, known


def _entity_pks(conn: Connection, keys: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Entity pks of these (record type, id) keys, those that exist."""
    if len(keys) > _BULK:  # a bulk load: reading the whole table is cheaper than a join
        rows = conn.exec_driver_sql("SELECT record_type, record_id, pk FROM entity")
        return {(t, i): pk for t, i, pk in rows if (t, i) in keys}
    temp_table(
        conn,
        "wanted_keys",
        "record_type TEXT, record_id TEXT, PRIMARY KEY (record_type, record_id)",
        list(keys),
    )
    rows = conn.exec_driver_sql(
        "SELECT e.record_type, e.record_id, e.pk FROM wanted_keys w JOIN entity e "
        "ON e.record_type = w.record_type AND e.record_id = w.record_id"
    )
    return {(t, i): pk for t, i, pk in rows}


def _wanted_ids(conn: Connection, record_type: str, ids: Iterable[str]) -> bool:
    """Fill the connection's temporary ``wanted_ids`` table, for joins instead of scans;
    False (and nothing filled) when no record of the type is stored, as in a first load,
    whose hundreds of thousands of ids would be written only to find nothing."""
    held = conn.exec_driver_sql(
        "SELECT EXISTS (SELECT 1 FROM entity WHERE record_type = ?)", (record_type,)
    ).scalar()
    if not held:
        return False
    temp_table(conn, "wanted_ids", "record_id TEXT PRIMARY KEY", [(i,) for i in ids])
    return True


def _audit(conn: Connection, rows: list[tuple[Any, ...]]) -> None:
    """Append audit events (``at, actor, action, record_type, record_id, version, before,
    after, detail``) to the hash chain, in the write transaction that holds the lock."""
    append_audit_events(conn, rows)


def _check_unchanged(
    conn: Connection,
    keys: list[tuple[str, str]],
    numbers: list[int],
    known: dict[tuple[str, str], int],
) -> None:
    """Versions were decided before the write began: refuse if another writer came between.

    ``keys`` and ``numbers``: each new version's (record type, id) and version number."""
    if max(numbers, default=1) == 1 and not any(map(known.__contains__, keys)):
        return  # none stored and each its record's first (a first load): nothing to check
    if len(set(keys)) == len(keys):  # each record once (as in a first load)
        expected = dict(zip(keys, numbers, strict=True))
    else:
        expected = {}
        for key, number in zip(keys, numbers, strict=True):
            expected[key] = min(expected.get(key, number), number)
    stored = {}
    present = [known[k] for k in expected if k in known]
    if present:
        temp_table(conn, "checking", "pk INTEGER PRIMARY KEY", [(p,) for p in present])
        stored = dict(
            conn.exec_driver_sql(
                "SELECT entity_pk, MAX(version) FROM record_version "
                "WHERE entity_pk IN (SELECT pk FROM checking) GROUP BY entity_pk"
            ).all()
        )
    for key, first_new in expected.items():
        if stored.get(known.get(key), 0) != first_new - 1:
            raise StoreError(
                f"{key[0]} {key[1]} was changed by someone else while this file was being "
                "checked; nothing was written. Import the file again.",
                code="CONCURRENT_CHANGE",
            )


def _wkb(nv: NewVersion) -> bytes | None:
    """The geometry of a new version as stored (WKB)."""
    geometry = nv.record.geometry
    return nv.wkb if nv.wkb is not None or geometry is None else shapely.to_wkb(geometry)


def _type_blocks(versions: list[NewVersion]) -> dict[str, tuple[int, int]] | None:
    """(number of the first, count) of each record type's versions, numbered from 1, when
    each type's are together in one block; else None."""
    out: dict[str, tuple[int, int]] = {}
    first = 1
    for rtype, block in itertools.groupby(nv.record.RECORD_TYPE for nv in versions):
        if rtype in out:
            return None
        count = sum(1 for _ in block)
        out[rtype] = (first, count)
        first += count
    return out


def _fresh_accounts(
    versions: list[NewVersion], known: dict[tuple[str, str], int], base: int, today: str
) -> AccountInput | None:
    """The accounting input of a write that adds hazards and only activities on them (a
    first load), taken from the versions instead of read back from the rows just
    written, so the accounts can be computed while the rows are written; None for any
    other write (a new version, a release on a stored hazard)."""
    hazards, releases, new_hazards = [], [], set()
    for i, nv in enumerate(versions):
        rec = nv.record
        if rec.RECORD_TYPE == "hazard":
            if nv.version != 1:
                return None
            epk = known[("hazard", rec.id)]
            new_hazards.add(epk)
            if rec.counts:
                hazards.append((epk, base + 1 + i, _wkb(nv)))
    for nv in versions:
        rec = nv.record
        if rec.RECORD_TYPE != "activity" or not rec.hazard_id:  # type: ignore[attr-defined]
            continue
        parent = known.get(("hazard", rec.hazard_id))  # type: ignore[attr-defined]
        if nv.version != 1 or parent not in new_hazards:
            return None
        if rec.counts:
            iso = _iso(nv.info_date) or today
            kind = _kind(rec)
            epk = known[("activity", rec.id)]
            releases.append((parent, epk, rec.id, kind, iso, rec.organisation, _wkb(nv)))  # type: ignore[attr-defined]
    hazards.sort(key=lambda h: h[0])  # (as they are read back: by entity pk)
    return AccountInput(hazards, releases)  # type: ignore[arg-type]


def _activity_parents(conn: Connection, entity_pks: set[int]) -> set[int]:
    """The hazards any version of these activities was recorded on."""
    if not entity_pks:
        return set()
    temp_table(conn, "moved", "pk INTEGER PRIMARY KEY", [(p,) for p in entity_pks])
    rows = conn.exec_driver_sql(
        "SELECT DISTINCT v.parent_pk FROM record_version v JOIN entity e ON e.pk = v.entity_pk "
        "WHERE e.record_type = 'activity' AND v.parent_pk IS NOT NULL "
        "AND v.entity_pk IN (SELECT pk FROM moved)"
    )
    return {r[0] for r in rows}


def _update_current(conn: Connection, entity_pks: set[int]) -> None:
    """Current = latest date of information (then latest version); counted = latest approved."""
    if not entity_pks:
        return
    temp_table(conn, "touched", "pk INTEGER PRIMARY KEY", [(p,) for p in entity_pks])
    conn.exec_driver_sql(  # (CASE: a comparison is a boolean, not 0/1, on PostgreSQL)
        "UPDATE record_version SET "
        "is_current = CASE WHEN pk = (SELECT w.pk FROM record_version w "
        "  WHERE w.entity_pk = record_version.entity_pk "
        "  ORDER BY w.info_date DESC, w.version DESC LIMIT 1) THEN 1 ELSE 0 END, "
        "is_counted = CASE WHEN pk = (SELECT w.pk FROM record_version w "
        "  WHERE w.entity_pk = record_version.entity_pk AND w.review_status = 'approved' "
        "  ORDER BY w.info_date DESC, w.version DESC LIMIT 1) THEN 1 ELSE 0 END "
        "WHERE entity_pk IN (SELECT pk FROM touched)"
    )


def _stored(record_type: str, row: Any) -> StoredRecord:
    rid, version, stored_at, status, reason, current, counted, props, wkb, area, note = row
    cls = RECORD_TYPES[record_type]
    data = json.loads(props)
    data["id"] = rid
    data["review_status"] = status
    data["rejection_reason"] = reason
    alias = {v: k for k, v in cls.ALIASES.items()}
    if "review_status" in alias:
        data[alias["review_status"]] = data.pop("review_status")
    geom = shapely.from_wkb(wkb) if wkb is not None else None
    rec = build_record(cls, data, geom, record=f"stored {record_type}", new=False)
    return StoredRecord(rec, version, stored_at, bool(current), bool(counted), area, note)


def _known_text(record_type: str, record_id: str) -> None:
    """A record no store can hold: text PostgreSQL refuses (NUL), so not found in any."""
    if "\x00" in record_type or "\x00" in record_id:
        raise NotFound(f"no {record_type!r} with id {record_id!r}", record=repr(record_id))

"""The embedded store: one SQLite file, WAL, foreign keys on, an R*Tree of bounding boxes.

SQLite here cannot load SpatiaLite, so geometries are WKB blobs, the R*Tree gives
bounding-box candidates and Shapely decides exact predicates. Every write method is
one ``BEGIN IMMEDIATE`` transaction: a file's records, their audit events, quality
flags and the land release accounts they change are all stored, or none of them.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import shapely
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from shapely.geometry.base import BaseGeometry
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine

from clearfield.domain.accounting import HazardRelease, Release, account_hazards
from clearfield.domain.enums import ActivityKind, ReviewStatus
from clearfield.domain.parse import build_record, record_values
from clearfield.domain.records import RECORD_TYPES, Record
from clearfield.domain.review import check_transition
from clearfield.errors import NotFound, StoreError
from clearfield.store.base import NewVersion, QualityFlag, StoredRecord, VersionInfo

__all__ = ["SQLiteStore", "migrate"]

MIGRATIONS = Path(__file__).with_name("migrations")
_PARENT = {
    "activity": "hazard_id",
    "find": "hazard_id",
    "accident": "hazard_id",
    "daily_report": "hazard_id",
    "project": "asset_id",
}
_PARENT_TYPE = {"hazard_id": "hazard", "asset_id": "asset"}
_BATCH = 50_000


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
        head = ScriptDirectory.from_config(cfg).get_current_head()
        current = MigrationContext.configure(conn).get_current_revision()
        known = {s.revision for s in ScriptDirectory.from_config(cfg).walk_revisions()}
        if current is not None and current not in known:
            raise StoreError(
                f"the database has schema revision {current!r}, newer than this Clearfield "
                f"knows ({head}); upgrade Clearfield"
            )
        if current != head:
            command.upgrade(cfg, "head")
    return head or ""


class SQLiteStore:
    """The embedded store. ``SQLiteStore.open("sqlite:///clearfield.db")`` creates or opens one."""

    def __init__(self, path: Path, engine: Engine, url: str):
        self.path = path
        self.engine = engine
        self.url = url

    @classmethod
    def open(cls, url: str, *, create: bool = True) -> SQLiteStore:
        if not url.startswith("sqlite:///"):
            raise StoreError(f"not an SQLite URL: {url!r} (expected sqlite:///path)")
        path = Path(url.removeprefix("sqlite:///"))
        if not create and not path.exists():
            raise StoreError(
                f"no database at {path}; create one with `clearfield scenario` "
                "or `clearfield import`"
            )
        if path.parent and not path.parent.exists():
            raise StoreError(f"folder {path.parent} does not exist")
        engine = create_engine(f"sqlite:///{path}")
        event.listen(engine, "connect", _on_connect)
        event.listen(engine, "begin", _on_begin)
        migrate(engine)
        return cls(path, engine, url)

    def close(self) -> None:
        """Close every connection; the last one to close checkpoints the WAL into the file."""
        self.engine.dispose()

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        """One write transaction, begun IMMEDIATE so two writers queue instead of deadlocking."""
        with self.engine.connect() as conn:
            conn.info["immediate"] = True
            with conn.begin():
                yield conn

    # --- programme metadata -------------------------------------------------------------

    def programme(self) -> dict[str, str]:
        with self.engine.connect() as conn:
            return dict(conn.exec_driver_sql("SELECT key, value FROM programme").all())

    def set_programme(self, values: dict[str, str], actor: str) -> None:
        with self._writing() as conn:
            before = dict(conn.exec_driver_sql("SELECT key, value FROM programme").all())
            _many(
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

    def ids(self, record_type: str) -> set[str]:
        with self.engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT record_id FROM entity WHERE record_type = ?", (record_type,)
            )
            return {r[0] for r in rows}

    def versions(self, record_type: str, ids: Iterable[str]) -> dict[str, list[VersionInfo]]:
        wanted = set(ids)
        out: dict[str, list[VersionInfo]] = {}
        if not wanted:
            return out
        with self.engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT e.record_id, v.version, v.info_date, v.content_hash, v.review_status "
                "FROM entity e JOIN record_version v ON v.entity_pk = e.pk "
                "WHERE e.record_type = ? ORDER BY v.version",
                (record_type,),
            )
            for rid, version, info, digest, status in rows:
                if rid in wanted:
                    out.setdefault(rid, []).append(
                        VersionInfo(version, _date(info), digest, ReviewStatus(status))
                    )
        return out

    def current_properties(self, record_type: str, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The properties of the current versions of these records (for audit 'before')."""
        wanted = set(ids)
        with self.engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT e.record_id, v.version, v.review_status, v.properties FROM entity e "
                "JOIN record_version v ON v.entity_pk = e.pk "
                "WHERE e.record_type = ? AND v.is_current = 1",
                (record_type,),
            )
            return {
                rid: {"version": version, "review_status": status, **json.loads(props)}
                for rid, version, status, props in rows
                if rid in wanted
            }

    def current_geometries(self, record_type: str, ids: Iterable[str]) -> dict[str, BaseGeometry]:
        wanted = set(ids)
        with self.engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT e.record_id, v.geometry FROM entity e "
                "JOIN record_version v ON v.entity_pk = e.pk "
                "WHERE e.record_type = ? AND v.is_current = 1 AND v.geometry IS NOT NULL",
                (record_type,),
            )
            return {rid: shapely.from_wkb(wkb) for rid, wkb in rows if rid in wanted}

    def records(
        self,
        record_type: str,
        *,
        bbox: tuple[float, float, float, float] | None = None,
        review_status: ReviewStatus | None = None,
        counted_only: bool = False,
    ) -> Iterator[StoredRecord]:
        sql = [_SELECT, "WHERE e.record_type = ?"]
        args: list[Any] = [record_type]
        sql.append("AND v.is_counted = 1" if counted_only else "AND v.is_current = 1")
        if review_status is not None:
            sql.append("AND v.review_status = ?")
            args.append(review_status.value)
        if bbox is not None:
            sql.append(
                "AND v.pk IN (SELECT pk FROM record_bbox WHERE maxx >= ? AND minx <= ? "
                "AND maxy >= ? AND miny <= ?)"
            )
            args += [bbox[0], bbox[2], bbox[1], bbox[3]]
        sql.append("ORDER BY e.pk")
        with self.engine.connect() as conn:
            for row in conn.exec_driver_sql(" ".join(sql), tuple(args)):
                yield _stored(record_type, row)

    def history(self, record_type: str, record_id: str) -> list[StoredRecord]:
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
            rows = conn.exec_driver_sql(
                "SELECT e.record_id, v.geometry FROM record_bbox b "
                "JOIN record_version v ON v.pk = b.pk JOIN entity e ON e.pk = v.entity_pk "
                "WHERE b.maxx >= ? AND b.minx <= ? AND b.maxy >= ? AND b.miny <= ? "
                "AND v.is_current = 1 AND e.record_type = ?",
                (bbox[0], bbox[2], bbox[1], bbox[3], record_type),
            ).all()
        return [(rid, shapely.from_wkb(wkb)) for rid, wkb in rows]

    def quality_flags(self) -> list[QualityFlag]:
        with self.engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT e.record_type, e.record_id, v.version, q.code, q.message "
                "FROM quality_flag q JOIN record_version v ON v.pk = q.version_pk "
                "JOIN entity e ON e.pk = v.entity_pk WHERE v.is_current = 1 ORDER BY q.pk"
            ).all()
        return [QualityFlag(*r) for r in rows]

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

    def count(self, sql: str, args: tuple[Any, ...] = ()) -> Any:
        """One value from a read-only query (for stats and checks)."""
        with self.engine.connect() as conn:
            return conn.exec_driver_sql(sql, args).scalar()

    def query(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.exec_driver_sql(sql, args)]

    # --- statistics -----------------------------------------------------------------------

    def hazard_totals(self, by: str | None) -> list[tuple[Any, ...]]:
        """(group, status, count, hazard m², remaining m²) over counted hazards."""
        key = _GROUP_HAZARD[by]
        return self.query(
            f"SELECT {key}, v.kind, COUNT(*), SUM(a.hazard_m2), SUM(a.remaining_m2) "
            "FROM hazard_account a JOIN record_version v ON v.pk = a.version_pk "
            "GROUP BY 1, 2 ORDER BY 1, 2"
        )

    def release_totals(
        self, by: str | None, since: date | None, until: date | None
    ) -> list[tuple[Any, ...]]:
        """(group, category, released m², outside m²) over approved releases in the period."""
        key = _GROUP_RELEASE[by]
        return self.query(
            f"SELECT {key}, r.category, SUM(r.released_m2), SUM(r.outside_m2) "
            "FROM release_account r JOIN hazard_account a ON a.entity_pk = r.hazard_pk "
            "JOIN record_version v ON v.pk = a.version_pk "
            "WHERE r.end_date >= ? AND r.end_date <= ? GROUP BY 1, 2 ORDER BY 1, 2",
            (_iso(since) or "0000-01-01", _iso(until) or "9999-12-31"),
        )

    def personnel(self, by: str | None) -> list[tuple[Any, ...]]:
        """(group, team kind, personnel) over counted teams."""
        key = {"organisation": "v.organisation"}.get(by or "", "NULL")
        return self.query(
            f"SELECT {key}, v.kind, SUM(json_extract(v.properties, '$.personnel')) "
            "FROM record_version v JOIN entity e ON e.pk = v.entity_pk "
            "WHERE e.record_type = 'team' AND v.is_counted = 1 GROUP BY 1, 2"
        )

    def asset_summary(self) -> dict[str, int]:
        rows = self.query(
            "SELECT json_extract(v.properties, '$.condition'), COUNT(*) FROM record_version v "
            "JOIN entity e ON e.pk = v.entity_pk WHERE e.record_type = 'asset' AND v.is_counted = 1 "
            "GROUP BY 1"
        )
        counts = {(c or "damaged"): n for c, n in rows}
        return {"count": sum(counts.values()), "restored": counts.get("restored", 0)}

    def hazard_accounts(self) -> dict[str, dict[str, float]]:
        """Hazard id → its land release account (m²)."""
        rows = self.query(
            "SELECT e.record_id, a.hazard_m2, a.cancelled_m2, a.reduced_m2, a.cleared_m2, "
            "a.remaining_m2, a.outside_m2 FROM hazard_account a JOIN entity e ON e.pk = a.entity_pk"
        )
        names = (
            "hazard_m2",
            "cancelled_m2",
            "reduced_m2",
            "cleared_m2",
            "remaining_m2",
            "outside_m2",
        )
        return {r[0]: dict(zip(names, r[1:], strict=True)) for r in rows}

    def pending_count(self) -> int:
        return int(
            self.count(
                "SELECT COUNT(*) FROM record_version WHERE is_current = 1 AND review_status = 'submitted'"
            )
        )

    def open_hazards(self) -> list[tuple[str, BaseGeometry]]:
        """Counted hazards with ground left to release: (id, hazard polygon)."""
        rows = self.query(
            "SELECT e.record_id, v.geometry FROM hazard_account a "
            "JOIN record_version v ON v.pk = a.version_pk JOIN entity e ON e.pk = a.entity_pk "
            "WHERE a.remaining_m2 > 1.0"
        )
        geoms = shapely.from_wkb([wkb for _, wkb in rows]) if rows else []
        return [(rid, g) for (rid, _), g in zip(rows, geoms, strict=True)]

    def approved_releases(self, hazard_ids: Iterable[str]) -> dict[str, list[BaseGeometry]]:
        """Hazard id → the polygons of its counted (approved) release activities."""
        wanted = list(set(hazard_ids))
        out: dict[str, list[BaseGeometry]] = {h: [] for h in wanted}
        if not wanted:
            return out
        with self.engine.connect() as conn:
            conn.exec_driver_sql("CREATE TEMP TABLE IF NOT EXISTS wanted (id TEXT PRIMARY KEY)")
            conn.exec_driver_sql("DELETE FROM wanted")
            _many(conn, "INSERT INTO wanted (id) VALUES (?)", [(h,) for h in wanted])
            rows = conn.exec_driver_sql(
                "SELECT h.record_id, v.geometry FROM record_version v "
                "JOIN entity h ON h.pk = v.parent_pk JOIN entity e ON e.pk = v.entity_pk "
                "WHERE e.record_type = 'activity' AND v.is_counted = 1 "
                "AND h.record_id IN (SELECT id FROM wanted)"
            ).all()
            conn.rollback()
        geoms = shapely.from_wkb([wkb for _, wkb in rows]) if rows else []
        for (hid, _), g in zip(rows, geoms, strict=True):
            out[hid].append(g)
        return out

    # --- writing --------------------------------------------------------------------------

    def write(
        self, versions: list[NewVersion], actor: str, source: str, progress: Any = None
    ) -> None:
        """Store new versions, their audit events and flags, and refresh affected accounts."""
        now = _now()
        with self._writing() as conn:
            known = _entity_pks(conn)
            new_entities = list(
                dict.fromkeys(
                    key
                    for key in ((nv.record.RECORD_TYPE, nv.record.id) for nv in versions)
                    if key not in known
                )
            )
            if new_entities:
                conn.exec_driver_sql(
                    "INSERT INTO entity (record_type, record_id) VALUES (?, ?)", new_entities
                )
                known = _entity_pks(conn)
            base = conn.exec_driver_sql("SELECT COALESCE(MAX(pk), 0) FROM record_version").scalar()
            rows, boxes, audits, flags, touched, hazards = [], [], [], [], set(), set()
            geoms = [nv.record.geometry for nv in versions]
            bounds = shapely.bounds(np.asarray(geoms, dtype=object)) if geoms else np.zeros((0, 4))
            for i, nv in enumerate(versions):
                rec = nv.record
                pk = base + 1 + i
                epk = known[(rec.RECORD_TYPE, rec.id)]
                props = dict(nv.properties) if nv.properties else record_values(rec)
                for k in ("id", "review_status", "rejection_reason"):
                    props.pop(k, None)
                parent_field = _PARENT.get(rec.RECORD_TYPE)
                parent_id = getattr(rec, parent_field) if parent_field else None
                parent = known.get((_PARENT_TYPE[parent_field], parent_id)) if parent_id else None
                single = nv.version == 1
                rows.append(
                    (
                        pk,
                        epk,
                        nv.version,
                        _iso(nv.info_date) or now[:10],
                        now,
                        rec.review_status.value,
                        rec.rejection_reason,
                        int(single),
                        int(single and rec.counts),
                        _kind(rec),
                        getattr(rec, "organisation", None),
                        getattr(rec, "district", None),
                        parent,
                        orjson.dumps(props).decode(),
                        nv.wkb
                        if nv.wkb is not None or rec.geometry is None
                        else shapely.to_wkb(rec.geometry),
                        nv.area_m2,
                        nv.content_hash,
                        nv.repair_note,
                    )
                )
                if rec.geometry is not None:
                    b = bounds[i]
                    boxes.append((pk, b[0], b[2], b[1], b[3]))
                if not single:
                    touched.add(epk)
                if rec.RECORD_TYPE == "hazard":
                    hazards.add(epk)
                elif rec.RECORD_TYPE == "activity" and parent is not None:
                    hazards.add(parent)
                action = "create" if single else "new_version"
                detail = f"{source}; {nv.repair_note}" if nv.repair_note else source
                audits.append(
                    (
                        now,
                        actor,
                        action,
                        rec.RECORD_TYPE,
                        rec.id,
                        nv.version,
                        None if nv.previous is None else json.dumps(nv.previous),
                        rows[-1][13],
                        detail,
                    )
                )
                flags.extend((pk, code, msg, None, now) for code, msg in nv.flags)
                if progress is not None and i % 5000 == 0:
                    progress(i)
            _many(conn, _INSERT_VERSION, rows)
            _many(
                conn,
                "INSERT INTO record_bbox (pk, minx, maxx, miny, maxy) VALUES (?, ?, ?, ?, ?)",
                boxes,
            )
            _audit(conn, audits)
            _many(
                conn,
                "INSERT INTO quality_flag (version_pk, code, message, other_pk, raised_at) "
                "VALUES (?, ?, ?, ?, ?)",
                flags,
            )
            _update_current(conn, touched)
            _refresh(conn, hazards)

    def review(
        self, record_type: str, record_id: str, status: ReviewStatus, reason: str | None, actor: str
    ) -> StoredRecord:
        """Move the current version of a record along draft → submitted → approved | rejected."""
        with self._writing() as conn:
            row = conn.exec_driver_sql(
                "SELECT v.pk, v.entity_pk, v.version, v.review_status, v.rejection_reason, "
                "v.parent_pk FROM record_version v JOIN entity e ON e.pk = v.entity_pk "
                "WHERE e.record_type = ? AND e.record_id = ? AND v.is_current = 1",
                (record_type, record_id),
            ).first()
            if row is None:
                raise NotFound(f"no {record_type} with id {record_id!r}", record=record_id)
            pk, epk, version, old, old_reason, parent = row
            check_transition(ReviewStatus(old), status, reason, record=f"{record_type} {record_id}")
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
                _refresh(conn, {epk})
            elif record_type == "activity" and parent is not None:
                _refresh(conn, {parent})
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
            _refresh(conn, pks, progress=progress)
        return len(pks)


_KIND = {k.value: k for k in ActivityKind}
_GROUP_HAZARD = {
    None: "NULL",
    "organisation": "v.organisation",
    "district": "v.district",
    "month": "substr(v.info_date, 1, 7)",
    "status": "v.kind",
    "hazard": "(SELECT record_id FROM entity WHERE pk = v.entity_pk)",
}
_GROUP_RELEASE = {
    None: "NULL",
    "organisation": "r.organisation",
    "district": "v.district",
    "month": "substr(r.end_date, 1, 7)",
    "status": "v.kind",
    "hazard": "(SELECT record_id FROM entity WHERE pk = v.entity_pk)",
}

_SELECT = (
    "SELECT e.record_id, v.version, v.stored_at, v.review_status, v.rejection_reason, "
    "v.is_current, v.is_counted, v.properties, v.geometry, v.area_m2, v.repair_note "
    "FROM record_version v JOIN entity e ON e.pk = v.entity_pk"
)

_INSERT_VERSION = (
    "INSERT INTO record_version (pk, entity_pk, version, info_date, stored_at, review_status, "
    "rejection_reason, is_current, is_counted, kind, organisation, district, parent_pk, "
    "properties, geometry, area_m2, content_hash, repair_note) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _on_begin(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.info.pop("immediate", False) else "BEGIN")


def _on_connect(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # SQLAlchemy's "begin" event issues BEGIN IMMEDIATE
    cur = dbapi_conn.cursor()
    for pragma in (
        "journal_mode = WAL",
        "foreign_keys = ON",
        "synchronous = NORMAL",
        "busy_timeout = 10000",
    ):
        cur.execute(f"PRAGMA {pragma}")
    cur.close()


def _kind(rec: Record) -> str | None:
    for name in ("kind", "status" if rec.RECORD_TYPE == "hazard" else "", "team_kind", "category"):
        value = getattr(rec, name, None) if name else None
        if value is not None:
            return str(value)
    return None


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d is not None else None


def _date(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _entity_pks(conn: Connection) -> dict[tuple[str, str], int]:
    rows = conn.exec_driver_sql("SELECT record_type, record_id, pk FROM entity")
    return {(t, i): pk for t, i, pk in rows}


def _many(conn: Connection, sql: str, rows: list[tuple[Any, ...]]) -> None:
    """executemany in batches; nothing at all for no rows (SQLAlchemy would run it once)."""
    for start in range(0, len(rows), _BATCH):
        conn.exec_driver_sql(sql, rows[start : start + _BATCH])


def _audit(conn: Connection, rows: list[tuple[Any, ...]]) -> None:
    _many(
        conn,
        "INSERT INTO audit_event (at, actor, action, record_type, record_id, version, "
        "before, after, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )


def _update_current(conn: Connection, entity_pks: set[int]) -> None:
    """Current = latest date of information (then latest version); counted = latest approved."""
    if not entity_pks:
        return
    conn.exec_driver_sql("CREATE TEMP TABLE IF NOT EXISTS touched (pk INTEGER PRIMARY KEY)")
    conn.exec_driver_sql("DELETE FROM touched")
    _many(conn, "INSERT INTO touched (pk) VALUES (?)", [(p,) for p in entity_pks])
    conn.exec_driver_sql(
        "UPDATE record_version SET "
        "is_current = (pk = (SELECT w.pk FROM record_version w "
        "  WHERE w.entity_pk = record_version.entity_pk "
        "  ORDER BY w.info_date DESC, w.version DESC LIMIT 1)), "
        "is_counted = COALESCE(pk = (SELECT w.pk FROM record_version w "
        "  WHERE w.entity_pk = record_version.entity_pk AND w.review_status = 'approved' "
        "  ORDER BY w.info_date DESC, w.version DESC LIMIT 1), 0) "
        "WHERE entity_pk IN (SELECT pk FROM touched)"
    )


def _refresh(conn: Connection, hazard_pks: set[int], progress: Any = None) -> None:
    """Recompute the accounts of these hazards from their counted versions and releases."""
    if not hazard_pks:
        return
    conn.exec_driver_sql("CREATE TEMP TABLE IF NOT EXISTS refresh (pk INTEGER PRIMARY KEY)")
    conn.exec_driver_sql("DELETE FROM refresh")
    _many(conn, "INSERT INTO refresh (pk) VALUES (?)", [(p,) for p in hazard_pks])
    conn.exec_driver_sql("DELETE FROM hazard_account WHERE entity_pk IN (SELECT pk FROM refresh)")
    conn.exec_driver_sql("DELETE FROM release_account WHERE hazard_pk IN (SELECT pk FROM refresh)")
    hz = conn.exec_driver_sql(
        "SELECT v.entity_pk, v.pk, v.geometry FROM record_version v "
        "WHERE v.is_counted = 1 AND v.entity_pk IN (SELECT pk FROM refresh) ORDER BY v.entity_pk"
    ).all()
    acts = conn.exec_driver_sql(
        "SELECT v.parent_pk, v.entity_pk, e.record_id, v.kind, v.info_date, v.organisation, "
        "v.geometry FROM record_version v JOIN entity e ON e.pk = v.entity_pk "
        "WHERE e.record_type = 'activity' AND v.is_counted = 1 "
        "AND v.parent_pk IN (SELECT pk FROM refresh)"
    ).all()
    if not hz:
        return
    index = {row[0]: i for i, row in enumerate(hz)}
    hazard_geoms = shapely.from_wkb([row[2] for row in hz])
    act_geoms = shapely.from_wkb([row[6] for row in acts]) if acts else []
    releases: list[list[Release]] = [[] for _ in hz]
    meta: dict[str, tuple[int, str, str | None]] = {}
    for row, geom in zip(acts, act_geoms, strict=True):
        parent, epk, rid, kind, end, org, _ = row
        releases[index[parent]].append(
            Release(rid, _KIND[kind], date.fromisoformat(end), ReviewStatus.APPROVED, geom)
        )
        meta[rid] = (epk, end, org)
    results = _account(hazard_geoms, releases, progress)
    _many(
        conn,
        "INSERT INTO hazard_account (entity_pk, version_pk, hazard_m2, cancelled_m2, reduced_m2, "
        "cleared_m2, remaining_m2, outside_m2) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                row[0],
                row[1],
                r.hazard_m2,
                r.cancelled_m2,
                r.reduced_m2,
                r.cleared_m2,
                r.remaining_m2,
                r.outside_m2,
            )
            for row, r in zip(hz, results, strict=True)
        ],
    )
    rel_rows = []
    for row, r, rels in zip(hz, results, releases, strict=True):
        for rel in rels:
            epk, end, org = meta[rel.id]
            rel_rows.append(
                (
                    epk,
                    row[0],
                    rel.kind.release.value,
                    r.first_release.get(rel.id, 0.0),
                    r.outside_by_release.get(rel.id, 0.0),
                    end,
                    org,
                )
            )
    _many(
        conn,
        "INSERT INTO release_account (activity_pk, hazard_pk, category, released_m2, outside_m2, "
        "end_date, organisation) VALUES (?, ?, ?, ?, ?, ?, ?)",
        rel_rows,
    )


PARALLEL_FROM = 20_000  # hazards; below this, starting worker processes costs more than it saves
_CHUNK = 5_000
_WORK: tuple[Any, list[list[Release]]] | None = None  # read by forked workers, never pickled


def _account_slice(a: int, b: int) -> list[HazardRelease]:
    assert _WORK is not None
    hazards, releases = _WORK
    return account_hazards(hazards[a:b], releases[a:b])


def _account(
    hazard_geoms: Any, releases: list[list[Release]], progress: Any = None
) -> list[HazardRelease]:
    """Account hazards in chunks, on every core when there are many (a whole programme).

    Workers are forked so that they see the geometries without copying them; they
    compute and return accounts only, and never touch the database connection they
    inherit.
    """
    global _WORK
    n = len(releases)
    chunks = [(a, min(a + _CHUNK, n)) for a in range(0, n, _CHUNK)]
    workers = min(os.cpu_count() or 1, 4, len(chunks))
    results: list[HazardRelease] = []
    if n < PARALLEL_FROM or workers < 2 or "fork" not in multiprocessing.get_all_start_methods():
        for a, b in chunks:
            results += account_hazards(hazard_geoms[a:b], releases[a:b])
            if progress is not None:
                progress(b, n)
        return results
    _WORK = (hazard_geoms, releases)
    try:
        ctx = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            futures = [pool.submit(_account_slice, a, b) for a, b in chunks]
            for (_, b), fut in zip(chunks, futures, strict=True):
                results += fut.result()
                if progress is not None:
                    progress(b, n)
    finally:
        _WORK = None
    return results


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
    rec = build_record(cls, data, geom, record=f"stored {record_type}")
    return StoredRecord(rec, version, stored_at, bool(current), bool(counted), area, note)

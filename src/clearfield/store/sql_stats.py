"""The stores' statistics queries: aggregates over the accounts they keep.

A mixin of :class:`~clearfield.store.sql.SQLStore`; every method reads only.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy.engine import Engine

from clearfield.domain.accounting import ACCOUNT_FIELDS
from clearfield.store.dialect import dialect_of
from clearfield.store.sql_batches import temp_table

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


class StatisticsQueries:
    """Read-only aggregates for ``stats`` and reports (hazards, releases, personnel, assets)."""

    engine: Engine

    def query(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.exec_driver_sql(sql, args)]

    def count(self, sql: str, args: tuple[Any, ...] = ()) -> Any:
        """One value from a read-only query (for stats and checks)."""
        with self.engine.connect() as conn:
            return conn.exec_driver_sql(sql, args).scalar()

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

    def change_mark(self) -> int:
        """A number that grows with every change to the store (the last audit event)."""
        return int(self.count("SELECT COALESCE(MAX(pk), 0) FROM audit_event"))

    def released_by_day(self, since: date, until: date) -> list[tuple[str, str, float]]:
        """(end date, category, released m²) of approved releases in the period, by day."""
        return [
            (d, c, float(m2))
            for d, c, m2 in self.query(
                "SELECT r.end_date, r.category, SUM(r.released_m2) FROM release_account r "
                "WHERE r.end_date >= ? AND r.end_date <= ? GROUP BY 1, 2 ORDER BY 1, 2",
                (since.isoformat(), until.isoformat()),
            )
        ]

    def personnel(self, by: str | None) -> list[tuple[Any, ...]]:
        """(group, team kind, personnel) over counted teams."""
        key = {"organisation": "v.organisation"}.get(by or "", "NULL")
        people = dialect_of(self.engine).json_number("v.properties", "personnel")
        return self.query(
            f"SELECT {key}, v.kind, SUM({people}) "
            "FROM record_version v JOIN entity e ON e.pk = v.entity_pk "
            "WHERE e.record_type = 'team' AND v.is_counted = 1 GROUP BY 1, 2"
        )

    def asset_summary(self) -> dict[str, int]:
        rows = self.query(
            f"SELECT {dialect_of(self.engine).json_text('v.properties', 'condition')}, COUNT(*) "
            "FROM record_version v "
            "JOIN entity e ON e.pk = v.entity_pk WHERE e.record_type = 'asset' AND v.is_counted = 1 "
            "GROUP BY 1"
        )
        counts = {(c or "damaged"): n for c, n in rows}
        return {"count": sum(counts.values()), "restored": counts.get("restored", 0)}

    def hazard_accounts(self) -> dict[str, dict[str, float]]:
        """Hazard id → its land release account (m²)."""
        rows = self.query(
            f"SELECT e.record_id, {', '.join('a.' + f for f in ACCOUNT_FIELDS)} "
            "FROM hazard_account a JOIN entity e ON e.pk = a.entity_pk"
        )
        return {r[0]: dict(zip(ACCOUNT_FIELDS, r[1:], strict=True)) for r in rows}

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
            temp_table(conn, "wanted", "id TEXT PRIMARY KEY", [(h,) for h in wanted])
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


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d is not None else None

"""Land release accounts in either store: recomputed inside the write transaction.

The embedded store reads the counted hazard versions and their counted releases, runs
the domain's accounting (on every core when a whole programme is recomputed) and writes
the accounts back; the server store computes them inside PostGIS
(:mod:`~clearfield.store.postgis_accounts`). Both on the caller's connection, so
accounts never disagree with the records they come from.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from typing import Any

import shapely
from sqlalchemy.engine import Connection

from clearfield.domain.accounting import HazardRelease, Release, account_hazards
from clearfield.domain.enums import ActivityKind, ReviewStatus
from clearfield.store.dialect import dialect_of
from clearfield.store.postgis_accounts import refresh_in_postgis
from clearfield.store.sql_batches import executemany, temp_table

__all__ = ["PARALLEL_FROM", "refresh"]

_KIND = {k.value: k for k in ActivityKind}


def refresh(conn: Connection, hazard_pks: set[int], progress: Any = None) -> None:
    """Recompute the accounts of these hazards from their counted versions and releases."""
    if not hazard_pks:
        return
    temp_table(conn, "refresh", "pk INTEGER PRIMARY KEY", [(p,) for p in hazard_pks])
    conn.exec_driver_sql("DELETE FROM hazard_account WHERE entity_pk IN (SELECT pk FROM refresh)")
    conn.exec_driver_sql("DELETE FROM release_account WHERE hazard_pk IN (SELECT pk FROM refresh)")
    if dialect_of(conn).name == "postgresql":
        refresh_in_postgis(conn, progress)
        return
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
    executemany(
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
    executemany(
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

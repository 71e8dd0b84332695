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
from typing import Any, NamedTuple

import numpy as np
import shapely
from sqlalchemy.engine import Connection

from clearfield.domain.accounting import ACCOUNT_FIELDS, HazardRelease, Release, account_hazards
from clearfield.domain.enums import ActivityKind, ReviewStatus
from clearfield.store.dialect import dialect_of
from clearfield.store.postgis_accounts import refresh_in_postgis
from clearfield.store.sql_batches import Inserts, inserting, temp_table

__all__ = [
    "PARALLEL_FROM",
    "AccountInput",
    "Accounting",
    "refresh",
    "start_accounts",
    "write_accounts",
]

_KIND = {k.value: k for k in ActivityKind}
_APPROVED = ReviewStatus.APPROVED


class AccountInput(NamedTuple):
    """What accounting reads: the counted version of each hazard, ``(entity pk, version
    pk, polygon)``, and the counted releases on them, ``(hazard pk, activity pk, activity
    id, kind, end date, organisation, polygon)``."""

    hazards: list[tuple[int, int, Any]]
    releases: list[tuple[int, int, str, str, str, str | None, Any]]


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
    hazard_geoms = shapely.from_wkb([row[2] for row in hz])
    act_geoms = shapely.from_wkb([row[6] for row in acts])
    work = AccountInput(
        [(row[0], row[1], g) for row, g in zip(hz, hazard_geoms, strict=True)],
        [(*row[:6], g) for row, g in zip(acts, act_geoms, strict=True)],
    )
    results = start_accounts(work, progress).result()
    with inserting(conn, bulk=len(work.hazards) >= PARALLEL_FROM) as inserts:
        write_accounts(inserts, work, results)


def write_accounts(inserts: Inserts, work: AccountInput, results: list[HazardRelease]) -> None:
    """Insert the accounts :func:`start_accounts` made of ``work`` (old ones already gone)."""
    inserts.add(
        "hazard_account",
        _HAZARD_ACCOUNT,
        [
            (
                h[0],
                h[1],
                r.hazard_m2,
                r.cancelled_m2,
                r.reduced_m2,
                r.cleared_m2,
                r.remaining_m2,
                r.outside_m2,
            )
            for h, r in zip(work.hazards, results, strict=True)
        ],
    )
    account = {h[0]: r for h, r in zip(work.hazards, results, strict=True)}
    rel_rows = []
    for parent, epk, rid, kind, end, org, _ in work.releases:
        r = account.get(parent)
        if r is None:  # a release on a hazard that does not count (not approved): nowhere
            continue
        rel_rows.append(
            (
                epk,
                parent,
                _KIND[kind].release.value,
                r.first_release.get(rid, 0.0),
                r.outside_by_release.get(rid, 0.0),
                end,
                org,
            )
        )
    inserts.add("release_account", _RELEASE_ACCOUNT, rel_rows)


_HAZARD_ACCOUNT = ("entity_pk", "version_pk", *ACCOUNT_FIELDS)
_RELEASE_ACCOUNT = (
    "activity_pk",
    "hazard_pk",
    "category",
    "released_m2",
    "outside_m2",
    "end_date",
    "organisation",
)


PARALLEL_FROM = 20_000  # hazards; below this, starting worker processes costs more than it saves
_CHUNK = 5_000
_WORK: tuple[Any, list[list[Release]]] | None = None  # read by forked workers, never pickled


def _account_slice(a: int, b: int) -> list[HazardRelease]:
    assert _WORK is not None
    hazards, releases = _WORK
    return account_hazards(hazards[a:b], releases[a:b])


class Accounting:
    """Accounts being computed: :meth:`result` waits for them.

    Many hazards (a whole programme) are accounted by forked workers, which start at
    once, so the caller can go on writing rows while they compute; they see the
    geometries without copying them, return accounts only, and never touch the
    database connection they inherit. Few hazards are accounted in :meth:`result`.
    """

    def __init__(
        self, hazard_geoms: Any, releases: list[list[Release]], progress: Any, alongside: bool
    ) -> None:
        global _WORK
        self._geoms, self._releases, self._progress = hazard_geoms, releases, progress
        n = len(releases)
        self._chunks = [(a, min(a + _CHUNK, n)) for a in range(0, n, _CHUNK)]
        cores = os.cpu_count() or 1
        # alongside the caller's own work, one core is the caller's; else one worker
        # alone would only add the cost of starting it
        workers = min(cores - 1 if alongside else cores, 4, len(self._chunks))
        self._pool: ProcessPoolExecutor | None = None
        self._futures: list[Any] = []
        if (
            n < PARALLEL_FROM
            or workers < (1 if alongside else 2)
            or "fork" not in multiprocessing.get_all_start_methods()
        ):
            return
        _WORK = (hazard_geoms, releases)
        try:  # (with "fork", every worker is started at the first submit)
            ctx = multiprocessing.get_context("fork")
            self._pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx)
            self._futures = [self._pool.submit(_account_slice, a, b) for a, b in self._chunks]
        finally:
            _WORK = None

    def result(self) -> list[HazardRelease]:
        n = len(self._releases)
        results: list[HazardRelease] = []
        try:
            for k, (a, b) in enumerate(self._chunks):
                if self._pool is None:
                    results += account_hazards(self._geoms[a:b], self._releases[a:b])
                else:
                    results += self._futures[k].result()
                if self._progress is not None:
                    self._progress(b, n)
        finally:
            self.close()
        return results

    def close(self) -> None:
        """Stop the workers (those not started are dropped): after :meth:`result`, or
        when the write they served failed."""
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None


def start_accounts(
    work: AccountInput, progress: Any = None, *, alongside: bool = False
) -> Accounting:
    """Start accounting ``work``'s hazards against their releases; ``alongside``: the
    caller goes on working until it asks for the result (it keeps a core)."""
    index = {h[0]: i for i, h in enumerate(work.hazards)}
    releases: list[list[Release]] = [[] for _ in work.hazards]
    for parent, _, rid, kind, end, _, geom in work.releases:
        i = index.get(parent)
        if i is not None:  # (a release on a hazard that does not count counts nowhere)
            releases[i].append(Release(rid, _KIND[kind], date.fromisoformat(end), _APPROVED, geom))
    geoms = np.asarray([h[2] for h in work.hazards], dtype=object)
    return Accounting(geoms, releases, progress, alongside)

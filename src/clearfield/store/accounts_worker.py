"""Land release accounts from geometries as WKB, in this process or in a worker process.

``python -m clearfield.store.accounts_worker`` is the worker: it reads from stdin two
pickles, the data quality checks of a first load (or None), then a list of chunks of
accounting work; it writes the checks' results to stdout first, then the accounts of
each chunk as soon as they are done, so the caller can show progress and take them in
order. A first load's checks come first because the import needs them before it
writes its first row, and its accounts only at the end.

The worker is a fresh interpreter, not a fork of the caller. A fork shares the
caller's memory page by page, and every page either process then writes is copied,
and Python writes to an object (its reference count) whenever it merely reads it: on a
first load, with half a million records in memory, that copying made the caller's own
work three times slower while the fork computed. The work travels as WKB instead,
which is what the store holds anyway. Nothing here reads or writes a database.
"""

from __future__ import annotations

import gc
import pickle
import sys
from collections.abc import Sequence
from datetime import date
from typing import Any

import shapely

from clearfield.domain.accounting import HazardRelease, Release, account_hazards
from clearfield.domain.enums import ActivityKind, ReviewStatus
from clearfield.domain.quality import Flag, check_records

__all__ = ["KIND_OF", "ChecksInput", "ReleaseRow", "account_chunk", "check_first_load", "main"]

ReleaseRow = tuple[str, str, str, Any]
"""A counted release as the worker needs it: (activity id, kind, end date ISO, WKB)."""

KIND_OF = {k.value: k for k in ActivityKind}
"""An activity kind by its stored value."""

ChecksInput = list[tuple[str, bool, list[bytes], list[str], list[str] | None]]
"""The new records of a first load with a geometry, by type: (record type, whether
areal, geometries as WKB, ids, and for activities their hazards' ids)."""


def check_first_load(types: ChecksInput) -> dict[str, tuple[Any, list[Flag]]]:
    """The data quality checks of a first load into an empty store, by record type: the
    same :func:`~clearfield.domain.quality.check_records` an import runs, with nothing
    stored around the records, and each activity's hazard from the load itself."""
    geoms = {rtype: shapely.from_wkb(wkbs).tolist() for rtype, _, wkbs, _, _ in types}
    hazards: dict[str, Any] = {}
    for rtype, _, _, ids, _ in types:
        if rtype == "hazard":
            hazards = dict(zip(ids, geoms[rtype], strict=True))
    out = {}
    for rtype, areal, _, ids, parent_ids in types:
        parents = [hazards.get(h) for h in parent_ids] if parent_ids is not None else []
        out[rtype] = check_records(
            rtype, geoms[rtype], ids, polygonal=areal, parents=parents, parent_ids=parent_ids or []
        )
    return out


def account_chunk(
    hazards: Sequence[bytes], releases: Sequence[Sequence[ReleaseRow]]
) -> list[HazardRelease]:
    """The accounts of ``hazards`` (counted polygons as WKB); ``releases[i]`` are the
    counted releases on ``hazards[i]``."""
    hazard_geoms = shapely.from_wkb(list(hazards))
    release_geoms = iter(shapely.from_wkb([r[3] for rels in releases for r in rels]).tolist())
    approved = ReviewStatus.APPROVED
    work = [
        [
            Release(rid, KIND_OF[kind], date.fromisoformat(end), approved, next(release_geoms))
            for rid, kind, end, _ in rels
        ]
        for rels in releases
    ]
    return account_hazards(hazard_geoms, work)


def main() -> None:
    # a short life whose garbage reference counting frees: the collector would only
    # walk the work again and again (a sixth of the time)
    gc.disable()
    checks = pickle.load(sys.stdin.buffer)
    out = sys.stdout.buffer
    if checks is not None:
        pickle.dump(check_first_load(checks), out, protocol=pickle.HIGHEST_PROTOCOL)
        out.flush()
    for hazards, releases in pickle.load(sys.stdin.buffer):
        pickle.dump(account_chunk(hazards, releases), out, protocol=pickle.HIGHEST_PROTOCOL)
        out.flush()


if __name__ == "__main__":
    main()

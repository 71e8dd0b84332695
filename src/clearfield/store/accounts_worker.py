"""Land release accounts and a first load's data quality checks, from geometries as
WKB, in this process or in a worker process.

``python -m clearfield.store.accounts_worker`` is the worker. It reads pickled messages
from stdin and answers on stdout, in order:

- ``("check", *part)``: the next part of a first load's new records with a geometry
  (the fields of a :class:`CheckPart`), checked as it comes (no answer yet); the
  import sends each part as soon as it has parsed it, so the checks run on the other
  core while it reads the rest of the file;
- ``("checked",)``: the checks are complete; answers their results by record type;
- ``("accounts", hazards, releases)``: a chunk of accounting work; answers its accounts.

A first load's checks come first because the import needs them before it writes its
first row, and its accounts only at the end. The geometries the checks put in the
equal-area plane are kept for the accounts, which would project them again.

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
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, NamedTuple

import numpy as np
import shapely

from clearfield.domain.accounting import (
    HazardRelease,
    Release,
    account_in_plane,
    counted_releases,
)
from clearfield.domain.enums import ActivityKind, ReviewStatus
from clearfield.domain.geometry import to_equal_area
from clearfield.domain.quality import Flag, RecordChecks

__all__ = ["KIND_OF", "CheckPart", "FirstLoadChecks", "ReleaseRow", "account_chunk", "main"]

ReleaseRow = tuple[str, str, str, Any]
"""A counted release as the worker needs it: (activity id, kind, end date ISO, WKB)."""

KIND_OF = {k.value: k for k in ActivityKind}
"""An activity kind by its stored value."""


class CheckPart(NamedTuple):
    """A part of a first load to check: its new records of one type with a geometry."""

    record_type: str
    areal: bool  # whether the type's geometries are areas
    wkbs: list[bytes]
    ids: list[str]
    parent_ids: list[str] | None  # for activities, their hazards' ids


class FirstLoadChecks:
    """The data quality checks of a first load into an empty store, part by part: the
    same :class:`~clearfield.domain.quality.RecordChecks` an import runs, with nothing
    stored around the records, and each activity's hazard from the load itself (one
    that comes later in the file is checked at the end)."""

    def __init__(self) -> None:
        self._checks: dict[str, RecordChecks] = {}
        self._wkbs: dict[str, list[bytes]] = {}
        self._hazards: dict[str, Any] = {}
        self._later: list[tuple[int, str]] = []  # (activity's position, its hazard's id)

    def add(self, part: CheckPart) -> None:
        record_type, areal, wkbs, ids, parent_ids = part
        geoms = shapely.from_wkb(wkbs).tolist()
        checks = self._checks.get(record_type)
        if checks is None:
            checks = self._checks[record_type] = RecordChecks(record_type, polygonal=areal)
            self._wkbs[record_type] = []
        start = len(self._wkbs[record_type])
        self._wkbs[record_type] += wkbs
        parents: list[Any] = []
        if parent_ids is not None:
            parents = [self._hazards.get(h) for h in parent_ids]
            self._later += [(start + i, parent_ids[i]) for i, p in enumerate(parents) if p is None]
        checks.add(geoms, ids, parents=parents, parent_ids=parent_ids or [])
        if record_type == "hazard":
            self._hazards.update(zip(ids, geoms, strict=True))

    def result(self) -> dict[str, tuple[Any, list[Flag]]]:
        """``(areas, flags)`` by record type, as :func:`~clearfield.domain.quality.check_records` gives them."""
        known = [(i, h) for i, h in self._later if h in self._hazards]
        if known and "activity" in self._checks:
            self._checks["activity"].add_parents(
                [i for i, _ in known], [self._hazards[h] for _, h in known], [h for _, h in known]
            )
        return {rtype: checks.result() for rtype, checks in self._checks.items()}

    def planes(self) -> dict[bytes, Any]:
        """Hazards' and releases' geometries in the equal-area plane, by their WKB."""
        out: dict[bytes, Any] = {}
        for rtype in ("hazard", "activity"):
            if rtype in self._checks and self._checks[rtype].polygonal:
                out.update(zip(self._wkbs[rtype], self._checks[rtype].planes.tolist(), strict=True))
        return out


def account_chunk(
    hazards: Sequence[bytes],
    releases: Sequence[Sequence[ReleaseRow]],
    planes: Mapping[bytes, Any] | None = None,
) -> list[HazardRelease]:
    """The accounts of ``hazards`` (counted polygons as WKB); ``releases[i]`` are the
    counted releases on ``hazards[i]``; ``planes``: geometries already in the
    equal-area plane, by their WKB."""
    approved = ReviewStatus.APPROVED
    work = [  # (each carries its WKB where the geometry goes: the accounting reads only
        # its place in the order, and the geometries in the plane come apart)
        [
            Release(rid, KIND_OF[kind], date.fromisoformat(end), approved, wkb)
            for rid, kind, end, wkb in rels
        ]
        for rels in releases
    ]
    counted = counted_releases(work)
    flat = [r.geometry for rels in counted for r in rels]
    return account_in_plane(_in_plane(hazards, planes), counted, _in_plane(flat, planes))


def _in_plane(wkbs: Sequence[bytes], planes: Mapping[bytes, Any] | None) -> Any:
    """WKB geometries in the equal-area plane: from ``planes`` where they are, else projected."""
    out = np.empty(len(wkbs), dtype=object)
    out[:] = [planes.get(w) for w in wkbs] if planes else None
    missing = np.nonzero(shapely.is_missing(out))[0]
    if len(missing):
        out[missing] = to_equal_area(shapely.from_wkb([wkbs[i] for i in missing]))
    return out


def main() -> None:
    # a short life whose garbage reference counting frees: the collector would only
    # walk the work again and again (a sixth of the time)
    gc.disable()
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    first = FirstLoadChecks()
    planes: dict[bytes, Any] = {}
    while True:
        try:
            kind, *args = pickle.load(inp)
        except EOFError:
            break
        if kind == "check":
            first.add(CheckPart(*args))
            continue
        if kind == "checked":
            answer: Any = first.result()
            planes, first = first.planes(), FirstLoadChecks()  # (what the accounts need, only)
        else:
            answer = account_chunk(*args, planes)
        pickle.dump(answer, out, protocol=pickle.HIGHEST_PROTOCOL)
        out.flush()


if __name__ == "__main__":
    main()

"""Land release accounts and a first load's data quality checks, from geometries as
WKB, in this process or in a worker process.

``python -m clearfield.store.accounts_worker`` is the worker. It reads pickled messages
from stdin and answers on stdout, in order:

- ``("check", *part)``: the next part of a first load's new records with a geometry
  (the fields of a :class:`CheckPart`), checked as it comes (no answer yet); the
  import sends each part as soon as it has parsed it, so the checks run on the other
  core while it reads the rest of the file;
- ``("normalised",)``: answers the normalised WKB of the areas checked so far, by
  record type, in the order they came (and forgets them): the import hashes each
  record's content with it, and the checks made it already (duplicate geometries);
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
    lying_within,
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
    that comes later in the file is checked at the end).

    Whether a release lies within its hazard is decided once, in the equal-area plane
    where its accounts decide it too (:meth:`within`): the quality check then measures
    only those that do not, and the accounts take the decision as it is."""

    def __init__(self) -> None:
        self._checks: dict[str, RecordChecks] = {}
        self._wkbs: dict[str, list[bytes]] = {}
        self._hazards: dict[str, _Hazard] = {}
        self._later: list[tuple[int, str]] = []  # (activity's position, its hazard's id)
        self._within: dict[tuple[bytes, bytes], bool] = {}
        self._normalised: dict[str, list[bytes]] = {}

    def add(self, part: CheckPart) -> None:
        record_type, areal, wkbs, ids, parent_ids = part
        geoms = shapely.from_wkb(wkbs)
        plane = normalised = None
        if areal:
            plane = to_equal_area(geoms)
            normalised = shapely.to_wkb(shapely.normalize(geoms)).tolist()
            self._normalised.setdefault(record_type, []).extend(normalised)
        checks = self._checks.get(record_type)
        if checks is None:
            checks = self._checks[record_type] = RecordChecks(record_type, polygonal=areal)
            self._wkbs[record_type] = []
        start = len(self._wkbs[record_type])
        self._wkbs[record_type] += wkbs
        parents: list[Any] = []
        inside = None
        if parent_ids is not None:
            found = [self._hazards.get(h) for h in parent_ids]
            parents = [None if h is None else h.geometry for h in found]
            self._later += [(start + i, parent_ids[i]) for i, h in enumerate(found) if h is None]
            if plane is not None:
                inside = self._decide_within(wkbs, plane, found)
        checks.add(
            geoms,
            ids,
            parents=parents,
            parent_ids=parent_ids or [],
            normalised=normalised,
            plane=plane,
            inside=inside,
        )
        if record_type == "hazard":
            self._hazards.update(
                (i, _Hazard(g, p, w))
                for i, g, p, w in zip(
                    ids, geoms.tolist(), _or_nones(plane, len(ids)), wkbs, strict=True
                )
            )

    def _decide_within(
        self, wkbs: Sequence[bytes], plane: Any, found: Sequence[_Hazard | None]
    ) -> Any:
        """Whether each release lies within its hazard (False where that is not known),
        decided by the accounts' own test
        (:func:`~clearfield.domain.accounting.lying_within`), and kept for them."""
        inside = np.zeros(len(wkbs), dtype=bool)
        known = [k for k, h in enumerate(found) if h is not None and h.plane is not None]
        if known:
            hazards = np.asarray([found[k].plane for k in known], dtype=object)  # type: ignore[union-attr]
            inside[known] = lying_within(plane[known], hazards)
            pairs = [(wkbs[k], found[k].wkb) for k in known]  # type: ignore[union-attr]
            self._within.update(zip(pairs, inside[known].tolist(), strict=True))
        return inside

    def result(self) -> dict[str, tuple[Any, list[Flag]]]:
        """``(areas, flags)`` by record type, as :func:`~clearfield.domain.quality.check_records` gives them."""
        known = [(i, h) for i, h in self._later if h in self._hazards]
        if known and "activity" in self._checks:
            checks = self._checks["activity"]
            index = [i for i, _ in known]
            found = [self._hazards[h] for _, h in known]
            inside = None
            if checks.polygonal:
                wkbs = self._wkbs["activity"]
                inside = self._decide_within([wkbs[i] for i in index], checks.planes[index], found)
            checks.add_parents(index, [h.geometry for h in found], [h for _, h in known], inside)
        return {rtype: checks.result() for rtype, checks in self._checks.items()}

    def planes(self) -> dict[bytes, Any]:
        """Hazards' and releases' geometries in the equal-area plane, by their WKB."""
        out: dict[bytes, Any] = {}
        for rtype in ("hazard", "activity"):
            if rtype in self._checks and self._checks[rtype].polygonal:
                out.update(zip(self._wkbs[rtype], self._checks[rtype].planes.tolist(), strict=True))
        return out

    def normalised(self) -> dict[str, list[bytes]]:
        """The normalised WKB of the areas checked since the last call, by record type,
        in the order they came."""
        out, self._normalised = self._normalised, {}
        return out

    def within(self) -> dict[tuple[bytes, bytes], bool]:
        """Whether a release lies within its hazard, by (release's WKB, hazard's WKB), for
        the releases checked against a hazard of the load."""
        return self._within


class _Hazard(NamedTuple):
    geometry: Any
    plane: Any  # in the equal-area plane (None unless hazards are areas)
    wkb: bytes


def _or_nones(values: Any, n: int) -> list[Any]:
    return [None] * n if values is None else values.tolist()


def account_chunk(
    hazards: Sequence[bytes],
    releases: Sequence[Sequence[ReleaseRow]],
    planes: Mapping[bytes, Any] | None = None,
    within: Mapping[tuple[bytes, bytes], bool] | None = None,
) -> list[HazardRelease]:
    """The accounts of ``hazards`` (counted polygons as WKB); ``releases[i]`` are the
    counted releases on ``hazards[i]``; ``planes``: geometries already in the
    equal-area plane, by their WKB; ``within``: whether a release lies within its
    hazard, by their WKB, where that was decided (:meth:`FirstLoadChecks.within`)."""
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
    decided = None
    if within:
        decided = [within.get((r.geometry, h)) for h, rels in zip(hazards, counted, strict=True) for r in rels]  # fmt: skip
    return account_in_plane(_in_plane(hazards, planes), counted, _in_plane(flat, planes), decided)


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
    within: dict[tuple[bytes, bytes], bool] = {}
    while True:
        try:
            kind, *args = pickle.load(inp)
        except EOFError:
            break
        if kind == "check":
            first.add(CheckPart(*args))
            continue
        if kind == "normalised":
            answer: Any = first.normalised()
        elif kind == "checked":
            answer = first.result()
            # (what the accounts need, only)
            planes, within, first = first.planes(), first.within(), FirstLoadChecks()
        else:
            answer = account_chunk(*args, planes, within)
        pickle.dump(answer, out, protocol=pickle.HIGHEST_PROTOCOL)
        out.flush()


if __name__ == "__main__":
    main()

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
- ``("accounts", hazards, releases)``: a chunk of accounting work; answers its accounts;
- ``("load accounts", firsts, today)``: after ``"checked"``, the accounts of the first
  load whose parts it checked, each record numbered ``firsts[type] + position`` (see
  :func:`load_input`); answers the rows that hold them (or None: the write accounts
  for itself). The import then sends nothing of its accounts' input: the parts had it.

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
    ACCOUNT_FIELDS,
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
    """A part of a first load to check: its new records of one type with a geometry,
    and, for hazards and activities, what their accounts take from them (else None)."""

    record_type: str
    areal: bool  # whether the type's geometries are areas
    wkbs: list[bytes]
    ids: list[str]
    parent_ids: list[str] | None  # for activities, their hazards' ids
    positions: list[int] | None = None  # each record's place among the load's of its type
    counts: list[bool] | None = None  # whether it counts (approved)
    kinds: list[str] | None = None  # an activity's kind (its stored value)
    ends: list[str | None] | None = None  # an activity's date of information (ISO)
    organisations: list[str | None] | None = None  # an activity's organisation


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
        self.parts: dict[str, list[CheckPart]] = {}  # the hazards' and activities', for accounts

    def add(self, part: CheckPart) -> None:
        record_type, areal, wkbs, ids, parent_ids = part[:5]
        if record_type in ("hazard", "activity"):
            self.parts.setdefault(record_type, []).append(part)
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


HazardRow = tuple[int, int, Any]
"""A counted hazard version: (entity pk, version pk, polygon as WKB)."""

ReleaseInput = tuple[int, int, str, str, str, str | None, Any]
"""A counted release on it: (hazard pk, activity pk, activity id, kind, end date ISO,
organisation, polygon as WKB)."""


def load_input(
    parts: Mapping[str, Sequence[CheckPart]], firsts: Mapping[str, int], today: str
) -> tuple[list[HazardRow], list[ReleaseInput]] | None:
    """The accounting input of a first load (as
    :class:`~clearfield.store.sql_accounts.AccountInput` holds it) from the parts of it
    checked: each record is the only version of a new entity, both numbered
    ``firsts[type] + position``, the write's numbers for a first load into an empty store
    (its records in order of type, each type's in the order of the file). None when a
    part lacks what accounts need, or a release names a hazard not in the load (the
    write then accounts for itself)."""
    hazards: list[HazardRow] = []
    numbers: dict[str, int] = {}  # every hazard's, counted or not
    for part in parts.get("hazard", ()):
        if part.positions is None or part.counts is None:
            return None
        first = firsts["hazard"]
        for rid, pos, counts, wkb in zip(part.ids, part.positions, part.counts, part.wkbs, strict=True):  # fmt: skip
            numbers[rid] = first + pos
            if counts:
                hazards.append((first + pos, first + pos, wkb))
    releases: list[ReleaseInput] = []
    for part in parts.get("activity", ()):
        _, _, wkbs, ids, parent_ids, positions, counted, kinds, ends, organisations = part
        if (
            parent_ids is None
            or positions is None
            or counted is None
            or kinds is None
            or ends is None
            or organisations is None
        ):
            return None
        lengths = {len(ids), len(parent_ids), len(positions), len(counted), len(kinds), len(ends)}
        if lengths != {len(organisations)}:
            return None
        first = firsts["activity"]
        for k, rid in enumerate(ids):
            hazard_id, pos, counts, kind, end = parent_ids[k], positions[k], counted[k], kinds[k], ends[k]  # fmt: skip
            org, wkb = organisations[k], wkbs[k]
            parent = numbers.get(hazard_id)
            if parent is None:
                return None
            if counts:
                releases.append((parent, first + pos, rid, kind, end or today, org, wkb))
    hazards.sort(key=lambda h: h[0])
    return hazards, releases


def by_hazard(
    hazards: Sequence[HazardRow], releases: Sequence[ReleaseInput]
) -> tuple[list[Any], list[list[ReleaseRow]]]:
    """The hazards' polygons and, for each, the releases on it as :func:`account_chunk`
    takes them (a release on a hazard that does not count counts nowhere)."""
    index = {h[0]: i for i, h in enumerate(hazards)}
    on: list[list[ReleaseRow]] = [[] for _ in hazards]
    for parent, _, rid, kind, end, _, wkb in releases:
        i = index.get(parent)
        if i is not None:
            on[i].append((rid, kind, end, wkb))
    return [h[2] for h in hazards], on


def account_rows(
    hazards: Sequence[HazardRow], releases: Sequence[ReleaseInput], results: Sequence[HazardRelease]
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The rows of ``hazard_account`` and ``release_account`` that hold the accounts
    (``results``, one per hazard) of this input."""
    hazard_rows = [
        (h[0], h[1], *(getattr(r, name) for name in ACCOUNT_FIELDS))
        for h, r in zip(hazards, results, strict=True)
    ]
    account = {h[0]: r for h, r in zip(hazards, results, strict=True)}
    release_rows = []
    for parent, epk, rid, kind, end, org, _ in releases:
        r = account.get(parent)
        if r is None:  # a release on a hazard that does not count (not approved): nowhere
            continue
        released, outside = r.first_release.get(rid, 0.0), r.outside_by_release.get(rid, 0.0)
        release_rows.append((epk, parent, KIND_OF[kind].release.value, released, outside, end, org))
    return hazard_rows, release_rows


CHUNK = 5_000  # hazards accounted at a time (a worker sends each chunk back in one piece)


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
    parts: dict[str, list[CheckPart]] = {}
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
            planes, within, parts = first.planes(), first.within(), first.parts
            first = FirstLoadChecks()
        elif kind == "load accounts":
            firsts, today = args
            answer = _load_accounts(parts, firsts, today, planes, within)
            parts = {}
        else:  # (the import sent the accounts' input: what came with the parts is not needed)
            answer, parts = account_chunk(*args, planes, within), {}
        pickle.dump(answer, out, protocol=pickle.HIGHEST_PROTOCOL)
        out.flush()


def _load_accounts(
    parts: Mapping[str, Sequence[CheckPart]],
    firsts: Mapping[str, int],
    today: str,
    planes: Mapping[bytes, Any],
    within: Mapping[tuple[bytes, bytes], bool],
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]] | None:
    """The account rows of the first load whose parts were checked (:func:`load_input`),
    or None."""
    work = load_input(parts, firsts, today)
    if work is None:
        return None
    hazards, releases = work
    polygons, on = by_hazard(hazards, releases)
    results: list[HazardRelease] = []
    for a in range(0, len(polygons), CHUNK):
        results += account_chunk(polygons[a : a + CHUNK], on[a : a + CHUNK], planes, within)
    return account_rows(hazards, releases, results)


if __name__ == "__main__":
    main()

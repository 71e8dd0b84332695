"""Land release accounting: the invariant everything else in Clearfield trusts.

For each hazardous area, the released area is the area of the union of its
*approved* release polygons clipped to the hazard polygon, split into cancelled
(NTS), reduced (technical survey) and cleared (clearance). Where releases overlap,
a square metre counts once, under the first release (ordered by end date, then
id). Remaining hazard = hazard minus that union. The part of a release polygon
outside its hazard is flagged and not counted.

All areas are ellipsoidal m², measured in an equal-area plane (see
``domain.geometry``), so ``cancelled + reduced + cleared + remaining`` equals the
hazard's area to rounding.

>>> from datetime import date
>>> from shapely import box
>>> hazard = box(30.0, 48.0, 30.01, 48.01)
>>> nts = Release("A1", ActivityKind.NTS, date(2026, 1, 5), ReviewStatus.APPROVED, box(30.0, 48.0, 30.005, 48.01))
>>> clr = Release("A2", ActivityKind.CLEARANCE, date(2026, 2, 1), ReviewStatus.APPROVED, box(30.0, 48.0, 30.01, 48.005))
>>> r = account_hazard(hazard, [clr, nts])
>>> [round(x / r.hazard_m2, 3) for x in (r.cancelled_m2, r.reduced_m2, r.cleared_m2, r.remaining_m2)]
[0.5, 0.0, 0.25, 0.25]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, NamedTuple

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from clearfield.domain.enums import ActivityKind, ReleaseCategory, ReviewStatus
from clearfield.domain.geometry import to_equal_area

__all__ = [
    "ACCOUNT_FIELDS",
    "OUTSIDE_TOLERANCE_M2",
    "HazardRelease",
    "Release",
    "ReleaseTotals",
    "account_hazard",
    "account_hazards",
    "account_in_plane",
    "counted_releases",
    "lying_within",
    "remaining_geometry",
    "remaining_ground",
]

ACCOUNT_FIELDS = (
    "hazard_m2",
    "cancelled_m2",
    "reduced_m2",
    "cleared_m2",
    "remaining_m2",
    "outside_m2",
)
"""A hazard's land release account, as the store keeps it and exports write it."""

OUTSIDE_TOLERANCE_M2 = 1.0
"""A release may stray this far outside its hazard (digitising slivers) before it is flagged."""


class Release(NamedTuple):
    """What accounting needs of a land release activity (current version)."""

    id: str
    kind: ActivityKind
    end_date: date
    review_status: ReviewStatus
    geometry: BaseGeometry


@dataclass(slots=True)
class HazardRelease:
    """The land release account of one hazardous area, in m²."""

    hazard_m2: float
    cancelled_m2: float = 0.0
    reduced_m2: float = 0.0
    cleared_m2: float = 0.0
    outside_m2: float = 0.0
    flagged: tuple[str, ...] = ()  # ids of releases that reach outside the hazard
    first_release: dict[str, float] = field(default_factory=dict)  # id -> m² it released
    outside_by_release: dict[str, float] = field(default_factory=dict)  # id -> m² outside

    @property
    def released_m2(self) -> float:
        return self.cancelled_m2 + self.reduced_m2 + self.cleared_m2

    @property
    def remaining_m2(self) -> float:
        return max(0.0, self.hazard_m2 - self.released_m2)

    def add(self, category: ReleaseCategory, m2: float) -> None:
        if category is ReleaseCategory.CANCELLED:
            self.cancelled_m2 += m2
        elif category is ReleaseCategory.REDUCED:
            self.reduced_m2 += m2
        else:
            self.cleared_m2 += m2


@dataclass(slots=True)
class ReleaseTotals:
    """Sums of hazard accounts (by whatever key the caller groups on)."""

    hazards: int = 0
    hazard_m2: float = 0.0
    cancelled_m2: float = 0.0
    reduced_m2: float = 0.0
    cleared_m2: float = 0.0
    remaining_m2: float = 0.0
    outside_m2: float = 0.0

    def add(self, r: HazardRelease) -> None:
        self.hazards += 1
        self.hazard_m2 += r.hazard_m2
        self.cancelled_m2 += r.cancelled_m2
        self.reduced_m2 += r.reduced_m2
        self.cleared_m2 += r.cleared_m2
        self.remaining_m2 += r.remaining_m2
        self.outside_m2 += r.outside_m2


def account_hazard(hazard: BaseGeometry, releases: Iterable[Release]) -> HazardRelease:
    """Account one hazard (EPSG:4326 polygon) against its releases; see the module doc."""
    return account_hazards([hazard], [list(releases)])[0]


def account_hazards(
    hazards: Sequence[BaseGeometry], releases: Sequence[Sequence[Release]]
) -> list[HazardRelease]:
    """Account many hazards at once; ``releases[i]`` are the releases of ``hazards[i]``."""
    if len(hazards) != len(releases):
        raise ValueError("one list of releases per hazard is needed")
    counted = counted_releases(releases)
    flat = [r.geometry for rels in counted for r in rels]
    return account_in_plane(
        to_equal_area(np.asarray(hazards, dtype=object)),
        counted,
        to_equal_area(np.asarray(flat, dtype=object)),
    )


def counted_releases(releases: Sequence[Sequence[Release]]) -> list[list[Release]]:
    """The releases that count, per hazard, in the order they release ground: the approved
    ones, by end date and then id."""
    return [
        sorted(
            (r for r in rels if r.review_status is ReviewStatus.APPROVED),
            key=lambda r: (r.end_date, r.id),
        )
        for rels in releases
    ]


def account_in_plane(
    plane_hazards: Any,
    counted: Sequence[Sequence[Release]],
    plane_releases: Any,
    within: Sequence[bool | None] | None = None,
) -> list[HazardRelease]:
    """The accounts of hazards already in the equal-area plane, against the releases of
    each as :func:`counted_releases` gives them; ``plane_releases``: their geometries in
    the plane, one after another in that order (a worker that projected them for its
    checks passes them on instead of projecting them again). ``within``: for each,
    whether it lies within its hazard (covered by it, in the plane), where the caller
    decided it already (the checks of a first load); None where not.

    Everything is decided in array calls except the unions: each release is clipped to
    its hazard (only the few not covered by it need the overlay), every pair of releases
    on the same hazard whose boxes meet is tested once for overlapping interiors, and a
    release that overlaps no earlier one adds its whole clipped area. Only releases
    that overlap earlier ones are merged with the pieces those belong to; adjacent
    releases (strips, lanes, boxes of a grid), the usual case, cost no union at all.
    """
    n = len(plane_releases)
    own = np.repeat(np.arange(len(counted)), [len(rels) for rels in counted])
    hazard_m2 = shapely.area(plane_hazards)
    clips = np.asarray(plane_releases, dtype=object).copy()
    whole = shapely.area(clips) if n else np.zeros(0)
    clip_m2 = whole.copy()
    if n:
        inside = np.zeros(n, dtype=bool)
        todo = np.arange(n)
        if within is not None:
            inside[:] = [w is True for w in within]
            todo = np.flatnonzero([w is None for w in within])
        if len(todo):
            inside[todo] = lying_within(clips[todo], plane_hazards[own[todo]])
        out = np.nonzero(~inside)[0]
        if len(out):
            cut = shapely.intersection(clips[out], plane_hazards[own[out]])
            polys = np.empty(len(out), dtype=object)
            polys[:] = [_polygonal(g) for g in cut]
            clips[out] = polys
            clip_m2[out] = shapely.area(clips[out])
    # pairs (earlier j, later k) on one hazard whose interiors overlap
    live = np.nonzero(clip_m2 > 0)[0]
    later, earlier = shapely.STRtree(clips[live]).query(clips[live])
    later, earlier = live[later], live[earlier]
    same = (own[later] == own[earlier]) & (earlier < later)
    later, earlier = later[same], earlier[same]
    meet = shapely.intersects(clips[earlier], clips[later])
    later, earlier = later[meet], earlier[meet]
    overlap = ~shapely.touches(clips[earlier], clips[later])
    overlaps_earlier: dict[int, list[int]] = {}
    for j, k in zip(earlier[overlap].tolist(), later[overlap].tolist(), strict=True):
        overlaps_earlier.setdefault(k, []).append(j)

    results: list[HazardRelease] = []
    flagged_outside = whole - clip_m2 > OUTSIDE_TOLERANCE_M2
    k = 0
    for i, rels in enumerate(counted):
        acc = HazardRelease(hazard_m2=float(hazard_m2[i]))
        # the ground released so far, as pieces whose interiors are pairwise disjoint:
        # piece -> (its union, m², its releases), and each release's piece
        pieces: dict[int, tuple[BaseGeometry, float, list[int]]] = {}
        piece_of: dict[int, int] = {}
        flagged: list[str] = []
        for r in rels:
            m2 = float(clip_m2[k])
            if flagged_outside[k]:
                outside = float(whole[k] - clip_m2[k])
                acc.outside_m2 += outside
                acc.outside_by_release[r.id] = outside
                flagged.append(r.id)
            if m2 > 0:
                met = dict.fromkeys(piece_of[j] for j in overlaps_earlier.get(k, ()))
                if not met:
                    new_m2 = m2
                    pieces[k] = (clips[k], m2, [k])
                    piece_of[k] = k
                else:
                    parts = [pieces.pop(p) for p in sorted(met)]
                    merged = _union([p[0] for p in parts], clips[k])
                    merged_m2 = float(shapely.area(merged))
                    new_m2 = max(0.0, merged_m2 - sum(p[1] for p in parts))
                    members = [m for p in parts for m in p[2]] + [k]
                    pieces[k] = (merged, merged_m2, members)
                    for m in members:
                        piece_of[m] = k
                acc.add(r.kind.release, new_m2)
                acc.first_release[r.id] = new_m2
            k += 1
        acc.flagged = tuple(flagged)
        results.append(acc)
    return results


def lying_within(plane_releases: Any, plane_hazards: Any) -> Any:
    """Whether each release lies within its hazard (covered by it), both in the
    equal-area plane: the one test the accounts and a first load's checks share, so
    they decide alike."""
    shapely.prepare(plane_hazards)
    return shapely.covered_by(plane_releases, plane_hazards)


def _polygonal(geom: BaseGeometry) -> BaseGeometry:
    """The polygons of an overlay result (an intersection may add stray lines or points)."""
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def _union(pieces: list[BaseGeometry], clip: BaseGeometry) -> BaseGeometry:
    """Union of released pieces with a new release; the binary overlay is the fast one."""
    if len(pieces) == 1:
        try:
            return _polygonal(shapely.union(pieces[0], clip))
        except shapely.errors.GEOSException:
            pass  # a robustness corner of the binary overlay: the cascaded union copes
    return _polygonal(shapely.union_all([*pieces, clip]))


def remaining_geometry(hazard: BaseGeometry, releases: Iterable[Release]) -> BaseGeometry:
    """The hazard polygon minus its approved releases (EPSG:4326), for maps and blocking."""
    return remaining_ground(
        hazard, [r.geometry for r in releases if r.review_status is ReviewStatus.APPROVED]
    )


def remaining_ground(hazard: BaseGeometry, released: Sequence[BaseGeometry]) -> BaseGeometry:
    """The hazard polygon minus polygons already known to be approved releases."""
    return shapely.difference(hazard, shapely.union_all(released)) if released else hazard

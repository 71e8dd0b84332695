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
from typing import NamedTuple

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
    """Account many hazards at once; ``releases[i]`` are the releases of ``hazards[i]``.

    Geometries are projected in two array calls, and the usual case (a release inside
    its hazard that overlaps no earlier release) costs one GEOS predicate and two more
    for each earlier release whose box it meets, so a whole programme is accounted in
    seconds.
    """
    if len(hazards) != len(releases):
        raise ValueError("one list of releases per hazard is needed")
    plane_h = to_equal_area(np.asarray(hazards, dtype=object))
    hazard_m2 = shapely.area(plane_h)
    counted: list[list[Release]] = []
    flat: list[BaseGeometry] = []
    owner: list[int] = []
    for i, rels in enumerate(releases):
        ok = sorted(
            (r for r in rels if r.review_status is ReviewStatus.APPROVED),
            key=lambda r: (r.end_date, r.id),
        )
        counted.append(ok)
        flat.extend(r.geometry for r in ok)
        owner.extend([i] * len(ok))
    plane_r = to_equal_area(np.asarray(flat, dtype=object))
    own = np.asarray(owner, dtype=np.int64)
    shapely.prepare(plane_h)
    inside = shapely.covered_by(plane_r, plane_h[own]) if len(own) else np.zeros(0, bool)
    r_area = shapely.area(plane_r)
    r_box = shapely.bounds(plane_r).tolist() if len(own) else []

    results: list[HazardRelease] = []
    k = 0
    for i, rels in enumerate(counted):
        acc = HazardRelease(hazard_m2=float(hazard_m2[i]))
        # The ground released so far, kept as pieces whose interiors are pairwise disjoint
        # (geometry, box, m²): a release whose box meets no piece's costs no GEOS call at
        # all; one that overlaps some is merged with them in one union, and what it adds
        # is the growth in area. One that only shares edges or corners with a piece adds
        # its whole area and stays a piece of its own: adjacent releases (strips, lanes,
        # boxes of a grid) are the usual case, and their unions took most of the time.
        pieces: list[tuple[BaseGeometry, list[float], float]] = []
        flagged: list[str] = []
        for r in rels:
            geom, whole, bx = plane_r[k], float(r_area[k]), r_box[k]
            if inside[k]:
                clip, clip_m2 = geom, whole
            else:
                clip = _polygonal(shapely.intersection(geom, plane_h[i]))
                clip_m2 = float(shapely.area(clip))
                bx = list(shapely.bounds(clip))
                if whole - clip_m2 > OUTSIDE_TOLERANCE_M2:
                    acc.outside_m2 += whole - clip_m2
                    acc.outside_by_release[r.id] = whole - clip_m2
                    flagged.append(r.id)
            k += 1
            if clip_m2 <= 0:
                continue
            touching = [
                p
                for p in pieces
                if p[1][0] <= bx[2]
                and bx[0] <= p[1][2]
                and p[1][1] <= bx[3]
                and bx[1] <= p[1][3]
                and shapely.intersects(p[0], clip)
                and not shapely.touches(p[0], clip)
            ]
            if not touching:
                new_m2 = clip_m2
                pieces.append((clip, bx, clip_m2))
            else:
                merged = _union([p[0] for p in touching], clip)
                merged_m2 = float(shapely.area(merged))
                new_m2 = max(0.0, merged_m2 - sum(p[2] for p in touching))
                gone = {id(p) for p in touching}
                pieces = [p for p in pieces if id(p) not in gone]
                pieces.append((merged, list(shapely.bounds(merged)), merged_m2))
            acc.add(r.kind.release, new_m2)
            acc.first_release[r.id] = new_m2
        acc.flagged = tuple(flagged)
        results.append(acc)
    return results


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

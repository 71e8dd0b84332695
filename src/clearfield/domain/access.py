"""Access: which hazards block which assets.

An asset is blocked by every hazardous area whose *remaining* (unreleased) ground
lies within the asset's access buffer: a brigade cannot rebuild a bridge while the
approach to it may hold mines. Released land does not block.

>>> from shapely import Point, box
>>> assets = [("AS1", Point(30.0, 48.0), 100.0), ("AS2", Point(30.1, 48.0), 100.0)]
>>> hazards = [("H1", box(30.0005, 47.9995, 30.002, 48.0005))]   # ~37 m east of AS1
>>> blocking(assets, hazards)
{'AS1': ['H1']}
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from clearfield.domain.geometry import local_metric, project

__all__ = ["blocking", "near"]

_M_PER_DEGREE = 110_000.0  # fewer than any degree of latitude has (110.6 to 111.7 km)


def near(
    assets: Sequence[tuple[str, BaseGeometry, float]],
    hazards: Sequence[tuple[str, BaseGeometry]],
) -> set[str]:
    """Ids of the hazards whose box comes within an asset's buffer of the asset's box,
    in degrees: a superset of those that can block, found without projecting the
    programme's every hazard (tens of thousands) to metres."""
    if not assets or not hazards:
        return set()
    boxes = shapely.bounds(np.asarray([g for _, g, _ in assets], dtype=object))
    buffers = np.asarray([b for _, _, b in assets], dtype=float)
    dlat = buffers / _M_PER_DEGREE
    # a degree of longitude shrinks with the cosine of the latitude nearest the pole
    polemost = np.minimum(np.maximum(np.abs(boxes[:, 1]), np.abs(boxes[:, 3])), 89.0)
    dlon = dlat / np.cos(np.radians(polemost))
    zones = shapely.box(
        boxes[:, 0] - dlon, boxes[:, 1] - dlat, boxes[:, 2] + dlon, boxes[:, 3] + dlat
    )
    tree = shapely.STRtree(np.asarray([g for _, g in hazards], dtype=object))
    _, hi = tree.query(zones, predicate="intersects")
    return {hazards[j][0] for j in np.unique(hi).tolist()}


def blocking(
    assets: Sequence[tuple[str, BaseGeometry, float]],
    remaining: Sequence[tuple[str, BaseGeometry]],
) -> dict[str, list[str]]:
    """Map asset id → ids of hazards whose remaining area is within the asset's buffer (m).

    ``assets`` are (id, EPSG:4326 geometry, buffer in metres); ``remaining`` are
    (hazard id, remaining hazard geometry in EPSG:4326). Assets blocked by nothing are
    left out.
    """
    if not assets or not remaining:
        return {}
    allg = np.asarray([g for _, g, _ in assets] + [g for _, g in remaining], dtype=object)
    minx, miny, maxx, maxy = shapely.total_bounds(allg)
    lon0, lat0 = (minx + maxx) / 2, (miny + maxy) / 2
    tr = local_metric(float(lon0), float(lat0))
    a = project(np.asarray([g for _, g, _ in assets], dtype=object), tr)
    h = project(np.asarray([g for _, g in remaining], dtype=object), tr)
    zones = shapely.buffer(a, np.asarray([b for _, _, b in assets], dtype=float))
    tree = shapely.STRtree(h)
    ai, hi = tree.query(zones, predicate="intersects")
    out: dict[str, list[str]] = {}
    for i, j in sorted(zip(ai.tolist(), hi.tolist(), strict=True)):
        out.setdefault(assets[i][0], []).append(remaining[j][0])
    return out

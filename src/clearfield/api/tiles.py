"""Mapbox vector tiles of hazards and assets for the dashboard: ``GET /api/tiles/...``.

``make_tiles_router(tiles, current_user)`` returns the router; ``render_tile`` is the
work behind it (run in worker processes by ``api.tile_service``; the benchmark calls
it directly). A tile is rendered from one R*Tree
query (``store.tile_rows``) and vectorised Shapely: every geometry of the tile is
projected to Web Mercator (EPSG:3857) and to the tile's 4096 grid in one call, then
clipped, simplified and snapped to the grid as arrays; only the MVT encoding walks
the features one by one.

What a tile holds:

- ``hazards`` layer: ``id``, ``status`` (SHA/CHA), ``review_status``, ``organisation``
  and ``remaining_m2`` (whole m² still to release, by the approved records; absent
  when the hazard has no approved version, as MVT has no null); a low-zoom dot has
  ``id``, ``status``, ``review_status`` and ``count``;
- ``assets`` layer: ``id``, ``kind``, ``damage`` and ``blocked`` (remaining hazard
  ground in its access buffer, as ``stats.blocked_assets`` keeps it between changes);
- ``released`` layer: ``id``, ``category`` (cancelled, reduced or cleared, by the
  activity: non-technical survey, technical survey, clearance) and ``organisation`` of
  every approved release activity (the version that counts), as drawn by the team;
- hazards and assets: current versions of any review status (the dashboard styles
  them by ``review_status``; only approved records count in ``remaining_m2`` and
  ``blocked``).

Level of detail: below ``DETAIL_ZOOM`` a hazard smaller than one screen pixel (of a
512-pixel tile) both ways is a dot at the centre of its box, one dot per 4 × 4
pixels, status and review status, with ``count`` (how many hazards it stands for) and
the id of one of them, so a whole front line shows at low zoom without reading its polygons; assets
and released land under a pixel are left out; the other features are simplified by a pixel
(Douglas-Peucker, topology kept). At every zoom coordinates snap to the 4096 grid and
everything is clipped ``BUFFER`` grid units outside the tile, so strokes join across
tile edges.

Roles (``domain.roles``): an observer never receives a hazard polygon: each hazard is
its centroid rounded to 0.01° (about a kilometre), a point, at every zoom, with
``generalised: true`` (as ``GET /api/records/hazard`` does); below ``DETAIL_ZOOM``
these points are dots like a planner's. A field lead receives
their own organisation's hazards and released land only. Assets have no
organisation: every role sees them. Released land is safe ground: every role sees
it drawn.

An empty tile is a 200 with a valid tile holding the empty layer (not a 204), so
clients handle every tile alike. A layer other than these three is a 404
(``NOT_FOUND``); a tile outside the pyramid (z not in 0..22, x or y not in
0..2^z - 1) is a 422 (``INVALID_TILE``), both in the API's JSON error shape.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import mapbox_vector_tile
import numpy as np
import shapely
from fastapi import APIRouter, Depends, Response
from pyproj import Transformer

from clearfield.domain.enums import ActivityKind
from clearfield.domain.roles import check, sees_full_hazards, sees_record
from clearfield.errors import ClearfieldError, NotFound
from clearfield.users import User

__all__ = [
    "BUFFER",
    "DETAIL_ZOOM",
    "DOT_CELL",
    "EXTENT",
    "LAYERS",
    "MAX_ZOOM",
    "PIXEL",
    "InvalidTile",
    "Tile",
    "check_tile_request",
    "make_tiles_router",
    "render_tile",
]

LAYERS = {"hazards": "hazard", "assets": "asset", "released": "activity"}
"""Layer name → the record type it draws."""
EXTENT = 4096
"""Grid units across a tile."""
BUFFER = 64
"""Grid units kept outside each edge of the tile."""
PIXEL = EXTENT / 512
"""Grid units in one screen pixel of a 512-pixel vector tile (MapLibre's default size)."""
DETAIL_ZOOM = 14
"""From this zoom up, no feature is left out for its size and nothing is simplified."""
DOT_CELL = 4 * PIXEL
"""Grid units of the square that one low-zoom dot stands for (a dot is ~5 pixels wide)."""
MAX_ZOOM = 22
OBSERVER_DECIMALS = 2
"""An observer's hazard is its centroid rounded to this many decimals of a degree."""
MEDIA_TYPE = "application/vnd.mapbox-vector-tile"
CACHE_CONTROL = "private, max-age=5"

_RADIUS = 6378137.0  # of the Web Mercator sphere, metres
_HALF = math.pi * _RADIUS  # half the width of the Web Mercator world, metres
_MAX_LAT = 85.05112877980659
_TO_MERCATOR = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
_POINT, _GEOMETRYCOLLECTION = 0, 7
_RELEASE = {kind.value: kind.release.value for kind in ActivityKind}


class InvalidTile(ClearfieldError):
    """Tile coordinates outside the pyramid (HTTP 422)."""

    code = "INVALID_TILE"


@dataclass(frozen=True, slots=True)
class Tile:
    """One tile of the Web Mercator (XYZ, y down from the north) pyramid.

    >>> Tile.checked(0, 0, 0).lonlat_bounds()
    (-180.0, -85.0511287798066, 180.0, 85.0511287798066)
    >>> Tile.checked(2, 4, 0)
    Traceback (most recent call last):
    ...
    clearfield.api.tiles.InvalidTile: tile 2/4/0: at zoom 2, x and y are 0 to 3
    """

    z: int
    x: int
    y: int

    @classmethod
    def checked(cls, z: int, x: int, y: int) -> Tile:
        where = f"tile {z}/{x}/{y}"
        if not 0 <= z <= MAX_ZOOM:
            raise InvalidTile(f"the zoom is 0 to {MAX_ZOOM}", record=where)
        if not (0 <= x < 2**z and 0 <= y < 2**z):
            raise InvalidTile(f"at zoom {z}, x and y are 0 to {2**z - 1}", record=where)
        return cls(z, x, y)

    @property
    def size_m(self) -> float:
        """Width of the tile in Web Mercator metres."""
        return 2 * _HALF / float(2**self.z)

    def mercator_bounds(self, buffer: float = 0.0) -> tuple[float, float, float, float]:
        """(minx, miny, maxx, maxy) in EPSG:3857, ``buffer`` grid units wider on each side."""
        pad = buffer * self.size_m / EXTENT
        minx = -_HALF + self.x * self.size_m
        maxy = _HALF - self.y * self.size_m
        return minx - pad, maxy - self.size_m - pad, minx + self.size_m + pad, maxy + pad

    def lonlat_bounds(self, buffer: float = 0.0) -> tuple[float, float, float, float]:
        """(west, south, east, north) in EPSG:4326, ``buffer`` grid units wider on each side."""
        minx, miny, maxx, maxy = self.mercator_bounds(buffer)
        # by the formula rather than pyproj, which wraps longitudes past ±180° around

        def lat(y: float) -> float:
            return math.degrees(2 * math.atan(math.exp(y / _RADIUS)) - math.pi / 2)

        return minx / _HALF * 180, lat(miny), maxx / _HALF * 180, lat(maxy)


def check_tile_request(layer: str, user: User) -> None:
    """Refuse a layer that does not exist, or a user who may not read the map."""
    if layer not in LAYERS:
        raise NotFound(f"no tile layer {layer!r}; one of {', '.join(LAYERS)}", record="tile")
    check(user.role, "read")


def render_tile(
    store: Any, layer: str, tile: Tile, user: User, blocked: frozenset[str] = frozenset()
) -> bytes:
    """The MVT of ``layer`` over ``tile`` as ``user`` may see it (``blocked``: asset ids)."""
    check_tile_request(layer, user)
    generalise = layer == "hazards" and not sees_full_hazards(user.role)
    # an observer's rounded centroid may fall up to half a rounding step outside its polygon
    pad = 0.5 * 10**-OBSERVER_DECIMALS if generalise else 0.0
    west, south, east, north = tile.lonlat_bounds(BUFFER)
    min_size = (0.0, 0.0)
    if layer != "assets" and tile.z < DETAIL_ZOOM:
        # a degree of latitude is at least as many grid units as a degree of longitude
        # (Mercator stretches it by sec φ ≥ 1): what is under these sizes is under a pixel
        px = PIXEL * 360.0 / (EXTENT * 2**tile.z)
        min_size = (px, px * math.cos(math.radians(max(abs(south), abs(north)))))
    box = (west - pad, south - pad, east + pad, north + pad)
    rows = store.tile_rows(LAYERS[layer], box, min_size, counted=layer == "released")
    if layer != "assets":
        rows = [r for r in rows if sees_record(user.role, user.organisation, r[3])]
    if layer == "released":  # land released under a pixel is not drawn at all
        rows = [r for r in rows if r[2] in _RELEASE and r[4] is not None]
    # under a pixel (at low zoom): a dot at the box's centre, the geometry never read
    dots = np.fromiter((r[4] is None for r in rows), dtype=bool, count=len(rows))
    geoms = np.empty(len(rows), dtype=object)
    if (~dots).any():
        geoms[~dots] = shapely.from_wkb([r[4] for r, d in zip(rows, dots, strict=True) if not d])
    if dots.any():
        geoms[dots] = shapely.points(np.array([r[7:9] for r in rows], dtype=float)[dots])
    if generalise and len(geoms):
        centres = np.round(shapely.get_coordinates(shapely.centroid(geoms)), OBSERVER_DECIMALS)
        geoms = shapely.points(centres)
        dots[:] = tile.z < DETAIL_ZOOM  # at low zoom, as many as a planner's dots
    projected = _project(geoms, tile)
    if layer == "hazards" and tile.z < DETAIL_ZOOM:  # the store's test is by degrees
        b = shapely.bounds(projected)
        under = ~dots & (b[:, 2] - b[:, 0] < PIXEL) & (b[:, 3] - b[:, 1] < PIXEL)
        projected[under] = shapely.points((b[under, 0] + b[under, 2]) / 2, (b[under, 1] + b[under, 3]) / 2)  # fmt: skip
        dots |= under
    geoms, keep = _fit(projected, tile.z)
    counts = _one_dot_per_pixel(geoms, keep & dots, rows)
    keep &= ~dots | np.isin(np.arange(len(rows)), list(counts))
    if layer == "hazards":
        features = [
            _feature(g, _hazard_properties(r, generalise, counts.get(i)))
            for i, (r, g, k) in enumerate(zip(rows, geoms, keep, strict=True))
            if k
        ]
    elif layer == "released":
        features = [
            _feature(g, {"id": r[0], "category": _RELEASE[r[2]], "organisation": r[3]})
            for r, g, k in zip(rows, geoms, keep, strict=True)
            if k
        ]
    else:
        features = [
            _feature(g, {"id": r[0], "kind": r[2], "damage": r[6], "blocked": r[0] in blocked})
            for r, g, k in zip(rows, geoms, keep, strict=True)
            if k
        ]
    return bytes(
        mapbox_vector_tile.encode(
            {"name": layer, "features": features},
            default_options={"extents": EXTENT, "check_winding_order": False},
        )
    )


def make_tiles_router(tiles: Any, current_user_dependency: Callable[..., Any]) -> APIRouter:
    """``GET /api/tiles/{layer}/{z}/{x}/{y}.pbf`` from ``tiles`` (an
    :class:`~clearfield.api.tile_service.TileService`), for the user
    ``current_user_dependency`` returns."""
    router = APIRouter(tags=["tiles"])
    user_ = Depends(current_user_dependency)

    @router.get(
        "/api/tiles/{layer}/{z}/{x}/{y}.pbf",
        response_class=Response,
        responses={200: {"content": {MEDIA_TYPE: {}}, "description": "A Mapbox vector tile."}},
    )
    async def tile(layer: str, z: int, x: int, y: int, user: User = user_) -> Response:
        """A Mapbox vector tile (v2, extent 4096) of ``hazards``, ``assets`` or
        ``released`` land; an empty tile is a 200 with the empty layer. Observers get
        hazards as points."""
        t = Tile.checked(z, x, y)
        check_tile_request(layer, user)
        body = await tiles.tile(layer, t, user)
        return Response(body, media_type=MEDIA_TYPE, headers={"Cache-Control": CACHE_CONTROL})

    return router


def _hazard_properties(
    row: tuple[Any, ...], generalised: bool, count: int | None
) -> dict[str, Any]:
    rid, review_status, status, organisation, _, remaining, *_ = row
    props: dict[str, Any] = {
        "id": rid,
        "status": status,
        "review_status": review_status,
        "organisation": organisation,
    }
    if remaining is not None:
        props["remaining_m2"] = round(remaining)
    if generalised:
        props["generalised"] = True
    if count is not None:  # a dot: what it is and how many, not one hazard's details
        props["count"] = count
        props.pop("organisation")
        props.pop("remaining_m2", None)
    return props


def _one_dot_per_pixel(
    geoms: np.ndarray, dots: np.ndarray, rows: list[tuple[Any, ...]]
) -> dict[int, int]:
    """One dot per ``DOT_CELL``, status and review status, standing for all of them:
    {index of the dot kept: how many hazards it stands for}. A low-zoom tile of a
    programme holds tens of thousands of hazards under a pixel each; a few thousand dots
    draw the same picture."""
    which = np.flatnonzero(dots)
    if not len(which):
        return {}
    xy = shapely.get_coordinates(geoms[which])
    cells: dict[tuple[Any, ...], list[int]] = {}
    for i, (x, y) in zip(which.tolist(), (xy // DOT_CELL).tolist(), strict=True):
        cells.setdefault((x, y, rows[i][1], rows[i][2]), []).append(i)
    return {members[0]: len(members) for members in cells.values()}


def _feature(geometry: Any, properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "geometry": geometry,
        "properties": {k: v for k, v in properties.items() if v is not None},
    }


def _project(geoms: np.ndarray, tile: Tile) -> np.ndarray:
    """Lon/lat geometries to the tile's grid (0..EXTENT, y up; the encoder flips y)."""
    minx, miny, _, _ = tile.mercator_bounds()
    scale = EXTENT / tile.size_m

    def to_grid(coords: np.ndarray) -> np.ndarray:
        lat = np.clip(coords[:, 1], -_MAX_LAT, _MAX_LAT)
        x, y = _TO_MERCATOR.transform(coords[:, 0], lat)
        return np.column_stack(((x - minx) * scale, (y - miny) * scale))

    projected: np.ndarray = shapely.transform(geoms, to_grid)
    return projected


def _fit(geoms: np.ndarray, z: int) -> tuple[np.ndarray, np.ndarray]:
    """Leave out, clip, simplify and snap the tile's geometries (in grid units); return
    them and which to keep."""
    if not len(geoms):
        return geoms, np.zeros(0, dtype=bool)
    bounds = shapely.bounds(geoms)
    width, height = bounds[:, 2] - bounds[:, 0], bounds[:, 3] - bounds[:, 1]
    points = shapely.get_type_id(geoms) == _POINT
    keep = ~shapely.is_empty(geoms)
    if z < DETAIL_ZOOM:
        keep &= points | (width >= PIXEL) | (height >= PIXEL)
    lo, hi = -BUFFER, EXTENT + BUFFER
    crosses = keep & (
        (bounds[:, 0] < lo) | (bounds[:, 1] < lo) | (bounds[:, 2] > hi) | (bounds[:, 3] > hi)
    )
    geoms = geoms.copy()
    if crosses.any():
        clipped = shapely.clip_by_rect(geoms[crosses], lo, lo, hi, hi)
        bad = ~shapely.is_valid(clipped)  # the fast clip does not promise valid output
        clipped[bad] = shapely.make_valid(clipped[bad])
        geoms[crosses] = clipped
    shapes = keep & ~points  # (the encoder rounds a point to the grid)
    if z < DETAIL_ZOOM:
        geoms[shapes] = shapely.simplify(geoms[shapes], PIXEL, preserve_topology=True)
    geoms[shapes] = shapely.orient_polygons(shapely.set_precision(geoms[shapes], 1.0), exterior_cw=True)  # fmt: skip
    mixed = keep & (shapely.get_type_id(geoms) == _GEOMETRYCOLLECTION)
    for i in np.flatnonzero(mixed):
        geoms[i] = _largest_dimension(geoms[i])
    keep &= ~shapely.is_empty(geoms)
    return geoms, keep


def _largest_dimension(collection: Any) -> Any:
    """The parts of a geometry collection of its highest dimension (what MVT can encode)."""
    parts = shapely.get_parts(collection)
    dims = shapely.get_dimensions(parts)
    if not len(parts):
        return shapely.Polygon()
    top = parts[dims == dims.max()]
    return shapely.union_all(top) if len(top) > 1 else top[0]

"""The dashboard's pages and static files, and the basemap drawn from the programme itself.

No outside tile server: roads, rivers, settlements, districts and the front line come
from the programme's own context (stored with the scenario or an import), so the map
works offline in the field.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import APIRouter, Depends, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from clearfield.domain.roles import check
from clearfield.store.base import Store
from clearfield.users import User

__all__ = ["WEB", "add_web", "programme_extent"]

WEB = Path(__file__).parents[1] / "web"
_EMPTY = {"type": "FeatureCollection", "features": []}
BASEMAP_LAYERS = ("districts", "roads", "rivers", "settlements", "front_line", "bridges")


def programme_extent(centres: list[tuple[float, float]]) -> list[float] | None:
    """The box around the middle 99% of these points (each way), or None for none."""
    if not centres:
        return None
    xy = np.asarray(centres, dtype=float)
    lo, hi = np.percentile(xy, [0.5, 99.5], axis=0)
    return [round(float(v), 6) for v in (lo[0], lo[1], hi[0], hi[1])]


def add_web(
    app: FastAPI, store: Store, current_user: Any, basemap_tiles: str | None = None
) -> None:
    """Serve ``/`` (dashboard), ``/login``, ``/static/...``, ``GET /api/basemap`` and
    ``GET /api/extent``."""
    router = APIRouter()

    @router.get("/api/basemap")
    def basemap(user: User = Depends(current_user)) -> dict[str, Any]:
        """The programme's context layers as GeoJSON (EPSG:4326), for the map's basemap,
        and ``tiles``: the raster tile URL configured to draw under them, or null."""
        check(user.role, "read")
        meta = store.programme()
        out: dict[str, Any] = {"tiles": basemap_tiles}
        for name in BASEMAP_LAYERS:
            text = meta.get(f"context.{name}")
            try:
                out[name] = json.loads(text) if text else _EMPTY
            except ValueError:
                out[name] = _EMPTY
        return out

    @router.get("/api/extent")
    def extent(user: User = Depends(current_user)) -> dict[str, Any]:
        """Where the programme is: ``bbox`` [west, south, east, north] around the middle
        99% of its records (a stray record, e.g. with swapped coordinates, does not
        stretch it), or null when nothing is stored. The map opens on it, so its first
        tiles are the ones it shows."""
        check(user.role, "read")
        return {"bbox": programme_extent(store.extent_sample())}

    app.include_router(router)
    if not WEB.is_dir():
        return

    @app.get("/", include_in_schema=False)
    def dashboard() -> FileResponse:
        return FileResponse(WEB / "index.html")

    @app.get("/login", include_in_schema=False)
    def login() -> FileResponse:
        return FileResponse(WEB / "login.html")

    app.mount("/static", StaticFiles(directory=WEB), name="static")

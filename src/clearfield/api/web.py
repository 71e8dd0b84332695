"""The dashboard's pages and static files, the basemap drawn from the programme itself,
and the security headers of every answer (the dashboard's Content-Security-Policy).

No outside tile server: roads, rivers, settlements, districts and the front line come
from the programme's own context (stored with the scenario or an import), so the map
works offline in the field.

The dashboard runs under a strict policy: scripts and styles from the server's own
files only (no inline script, no inline style, no ``eval``), images also from
``data:`` and ``blob:`` URLs (MapLibre's sprites and raster tiles), MapLibre's web
worker from its own file or a ``blob:`` URL, requests to the server only, plus the
origin of a configured raster basemap (``--basemap-tiles``). The API documentation
pages (``/docs``, ``/redoc``) load Swagger UI and ReDoc from their CDN with an inline
script, so they get a policy of their own that allows that, and nothing more.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
from fastapi import APIRouter, Depends, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from clearfield.domain.roles import check
from clearfield.store.base import Store
from clearfield.users import User

__all__ = ["WEB", "SecurityHeaders", "add_web", "content_security_policy", "programme_extent"]

WEB = Path(__file__).parents[1] / "web"
_EMPTY = {"type": "FeatureCollection", "features": []}
BASEMAP_LAYERS = ("districts", "roads", "rivers", "settlements", "front_line", "bridges")


SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}
"""Sent with every answer, whatever its path."""
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
    "font-src 'self' https://fonts.gstatic.com; worker-src 'self' blob:; connect-src 'self'; "
    "object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
"""The API documentation's policy: Swagger UI and ReDoc come from their CDN."""
DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})


def content_security_policy(basemap_tiles: str | None = None) -> str:
    """The dashboard's Content-Security-Policy; a raster basemap's origin may be fetched.

    >>> "script-src 'self';" in content_security_policy()
    True
    >>> content_security_policy("https://tiles.example.org/{z}/{x}/{y}.png").split("; ")[3]
    "img-src 'self' data: blob: https://tiles.example.org"
    """
    extra = ""
    if basemap_tiles:
        url = urlsplit(basemap_tiles)
        extra = f" {url.scheme}://{url.netloc}"
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src 'self' data: blob:{extra}",
            "font-src 'self'",
            f"connect-src 'self'{extra}",
            "worker-src 'self' blob:",
            "child-src 'self' blob:",
            "object-src 'none'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "form-action 'self'",
        ]
    )


class SecurityHeaders:
    """ASGI middleware: :data:`SECURITY_HEADERS` and the Content-Security-Policy on every
    answer, ``Cache-Control: no-store`` on the API's (``/api/``, ``/ogc``) unless the
    answer says otherwise (map tiles are kept 5 s, privately), and
    ``Strict-Transport-Security`` over HTTPS (as a proxy in front reports it)."""

    def __init__(self, app: ASGIApp, csp: str):
        self.app, self.csp = app, csp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        policy = DOCS_CSP if path in DOCS_PATHS else self.csp
        private = path.startswith(("/api/", "/ogc"))
        https = scope.get("scheme") == "https"

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Content-Security-Policy"] = policy
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
                if private and "cache-control" not in headers:
                    headers["Cache-Control"] = "no-store"
                if https:
                    headers["Strict-Transport-Security"] = "max-age=31536000"
            await send(message)

        await self.app(scope, receive, send_secured)


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

"""Vector tiles for a server: rendered in worker processes, kept until the store changes.

Rendering a low-zoom tile of a large programme is a few hundred milliseconds of
Python and GEOS, and a dashboard opens on eight of them at once: in the server's own
process they queue behind one interpreter lock (and hold up every other request).
Worker processes, one per core, each with its own connection to the store, render
them side by side. Every open dashboard asks for the same tiles after each event, so a
rendered tile is kept (for its layer, its tile and what the user may see) until the
store's next change, and a tile being rendered is awaited, not rendered twice.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections import OrderedDict
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from clearfield.api.tiles import Tile, render_tile
from clearfield.domain.roles import Role, sees_full_hazards
from clearfield.stats import blocked_assets
from clearfield.store.base import Store
from clearfield.users import User

__all__ = ["TileService"]

_KEEP_BYTES = 256 << 20  # rendered tiles kept, at most (a low-zoom tile is ~100 kB)
_worker_store: Any = None  # in a worker process: its own connection to the store


def _open_worker_store(database_url: str) -> None:
    from clearfield import services  # (in the worker: the store's whole import chain)

    global _worker_store
    _worker_store = services.open_store(database_url, create=False)
    # the programme's proportions, which every tile query plans by, read once now
    _worker_store.tile_rows("hazard", (0.0, 0.0, 0.0, 0.0))


def _render(
    layer: str, z: int, x: int, y: int, role: str, org: str | None, blocked: frozenset[str]
) -> bytes:
    return render_tile(_worker_store, layer, Tile(z, x, y), User("tiles", Role(role), org), blocked)


def _ready() -> bool:
    return _worker_store is not None


class TileService:
    def __init__(self, store: Store, database_url: str, workers: int | None = None):
        self.store = store
        self.database_url = database_url
        self.workers = workers or min(4, os.cpu_count() or 1)
        self._pool: ProcessPoolExecutor | None = None
        self._kept: OrderedDict[tuple[Any, ...], bytes] = OrderedDict()
        self._kept_bytes = 0
        self._mark: int | None = None
        self._rendering: dict[tuple[Any, ...], asyncio.Future[bytes]] = {}

    def start(self) -> None:
        """Start the workers now (each opens the store), not on the first tile."""
        pool = self._workers()
        for _ in range(self.workers):
            pool.submit(_ready)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    async def tile(self, layer: str, tile: Tile, user: User) -> bytes:
        """The tile as ``user`` may see it (the caller has checked layer and role)."""
        mark = await asyncio.to_thread(self.store.change_mark)
        if mark != self._mark:  # the store changed: every kept tile may be stale
            self._kept.clear()
            self._kept_bytes = 0
            self._mark = mark
        key = (layer, tile, *_view(layer, user), mark)
        body = self._kept.get(key)
        if body is not None:
            self._kept.move_to_end(key)
            return body
        pending = self._rendering.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._render(layer, tile, user))
            self._rendering[key] = pending
            pending.add_done_callback(lambda _: self._rendering.pop(key, None))
        body = await asyncio.shield(pending)
        if self._mark == mark and key not in self._kept:
            self._keep(key, body)
        return body

    async def _render(self, layer: str, tile: Tile, user: User) -> bytes:
        blocked: frozenset[str] = frozenset()
        if layer == "assets":
            blocked = frozenset(await asyncio.to_thread(blocked_assets, self.store))
        args = (layer, tile.z, tile.x, tile.y, user.role.value, user.organisation, blocked)
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._workers(), _render, *args)
        except BrokenProcessPool:  # a worker died (killed, out of memory): start afresh
            self.close()
            return await loop.run_in_executor(self._workers(), _render, *args)

    def _workers(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                # not fork: the server has threads, whose locks a fork would copy held
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_open_worker_store,
                initargs=(self.database_url,),
            )
        return self._pool

    def _keep(self, key: tuple[Any, ...], body: bytes) -> None:
        self._kept[key] = body
        self._kept_bytes += len(body)
        while self._kept_bytes > _KEEP_BYTES and self._kept:
            _, old = self._kept.popitem(last=False)
            self._kept_bytes -= len(old)


def _view(layer: str, user: User) -> tuple[bool, str | None]:
    """What of a tile depends on the user: hazards generalised or not, and a field
    lead's organisation (assets are the same for everyone)."""
    if layer == "assets":
        return True, None
    organisation = user.organisation if user.role is Role.FIELD_LEAD else None
    return layer != "hazards" or sees_full_hazards(user.role), organisation

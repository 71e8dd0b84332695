"""Server-sent events: every approval, submission and re-plan, pushed to open dashboards.

Endpoints run in worker threads; each connected client has an asyncio queue on the
server's event loop, and a publish from any thread is handed to that loop.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator
from typing import Any

__all__ = ["Broker"]


class Broker:
    def __init__(self) -> None:
        self._clients: set[asyncio.Queue[str]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()
        self._seq = 0

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def publish(self, kind: str, data: dict[str, Any]) -> None:
        """Send an event to every connected client (from any thread)."""
        with self._lock:
            self._seq += 1
            text = f"id: {self._seq}\nevent: {kind}\ndata: {json.dumps(data)}\n\n"
        loop = self._loop
        if loop is None:
            return
        for q in list(self._clients):
            loop.call_soon_threadsafe(q.put_nowait, text)

    async def stream(self, ping_seconds: float = 15.0) -> AsyncIterator[str]:
        """One client's stream: a hello, then events, and a comment line to keep it open."""
        q: asyncio.Queue[str] = asyncio.Queue()
        self._clients.add(q)
        try:
            yield "event: hello\ndata: {}\n\n"
            while True:
                try:
                    yield await asyncio.wait_for(q.get(), ping_seconds)
                except TimeoutError:
                    yield ": ping\n\n"
        finally:
            self._clients.discard(q)

"""Server-sent events: every approval, submission and re-plan, pushed to open dashboards.

Endpoints run in worker threads; each connected client has an asyncio queue on the
server's event loop, and a publish from any thread is handed to that loop. Several
server processes over one PostgreSQL store (``clearfield serve --workers N``) hand
their events to each other through the database (``LISTEN``/``NOTIFY``,
:class:`PostgresRelay`), so a dashboard hears of an approval whichever process made it.
"""

from __future__ import annotations

import asyncio
import json
import logging
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
        self.relay: PostgresRelay | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def publish(self, kind: str, data: dict[str, Any]) -> None:
        """Send an event to every connected client, of every server process (from any
        thread)."""
        if self.relay is not None:
            try:
                self.relay.send(kind, data)  # back to us, and the others, from the database
                return
            except Exception as exc:  # the change is stored; its event at least goes here
                logging.getLogger(__name__).warning("relaying a %s event failed: %s", kind, exc)
        self.deliver(kind, data)

    def deliver(self, kind: str, data: dict[str, Any]) -> None:
        """Send an event to this process's connected clients."""
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


_CHANNEL = "clearfield_events"
_MAX_PAYLOAD = 7_900  # bytes; PostgreSQL refuses a NOTIFY payload of 8,000 or more


class PostgresRelay:
    """Events between the server processes of one PostgreSQL database: ``send`` is a
    ``NOTIFY``, and a thread of each process ``LISTEN``s and delivers what comes."""

    def __init__(self, conninfo: str, broker: Broker):
        self.conninfo = conninfo
        self.broker = broker
        self._send_lock = threading.Lock()
        self._sender: Any = None
        self._stop = threading.Event()
        self._listening = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, timeout: float = 10.0) -> None:
        self._thread = threading.Thread(target=self._listen, daemon=True, name="events")
        self._thread.start()
        self._listening.wait(timeout)

    def stop(self) -> None:
        self._stop.set()
        with self._send_lock:
            if self._sender is not None:
                self._sender.close()
                self._sender = None
        if self._thread is not None:
            self._thread.join(timeout=5)

    def send(self, kind: str, data: dict[str, Any]) -> None:
        import psycopg

        payload = json.dumps({"kind": kind, "data": data})
        if len(payload.encode()) > _MAX_PAYLOAD:  # lists cut to their lengths
            slim = {k: (len(v) if isinstance(v, list) else v) for k, v in data.items()}
            payload = json.dumps({"kind": kind, "data": {**slim, "cut": True}})
        with self._send_lock:
            for attempt in (1, 2):
                try:
                    if self._sender is None or self._sender.closed:
                        self._sender = psycopg.connect(self.conninfo, autocommit=True)
                    self._sender.execute("SELECT pg_notify(%s, %s)", (_CHANNEL, payload))
                    return
                except psycopg.OperationalError:
                    if self._sender is not None:
                        self._sender.close()
                    self._sender = None  # a dropped connection: once more on a new one
                    if attempt == 2:
                        raise

    def _listen(self) -> None:
        import psycopg

        while not self._stop.is_set():
            try:
                with psycopg.connect(self.conninfo, autocommit=True) as conn:
                    conn.execute(f"LISTEN {_CHANNEL}")
                    self._listening.set()
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=1.0):
                            message = json.loads(note.payload)
                            self.broker.deliver(message["kind"], message["data"])
            except psycopg.OperationalError:
                if not self._stop.wait(1.0):  # the database went away: listen again
                    continue

"""A real server on 127.0.0.1 for API and browser tests and the benchmarks: uvicorn in a
thread of the test process, or `clearfield serve` in a process of its own."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn

from clearfield import services
from clearfield.api.app import create_app
from clearfield.scenario import generate
from clearfield.store.base import Store
from clearfield.users import add_user

PASSWORD = "correct horse battery"


def small_programme(database_url: str, users: dict[str, str]) -> Store:
    """The reference scenario at 2% (seed 4: a few teams, a hundred hazards) in the
    database, with a user per name → role (password ``PASSWORD``); the store, open."""
    store = services.open_store(database_url)
    scen = generate(scale=0.02, seed=4)
    services.import_features(store, scen.features, source="t", actor="t")
    store.set_programme(scen.metadata, actor="t")
    for name, role in users.items():
        add_user(store, name, role, None, PASSWORD, actor="t")
    return store


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(base: str, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Return once ``GET /api/health`` answers 200 (20 s at most)."""
    deadline = time.monotonic() + 20
    while True:
        try:
            if httpx.get(f"{base}/api/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or (proc is not None and proc.poll() is not None):
            raise RuntimeError(f"the server at {base} did not start")
        time.sleep(0.1)


@contextmanager
def running(database_url: str, app: Any = None) -> Iterator[str]:
    """Serve the app (``create_app(database_url)`` unless given) on a free port in a
    thread; yield its base URL once /api/health answers."""
    port = free_port()
    app = app if app is not None else create_app(database_url)
    # (event streams never end by themselves: give them 2 s, then the app shuts down)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=2)  # fmt: skip
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    wait_healthy(base)
    try:
        yield base
    finally:
        srv.should_exit = True
        thread.join(timeout=20)


@contextmanager
def serving_process(database_url: str, *options: str) -> Iterator[str]:
    """`clearfield serve` in a process of its own (benchmarks: clients and server then do
    not share one interpreter lock); yield its base URL once it answers."""
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "clearfield",
            "serve",
            "--port",
            str(port),
            "--database",
            database_url,
            *options,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, proc)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def login(base: str, user: str, password: str) -> httpx.Client:
    r = httpx.post(f"{base}/api/auth/token", data={"username": user, "password": password}, timeout=10)  # fmt: skip
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30)


class Listener:
    """A dashboard's view of ``/api/events``, in a thread: the data of the events of one
    kind (that ``match``, when given), until ``count`` have come."""

    def __init__(
        self,
        base: str,
        user: str,
        password: str,
        kind: str,
        *,
        count: int = 1,
        match: Callable[[dict[str, Any]], bool] | None = None,
    ):
        self.events: list[dict[str, Any]] = []
        self.ready = threading.Event()
        self._args = (base, user, password, kind, count, match)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        assert self.ready.wait(10), "the event stream did not open"

    def _run(self) -> None:
        try:
            self._listen()
        except httpx.HTTPError:  # the server went away: this dashboard stops listening
            self.ready.set()

    def _listen(self) -> None:
        base, user, password, want, count, match = self._args
        with login(base, user, password) as c, c.stream("GET", "/api/events", timeout=90) as r:
            kind = ""
            for line in r.iter_lines():
                if line.startswith("event: "):
                    kind = line[7:]
                    if kind == "hello":
                        self.ready.set()
                elif line.startswith("data:") and kind == want:
                    data = json.loads(line[5:])
                    if match is None or match(data):
                        self.events.append(data)
                        if len(self.events) >= count:
                            return

    def wait(self, seconds: float) -> list[dict[str, Any]]:
        """The events collected after at most ``seconds`` more."""
        self.thread.join(seconds)
        return self.events

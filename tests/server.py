"""A real uvicorn server on 127.0.0.1 for API and browser tests."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn

from clearfield.api.app import create_app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running(database_url: str) -> Iterator[str]:
    """Serve the app on a free port; yield its base URL once /api/health answers."""
    port = free_port()
    config = uvicorn.Config(create_app(database_url), host="127.0.0.1", port=port, log_level="warning")  # fmt: skip
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            if httpx.get(f"{base}/api/health", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.1)
    try:
        yield base
    finally:
        srv.should_exit = True
        thread.join(timeout=10)


def login(base: str, user: str, password: str) -> httpx.Client:
    r = httpx.post(f"{base}/api/auth/token", data={"username": user, "password": password}, timeout=10)  # fmt: skip
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30)

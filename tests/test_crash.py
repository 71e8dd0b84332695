"""Crash safety, on both stores: the server killed with SIGKILL in the middle of sustained
submissions, and ``clearfield import`` killed in the middle of a file.

After the server's death and a restart, every submission it acknowledged is stored
exactly once, a retry with the same ``Idempotency-Key`` stores nothing new, no record is
half-written (every version has its audit event and one current version per record),
and the database passes its integrity check. A killed import leaves the database row for
row as it was, and the same file imports afterwards.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from clearfield import services
from clearfield.domain.records import RECORD_TYPES
from clearfield.scenario import generate
from clearfield.store.audit_chain import verify
from common import dump
from server import PASSWORD, free_port, small_programme, wait_healthy
from traffic import activity_bodies

CLIENTS = 4
SUBMISSIONS = 600  # more than can be acknowledged before the kill
ACKNOWLEDGED_BEFORE_KILL = 40


@contextmanager
def server_process(url: str) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "clearfield", "serve", "--port", str(port), "--database", url],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, proc)
        yield proc, base
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=20)


def token(base: str) -> str:
    r = httpx.post(f"{base}/api/auth/token", data={"username": "officer", "password": PASSWORD}, timeout=10)  # fmt: skip
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def consistency_faults(url: str) -> list[str]:
    """What a half-written record would leave: a version without its audit event, a
    record with no current version or two, a record without versions; and on SQLite
    what ``PRAGMA integrity_check`` finds."""
    faults = []
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as con:
            result = con.execute("PRAGMA integrity_check").fetchall()
            if result != [("ok",)]:
                faults.append(f"integrity_check: {result[:5]}")
            if con.execute("PRAGMA foreign_key_check").fetchall():
                faults.append("foreign_key_check found rows without their parent")
    store = services.open_store(url, create=False)
    try:
        queries = {
            "versions without an audit event": """
                SELECT COUNT(*) FROM record_version v JOIN entity e ON e.pk = v.entity_pk
                WHERE NOT EXISTS (SELECT 1 FROM audit_event a WHERE a.record_type = e.record_type
                  AND a.record_id = e.record_id AND a.version = v.version)""",
            "records without exactly one current version": """
                SELECT COUNT(*) FROM entity e WHERE (SELECT COUNT(*) FROM record_version v
                  WHERE v.entity_pk = e.pk AND v.is_current = 1) <> 1""",
            "records without versions": """
                SELECT COUNT(*) FROM entity e
                WHERE NOT EXISTS (SELECT 1 FROM record_version v WHERE v.entity_pk = e.pk)""",
            "hazards without their land release account": """
                SELECT COUNT(*) FROM entity e JOIN record_version v ON v.entity_pk = e.pk
                WHERE e.record_type = 'hazard' AND v.is_counted = 1
                  AND NOT EXISTS (SELECT 1 FROM hazard_account h WHERE h.entity_pk = e.pk)""",
        }
        for what, sql in queries.items():
            if n := int(store.count(sql)):
                faults.append(f"{n} {what}")
        chain = verify(store)
        if not chain.intact:
            faults.append(f"audit chain broken at event {chain.pk}: {chain.reason}")
    finally:
        store.close()
    return faults


def copies(url: str, ids: list[str]) -> dict[str, int]:
    """How many versions of each of these activities are stored."""
    store = services.open_store(url, create=False)
    try:
        with store.engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT e.record_id, COUNT(*) FROM entity e JOIN record_version v ON v.entity_pk = e.pk "
                "WHERE e.record_type = 'activity' AND e.record_id LIKE 'CRASH-%' GROUP BY e.record_id"
            ).all()
    finally:
        store.close()
    counted = {str(r[0]): int(r[1]) for r in rows}
    return {i: counted.get(i, 0) for i in ids}


def test_a_server_killed_mid_submissions_loses_no_acknowledged_one(store_url: str) -> None:
    small_programme(store_url, {"officer": "im_officer"}).close()
    bodies = activity_bodies(generate(scale=0.02, seed=4).features, "CRASH", SUBMISSIONS)
    acknowledged: dict[str, dict[str, Any]] = {}
    lock = threading.Lock()
    queue = iter(bodies)
    stop = threading.Event()

    with server_process(store_url) as (proc, base):
        bearer = token(base)

        def submit() -> None:
            with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {bearer}"}, timeout=10) as c:  # fmt: skip
                while not stop.is_set():
                    with lock:
                        item = next(queue, None)
                    if item is None:
                        return
                    rid, body = item
                    try:
                        r = c.post("/api/records", content=body, headers={"Idempotency-Key": rid})
                    except httpx.TransportError:
                        return  # the server is gone
                    if r.status_code == 200:
                        with lock:
                            acknowledged[rid] = r.json()

        threads = [threading.Thread(target=submit) for _ in range(CLIENTS)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 60
        while len(acknowledged) < ACKNOWLEDGED_BEFORE_KILL and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)  # in the middle of the stream, with writes in flight
        proc.wait(timeout=20)
        stop.set()
        for t in threads:
            t.join(timeout=30)
    acked = sorted(acknowledged)
    assert len(acked) >= ACKNOWLEDGED_BEFORE_KILL, "the server did not acknowledge submissions"
    assert len(acked) < SUBMISSIONS, "the kill came after the last submission"

    assert consistency_faults(store_url) == []
    stored = copies(store_url, [rid for rid, _ in bodies])
    assert {rid: stored[rid] for rid in acked} == dict.fromkeys(acked, 1), "an acknowledged submission was lost or doubled"  # fmt: skip

    # restarted: every submission retried with its key; the acknowledged ones again answer
    # as before and none is stored twice; the rest are stored now
    with server_process(store_url) as (_, base), httpx.Client(base_url=base, timeout=30) as c:
        c.headers["Authorization"] = f"Bearer {token(base)}"
        for rid, body in bodies:
            r = c.post("/api/records", content=body, headers={"Idempotency-Key": rid})
            assert r.status_code == 200, (rid, r.text)
            if rid in acknowledged:
                assert r.json() == acknowledged[rid], rid
    assert consistency_faults(store_url) == []
    assert copies(store_url, [rid for rid, _ in bodies]) == {rid: 1 for rid, _ in bodies}


def _import(url: str, path: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CLEARFIELD_DATABASE": url}
    return subprocess.Popen(
        [sys.executable, "-m", "clearfield", "import", str(path)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _renamed(features: list[dict[str, Any]], prefix: str) -> list[dict[str, Any]]:
    """The features under other ids, their references too: records new to any store."""
    out = []
    for f in features:
        props = dict(f["properties"])
        cls = RECORD_TYPES[props["record_type"]]
        props["id"] = f"{prefix}{props['id']}"
        for name in cls.REFERENCES:
            if isinstance(props.get(name), str):
                props[name] = f"{prefix}{props[name]}"
        out.append({**f, "properties": props})
    return out


def test_an_import_killed_midway_changes_nothing(store_url: str, tmp_path: Path) -> None:
    small_programme(store_url, {}).close()
    features = _renamed(generate(scale=0.1, seed=9).features, "K-")
    path = tmp_path / "big.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    store = services.open_store(store_url, create=False)
    before = dump(store)
    store.close()

    # how long the whole import takes, into a scratch SQLite file: the kills come at
    # fractions of it, the last while it writes (PostgreSQL's import is the slower)
    t0 = time.monotonic()
    assert _import(f"sqlite:///{tmp_path / 'scratch.db'}", path).wait(timeout=300) == 0
    elapsed = time.monotonic() - t0
    outcomes = []
    for fraction in (0.35, 0.55, 0.75):
        proc = _import(store_url, path)
        time.sleep(elapsed * fraction)
        if proc.poll() is not None:
            break
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=20)
        assert consistency_faults(store_url) == []
        store = services.open_store(store_url, create=False)
        rows = dump(store)
        store.close()
        if rows == before:
            outcomes.append("nothing")
            continue
        # all or nothing: a kill after the commit leaves the whole file stored
        assert _imported(store_url) == len(features), f"a kill at {fraction:.0%} of the import left part of it"  # fmt: skip
        outcomes.append("all")
        break
    assert outcomes and outcomes[0] == "nothing", outcomes

    if outcomes[-1] == "nothing":
        assert _import(store_url, path).wait(timeout=300) == 0
    assert consistency_faults(store_url) == []
    assert _imported(store_url) == len(features)


def _imported(url: str) -> int:
    store = services.open_store(url, create=False)
    try:
        return int(store.count("SELECT COUNT(*) FROM entity WHERE record_id LIKE 'K-%'"))
    finally:
        store.close()

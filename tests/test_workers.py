"""The server store under several server processes (`clearfield serve --workers 2` over
PostgreSQL): concurrent reviews and retried submissions stay right, and every
dashboard hears every event whichever process it is connected to."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import shapely

from clearfield import services
from clearfield.users import add_user
from common import X0, Y0, activity, base_programme
from conftest import postgres_url
from pg import PostgresCluster
from server import Listener, login, serving_process

PASSWORD = "workers password 1"
LEFT = shapely.box(X0, Y0, X0 + 0.005, Y0 + 0.01)


@pytest.fixture(scope="module")
def two_workers(postgres: PostgresCluster) -> Iterator[tuple[str, str]]:
    url = postgres_url(postgres.new_database())
    store = services.open_store(url)
    services.import_features(store, base_programme(), source="t", actor="t")
    for name, role in (("officer", "im_officer"), ("admin", "admin"), ("lead", "field_lead")):
        add_user(store, name, role, "ORG-1" if role == "field_lead" else None, PASSWORD, actor="t")
    store.close()
    with serving_process(url, "--workers", "2") as base:
        yield base, url


def _submission(rid: str) -> str:
    return json.dumps({"type": "Feature", **activity(rid, LEFT, status="submitted")})


def test_both_processes_answer(two_workers: tuple[str, str]) -> None:
    base, _ = two_workers
    seen = set()
    for _ in range(40):
        with httpx.Client(base_url=base, timeout=10) as c:  # a new connection each time
            seen.add(c.get("/api/health").json()["process"])
        if len(seen) == 2:
            break
    assert len(seen) == 2, "the requests all went to one process"


def test_concurrent_approvals_one_wins_each_time(two_workers: tuple[str, str]) -> None:
    """Ten records, each approved by two officers at once (on whichever processes):
    one 200 and one 409 per record, one approval in the audit trail, never two."""
    base, url = two_workers
    ids = [f"ACT-W{i}" for i in range(10)]
    with login(base, "lead", PASSWORD) as lead:
        for rid in ids:
            assert lead.post("/api/records", content=_submission(rid)).status_code == 200
    officers = [login(base, "officer", PASSWORD), login(base, "admin", PASSWORD)]

    def approve(args: tuple[int, str]) -> int:
        k, rid = args
        barrier.wait()
        return officers[k].post(f"/api/records/activity/{rid}/approve").status_code

    try:
        for rid in ids:
            barrier = threading.Barrier(2)
            with ThreadPoolExecutor(2) as pool:
                codes = sorted(pool.map(approve, [(0, rid), (1, rid)]))
            assert codes == [200, 409], (rid, codes)
    finally:
        for c in officers:
            c.close()
    store = services.open_store(url)
    try:
        for rid in ids:
            actions = [e["action"] for e in store.audit_events("activity", rid)]
            assert actions.count("approved") == 1, (rid, actions)
            assert store.history("activity", rid)[-1].record.review_status.value == "approved"
    finally:
        store.close()


def test_a_retried_submission_is_stored_once_across_processes(two_workers: tuple[str, str]) -> None:  # fmt: skip
    base, url = two_workers
    body = _submission("ACT-RETRY")
    clients = [login(base, "lead", PASSWORD) for _ in range(8)]  # 8 connections: both processes
    try:
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda c: c.post("/api/records", content=body, headers={"Idempotency-Key": "tablet-9"}), clients))  # fmt: skip
    finally:
        for c in clients:
            c.close()
    assert {(r.status_code, r.text) for r in answers} == {(answers[0].status_code, answers[0].text)}
    assert answers[0].status_code == 200
    store = services.open_store(url)
    try:
        assert store.count("SELECT COUNT(*) FROM entity WHERE record_id = 'ACT-RETRY'") == 1
    finally:
        store.close()


def test_every_dashboard_hears_an_approval_made_by_either_process(
    two_workers: tuple[str, str],
) -> None:
    base, _ = two_workers
    with login(base, "lead", PASSWORD) as lead:
        assert lead.post("/api/records", content=_submission("ACT-HEARD")).status_code == 200
    heard = lambda d: d.get("id") == "ACT-HEARD"  # noqa: E731
    listeners = [Listener(base, "officer", PASSWORD, "review", match=heard) for _ in range(6)]
    with login(base, "officer", PASSWORD) as officer:
        assert officer.post("/api/records/activity/ACT-HEARD/approve").status_code == 200
    for listener in listeners:
        events = listener.wait(5.0)
        assert [e["review_status"] for e in events] == ["approved"]

"""The API against a real uvicorn server on 127.0.0.1 over HTTP, on a real SQLite file:
authentication, the role rules, idempotent submissions, review and live events."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
import shapely

from clearfield import services
from clearfield.api.web import programme_extent
from clearfield.users import add_user
from common import X0, Y0, activity, base_programme, feature, hazard, organisation, square
from server import Listener, login, running

PASSWORD = "correct horse battery"
ROLES = {
    "admin": None,
    "officer": None,
    "planner": None,
    "lead": "ORG-1",
    "other_lead": "ORG-2",
    "observer": None,
}
ROLE_OF = {
    "admin": "admin",
    "officer": "im_officer",
    "planner": "planner",
    "lead": "field_lead",
    "other_lead": "field_lead",
    "observer": "observer",
}
LEFT = shapely.box(X0, Y0, X0 + 0.005, Y0 + 0.01)


@pytest.fixture(scope="module")
def server(database_url: str) -> Iterator[tuple[str, str]]:
    url = database_url
    store = services.open_store(url)
    accident = feature(
        "accident",
        shapely.Point(X0 + 0.001, Y0 + 0.001),
        id="ACC-1",
        occurred_on="2025-02-01",
        district="North",
        device_category="ap_mine",
        activity_at_time="agriculture",
        hazard_id="HA-1",
        status="approved",
        casualties=[{"sex": "male", "age_group": "adult", "outcome": "injured", "name": "Ivan P."}],
    )
    services.import_features(
        store, [*base_programme(), organisation("ORG-2"), accident], source="t", actor="t"
    )
    for name, org in ROLES.items():
        add_user(store, name, ROLE_OF[name], org, PASSWORD, actor="test")
    store.close()
    with running(url) as base:
        yield base, url


def _client(base: str, user: str) -> httpx.Client:
    return login(base, user, PASSWORD)


def _count(url: str, record_id: str) -> int:
    store = services.open_store(url)
    try:
        return int(store.count("SELECT COUNT(*) FROM entity WHERE record_id = ?", (record_id,)))
    finally:
        store.close()


def test_health_and_authentication(server: tuple[str, str]) -> None:
    base, _ = server
    assert httpx.get(f"{base}/api/health").json()["status"] == "ok"
    r = httpx.get(f"{base}/api/stats")
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    r = httpx.post(f"{base}/api/auth/token", data={"username": "lead", "password": "wrong"})
    assert r.status_code == 401 and r.json()["error"] == "UNAUTHORIZED"
    r = httpx.get(f"{base}/api/stats", headers={"Authorization": "Bearer forged.token.here"})
    assert r.status_code == 401
    with _client(base, "observer") as c:
        stats = c.get("/api/stats").json()
        assert stats["hazards"]["count"] == 1


def test_extent_frames_the_programme(server: tuple[str, str]) -> None:
    base, _ = server
    with _client(base, "observer") as c:
        w, s, e, n = c.get("/api/extent").json()["bbox"]
    assert w <= X0 + 0.001 <= e and s <= Y0 + 0.001 <= n  # the accident and hazard
    assert e - w < 1 and n - s < 1
    assert httpx.get(f"{base}/api/extent").status_code == 401


def test_a_stray_record_does_not_stretch_the_extent() -> None:
    grid = [(30 + i / 100, 48 + j / 100) for i in range(30) for j in range(30)]
    w, s, e, n = programme_extent([*grid, (-48.0, -30.0)])  # one with swapped coordinates
    assert (w, s) >= (30, 48) and (e, n) <= (30.3, 48.3)
    assert programme_extent([]) is None


def _submission(rid: str, **kw: Any) -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "features": [activity(rid, LEFT, status="submitted", **kw)],
    }


def test_submissions_are_idempotent(server: tuple[str, str]) -> None:
    base, db = server
    body = json.dumps(_submission("ACT-IDEM"))
    with _client(base, "lead") as c:
        first = c.post("/api/records", content=body, headers={"Idempotency-Key": "tablet-7-0001"})
        again = c.post("/api/records", content=body, headers={"Idempotency-Key": "tablet-7-0001"})
        assert first.status_code == again.status_code == 200
        assert first.json() == again.json() and first.json()["created"] == {"activity": 1}
        assert _count(db, "ACT-IDEM") == 1
        other = c.post("/api/records", content=json.dumps(_submission("ACT-X")), headers={"Idempotency-Key": "tablet-7-0001"})  # fmt: skip
        assert other.status_code == 409
        assert _count(db, "ACT-X") == 0


def test_retries_arriving_together_are_stored_once_and_answered_alike(
    server: tuple[str, str],
) -> None:
    """A tablet's retries land in the same import batch as each other and as other
    submissions, a bad one among them: each key is stored once with its answer."""
    base, db = server
    good = json.dumps(_submission("ACT-RACE"))
    bad = json.dumps(_submission("ACT-RACE-BAD", end_date="2020-01-01"))
    sends = [("race-1", good)] * 6 + [("race-2", bad)] * 3
    sends += [(f"race-other-{i}", json.dumps(_submission(f"ACT-RACE-{i}"))) for i in range(6)]
    sends += [("race-3", "{not json")] * 2
    with _client(base, "lead") as c, ThreadPoolExecutor(len(sends)) as pool:
        answers = list(pool.map(lambda kb: c.post("/api/records", content=kb[1], headers={"Idempotency-Key": kb[0]}), sends))  # fmt: skip
        by_key: dict[str, list[httpx.Response]] = {}
        for (key, _), r in zip(sends, answers, strict=True):
            by_key.setdefault(key, []).append(r)
        for key, rs in by_key.items():
            assert len({(r.status_code, r.text) for r in rs}) == 1, key
        assert by_key["race-1"][0].json()["created"] == {"activity": 1}
        assert by_key["race-2"][0].status_code == 422
        assert "ACT-RACE-BAD" in by_key["race-2"][0].text
        assert by_key["race-3"][0].status_code == 422
        assert all(by_key[f"race-other-{i}"][0].status_code == 200 for i in range(6))
        late = c.post("/api/records", content=bad, headers={"Idempotency-Key": "race-2"})
        assert (late.status_code, late.text) == (422, by_key["race-2"][0].text)
    assert _count(db, "ACT-RACE") == 1 and _count(db, "ACT-RACE-BAD") == 0
    assert all(_count(db, f"ACT-RACE-{i}") == 1 for i in range(6))


def test_two_officers_approving_at_once_one_wins(server: tuple[str, str]) -> None:
    """The same record approved by two officers at the same moment: one 200, one 409
    that says it is approved already; one approval in the audit log."""
    base, db = server
    with _client(base, "lead") as c:
        assert c.post("/api/records", content=json.dumps(_submission("ACT-TWICE"))).status_code == 200  # fmt: skip
    officers = [_client(base, "officer"), _client(base, "admin")]
    barrier = threading.Barrier(2)

    def approve(c: httpx.Client) -> httpx.Response:
        barrier.wait()
        return c.post("/api/records/activity/ACT-TWICE/approve")

    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(approve, officers))
    for c in officers:
        c.close()
    assert sorted(r.status_code for r in answers) == [200, 409]
    lost = next(r for r in answers if r.status_code == 409).json()
    assert lost["error"] == "CONFLICT" and "already approved" in lost["message"]
    store = services.open_store(db)
    try:
        events = store.audit_events("activity", "ACT-TWICE")
    finally:
        store.close()
    assert [e["action"] for e in events].count("approved") == 1


def test_a_review_of_what_changed_since_it_was_read_is_refused(
    server: tuple[str, str],
) -> None:
    """If-Match carries the record as the officer read it (its ETag): a new version
    since then makes the review a 409, and nothing changes."""
    base, _ = server
    with _client(base, "lead") as lead, _client(base, "officer") as officer:
        assert lead.post("/api/records", content=json.dumps(_submission("ACT-TAG"))).status_code == 200  # fmt: skip
        seen = officer.get("/api/records/activity/ACT-TAG").headers["etag"]
        assert seen == '"1-submitted"'
        changed = _submission("ACT-TAG", end_date="2025-03-21")
        assert lead.post("/api/records", content=json.dumps(changed)).status_code == 200
        r = officer.post("/api/records/activity/ACT-TAG/approve", headers={"If-Match": seen})
        assert r.status_code == 409 and "changed since it was read" in r.json()["message"]
        now = officer.get("/api/records/activity/ACT-TAG")
        assert now.json()["properties"]["review_status"] == "submitted"
        r = officer.post("/api/records/activity/ACT-TAG/approve", headers={"If-Match": now.headers["etag"]})  # fmt: skip
        assert r.status_code == 200


def test_field_lead_rules(server: tuple[str, str]) -> None:
    base, db = server
    with _client(base, "lead") as c:
        r = c.post("/api/records", content=json.dumps(_submission("ACT-ORG2", organisation="ORG-2")))  # fmt: skip
        assert r.status_code == 403 and "own organisation" in r.json()["message"]
        approved = {"type": "Feature", **activity("ACT-SELF", LEFT, status="approved")}
        r = c.post("/api/records", content=json.dumps(approved))
        assert r.status_code == 403
        assert _count(db, "ACT-ORG2") == _count(db, "ACT-SELF") == 0
        r = c.post("/api/records/hazard/HA-1/approve")
        assert r.status_code == 403 and "im_officer" in r.json()["message"]
        # a hazard's type defaults to approved: a field lead's is made submitted
        new = {"type": "Feature", **hazard("HA-LEAD", LEFT, recorded_on="2025-02-02")}
        assert c.post("/api/records", content=json.dumps(new)).status_code == 200
        stored = c.get("/api/records/hazard/HA-LEAD").json()
        assert stored["properties"]["review_status"] == "submitted"
        # records that belong to no organisation are an IM officer's to make
        other = {"type": "Feature", **organisation("ORG-2", name="Taken over")}
        r = c.post("/api/records", content=json.dumps(other))
        assert r.status_code == 403 and "belongs to no organisation" in r.json()["message"]
        listed = {"type": "Feature", **activity("ACT-LIST", LEFT, status=["approved"])}
        assert c.post("/api/records", content=json.dumps(listed)).status_code == 403
    with _client(base, "other_lead") as c:
        assert c.get("/api/records/hazard/HA-1").status_code == 403
        assert c.get("/api/records/hazard").json()["features"] == []


def test_bad_submission_is_a_422_naming_the_feature(server: tuple[str, str]) -> None:
    base, db = server
    bow = {"type": "Polygon", "coordinates": [[[X0, Y0], [X0 + 0.01, Y0 + 0.01], [X0 + 0.01, Y0], [X0, Y0 + 0.01], [X0, Y0]]]}  # fmt: skip
    feats = [activity("ACT-OK", LEFT, status="submitted"), activity("ACT-BAD", bow, status="submitted")]  # fmt: skip
    with _client(base, "officer") as c:
        r = c.post("/api/records", content=json.dumps({"type": "FeatureCollection", "features": feats}))  # fmt: skip
        assert r.status_code == 422
        faults = r.json()["faults"]
        assert any("feature 2" in (f["record"] or "") and "ACT-BAD" in f["record"] for f in faults)
        assert c.post("/api/records", content=b"{not json").status_code == 422
    assert _count(db, "ACT-OK") == 0


def test_what_each_role_sees(server: tuple[str, str]) -> None:
    base, _ = server
    with _client(base, "observer") as c:
        hz = c.get("/api/records/hazard/HA-1").json()
        assert hz["geometry"]["type"] == "Point" and hz["properties"]["generalised"]
        acc = c.get("/api/records/accident/ACC-1").json()
        assert "name" not in acc["properties"]["casualties"][0]
    with _client(base, "officer") as c:
        hz = c.get("/api/records/hazard/HA-1").json()
        assert shapely.geometry.shape(hz["geometry"]).equals(square)
        acc = c.get("/api/records/accident/ACC-1").json()
        assert acc["properties"]["casualties"][0]["name"] == "Ivan P."
        assert len(acc["history"]) == 1
        assert c.get("/api/records/hazard/NOPE").status_code == 404
        assert c.get("/api/records/widget").status_code == 404
        assert c.get("/api/records/hazard", params={"bbox": "1,2,3"}).status_code == 400


def test_approval_reaches_another_client_live(server: tuple[str, str]) -> None:
    base, _ = server
    listener = Listener(base, "observer", PASSWORD, "review", match=lambda e: e["id"] == "ACT-LIVE")  # fmt: skip
    with _client(base, "lead") as c:
        assert (
            c.post("/api/records", content=json.dumps(_submission("ACT-LIVE"))).status_code == 200
        )
    with _client(base, "officer") as c:
        t0 = time.monotonic()
        r = c.post("/api/records/activity/ACT-LIVE/approve")
        assert r.status_code == 200 and r.json()["review_status"] == "approved"
        got = listener.wait(5)
        assert got and got[0]["review_status"] == "approved"
        assert time.monotonic() - t0 < 2.0
        stats = c.get("/api/stats").json()
        assert stats["released_m2"]["cleared"] > 0


def test_browser_session_cookie_needs_the_csrf_header_to_change_things(
    server: tuple[str, str],
) -> None:
    base, _ = server
    r = httpx.post(f"{base}/api/auth/session", data={"username": "officer", "password": PASSWORD})
    assert r.status_code == 200
    cookies = r.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith("clearfield_session="))
    csrf_cookie = next(c for c in cookies if c.startswith("clearfield_csrf="))
    assert "HttpOnly" in session and "SameSite=strict" in session and "Secure" in session
    assert "HttpOnly" not in csrf_cookie
    jar = "; ".join(c.split(";", 1)[0] for c in (session, csrf_cookie))
    csrf = r.json()["csrf_token"]
    me = httpx.get(f"{base}/api/me", headers={"Cookie": jar})
    assert me.status_code == 200 and me.json()["role"] == "im_officer"
    with _client(base, "lead") as c:
        assert (
            c.post("/api/records", content=json.dumps(_submission("ACT-CSRF"))).status_code == 200
        )
    forged = httpx.post(f"{base}/api/records/activity/ACT-CSRF/approve", headers={"Cookie": jar})
    assert forged.status_code == 403 and "X-CSRF-Token" in forged.json()["message"]
    wrong = httpx.post(f"{base}/api/records/activity/ACT-CSRF/approve", headers={"Cookie": jar, "X-CSRF-Token": "guess"})  # fmt: skip
    assert wrong.status_code == 403
    ok = httpx.post(f"{base}/api/records/activity/ACT-CSRF/approve", headers={"Cookie": jar, "X-CSRF-Token": csrf})  # fmt: skip
    assert ok.status_code == 200 and ok.json()["review_status"] == "approved"
    bad = httpx.post(f"{base}/api/auth/session", data={"username": "officer", "password": "nope"})
    assert bad.status_code == 401 and "set-cookie" not in bad.headers

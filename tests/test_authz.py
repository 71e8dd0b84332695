"""The authorisation matrix: every endpoint × every role × own or other organisation,
against the written table below (the table in ``clearfield.domain.roles``), over HTTP
on a real server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from itertools import count

import httpx
import pytest
import shapely

from clearfield import services
from clearfield.users import add_user
from common import X0, Y0, activity, base_programme, hazard, organisation, team
from server import login, running

PASSWORD = "matrix password 1"
ROLES = ("admin", "im_officer", "planner", "field_lead", "observer")
SUBMITTERS = {"admin", "im_officer", "field_lead"}
REVIEWERS = {"admin", "im_officer"}
PLANNERS = {"admin", "planner"}
_ids = count()

OTHER = shapely.box(X0 + 0.05, Y0, X0 + 0.06, Y0 + 0.01)


def _submit(org: str) -> dict:
    n = next(_ids)
    hazard_id = "HA-1" if org == "ORG-1" else "HA-2"
    team_id = "TM-1" if org == "ORG-1" else "TM-2"
    geom = shapely.box(X0, Y0, X0 + 0.002, Y0 + 0.002) if org == "ORG-1" else OTHER
    f = activity(f"ACT-M{n}", geom, status="submitted", organisation=org, hazard_id=hazard_id, team=team_id)  # fmt: skip
    return {"type": "FeatureCollection", "features": [f]}


CASES = [
    # name, method, path, body, allowed roles (status 2xx) ; others 403
    ("stats", "GET", "/api/stats", None, set(ROLES)),
    ("list hazards", "GET", "/api/records/hazard", None, set(ROLES)),
    ("read own hazard", "GET", "/api/records/hazard/HA-1", None, set(ROLES)),
    ("read other hazard", "GET", "/api/records/hazard/HA-2", None, set(ROLES) - {"field_lead"}),
    ("submit own", "POST", "/api/records", "ORG-1", SUBMITTERS),
    ("submit other", "POST", "/api/records", "ORG-2", SUBMITTERS - {"field_lead"}),
    ("submit for review", "POST", "/api/records/hazard/HA-1/submit", None, SUBMITTERS),
    ("basemap", "GET", "/api/basemap", None, set(ROLES)),
    ("extent", "GET", "/api/extent", None, set(ROLES)),
    ("personnel", "GET", "/api/personnel", None, set(ROLES)),
    ("late tasks", "GET", "/api/alerts/late", None, set(ROLES)),
    ("current plan", "GET", "/api/plans/current", None, set(ROLES)),
    ("gantt", "GET", "/api/plans/current/gantt", None, set(ROLES)),
    ("progress", "GET", "/api/plans/current/progress", None, set(ROLES)),
    ("plan file", "GET", "/api/plans/current/plan.json", None, set(ROLES)),
    ("problem file", "GET", "/api/plans/current/problem.json", None, set(ROLES)),
    ("tiles", "GET", "/api/tiles/hazards/0/0/0.pbf", None, set(ROLES)),
    ("released tiles", "GET", "/api/tiles/released/3/4/2.pbf", None, set(ROLES)),
    ("start plan", "POST", "/api/plans", {"time_limit": 0}, PLANNERS),
    ("who am I", "GET", "/api/me", None, set(ROLES)),
    ("field submissions", "GET", "/api/ingest/submissions", None, REVIEWERS),
    ("OGC collections", "GET", "/ogc/collections", None, set(ROLES)),
    ("OGC hazards", "GET", "/ogc/collections/hazards/items", None, set(ROLES)),
    ("OGC own hazard", "GET", "/ogc/collections/hazards/items/HA-1", None, set(ROLES)),
    (
        "OGC other hazard",
        "GET",
        "/ogc/collections/hazards/items/HA-2",
        None,
        set(ROLES) - {"field_lead"},
    ),
    ("weekly report", "GET", "/api/reports/weekly?format=html", None, set(ROLES) - {"field_lead"}),
    ("weekly report pdf", "GET", "/api/reports/weekly", None, set(ROLES) - {"field_lead"}),
    ("teams at work", "GET", "/api/teams/current", None, set(ROLES)),
    ("list accidents", "GET", "/api/records/accident", None, set(ROLES)),
    ("asset tiles", "GET", "/api/tiles/assets/3/4/2.pbf", None, set(ROLES)),
    ("OGC landing", "GET", "/ogc", None, set(ROLES)),
    ("OGC conformance", "GET", "/ogc/conformance", None, set(ROLES)),
    ("OGC released", "GET", "/ogc/collections/released/items", None, set(ROLES)),
    ("OGC assets", "GET", "/ogc/collections/assets/items", None, set(ROLES)),
    ("OGC finds", "GET", "/ogc/collections/finds/items", None, set(ROLES)),
]


@pytest.fixture(scope="module")
def base(database_url: str) -> Iterator[str]:
    url = database_url
    store = services.open_store(url)
    feats = [
        *base_programme(),
        organisation("ORG-2"),
        team("TM-2", organisation="ORG-2"),
        hazard("HA-2", OTHER, organisation="ORG-2"),
    ]
    services.import_features(store, feats, source="t", actor="t")
    for role in ROLES:
        add_user(store, role, role, "ORG-1" if role == "field_lead" else None, PASSWORD, actor="t")
    store.close()
    with running(url) as b:
        yield b


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("name", "method", "path", "body", "allowed"), CASES, ids=[c[0] for c in CASES])  # fmt: skip
def test_matrix(base: str, role: str, name: str, method: str, path: str, body, allowed) -> None:  # type: ignore[no-untyped-def]
    with login(base, role, PASSWORD) as c:
        if isinstance(body, str):
            r = c.request(method, path, content=json.dumps(_submit(body)))
        elif body is not None:
            r = c.request(method, path, json=body)
        else:
            r = c.request(method, path)
    if role in allowed:
        # allowed: the request gets past the door (a business rule may still refuse it
        # with a 409 or 422, never a 401, 403 or 500)
        assert r.status_code not in (401, 403) and r.status_code < 500, (
            f"{role} {name}: {r.status_code} {r.text}"
        )
    else:
        assert r.status_code == 403, f"{role} {name}: {r.status_code} {r.text}"
        assert r.json()["message"], "a denial says why"


@pytest.mark.parametrize("role", ROLES)
def test_review_matrix(base: str, role: str) -> None:
    """Approve and reject: IM officers and admins only, whatever the organisation."""
    with login(base, "im_officer", PASSWORD) as officer:
        payload = _submit("ORG-1")
        rid = payload["features"][0]["properties"]["id"]
        assert officer.post("/api/records", content=json.dumps(payload)).status_code == 200
    with login(base, role, PASSWORD) as c:
        r = c.post(f"/api/records/activity/{rid}/approve")
        r2 = c.post(f"/api/records/activity/{rid}/reject", json={"reason": "test"})
    if role in REVIEWERS:
        assert r.status_code == 200
        assert r2.status_code in (200, 409)  # approved records cannot be rejected: a 409
    else:
        assert r.status_code == r2.status_code == 403


@pytest.mark.parametrize("role", ROLES)
def test_event_stream_matrix(base: str, role: str) -> None:
    """The live events: every signed-in role listens (what each is sent is checked in
    test_leaks.py); without a token, a 401."""
    with login(base, role, PASSWORD) as c, c.stream("GET", "/api/events", timeout=10) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
    with httpx.Client(base_url=base, timeout=10) as anonymous:
        assert anonymous.get("/api/events").status_code == 401


@pytest.mark.parametrize("role", ROLES)
def test_ingest_takes_no_user_token(base: str, role: str) -> None:
    """Field deliveries come with an organisation's ingest key (HTTP Basic), never a
    user's token: every role's bearer token is a 401 there."""
    with login(base, role, PASSWORD) as c:
        for path in ("/api/ingest/kobo", "/api/ingest/odk"):
            r = c.post(path, content=b"{}")
            assert r.status_code == 401, (role, path, r.status_code, r.text)

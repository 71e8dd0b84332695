"""``/api/ingest/kobo`` and ``/api/ingest/odk`` on a real server over HTTP (each store):
organisations' keys, KoboToolbox and ODK Central deliveries, the live events and the
re-plan a daily report asks for."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from clearfield.ingest import new_ingest_key
from server import PASSWORD, Listener, login, running, small_programme

KEYS: dict[str, str] = {}
FACTS: dict[str, Any] = {}


@pytest.fixture(scope="module")
def base(database_url: str) -> Iterator[str]:
    users = {"planner": "planner", "officer": "im_officer", "observer": "observer"}
    store = small_programme(database_url, users)
    team = next(s.record for s in store.records("team") if s.record.kind.value == "manual")
    hazard = next(s.record for s in store.records("hazard", counted_only=True))
    others = [s.record.id for s in store.records("organisation") if s.record.id != team.organisation]  # fmt: skip
    for org in (team.organisation, others[0]):
        key, digest = new_ingest_key()
        store.set_ingest_key(org, digest, actor="t")
        KEYS[org] = key
    FACTS.update(
        org=team.organisation, other=others[0], team=team.id, hazard=hazard.id,
        today=store.programme()["as_of"],
    )  # fmt: skip
    store.close()
    with running(database_url) as b:
        yield b


def daily_report(instance: str | None = None, **kw: Any) -> dict[str, Any]:
    """A clearance daily report as KoboToolbox's REST Service posts it."""
    instance = instance or f"uuid:{uuid.uuid4()}"
    return {
        "_id": 7,
        "formhub/uuid": "8d2f6c41b07e4a9d93c5e1f0a7b62d38",
        "clearfield_form": "clearfield_clearance_daily",
        "team": FACTS["team"],
        "hazard_id": FACTS["hazard"],
        "report_date": FACTS["today"],
        "people_present": "8",
        "worker_days": "6",
        "area_worked_m2": "240",
        "location_safe": "no",
        "location_description": "west edge",
        "meta/instanceID": instance,
        "_uuid": instance.removeprefix("uuid:"),
        "_submission_time": "2026-03-05T06:20:41",
        **kw,
    }


def post(base: str, path: str, org: str, key: str, **kw: Any) -> httpx.Response:
    return httpx.post(f"{base}{path}", auth=(org, key), timeout=30, **kw)


def test_only_an_organisations_own_key_lets_it_deliver(base: str) -> None:
    body = daily_report()
    anonymous = httpx.post(f"{base}/api/ingest/kobo", json=body, timeout=10)
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith("Basic")  # a client is challenged
    assert post(base, "/api/ingest/kobo", FACTS["org"], "wrong", json=body).status_code == 401
    assert post(base, "/api/ingest/kobo", "NOBODY", KEYS[FACTS["org"]], json=body).status_code == 401  # fmt: skip
    # another organisation's key delivers, but makes no record of this organisation's team
    r = post(base, "/api/ingest/kobo", FACTS["other"], KEYS[FACTS["other"]], json=body)
    assert r.status_code == 200, r.text
    assert body["meta/instanceID"] in r.json()["unmapped"]
    with login(base, "officer", PASSWORD) as c:
        kept = c.get("/api/ingest/submissions", params={"status": "unmapped"}).json()
        assert body["meta/instanceID"] in {k["instance_id"] for k in kept}
    with login(base, "observer", PASSWORD) as c:
        assert c.get("/api/ingest/submissions").status_code == 403


def test_a_kobo_delivery_is_stored_once_announced_and_replanned(base: str) -> None:
    with login(base, "planner", PASSWORD) as c:  # a current plan to re-plan from
        assert c.post("/api/plans", json={"time_limit": 1}).status_code == 202
        deadline = time.monotonic() + 60
        while (cur := c.get("/api/plans/current")).status_code != 200 or cur.json()["running"]:
            assert time.monotonic() < deadline, "no plan after 60 s"
            time.sleep(0.2)
        first_run = cur.json()["run"]
    ingested = Listener(base, "observer", PASSWORD, "ingest")
    replanned = Listener(base, "observer", PASSWORD, "plan", match=lambda e: e["run"] > first_run)  # fmt: skip
    body = daily_report()
    org, key = FACTS["org"], KEYS[FACTS["org"]]
    r = post(base, "/api/ingest/kobo", org, key, json=body)
    assert r.status_code == 200, r.text
    assert r.json()["records"] == [["daily_report", body["meta/instanceID"]]]
    again = post(base, "/api/ingest/kobo", org, key, json=body)  # Kobo retries
    assert again.json()["duplicates"] == [body["meta/instanceID"]]
    event = ingested.wait(10)
    assert event and event[0]["mapped"] == 1 and event[0]["organisation"] == org
    plan = replanned.wait(60)
    assert plan and plan[0]["method"].startswith("re-planned from day")
    with login(base, "officer", PASSWORD) as c:
        record = c.get(f"/api/records/daily_report/{body['meta/instanceID']}").json()
        assert record["properties"]["review_status"] == "submitted"
    # approved, the report counts as progress: another re-plan
    after = Listener(base, "observer", PASSWORD, "plan", match=lambda e: e["run"] > plan[0]["run"])
    with login(base, "officer", PASSWORD) as c:
        r = c.post(f"/api/records/daily_report/{body['meta/instanceID']}/approve")
        assert r.status_code == 200, r.text
    assert after.wait(60), "no re-plan after the approval"


def test_odk_central_odata_and_csv(base: str, tmp_path) -> None:
    org, key = FACTS["org"], KEYS[FACTS["org"]]
    instance = f"uuid:{uuid.uuid4()}"
    row = {k: v for k, v in daily_report(instance).items() if not k.startswith(("_", "meta/", "formhub"))}  # fmt: skip
    odata = {
        "@odata.context": f"{base}/v1/projects/1/forms/clearfield_clearance_daily.svc/$metadata#Submissions",
        "value": [{"__id": instance, **row, "people_present": 8, "meta": {"instanceID": instance},
                   "__system": {"submissionDate": "2026-03-05T06:20:41.000Z", "submitterId": "5",
                                "submitterName": "t", "attachmentsPresent": 0,
                                "attachmentsExpected": 0, "status": None, "reviewState": None,
                                "deviceId": None, "edits": 0, "formVersion": "1"}}],
    }  # fmt: skip
    r = post(base, "/api/ingest/odk", org, key, json=odata)
    assert r.status_code == 200 and r.json()["mapped"] == [instance], r.text
    csv_instance = f"uuid:{uuid.uuid4()}"
    columns = ["SubmissionDate", *row, "meta-instanceID", "KEY", "SubmitterID", "SubmitterName",
               "AttachmentsPresent", "AttachmentsExpected", "Status", "ReviewState", "DeviceID",
               "Edits", "FormVersion"]  # fmt: skip
    values = ["2026-03-05T06:20:41.000Z", *row.values(), csv_instance, csv_instance, "5", "t",
              "0", "0", "", "", "", "0", "1"]  # fmt: skip
    csv = ",".join(columns) + "\n" + ",".join(str(v) for v in values) + "\n"
    r = post(base, "/api/ingest/odk", org, key, content=csv, headers={"Content-Type": "text/csv"})
    assert r.status_code == 200 and r.json()["mapped"] == [csv_instance], r.text


@pytest.mark.parametrize(
    ("path", "body", "kind", "status"),
    [
        ("/api/ingest/kobo", b"{not json", "application/json", 422),
        ("/api/ingest/kobo", b'{"no": "instance id"}', "application/json", 422),
        ("/api/ingest/odk", b"[1, 2]", "application/json", 422),
        ("/api/ingest/odk", b"team,hazard_id\nT-1,HA-1\n", "text/csv", 422),
        ("/api/ingest/kobo", b"x" * (50 * 1024 * 1024 + 1), "application/json", 413),
    ],
)
def test_bad_deliveries_are_4xx_and_change_nothing(base, path, body, kind, status) -> None:
    org, key = FACTS["org"], KEYS[FACTS["org"]]
    with login(base, "officer", PASSWORD) as c:
        before = c.get("/api/ingest/submissions", params={"limit": 1000}).json()
    r = post(base, path, org, key, content=body, headers={"Content-Type": kind})
    assert r.status_code == status, r.text
    assert r.json()["message"]
    with login(base, "officer", PASSWORD) as c:
        assert c.get("/api/ingest/submissions", params={"limit": 1000}).json() == before

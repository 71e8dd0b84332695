"""Plans and alerts over the API, on a real server and a small reference scenario."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
import shapely

from clearfield import services
from clearfield.plan.verify import verify
from clearfield.users import add_user
from server import PASSWORD, Listener, login, running, small_programme

DB: dict[str, str] = {}


@pytest.fixture(scope="module")
def base(database_url: str) -> Iterator[str]:
    url = database_url
    users = {"planner": "planner", "officer": "im_officer", "observer": "observer"}
    small_programme(url, users).close()
    DB["url"] = url
    with running(url) as b:
        yield b


def _planned(base: str) -> None:
    """Start a one-second planning run and wait until it is the current plan (no run
    going on any more: a test must not see the plan change under it)."""
    with login(base, "planner", PASSWORD) as c:
        c.post("/api/plans", json={"time_limit": 1})
        deadline = time.monotonic() + 60
        while True:
            r = c.get("/api/plans/current")
            if r.status_code == 200 and not r.json()["running"]:
                return
            assert time.monotonic() < deadline, "no plan after 60 s"
            time.sleep(0.2)


def test_a_planning_run_is_announced_stored_and_verifiable(base: str) -> None:
    listener = Listener(base, "observer", PASSWORD, "plan")
    with login(base, "observer", PASSWORD) as c:
        assert c.get("/api/plans/current").status_code == 404
        assert c.post("/api/plans", json={"time_limit": 1}).status_code == 403
    with login(base, "planner", PASSWORD) as c:
        r = c.post("/api/plans", json={"time_limit": 1})
        assert r.status_code == 202
        assert c.post("/api/plans", json={"time_limit": 1}).status_code in (202, 409)
        assert c.post("/api/plans", json={"time_limit": -1}).status_code == 422
    seen = listener.wait(90)
    assert seen and seen[0]["verified"] is True
    with login(base, "observer", PASSWORD) as c:
        deadline = time.monotonic() + 30
        while (
            cur := c.get("/api/plans/current")
        ).status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        body = cur.json()
        assert body["summary"]["benefit"] >= body["summary"]["baseline_benefit"]
        weeks = body["kpis"]["plan"]["weeks"]
        assert weeks == len(body["kpis"]["plan"]["released_m2_per_week"]) == 53
        problem = c.get("/api/plans/current/problem.json").json()
        plan = c.get("/api/plans/current/plan.json").json()
        assert verify(problem, plan).feasible
        chart = c.get("/api/plans/current/gantt").json()["teams"]
        assert sum(len(v) for v in chart.values()) == len(plan["assignments"])
        assert c.get("/api/plans/current/gantt", params={"team": "NOPE"}).status_code == 404


def test_alerts_for_an_accident_and_an_untasked_report(base: str) -> None:
    _planned(base)
    with login(base, "observer", PASSWORD) as c:
        plan = c.get("/api/plans/current/plan.json").json()
        problem = c.get("/api/plans/current/problem.json").json()
    first = date.fromisoformat(plan["start_date"])
    a = next(a for a in plan["assignments"] if not a["task"].startswith("AS"))
    elsewhere = next(t["subject"] for t in problem["tasks"] if t["subject"] != a["task"].split("/")[0] and t["kind"] == "nts")  # fmt: skip
    day = (first + timedelta(days=int(a["start_day"]))).isoformat()
    listener = Listener(base, "observer", PASSWORD, "alert", count=2)
    org = next(x["organisation"] for x in problem["teams"] if x["id"] == a["team"])
    report = {"type": "Feature", "geometry": None, "properties": {
        "record_type": "daily_report", "id": "DR-ALERT", "team": a["team"], "report_date": day,
        "people_present": 5, "hazard_id": elsewhere, "area_worked_m2": 100.0}}  # fmt: skip
    accident = {"type": "Feature", "geometry": {"type": "Point", "coordinates": problem["origin"]}, "properties": {
        "record_type": "accident", "id": "ACC-ALERT", "occurred_on": day, "district": "Test",
        "device_category": "ap_mine", "activity_at_time": "agriculture", "organisation": org}}  # fmt: skip
    with login(base, "officer", PASSWORD) as c:
        r = c.post("/api/records", json={"type": "FeatureCollection", "features": [report, accident]})  # fmt: skip
        assert r.status_code == 200, r.text
    alerts = listener.wait(15)
    kinds = {x["kind"] for x in alerts}
    assert kinds == {"accident", "untasked_report"}
    assert next(x for x in alerts if x["kind"] == "untasked_report")["hazard_id"] == elsewhere


def test_progress_and_personnel(base: str) -> None:
    _planned(base)
    with login(base, "observer", PASSWORD) as c:
        current = c.get("/api/plans/current").json()
        progress = c.get("/api/plans/current/progress").json()
        assert progress["planned_m2"] == current["kpis"]["plan"]["released_m2_per_week"]
        assert len(progress["actual_m2"]) == progress["weeks"]
        assert all(x >= 0 for x in progress["actual_m2"])
        people = c.get("/api/personnel").json()
        stats = c.get("/api/stats").json()
        assert people["deployed"]["sappers"] <= stats["personnel"]["sappers"]
        assert people["deployed"]["builders"] <= stats["personnel"]["construction_workers"]
        for side in ("sappers", "builders"):  # a team at work has arrived
            assert 0 <= people["active"][side] <= people["deployed"][side]
        assert people["pledged"]["sappers"] > 0


def test_late_tasks(base: str) -> None:
    from clearfield.api.alerts import late_tasks

    _planned(base)
    with login(base, "observer", PASSWORD) as c:
        plan = c.get("/api/plans/current/plan.json").json()
        assert c.get("/api/alerts/late").json()["count"] == 0  # nothing is due on day 0
    first = date.fromisoformat(plan["start_date"])
    store = services.open_store(DB["url"])
    try:
        later = first + timedelta(days=60)
        late = late_tasks(store, later)
        due = [a for a in plan["assignments"] if a["end_day"] + 2 < 60 and "/prep" not in a["task"]]
        assert {x["task"] for x in late} == {a["task"] for a in due}
        assert all(x["days_late"] > 2 for x in late)
        # an approved NTS of one of them since the plan began: that task is done
        nts = next(a for a in due if a["task"].endswith("/nts"))
        hazard_id = nts["task"].split("/")[0]
        hz = next(s for s in store.records("hazard") if s.record.id == hazard_id).record
        team = next(s for s in store.records("team") if s.record.id == nts["team"]).record
        report = {"type": "Feature", "geometry": json.loads(shapely.to_geojson(hz.geometry)),
                  "properties": {"record_type": "activity", "id": "ACT-LATE-1", "hazard_id": hazard_id,
                                 "kind": "nts", "organisation": team.organisation, "team": team.id,
                                 "start_date": str(first), "end_date": str(first + timedelta(days=3)),
                                 "status": "approved"}}  # fmt: skip
        services.import_features(store, [report], source="t", actor="t")
        assert nts["task"] not in {x["task"] for x in late_tasks(store, later)}
    finally:
        store.close()


def test_teams_at_their_current_task(base: str) -> None:
    """Each team is a point on the hazard or asset of its task under way today, or of
    its next; a field lead sees their own organisation's teams, an observer rounded
    places."""
    _planned(base)
    with login(base, "planner", PASSWORD) as c:
        plan = c.get("/api/plans/current/plan.json").json()
        at_work = c.get("/api/teams/current").json()
    today = date.fromisoformat(at_work["as_of"])
    day = (today - date.fromisoformat(plan["start_date"])).days
    expected = {}
    for a in sorted(plan["assignments"], key=lambda a: a["start_day"]):
        if a["end_day"] > day:  # under way, or the next one
            expected.setdefault(a["team"], (a["task"], "at work" if a["start_day"] <= day else "on the way"))  # fmt: skip
    got = {f["properties"]["team"]: (f["properties"]["task"], f["properties"]["state"]) for f in at_work["features"]}  # fmt: skip
    assert got == expected and got
    store = services.open_store(DB["url"])
    try:
        places = {s.record.id: s.record.geometry for t in ("hazard", "asset") for s in store.records(t)}  # fmt: skip
        org = next(s.record.organisation for s in store.records("team") if s.record.id == next(iter(got)))  # fmt: skip
        if store.user("lead") is None:
            add_user(store, "lead", "field_lead", org, PASSWORD, actor="t")
    finally:
        store.close()
    for f in at_work["features"]:
        where = places[f["properties"]["subject"]]
        point = shapely.geometry.shape(f["geometry"])
        assert where.distance(point) < 1e-5, f["properties"]  # on it, to a metre
    with login(base, "lead", PASSWORD) as c:
        mine = c.get("/api/teams/current").json()["features"]
    assert mine and all(f["properties"]["organisation"] == org for f in mine)
    assert len(mine) == sum(f["properties"]["organisation"] == org for f in at_work["features"])
    with login(base, "observer", PASSWORD) as c:
        seen = c.get("/api/teams/current").json()["features"]
    assert len(seen) == len(at_work["features"])
    for f in seen:
        x, y = f["geometry"]["coordinates"]
        assert (round(x, 2), round(y, 2)) == (x, y) and f["properties"]["generalised"] is True


def test_a_task_that_becomes_late_is_pushed_once(base: str) -> None:
    """Days pass: the server looks every few seconds (here 0.3) and pushes an alert for
    each plan task that has become more than two days late, once."""
    from clearfield.api.alerts import late_tasks
    from clearfield.api.app import create_app

    _planned(base)
    url = DB["url"]
    store = services.open_store(url)
    before = store.programme()["as_of"]
    try:
        with running(url, app=create_app(url, late_check_seconds=0.3)) as other:
            with login(other, "observer", PASSWORD) as c:
                first = date.fromisoformat(c.get("/api/plans/current/plan.json").json()["start_date"])  # fmt: skip
            later = first + timedelta(days=60)
            expected = {x["task"] for x in late_tasks(store, later)}
            assert expected
            is_late = lambda d: d.get("kind") == "late_task"  # noqa: E731
            listener = Listener(other, "observer", PASSWORD, "alert", count=len(expected) + 1, match=is_late)  # fmt: skip
            time.sleep(1.0)  # the first look, the baseline: nothing late yet
            assert listener.events == []
            store.set_programme({"as_of": later.isoformat()}, actor="t")
            events = listener.wait(4.0)  # several looks: each late task once
            assert sorted(e["task"] for e in events) == sorted(expected)
            assert all(e["days_late"] > 2 and e["message"] for e in events)
    finally:
        store.set_programme({"as_of": before}, actor="t")
        store.close()

"""The dashboard in a real Chromium against a real server on a real SQLite file: cookie
sign-in and CSRF, KPI tiles, the map, what each role is offered, a review reaching
another browser live, the plan's KPIs, progress chart and Gantt, "Plan now", and alerts.
Screenshots land in ``tests/artifacts/``.

Chromium is Debian's (``apt-get install chromium``), driven by the pip ``playwright``
package; a machine without it fails here rather than skipping, so a missing browser
is never mistaken for a passing dashboard.
"""

from __future__ import annotations

import json
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import AbstractContextManager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import shapely
from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from playwright.sync_api import Browser, Page, Route, expect, sync_playwright

from clearfield import services
from clearfield.api.app import create_app
from clearfield.errors import ClearfieldError
from clearfield.scenario import generate
from clearfield.users import add_user
from common import X0, Y0, activity, base_programme, feature
from conftest import new_database
from server import running

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
WEB = Path(__file__).parents[1] / "src" / "clearfield" / "web"
ARTIFACTS = Path(__file__).parent / "artifacts"
PASSWORD = "correct horse battery"
USERS = {"officer": "im_officer", "observer": "observer", "lead": "field_lead"}
PLAN_USERS = {"planner": "planner", "officer": "im_officer", "observer": "observer"}
LEFT = shapely.box(X0, Y0, X0 + 0.005, Y0 + 0.01)  # the western half of HA-1
RIGHT = shapely.box(X0 + 0.005, Y0, X0 + 0.01, Y0 + 0.01)


def _app(url: str) -> FastAPI:
    """The server's app, with the dashboard mounted here if the server does not yet."""
    app = create_app(url)
    paths = {getattr(route, "path", None) for route in app.routes}
    if "/" not in paths or "/login" not in paths:
        app.add_api_route("/", lambda: FileResponse(WEB / "index.html"), include_in_schema=False)
        app.add_api_route("/login", lambda: FileResponse(WEB / "login.html"), include_in_schema=False)  # fmt: skip
        app.mount("/static", StaticFiles(directory=WEB), name="static")
    return app


def _serving(url: str) -> AbstractContextManager[str]:
    """Serve the database at ``url`` (with the dashboard mounted); the URL once it answers."""
    return running(url, _app(url))


@pytest.fixture(scope="module")
def base(database_url: str) -> Iterator[str]:
    """A one-hazard programme and no plan: sign-in, the map, reviews, alerts."""
    url = database_url
    store = services.open_store(url)
    bridge = feature(
        "asset",
        shapely.Point(X0 + 0.015, Y0 + 0.005),
        id="AS-1",
        name="River bridge",
        kind="bridge",
        damage="severe",
        district="North",
        assessed_on="2025-01-12",
    )
    seed = activity("ACT-SEED", RIGHT, kind="ts", status="submitted")
    services.import_features(store, [*base_programme(), bridge, seed], source="t", actor="t")
    for name, role in USERS.items():
        add_user(store, name, role, "ORG-1" if role == "field_lead" else None, PASSWORD, actor="t")
    store.close()
    with _serving(url) as root:
        yield root


@pytest.fixture(scope="module")
def planned(
    request: pytest.FixtureRequest, store_kind: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A small generated programme (a few teams, a hundred hazards) with a plan made
    through the API, as a planner would."""
    with new_database(request, store_kind, tmp_path_factory.mktemp("plan")) as url:
        yield from _planned(url)


def _planned(url: str) -> Iterator[str]:
    store = services.open_store(url)
    scen = generate(scale=0.02, seed=4)
    services.import_features(store, scen.features, source="t", actor="t")
    store.set_programme(scen.metadata, actor="t")
    for name, role in PLAN_USERS.items():
        add_user(store, name, role, None, PASSWORD, actor="t")
    store.close()
    with _serving(url) as root:
        with _client(root, "planner") as c:
            assert c.post("/api/plans", json={"time_limit": 1}).status_code == 202
            deadline = time.monotonic() + 60
            while c.get("/api/plans/current").status_code != 200:
                assert time.monotonic() < deadline, "no plan within 60 s"
                time.sleep(0.2)
        yield root


def _client(base: str, user: str) -> httpx.Client:
    """An API client with a bearer token (the API's non-browser sign-in)."""
    r = httpx.post(f"{base}/api/auth/token", data={"username": user, "password": PASSWORD})
    assert r.status_code == 200, r.text
    headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
    return httpx.Client(base_url=base, headers=headers, timeout=30)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install -y chromium"
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()


def _sign_in(browser: Browser, base: str, user: str) -> tuple[Page, list[str]]:
    """A fresh browser context signed in through the login page; its uncaught JS errors."""
    page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{base}/")
    page.wait_for_url(f"{base}/login")  # no session cookie: sent to sign in
    page.fill("#username", user)
    page.fill("#password", PASSWORD)
    page.click("#sign-in")
    page.wait_for_url(f"{base}/")
    expect(page.locator("#user-name")).to_have_text(user)
    expect(page.locator("#kpis")).to_have_attribute("data-loaded", "true")
    return page, errors


def _value(page: Page, kpi: str) -> float:
    return float(page.get_attribute(f"#{kpi}", "data-value") or "nan")


def _wait_live(page: Page) -> None:
    expect(page.locator("#live")).to_have_attribute("data-state", "live", timeout=5000)


def test_wrong_password_stays_on_the_login_page(browser: Browser, base: str) -> None:
    page = browser.new_context().new_page()
    page.goto(f"{base}/login")
    page.fill("#username", "officer")
    page.fill("#password", "wrong")
    page.click("#sign-in")
    expect(page.locator("#login-error")).to_be_visible()
    assert page.url == f"{base}/login"
    page.context.close()


def test_the_dashboard_runs_under_its_content_security_policy(browser: Browser, base: str) -> None:
    """Every page comes with a strict Content-Security-Policy (no inline script or
    style), and Chromium reports no violation of it: sign-in, the dashboard, the map
    (MapLibre's worker, its images, the vector tiles) all keep to it."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    watch = "window.__csp = []; document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));"  # fmt: skip
    context.add_init_script(watch)
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    login = page.goto(f"{base}/login")
    assert login is not None and "script-src 'self';" in login.headers["content-security-policy"]
    page.fill("#username", "officer")
    page.fill("#password", PASSWORD)
    page.click("#sign-in")
    page.wait_for_url(f"{base}/")
    dashboard = page.reload()
    assert dashboard is not None
    policy = dashboard.headers["content-security-policy"]
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    expect(page.locator("#kpis")).to_have_attribute("data-loaded", "true")
    expect(page.locator("#map")).to_have_attribute("data-ready", "true", timeout=10_000)
    page.wait_for_function("() => window.clearfieldMap?.loaded() && window.clearfieldMap.areTilesLoaded()")  # fmt: skip
    drawn = "() => window.clearfieldMap.queryRenderedFeatures({layers: ['hazards-fill']}).length"
    page.wait_for_function(f"() => ({drawn})() > 0")  # the worker made the tiles
    _wait_live(page)
    violations = page.evaluate("window.__csp")
    refused = [m for m in console if "Content Security Policy" in m or "Refused to" in m]
    assert violations == [] and refused == [], (violations, refused)
    assert errors == []
    context.close()


def test_officer_sees_kpis_map_and_queue(browser: Browser, base: str) -> None:
    page, errors = _sign_in(browser, base, "officer")
    expect(page.locator("#user-role")).to_contain_text("im officer")
    expect(page.locator("#kpi-remaining")).not_to_have_attribute("data-value", "0")
    assert _value(page, "kpi-remaining") > 0
    assert _value(page, "kpi-pending") >= 1
    assert _value(page, "kpi-hazards") == 1
    expect(page.locator("#map canvas.maplibregl-canvas")).to_be_visible()
    expect(page.locator("#map")).to_have_attribute("data-ready", "true", timeout=10_000)
    queue = page.locator("#review-queue")
    expect(queue).to_be_visible()
    expect(queue.locator('li[data-id="ACT-SEED"]')).to_be_visible()
    # No plan on this programme yet: the plan's charts say so rather than stay blank
    expect(page.locator("#chart-progress")).to_have_text("No plan yet.")
    expect(page.locator("#gantt")).to_have_text("No plan yet.")
    expect(page.locator("#plan-status")).to_have_text("No plan yet.")
    expect(page.locator("#plan-now")).to_have_count(0)  # an IM officer does not plan
    expect(page.locator("#personnel")).to_have_attribute("data-loaded", "true")
    expect(page.locator("#alerts-empty")).to_be_visible()
    # Clicking the middle of the map, where HA-1 lies, shows its details and history
    # (retried: the hazard layer draws shortly after the map is ready)
    deadline = time.monotonic() + 10
    while page.locator("#details").is_hidden() and time.monotonic() < deadline:
        page.locator("#map canvas").click()
        page.wait_for_timeout(250)
    expect(page.locator("#details-title")).to_have_text("hazard HA-1")
    expect(page.locator("#details .history li")).to_have_count(1)
    _wait_live(page)
    page.screenshot(path=ARTIFACTS / "officer-dashboard.png")
    assert errors == []
    page.context.close()


def test_observer_has_no_review_queue(browser: Browser, base: str) -> None:
    page, errors = _sign_in(browser, base, "observer")
    expect(page.locator("#user-role")).to_have_text("observer")
    expect(page.locator("#map")).to_have_attribute("data-ready", "true", timeout=10_000)
    expect(page.locator("#review-queue")).to_be_hidden()
    assert page.locator("#queue-list li").count() == 0
    page.screenshot(path=ARTIFACTS / "observer-dashboard.png")
    # the weekly report, downloaded with the session, is the observer's copy (no names)
    report = page.locator("#weekly-report")
    expect(report).to_be_visible()
    with page.expect_download() as download:
        report.click()
    path = download.value.path()
    assert download.value.suggested_filename.startswith("weekly-report-")
    assert Path(path).read_bytes()[:5] == b"%PDF-"
    assert errors == []
    page.context.close()


def test_a_field_lead_has_no_report_button(browser: Browser, base: str) -> None:
    page, errors = _sign_in(browser, base, "lead")
    expect(page.locator("#user-role")).to_contain_text("field lead")
    expect(page.locator("#weekly-report")).to_be_hidden()
    assert errors == []
    page.context.close()


def test_an_approval_reaches_another_browser_live(browser: Browser, base: str) -> None:
    officer, officer_errors = _sign_in(browser, base, "officer")
    observer, observer_errors = _sign_in(browser, base, "observer")
    _wait_live(officer)
    _wait_live(observer)
    cleared = _value(observer, "kpi-cleared")
    pending = _value(observer, "kpi-pending")

    # A field team submits a clearance: it appears in the officer's queue, no reload
    body: dict[str, Any] = {"type": "Feature", **activity("ACT-LIVE", LEFT, status="submitted")}
    with _client(base, "lead") as c:
        r = c.post("/api/records", content=json.dumps(body))
    assert r.status_code == 200, r.text
    item = officer.locator('#queue-list li[data-id="ACT-LIVE"]')
    expect(item).to_be_visible(timeout=2000)
    expect(observer.locator("#kpi-pending")).to_have_attribute("data-value", str(int(pending) + 1), timeout=2000)  # fmt: skip

    # The officer approves; the observer's figures move within 2 s, without a reload
    observer.evaluate("window.__sameDocument = true")
    t0 = time.monotonic()
    item.locator(".approve").click()
    observer.wait_for_function(
        # (a function, not an expression: the page's CSP allows no eval)
        f"() => Number(document.querySelector('#kpi-cleared').dataset.value) > {cleared}",
        timeout=2000,
    )
    assert time.monotonic() - t0 < 2.0
    expect(observer.locator("#kpi-pending")).to_have_attribute("data-value", str(int(pending)), timeout=2000)  # fmt: skip
    expect(item).to_have_count(0)
    assert observer.evaluate("window.__sameDocument") is True  # no reload happened
    observer.screenshot(path=ARTIFACTS / "observer-after-approval.png")
    officer.screenshot(path=ARTIFACTS / "officer-after-approval.png")
    assert officer_errors == observer_errors == []
    officer.context.close()
    observer.context.close()


def test_reject_asks_for_a_reason(browser: Browser, base: str) -> None:
    page, errors = _sign_in(browser, base, "officer")
    item = page.locator('#queue-list li[data-id="ACT-SEED"]')
    page.once("dialog", lambda dialog: dialog.accept("polygon outside the task"))
    item.locator(".reject").click()
    expect(item).to_have_count(0)
    expect(page.locator("#queue-status")).to_have_text("activity ACT-SEED rejected.")
    with _client(base, "officer") as c:
        record = c.get("/api/records/activity/ACT-SEED").json()
    assert record["properties"]["review_status"] == "rejected"
    assert errors == []
    page.context.close()


def test_the_session_is_a_cookie_and_changes_need_the_csrf_header(
    browser: Browser, base: str
) -> None:
    page, errors = _sign_in(browser, base, "officer")
    # The credential is an HTTP-only cookie; nothing is left in the page's storage
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["clearfield_session"]["httpOnly"] is True
    assert cookies["clearfield_session"]["sameSite"] == "Strict"
    assert cookies["clearfield_csrf"]["httpOnly"] is False
    assert page.evaluate("sessionStorage.length + localStorage.length") == 0
    assert "clearfield_session" not in page.evaluate("document.cookie")
    # A POST from page script with the cookie but without the header is refused
    refused = page.evaluate(
        """async () => {
        const r = await fetch('/api/records/hazard/HA-1/submit', {method: 'POST'});
        return [r.status, (await r.json()).message];
    }"""
    )
    assert refused[0] == 403 and "X-CSRF-Token" in refused[1], refused
    # ...and so is one with a header that is not the cookie's token
    forged = page.evaluate(
        """async () => (await fetch('/api/records/hazard/HA-1/submit',
            {method: 'POST', headers: {'X-CSRF-Token': 'guess'}})).status"""
    )
    assert forged == 403
    # Signing out clears both cookies: the dashboard sends the browser to sign in again
    page.click("#sign-out")
    page.wait_for_url(f"{base}/login")
    assert {c["name"] for c in page.context.cookies()} & {"clearfield_session", "clearfield_csrf"} == set()  # fmt: skip
    page.goto(f"{base}/")
    page.wait_for_url(f"{base}/login")
    assert errors == []
    page.context.close()


def test_an_expired_session_goes_back_to_sign_in(browser: Browser, base: str) -> None:
    page, _ = _sign_in(browser, base, "observer")
    # A session the server no longer accepts, with its CSRF cookie still present:
    # GET /api/me answers 401 and the dashboard redirects
    stale = {"name": "clearfield_session", "value": "not-a-token", "url": base}
    page.context.add_cookies([{**stale, "httpOnly": True, "secure": True, "sameSite": "Strict"}])
    page.reload()
    page.wait_for_url(f"{base}/login")
    page.context.close()


def test_the_plan_charts_and_kpis_show_the_current_plan(browser: Browser, planned: str) -> None:
    page, errors = _sign_in(browser, planned, "observer")
    with _client(planned, "observer") as c:
        current = c.get("/api/plans/current").json()
        progress = c.get("/api/plans/current/progress").json()
        teams = c.get("/api/plans/current/gantt").json()["teams"]
        people = c.get("/api/personnel").json()
    run = str(current["run"])
    expect(page.locator("#plan")).to_have_attribute("data-run", run)
    benefit = float(page.get_attribute("#plan-benefit", "data-value") or "nan")
    assert benefit == pytest.approx(current["summary"]["ratio_to_baseline"])
    expect(page.locator("#plan-benefit .kpi-value")).to_contain_text("%")
    assets = page.get_attribute("#plan-assets", "data-value")
    assert assets == str(current["summary"]["plan"]["assets_restored"])
    expect(page.locator("#plan-now")).to_have_count(0)  # an observer is not offered it

    chart = page.locator("#chart-progress")
    expect(chart).to_have_attribute("data-state", "drawn")
    expect(chart).to_have_attribute("data-weeks", str(progress["weeks"]))
    assert float(chart.get_attribute("data-planned-m2") or 0) == pytest.approx(sum(progress["planned_m2"]))  # fmt: skip
    expect(chart.locator("rect.planned")).to_have_count(progress["weeks"])

    gantt = page.locator("#gantt")
    expect(gantt).to_have_attribute("data-state", "drawn")
    expect(gantt).to_have_attribute("data-run", run)
    expect(gantt.locator(".gantt-row")).to_have_count(min(len(teams), 80))
    first = sorted(teams)[0]
    expect(gantt.locator(f'g[data-team="{first}"] rect.task')).to_have_count(len(teams[first]))
    page.fill("#gantt-filter", first)
    expect(gantt.locator(".gantt-row")).to_have_count(1)
    page.fill("#gantt-filter", "")

    cell = page.locator('#personnel tr[data-side="sappers"] td[data-stage="deployed"]')
    expect(cell).to_have_attribute("data-value", str(people["deployed"]["sappers"]))
    page.locator(".plan-area").scroll_into_view_if_needed()
    page.screenshot(path=ARTIFACTS / "plan-charts.png", full_page=True)
    assert errors == []
    page.context.close()


def test_the_map_shows_teams_and_released_land(browser: Browser, planned: str) -> None:
    """Teams at their current task (from the plan) and released land (from tiles) are
    layers of the map, each with its toggle."""
    page, errors = _sign_in(browser, planned, "planner")
    with _client(planned, "planner") as c:
        teams = c.get("/api/teams/current").json()["features"]
    assert teams
    page.wait_for_function("() => window.clearfieldMap?.loaded() && window.clearfieldMap.areTilesLoaded()")  # fmt: skip
    drawn = "() => window.clearfieldMap.queryRenderedFeatures({layers: ['teams']}).length"
    page.wait_for_function(f"() => ({drawn})() > 0")
    assert 0 < page.evaluate(drawn) <= len(teams)
    assert page.evaluate("() => Boolean(window.clearfieldMap.getLayer('released-fill'))")
    page.uncheck("#toggle-teams")
    assert page.evaluate("() => window.clearfieldMap.getLayoutProperty('teams', 'visibility')") == "none"  # fmt: skip
    page.check("#toggle-released")
    page.screenshot(path=ARTIFACTS / "map-teams.png")
    assert errors == []
    page.context.close()


def test_plan_now_updates_the_kpis_when_the_plan_event_arrives(
    browser: Browser, planned: str
) -> None:
    planner, errors = _sign_in(browser, planned, "planner")
    observer, observer_errors = _sign_in(browser, planned, "observer")
    _wait_live(planner)
    _wait_live(observer)
    expect(planner.locator("#plan")).not_to_have_attribute("data-run", "")
    before = planner.get_attribute("#plan", "data-run")
    sent: list[dict[str, Any]] = []

    # The page asks for a 10 s search; the test shortens it to 1 s on the way out, so
    # the page, the server and the event are all real but the wait is short
    def shorten(route: Route) -> None:
        sent.append({"body": route.request.post_data_json, "headers": route.request.headers})
        route.continue_(post_data=json.dumps({"time_limit": 1}))

    planner.route("**/api/plans", shorten)
    planner.click("#plan-now")
    expect(planner.locator("#plan")).to_have_attribute("data-state", "running")
    expect(planner.locator("#plan-status")).to_contain_text("Planning")
    expect(planner.locator("#plan")).not_to_have_attribute("data-run", before or "", timeout=30_000)  # fmt: skip
    after = planner.get_attribute("#plan", "data-run")
    expect(planner.locator("#plan-status")).to_have_text(f"Plan {after} ready.")
    expect(planner.locator("#plan")).to_have_attribute("data-state", "idle")
    expect(planner.locator("#gantt")).to_have_attribute("data-run", after or "")
    # Another dashboard follows the same event
    expect(observer.locator("#plan")).to_have_attribute("data-run", after or "")
    assert sent[0]["body"] == {"time_limit": 10}
    assert sent[0]["headers"]["x-csrf-token"]
    planner.screenshot(path=ARTIFACTS / "planner-after-plan-now.png", full_page=True)
    assert errors == observer_errors == []
    planner.context.close()
    observer.context.close()


def test_plan_now_while_a_run_is_going_on_says_so(browser: Browser, planned: str) -> None:
    planner, errors = _sign_in(browser, planned, "planner")
    _wait_live(planner)
    before = planner.get_attribute("#plan", "data-run")
    with _client(planned, "planner") as c:
        assert c.post("/api/plans", json={"time_limit": 3}).status_code == 202
    planner.click("#plan-now")  # the server answers 409
    expect(planner.locator("#plan-status")).to_contain_text("already going on")
    expect(planner.locator("#plan")).not_to_have_attribute("data-run", before or "", timeout=30_000)  # fmt: skip
    expect(planner.locator("#plan-now")).to_be_enabled()
    assert errors == []
    planner.context.close()


def test_an_accident_reaches_another_browser_s_alerts(browser: Browser, base: str) -> None:
    observer, errors = _sign_in(browser, base, "observer")
    _wait_live(observer)
    accident = feature(
        "accident",
        shapely.Point(X0 + 0.005, Y0 + 0.005),
        id="ACC-1",
        occurred_on="2025-03-02",
        district="North",
        device_category="ap_mine",
        activity_at_time="agriculture",
        organisation="ORG-1",
    )
    t0 = time.monotonic()
    with _client(base, "officer") as c:
        r = c.post("/api/records", json=accident)
    assert r.status_code == 200, r.text
    item = observer.locator('#alerts-list li[data-kind="accident"]')
    expect(item).to_have_count(1, timeout=2000)
    assert time.monotonic() - t0 < 2.0
    expect(item).to_contain_text("ACC-1")
    expect(item.locator("time")).not_to_be_empty()
    expect(observer.locator("#alerts-count")).to_have_text("1")
    expect(observer.locator("#alerts-empty")).to_be_hidden()
    observer.locator("#alerts").screenshot(path=ARTIFACTS / "observer-alerts.png")
    assert errors == []
    observer.context.close()


def _png() -> bytes:
    """A 256×256 grey PNG, made here (no image library needed)."""
    raw = b"".join(b"\x00" + b"\xc8" * 256 for _ in range(256))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 256, 256, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")  # fmt: skip


def test_a_configured_raster_basemap_is_drawn_under_the_map(
    browser: Browser, store_url: str
) -> None:
    """``--basemap-tiles``: the map asks a tile server (a real one, on 127.0.0.1) for
    raster tiles of the programme's area and draws them under the records."""
    asked: list[str] = []
    tile = _png()

    class Tiles(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Access-Control-Allow-Origin", "*")
            self.end_headers()
            self.wfile.write(tile)

        def log_message(self, *args: object) -> None:
            pass

    tiles = ThreadingHTTPServer(("127.0.0.1", 0), Tiles)
    threading.Thread(target=tiles.serve_forever, daemon=True).start()
    url = store_url
    store = services.open_store(url)
    services.import_features(store, base_programme(), source="t", actor="t")
    add_user(store, "observer", "observer", None, PASSWORD, actor="t")
    store.close()
    template = f"http://127.0.0.1:{tiles.server_port}/{{z}}/{{x}}/{{y}}.png"
    try:
        with running(url, create_app(url, basemap_tiles=template)) as root:
            page, errors = _sign_in(browser, root, "observer")
            page.wait_for_function("() => window.clearfieldMap?.getLayer('raster') && window.clearfieldMap.areTilesLoaded()")  # fmt: skip
            order = page.evaluate("() => window.clearfieldMap.getStyle().layers.map((l) => l.id)")
            assert order.index("background") < order.index("raster") < order.index("hazards-fill")
            assert errors == []
            page.context.close()
    finally:
        tiles.shutdown()
        tiles.server_close()
    assert asked and all(p.endswith(".png") and p.count("/") == 3 for p in asked)
    z = {int(p.split("/")[1]) for p in asked}
    assert max(z) >= 10, "the map asked for tiles of the programme's area, not the world"


def test_a_basemap_tile_url_without_its_placeholders_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'refused.db'}"
    services.open_store(url).close()
    with pytest.raises(ClearfieldError, match=r"needs \{z\}, \{x\} and \{y\}"):
        create_app(url, basemap_tiles="http://127.0.0.1:1/tiles.png")

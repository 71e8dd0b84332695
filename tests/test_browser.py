"""The dashboard in a real Chromium against a real server on a real SQLite file: sign-in,
KPI tiles, the map, what each role is offered, and a review reaching another
browser live. Screenshots land in ``tests/artifacts/``.

Chromium is Debian's (``apt-get install chromium``), driven by the pip ``playwright``
package; a machine without it fails here rather than skipping, so a missing browser
is never mistaken for a passing dashboard.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import shapely
import uvicorn
from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from playwright.sync_api import Browser, Page, expect, sync_playwright

from clearfield import services
from clearfield.api.app import create_app
from clearfield.users import add_user
from common import X0, Y0, activity, base_programme, feature
from server import free_port

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
WEB = Path(__file__).parents[1] / "src" / "clearfield" / "web"
ARTIFACTS = Path(__file__).parent / "artifacts"
PASSWORD = "correct horse battery"
USERS = {"officer": "im_officer", "observer": "observer", "lead": "field_lead"}
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


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('browser') / 'browser.db'}"
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
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(_app(url), host="127.0.0.1", port=port, log_level="warning"))  # fmt: skip
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    root = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{root}/api/health", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.1)
    yield root
    srv.should_exit = True
    thread.join(timeout=10)


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
    page.wait_for_url(f"{base}/login")  # no token: sent to sign in
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
    token = httpx.post(f"{base}/api/auth/token", data={"username": "lead", "password": PASSWORD}).json()["access_token"]  # fmt: skip
    r = httpx.post(f"{base}/api/records", content=json.dumps(body), headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert r.status_code == 200, r.text
    item = officer.locator('#queue-list li[data-id="ACT-LIVE"]')
    expect(item).to_be_visible(timeout=2000)
    expect(observer.locator("#kpi-pending")).to_have_attribute("data-value", str(int(pending) + 1), timeout=2000)  # fmt: skip

    # The officer approves; the observer's figures move within 2 s, without a reload
    observer.evaluate("window.__sameDocument = true")
    t0 = time.monotonic()
    item.locator(".approve").click()
    observer.wait_for_function(
        f"Number(document.querySelector('#kpi-cleared').dataset.value) > {cleared}",
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
    with httpx.Client(base_url=base) as c:
        token = c.post("/api/auth/token", data={"username": "officer", "password": PASSWORD}).json()["access_token"]  # fmt: skip
        record = c.get("/api/records/activity/ACT-SEED", headers={"Authorization": f"Bearer {token}"}).json()  # fmt: skip
    assert record["properties"]["review_status"] == "rejected"
    assert errors == []
    page.context.close()

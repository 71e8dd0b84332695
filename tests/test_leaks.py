"""Restricted fields never leak, through any way out of the server, on both stores.

Two secrets are planted: a casualty's name (personal data: admins and IM officers only)
and the exact corners of a hazard not yet cleared (every role but an observer sees
them). Every readable endpoint — the records API, the OGC API, vector tiles of every
layer, plans, personnel, reports as HTML, the live event stream while an accident with a
named casualty is submitted — is read as each role, and a secret a role may not see must
not appear anywhere in what it receives: not in JSON, not in a tile's bytes, not in a
report. The exports (``clearfield export --no-personal-data``) are checked the same way.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import mapbox_vector_tile
import pytest
import shapely

from clearfield import services
from clearfield.users import add_user
from common import X0, Y0, base_programme, feature, hazard
from server import login, running

PASSWORD = "leak test password 9"
ROLES = ("admin", "im_officer", "planner", "field_lead", "observer")
NAME = "Wilhelmina Secretname-Casualty"
CORNER = (X0 + 0.0312789, Y0 + 0.0213457)  # the uncleared hazard's one odd corner
SECRET_HAZARD = shapely.Polygon([(X0 + 0.02, Y0 + 0.02), CORNER, (X0 + 0.032, Y0 + 0.029), (X0 + 0.021, Y0 + 0.028)])  # fmt: skip
PERSONAL = {"admin", "im_officer"}


def _accident(rid: str) -> dict:
    return feature(
        "accident",
        shapely.Point(X0 + 0.025, Y0 + 0.025),
        id=rid,
        occurred_on="2025-03-01",
        district="North",
        device_category="ap_mine",
        activity_at_time="agriculture",
        hazard_id="HA-S",
        status="approved",
        casualties=[{"sex": "female", "age_group": "adult", "outcome": "injured", "name": NAME}],
    )


def _corner_texts() -> list[bytes]:
    """The odd corner as any response might write it, cut to the fourth decimal (about
    ten metres): already too close for an observer."""
    return [f"{v:.7f}"[:-3].encode() for v in CORNER]


@pytest.fixture(scope="module")
def base(database_url: str) -> Iterator[str]:
    store = services.open_store(database_url)
    feats = [*base_programme(), hazard("HA-S", SECRET_HAZARD, status="CHA", direct_evidence=["mine found"]), _accident("ACC-S")]  # fmt: skip
    services.import_features(store, feats, source="t", actor="t")
    for role in ROLES:
        add_user(store, role, role, "ORG-1" if role == "field_lead" else None, PASSWORD, actor="t")
    store.close()
    with running(database_url) as b:
        yield b


READS = [
    "/api/stats",
    "/api/stats?by=hazard",
    "/api/records/hazard",
    "/api/records/hazard/HA-S",
    "/api/records/accident",
    "/api/records/accident/ACC-S",
    "/api/extent",
    "/api/personnel",
    "/api/teams/current",
    "/api/alerts/late",
    "/api/plans/current",
    "/api/plans/current/gantt",
    "/api/plans/current/progress",
    "/api/plans/current/plan.json",
    "/api/plans/current/problem.json",
    "/api/ingest/submissions",
    "/ogc/collections/hazards/items",
    "/ogc/collections/hazards/items/HA-S",
    "/ogc/collections/released/items",
    "/ogc/collections/assets/items",
    "/ogc/collections/finds/items",
    "/api/reports/weekly?format=html&week=2025-W09",
    "/api/reports/weekly?format=html",
]


def _tiles() -> list[str]:
    """Every tile that holds the planted hazard, zooms 8 to 16, of every layer."""
    import math

    out = []
    lon, lat = CORNER
    for z in range(8, 17):
        n = 2**z
        x = int((lon + 180) / 360 * n)
        y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
        out += [f"/api/tiles/{layer}/{z}/{x}/{y}.pbf" for layer in ("hazards", "assets", "released")]  # fmt: skip
    return out


@pytest.mark.parametrize("role", ROLES)
def test_no_endpoint_gives_a_role_what_it_may_not_see(base: str, role: str) -> None:
    seen_name = seen_corner = False
    with login(base, role, PASSWORD) as c:
        for path in [*READS, *_tiles()]:
            r = c.get(path)
            assert r.status_code < 500, (path, r.status_code)
            if r.status_code >= 400:
                continue  # refused: nothing given
            body = r.content
            if path.endswith(".pbf"):
                layers = mapbox_vector_tile.decode(body)
                body = json.dumps(layers, default=str).encode()
                if role == "observer":
                    for layer, content in layers.items():
                        if layer == "hazards":
                            kinds = {f["geometry"]["type"] for f in content["features"]}
                            assert kinds <= {"Point"}, (path, kinds)
            has_name = NAME.encode() in body
            has_corner = any(t in body for t in _corner_texts())
            if role not in PERSONAL:
                assert not has_name, f"{role} got a casualty's name from {path}"
            if role == "observer":
                assert not has_corner, f"an observer got an uncleared hazard's corner from {path}"
            seen_name |= has_name
            seen_corner |= has_corner
    # the secrets are there to find: the roles that may see them do
    assert seen_name == (role in PERSONAL)
    assert seen_corner == (role != "observer")


def _listen(base: str, role: str, raw: list[str], ready: threading.Event, stop: threading.Event) -> None:  # fmt: skip
    with login(base, role, PASSWORD) as c, c.stream("GET", "/api/events", timeout=30) as r:
        for line in r.iter_lines():
            raw.append(line)
            if line.startswith("event: hello"):
                ready.set()
            if stop.is_set() and any("ACC-LIVE" in x for x in raw):
                return


def test_the_event_stream_carries_no_personal_data(base: str) -> None:
    streams: dict[str, list[str]] = {role: [] for role in ROLES}
    stop = threading.Event()
    threads = []
    for role in ROLES:
        ready = threading.Event()
        t = threading.Thread(target=_listen, args=(base, role, streams[role], ready, stop), daemon=True)  # fmt: skip
        t.start()
        assert ready.wait(10), f"{role}'s event stream did not open"
        threads.append(t)
    with login(base, "im_officer", PASSWORD) as c:
        body = {"type": "FeatureCollection", "features": [_accident("ACC-LIVE")]}
        assert c.post("/api/records", content=json.dumps(body)).status_code == 200
        assert c.post("/api/records/accident/ACC-LIVE/submit").status_code in (200, 409)
    stop.set()
    deadline = time.monotonic() + 15
    for t in threads:
        t.join(max(0.1, deadline - time.monotonic()))
    for role, lines in streams.items():
        text = "\n".join(lines)
        assert "ACC-LIVE" in text, f"{role} did not hear of the accident"
        assert NAME not in text, f"{role}'s event stream carried a casualty's name"
        if role == "observer":
            assert not any(t.decode() in text for t in _corner_texts())


def test_an_export_without_personal_data_has_none(database_url: str, base: str, tmp_path: Path) -> None:  # fmt: skip
    env = {**os.environ, "CLEARFIELD_DATABASE": database_url}
    for suffix in (".geojson", ".gpkg", ".xlsx"):
        out = tmp_path / f"export{suffix}"
        done = subprocess.run(
            [sys.executable, "-m", "clearfield", "export", str(out), "--no-personal-data"],
            env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        data = out.read_bytes()
        if suffix == ".xlsx":
            from openpyxl import load_workbook

            book = load_workbook(out, read_only=True)
            data = json.dumps([[list(r) for r in ws.iter_rows(values_only=True)] for ws in book.worksheets], default=str).encode()  # fmt: skip
        assert NAME.encode() not in data, f"the {suffix} export holds a casualty's name"
    full = tmp_path / "full.geojson"
    subprocess.run([sys.executable, "-m", "clearfield", "export", str(full)], env=env, check=True, capture_output=True, timeout=120)  # fmt: skip
    assert NAME in full.read_text(encoding="utf-8"), "the full export keeps the name (the secret was planted)"  # fmt: skip
    httpx.get(base + "/api/health", timeout=5)  # (the server the fixture runs is still up)

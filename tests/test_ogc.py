"""OGC API - Features at /ogc on a real server (each store), read by a client nobody here
wrote: GDAL's OAPIF driver (`ogrinfo`, `ogr2ogr` from Debian's gdal-bin), and checked
against the store itself."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from typing import Any

import httpx
import pyogrio.raw
import pytest
import shapely

from server import PASSWORD, login, running, small_programme

DB: dict[str, Any] = {}


@pytest.fixture(scope="module")
def base(database_url: str) -> Iterator[str]:
    store = small_programme(database_url, {"officer": "im_officer", "observer": "observer"})
    DB["hazards"] = {s.record.id: s.record for s in store.records("hazard")}
    DB["released"] = {s.record.id: s.record for s in store.records("activity", counted_only=True)}
    DB["finds"] = {s.record.id: s.record for s in store.records("find")}
    store.close()
    with running(database_url) as b:
        yield b


def token(base: str, user: str) -> str:
    r = httpx.post(f"{base}/api/auth/token", data={"username": user, "password": PASSWORD})
    return r.json()["access_token"]


def layer(path) -> tuple[dict[str, list[Any]], list[Any]]:
    """A GeoPackage's one layer: its fields by name, and its geometries (Shapely)."""
    meta, _, wkb, values = pyogrio.raw.read(path)
    fields = {name: list(v) for name, v in zip(meta["fields"], values, strict=True)}
    return fields, list(shapely.from_wkb(wkb))


def gdal(base: str, user: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, GDAL_HTTP_HEADERS=f"Authorization: Bearer {token(base, user)}")
    env.pop("http_proxy", None), env.pop("https_proxy", None)
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)


def test_ogrinfo_lists_the_collections(base: str) -> None:
    info = gdal(base, "officer", "ogrinfo", "-ro", "-so", f"OAPIF:{base}/ogc")
    assert info.returncode == 0, info.stderr
    for layer in ("hazards", "released", "assets", "finds"):
        assert layer in info.stdout
    detail = gdal(base, "officer", "ogrinfo", "-ro", "-so", f"OAPIF:{base}/ogc", "hazards")
    assert detail.returncode == 0, detail.stderr
    assert f"Feature Count: {len(DB['hazards'])}" in detail.stdout


def test_ogr2ogr_copies_a_collection_whole(base: str, tmp_path) -> None:
    out = tmp_path / "hazards.gpkg"
    done = gdal(base, "officer", "ogr2ogr", "-f", "GPKG", str(out), f"OAPIF:{base}/ogc", "hazards", "-oo", "PAGE_SIZE=40")  # fmt: skip
    assert done.returncode == 0, done.stderr
    fields, geoms = layer(out)
    assert len(geoms) == len(DB["hazards"])  # paged by 40: every `next` link followed
    by_id = dict(zip(fields["id"], geoms, strict=True))
    assert set(by_id) == set(DB["hazards"])
    for rid, geom in list(by_id.items())[:50]:
        assert shapely.equals_exact(shapely.normalize(geom), shapely.normalize(DB["hazards"][rid].geometry), 1e-9)  # fmt: skip
    released = tmp_path / "released.gpkg"
    done = gdal(base, "officer", "ogr2ogr", "-f", "GPKG", str(released), f"OAPIF:{base}/ogc", "released")  # fmt: skip
    assert done.returncode == 0, done.stderr
    rf, _ = layer(released)
    assert set(rf["id"]) == set(DB["released"])
    for rid, category in zip(rf["id"], rf["category"], strict=True):
        assert category == DB["released"][rid].kind.release.value


def test_an_observer_gets_generalised_hazards(base: str, tmp_path) -> None:
    out = tmp_path / "observer.gpkg"
    done = gdal(base, "observer", "ogr2ogr", "-f", "GPKG", str(out), f"OAPIF:{base}/ogc", "hazards")  # fmt: skip
    assert done.returncode == 0, done.stderr
    _, geoms = layer(out)
    assert len(geoms) == len(DB["hazards"])
    assert {g.geom_type for g in geoms} == {"Point"}


def test_bbox_datetime_and_paging(base: str) -> None:
    some = list(DB["hazards"].values())[:5]
    w, s, e, n = shapely.total_bounds([h.geometry for h in some])
    window = shapely.box(w, s, e, n)
    expected = {rid for rid, h in DB["hazards"].items() if h.geometry.intersects(window)}
    dates = sorted(h.recorded_on for h in DB["hazards"].values())
    since, until = dates[len(dates) // 4], dates[len(dates) // 2]
    in_time = {rid for rid, h in DB["hazards"].items() if since <= h.recorded_on <= until}
    with login(base, "officer", PASSWORD) as c:
        got = c.get("/ogc/collections/hazards/items", params={"bbox": f"{w},{s},{e},{n}", "limit": 10_000})  # fmt: skip
        assert got.headers["content-type"].startswith("application/geo+json")
        assert {f["id"] for f in got.json()["features"]} == expected
        got = c.get("/ogc/collections/hazards/items", params={"datetime": f"{since}/{until}", "limit": 10_000})  # fmt: skip
        assert {f["id"] for f in got.json()["features"]} == in_time
        open_end = c.get("/ogc/collections/hazards/items", params={"datetime": f"{since}/..", "limit": 10_000})  # fmt: skip
        assert open_end.json()["numberMatched"] == sum(1 for d in dates if d >= since)
        seen, url, pages = [], "/ogc/collections/hazards/items?limit=30", 0
        while url:
            page = c.get(url).json()
            seen += [f["id"] for f in page["features"]]
            assert page["numberReturned"] == len(page["features"]) <= 30
            url = next((x["href"] for x in page["links"] if x["rel"] == "next"), None)
            pages += 1
        assert sorted(seen) == sorted(DB["hazards"]) and pages == -(-len(DB["hazards"]) // 30)
        one = next(iter(DB["finds"]))
        item = c.get(f"/ogc/collections/finds/items/{one}")
        assert item.status_code == 200 and item.json()["id"] == one
        assert c.get("/ogc/collections/finds/items/NOPE").status_code == 404
        assert c.get("/ogc/collections/nope/items").status_code == 404
        conf = c.get("/ogc/conformance").json()["conformsTo"]
        assert any(x.endswith("/conf/core") for x in conf) and any(x.endswith("/conf/geojson") for x in conf)  # fmt: skip
        landing = {x["rel"] for x in c.get("/ogc").json()["links"]}
        assert {"self", "service-desc", "conformance", "data"} <= landing


@pytest.mark.parametrize(
    "params",
    [
        {"bbox": "1,2,3"},
        {"bbox": "a,b,c,d"},
        {"bbox": "10,50,20,40"},
        {"datetime": "2026-13-01"},
        {"datetime": "2026-02-01/2026-01-01"},
        {"datetime": "a/b/c"},
    ],
)
def test_bad_parameters_are_400(base: str, params: dict[str, str]) -> None:
    with login(base, "officer", PASSWORD) as c:
        r = c.get("/ogc/collections/hazards/items", params=params)
        assert r.status_code == 400, r.text
        assert next(iter(params)) in r.json()["message"]


def test_no_token_no_data(base: str) -> None:
    assert httpx.get(f"{base}/ogc/collections/hazards/items").status_code == 401
    assert httpx.get(f"{base}/ogc/collections").status_code == 401


def test_an_observer_is_matched_on_the_point_it_is_shown(base: str) -> None:
    """A bbox finds an observer's hazards by the generalised point, so that no bbox can
    trace a polygon the observer may not see."""
    hazard = max(DB["hazards"].values(), key=lambda h: h.geometry.area)
    c = hazard.geometry.centroid
    px, py = round(c.x, 2), round(c.y, 2)
    with login(base, "observer", PASSWORD) as obs:
        near = obs.get("/ogc/collections/hazards/items", params={"bbox": f"{px - 1e-6},{py - 1e-6},{px + 1e-6},{py + 1e-6}", "limit": 10_000})  # fmt: skip
        assert hazard.id in {f["id"] for f in near.json()["features"]}
        _, s, e, n = hazard.geometry.bounds
        edge = (e - 1e-7, s, e, n)  # the polygon's east edge, away from its shown point
        assert not edge[0] <= px <= edge[2]
        got = obs.get("/ogc/collections/hazards/items", params={"bbox": ",".join(map(str, edge)), "limit": 10_000})  # fmt: skip
        assert hazard.id not in {f["id"] for f in got.json()["features"]}
    with login(base, "officer", PASSWORD) as off:  # who sees the polygon is matched on it
        got = off.get("/ogc/collections/hazards/items", params={"bbox": ",".join(map(str, edge)), "limit": 10_000})  # fmt: skip
        assert hazard.id in {f["id"] for f in got.json()["features"]}

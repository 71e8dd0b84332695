"""Vector tiles against a real uvicorn server on 127.0.0.1, over the reference scenario
(5%) in a real SQLite file: what a tile holds is checked against the store's own
records and Shapely, independently of the tile code, for each role."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import mapbox_vector_tile
import numpy as np
import pytest
import shapely

from clearfield import services
from clearfield.api.tiles import BUFFER, DOT_CELL, EXTENT, PIXEL
from clearfield.scenario import generate
from clearfield.stats import blocked_assets
from clearfield.store.base import Store
from clearfield.users import add_user
from server import running

DETAIL_Z = 12


PASSWORD = "tile test password"
_TOKENS: dict[tuple[str, str | None], str] = {}
_DB: dict[str, str] = {}  # server base URL -> its database URL


@pytest.fixture(scope="module")
def served(database_url: str) -> Iterator[tuple[str, Store]]:
    url = database_url
    store = services.open_store(url)
    scen = generate(scale=0.05, seed=1)
    services.import_features(store, scen.features, source="t", actor="t")
    with running(url) as base:
        _DB[base] = url
        yield base, store
    store.close()
    _TOKENS.clear()


# --- independent tile arithmetic (the slippy-map formulas, not the module's) ------------


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return int((lon + 180) / 360 * n), int(y)


def lonlat_box(z: int, x: int, y: int, pad: float = 0.0) -> tuple[float, float, float, float]:
    """The tile's (west, south, east, north), ``pad`` tile widths wider on each side."""
    n = 2**z

    def lat(row: float) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / n))))

    return (
        (x - pad) / n * 360 - 180,
        lat(y + 1 + pad),
        (x + 1 + pad) / n * 360 - 180,
        lat(y - pad),
    )


def grid_size(geom: Any, z: int) -> tuple[float, float]:
    """Width and height of a lon/lat geometry in tile grid units at zoom z."""
    w, s, e, n = geom.bounds

    def merc_y(lat: float) -> float:
        return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))

    units = EXTENT * 2**z
    return (e - w) / 360 * units, (merc_y(n) - merc_y(s)) / (2 * math.pi) * units


def grid_to_lonlat(c: np.ndarray, w: float, s: float, e: float, n: float) -> np.ndarray:
    """Decoded tile coordinates (y up) back to lon/lat: linear in Web Mercator."""

    def merc_y(lat: float) -> float:
        return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))

    my = merc_y(s) + c[:, 1] / EXTENT * (merc_y(n) - merc_y(s))
    lat = np.degrees(2 * np.arctan(np.exp(my)) - math.pi / 2)
    return np.column_stack((w + c[:, 0] / EXTENT * (e - w), lat))


def intersecting(store: Store, record_type: str, box: tuple[float, ...]) -> dict[str, Any]:
    return {s.record.id: s.record for s in store.records(record_type, bbox=box)}  # type: ignore[arg-type]


def get_tile(base: str, path: str, role: str = "admin", org: str | None = None) -> httpx.Response:
    """A tile as a real user of ``role`` (and ``org``) gets it, with a bearer token."""
    if (role, org) not in _TOKENS:
        name = f"{role}-{org or 'none'}"
        store = services.open_store(_DB[base])
        add_user(store, name, role, org, PASSWORD, actor="test")
        store.close()
        r = httpx.post(f"{base}/api/auth/token", data={"username": name, "password": PASSWORD})
        _TOKENS[(role, org)] = r.json()["access_token"]
    headers = {"Authorization": f"Bearer {_TOKENS[(role, org)]}"}
    return httpx.get(f"{base}/api/tiles/{path}", headers=headers, timeout=30)


def features(r: httpx.Response, layer: str) -> list[dict[str, Any]]:
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    assert r.headers["cache-control"] == "private, max-age=5"
    return list(mapbox_vector_tile.decode(r.content).get(layer, {}).get("features", []))


@pytest.fixture(scope="module")
def busiest(served: tuple[str, Store]) -> tuple[int, int, int]:
    """The detail-zoom tile with the most hazard centroids in it."""
    _, store = served
    hazards = store.records("hazard")
    counts = Counter(tile_of(h.record.geometry.centroid.x, h.record.geometry.centroid.y, DETAIL_Z) for h in hazards)  # fmt: skip
    (x, y), _ = counts.most_common(1)[0]
    return DETAIL_Z, x, y


# --- the tests --------------------------------------------------------------------------


def test_tile_rows_are_the_same_whichever_way_they_are_found(
    served: tuple[str, Store],
) -> None:
    """The store finds a tile's records through the R*Tree or by walking the type,
    whichever visits fewer boxes; both give every current record whose box touches."""
    _, store = served
    hazards = [h.record.geometry for h in store.records("hazard")]
    w, s, e, n = (float(v) for v in shapely.total_bounds(hazards))
    x, y = hazards[len(hazards) // 2].centroid.coords[0]
    small = (x - (e - w) / 10, y - (n - s) / 10, x + (e - w) / 10, y + (n - s) / 10)
    ways = set()
    for rtype in ("hazard", "asset"):
        expected_all = {
            r.record.id: r.record.geometry.bounds
            for r in store.records(rtype)
            if r.record.geometry is not None
        }
        for box in ((w, s, e, n), small):
            ways.add(store._rtree_is_shorter(rtype, box))
            got = sorted(row[0] for row in store.tile_rows(rtype, box))
            expected = sorted(
                rid
                for rid, b in expected_all.items()
                if b[2] >= box[0] and b[0] <= box[2] and b[3] >= box[1] and b[1] <= box[3]
            )
            assert got == expected and got, (rtype, box)
    assert ways == {True, False}  # both ways were taken


def test_hazards_are_those_intersecting_the_tile(
    served: tuple[str, Store], busiest: tuple[int, int, int]
) -> None:
    base, store = served
    z, x, y = busiest
    got = features(get_tile(base, f"hazards/{z}/{x}/{y}.pbf"), "hazards")
    ids = [f["properties"]["id"] for f in got]
    assert len(ids) == len(set(ids)) >= 2
    inside = intersecting(store, "hazard", lonlat_box(z, x, y))
    with_edge = intersecting(store, "hazard", lonlat_box(z, x, y, pad=BUFFER / EXTENT))
    # every hazard on the tile, and beyond it only those within the buffer at its edge
    assert set(inside) <= set(ids) <= set(with_edge)
    accounts = store.hazard_accounts()
    for f in got:
        p, rec = f["properties"], with_edge[f["properties"]["id"]]
        assert f["geometry"]["type"] in ("Polygon", "MultiPolygon")
        assert p["status"] == rec.status.value and p["organisation"] == rec.organisation
        assert p["review_status"] == rec.review_status.value
        assert p["remaining_m2"] == round(accounts[p["id"]]["remaining_m2"])
        xs, ys = zip(*shapely.get_coordinates(shapely.geometry.shape(f["geometry"])), strict=True)
        assert min(xs) >= -BUFFER and max(xs) <= EXTENT + BUFFER
        assert min(ys) >= -BUFFER and max(ys) <= EXTENT + BUFFER


def test_polygons_land_where_the_hazard_is(
    served: tuple[str, Store], busiest: tuple[int, int, int]
) -> None:
    """Decoded tile coordinates mapped back to lon/lat cover the hazard's own polygon."""
    base, store = served
    z, x, y = busiest
    w, s, e, n = lonlat_box(z, x, y)
    hazards = intersecting(store, "hazard", lonlat_box(z, x, y))
    for f in features(get_tile(base, f"hazards/{z}/{x}/{y}.pbf"), "hazards"):
        if f["properties"]["id"] not in hazards:
            continue
        tile_geom = shapely.geometry.shape(f["geometry"])
        lonlat = shapely.transform(tile_geom, lambda c: grid_to_lonlat(c, w, s, e, n))
        original = hazards[f["properties"]["id"]].geometry.intersection(shapely.box(w, s, e, n))
        # below the detail zoom outlines are simplified by a pixel, then snapped to the grid
        tol = (PIXEL + 2) * (e - w) / EXTENT
        assert lonlat.buffer(tol).covers(original)
        assert original.buffer(tol).covers(lonlat.intersection(shapely.box(w, s, e, n)))


def test_low_zoom_draws_hazards_under_a_pixel_as_dots(served: tuple[str, Store]) -> None:
    """Below the detail zoom a hazard of a pixel or more is its polygon; one under a
    pixel is a dot near its centre, one dot per few pixels, status and review status,
    whose ``count`` says how many it stands for: every hazard is drawn, once."""
    base, store = served
    z = 7
    hazards = list(store.records("hazard"))
    tiles = {
        tile_of(h.record.geometry.centroid.x, h.record.geometry.centroid.y, z) for h in hazards
    }
    dotted = 0
    for x, y in sorted(tiles):
        got = features(get_tile(base, f"hazards/{z}/{x}/{y}.pbf"), "hazards")
        polygons = {f["properties"]["id"] for f in got if f["geometry"]["type"] != "Point"}
        dots = [f for f in got if f["geometry"]["type"] == "Point"]
        inside = intersecting(store, "hazard", lonlat_box(z, x, y))
        with_edge = intersecting(store, "hazard", lonlat_box(z, x, y, pad=BUFFER / EXTENT))
        big = {i for i, rec in inside.items() if max(grid_size(rec.geometry, z)) >= PIXEL * 1.01}
        small = {i for i, rec in with_edge.items() if max(grid_size(rec.geometry, z)) < PIXEL * 0.99}  # fmt: skip
        assert big <= polygons <= set(with_edge), "a hazard of more than a pixel is not drawn"
        assert not (small & polygons), "a hazard of less than a pixel was drawn as a polygon"
        # each dot lies within its cell of the hazard it names, and has its status
        w, s, e, n = lonlat_box(z, x, y)
        for f in dots:
            p, rec = f["properties"], with_edge[f["properties"]["id"]]
            assert p["id"] not in big and p["count"] >= 1
            assert (p["status"], p["review_status"]) == (rec.status.value, rec.review_status.value)
            lonlat = grid_to_lonlat(np.array([f["geometry"]["coordinates"]], dtype=float), w, s, e, n)  # fmt: skip
            near = shapely.box(*rec.geometry.bounds).buffer(2 * DOT_CELL * (e - w) / EXTENT)
            assert near.contains(shapely.Point(lonlat[0]))
        # every small hazard of the tile is counted once, and no more than those at its edge
        counted = sum(f["properties"]["count"] for f in dots)
        small_inside = {i for i in small if i in inside}
        assert len(small_inside) <= counted <= len(set(with_edge) - polygons)
        dotted += counted
    assert dotted, "the scenario should have hazards under a pixel at zoom 7"


def test_assets_with_kind_damage_and_blocked(
    served: tuple[str, Store],
) -> None:
    base, store = served
    assets = list(store.records("asset"))
    z = 9
    x, y = Counter(tile_of(a.record.geometry.centroid.x, a.record.geometry.centroid.y, z) for a in assets).most_common(1)[0][0]  # fmt: skip
    got = features(get_tile(base, f"assets/{z}/{x}/{y}.pbf"), "assets")
    inside = intersecting(store, "asset", lonlat_box(z, x, y))
    with_edge = intersecting(store, "asset", lonlat_box(z, x, y, pad=BUFFER / EXTENT))
    ids = {f["properties"]["id"] for f in got}
    points = {i for i, a in inside.items() if a.geometry.geom_type == "Point"}
    assert points <= ids <= set(with_edge) and ids
    blocked = set(blocked_assets(store))
    for f in got:
        p, rec = f["properties"], with_edge[f["properties"]["id"]]
        assert (p["kind"], p["damage"]) == (rec.kind.value, rec.damage.value)
        assert p["blocked"] is (p["id"] in blocked)
    assert any(f["properties"]["blocked"] for f in got) or not (ids & blocked)


def test_released_land_is_the_approved_releases_by_category(
    served: tuple[str, Store],
) -> None:
    """The ``released`` layer: the approved (counted) release activities touching the
    tile, each with its category; a field lead gets their own organisation's."""
    base, store = served
    counted = [s.record for s in store.records("activity", counted_only=True)]
    assert counted, "the scenario should have approved releases"
    z = DETAIL_Z
    (x, y), _ = Counter(tile_of(a.geometry.centroid.x, a.geometry.centroid.y, z) for a in counted).most_common(1)[0]  # fmt: skip
    got = features(get_tile(base, f"released/{z}/{x}/{y}.pbf"), "released")
    inside = shapely.box(*lonlat_box(z, x, y))
    with_edge = shapely.box(*lonlat_box(z, x, y, pad=BUFFER / EXTENT))
    must = {a.id for a in counted if a.geometry.intersects(inside)}
    may = {a.id: a for a in counted if shapely.box(*a.geometry.bounds).intersects(with_edge)}
    ids = {f["properties"]["id"] for f in got}
    assert must <= ids <= set(may) and must
    for f in got:
        a = may[f["properties"]["id"]]
        assert f["properties"]["category"] == a.kind.release.value
        assert f["properties"]["organisation"] == a.organisation
    org = Counter(f["properties"]["organisation"] for f in got).most_common(1)[0][0]
    mine = features(get_tile(base, f"released/{z}/{x}/{y}.pbf", "field_lead", org), "released")
    assert {f["properties"]["id"] for f in mine} == {
        f["properties"]["id"] for f in got if f["properties"]["organisation"] == org
    }
    # what was never approved is not released
    never = {s.record.id for s in store.records("activity")} - {a.id for a in counted}
    assert not (ids & never)


def test_observers_never_get_a_hazard_polygon(
    served: tuple[str, Store], busiest: tuple[int, int, int]
) -> None:
    base, _ = served
    z, x, y = busiest
    for zoom, tx, ty in ((z, x, y), (z + 4, x * 16 + 8, y * 16 + 8), (7, x >> 5, y >> 5)):
        got = features(get_tile(base, f"hazards/{zoom}/{tx}/{ty}.pbf", "observer"), "hazards")
        assert all(f["geometry"]["type"] == "Point" for f in got)
        assert all(f["properties"]["generalised"] is True for f in got)
    assert features(get_tile(base, f"hazards/{z}/{x}/{y}.pbf", "observer"), "hazards")


def test_a_field_lead_sees_only_their_organisations_hazards(
    served: tuple[str, Store], busiest: tuple[int, int, int]
) -> None:
    base, _ = served
    z, x, y = busiest
    everyone = features(get_tile(base, f"hazards/{z}/{x}/{y}.pbf"), "hazards")
    orgs = Counter(f["properties"]["organisation"] for f in everyone)
    org = orgs.most_common(1)[0][0]
    assert len(orgs) >= 2, "the tile should hold hazards of several organisations"
    got = features(get_tile(base, f"hazards/{z}/{x}/{y}.pbf", "field_lead", org), "hazards")
    assert {f["properties"]["id"] for f in got} == {
        f["properties"]["id"] for f in everyone if f["properties"]["organisation"] == org
    }
    assert all(f["geometry"]["type"] in ("Polygon", "MultiPolygon") for f in got)


def test_an_empty_tile_is_a_valid_tile(served: tuple[str, Store]) -> None:
    base, _ = served
    assert features(get_tile(base, "hazards/10/0/0.pbf"), "hazards") == []
    assert features(get_tile(base, "assets/0/0/0.pbf"), "assets")  # the whole world


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("roads/5/0/0.pbf", 404, "NOT_FOUND"),
        ("hazards/23/0/0.pbf", 422, "INVALID_TILE"),
        ("hazards/-1/0/0.pbf", 422, "INVALID_TILE"),
        ("hazards/3/8/0.pbf", 422, "INVALID_TILE"),
        ("hazards/3/0/8.pbf", 422, "INVALID_TILE"),
        ("assets/3/-1/0.pbf", 422, "INVALID_TILE"),
        ("hazards/3/a/0.pbf", 422, None),
        ("hazards/3/0/0.5.pbf", 422, None),
    ],
)
def test_bad_tiles_are_refused_with_a_json_error(
    served: tuple[str, Store], path: str, status: int, code: str | None
) -> None:
    base, _ = served
    r = get_tile(base, path)
    assert r.status_code == status, r.text
    body = r.json()
    if code is not None:
        assert body["error"] == code and body["message"]
    else:
        assert body["detail"]  # FastAPI's own answer to a path that is not an integer

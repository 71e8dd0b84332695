"""Vector tile rendering at dashboard scale: the reference scenario at scale 10 (about
50,000 hazards, 10,000 assets) in a new SQLite file, and every tile a 1280×800 map of
512-pixel tiles (MapLibre's default for vector sources) requests around the centre of
the hazards at zooms 7, 9 and 11, rendered as the API renders them (``render_tile``,
without HTTP), for a planner (full polygons) and an observer (hazards as points).

Prints, per zoom, layer and role: tiles, tiles/s, total and largest tile bytes and
features; then the blocked-assets computation the router caches for 5 s. Usage:
    python bench/tiles.py [--scale 10] [--seed 1] [--database sqlite:///existing.db]
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path

import mapbox_vector_tile
import numpy as np

from clearfield import services
from clearfield.api.tiles import Tile, render_tile
from clearfield.domain.roles import Role
from clearfield.scenario import generate
from clearfield.stats import blocked_assets
from clearfield.store.sqlite import SQLiteStore
from clearfield.users import User

WIDTH, HEIGHT, TILE_PX = 1280, 800, 512
ZOOMS = (7, 9, 11)


def viewport(lon: float, lat: float, z: int) -> list[Tile]:
    """The tiles a WIDTH×HEIGHT map centred on (lon, lat) at zoom z needs."""
    n = 2**z
    cx = (lon + 180) / 360 * n * TILE_PX
    cy = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n * TILE_PX
    xs = range(int((cx - WIDTH / 2) // TILE_PX), int((cx + WIDTH / 2) // TILE_PX) + 1)
    ys = range(int((cy - HEIGHT / 2) // TILE_PX), int((cy + HEIGHT / 2) // TILE_PX) + 1)
    return [Tile.checked(z, x % n, y) for x in xs for y in ys if 0 <= y < n]


def build(url: str, scale: float, seed: int) -> None:
    t0 = time.perf_counter()
    scen = generate(scale=scale, seed=seed)
    store = services.open_store(url)
    services.import_features(store, scen.features, source="bench", actor="bench")
    store.set_programme(scen.metadata, actor="bench")
    store.close()
    print(
        f"built scale {scale:g}: {len(scen.features):,} features in {time.perf_counter() - t0:.0f} s"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=10.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--database", help="an existing database (skips building the scenario)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database or f"sqlite:///{Path(tmp) / 'tiles.db'}"
        if not args.database:
            build(url, args.scale, args.seed)
        store = SQLiteStore.open(url, create=False)
        hazards = store.count("SELECT COUNT(*) FROM hazard_account")
        centres = np.array(
            store.query(
                "SELECT (b.minx + b.maxx) / 2, (b.miny + b.maxy) / 2 FROM record_bbox b "
                "JOIN record_version v ON v.pk = b.pk AND v.is_current = 1 "
                "JOIN entity e ON e.pk = v.entity_pk AND e.record_type = 'hazard'"
            )
        )
        lon, lat = np.median(centres, axis=0)
        print(f"{len(centres):,} hazards ({hazards:,} approved); centre {lon:.3f}, {lat:.3f}")
        t0 = time.perf_counter()
        blocked = frozenset(blocked_assets(store))
        print(f"blocked assets: {len(blocked):,} in {time.perf_counter() - t0:.2f} s (cached 5 s)")
        users = {"planner": User("b", Role.PLANNER, None), "observer": User("b", Role.OBSERVER, None)}  # fmt: skip
        print(f"{'zoom':>4} {'layer':8} {'role':9} {'tiles':>5} {'tiles/s':>8} {'kB':>8} {'max kB':>7} {'features':>9}")  # fmt: skip
        for z in ZOOMS:
            tiles = viewport(lon, lat, z)
            for layer in ("hazards", "assets"):
                for role, user in users.items():
                    if layer == "assets" and role == "observer":
                        continue  # assets are the same for every role
                    for t in tiles[:1]:  # warm the page cache: a dashboard pans over warm pages
                        render_tile(store, layer, t, user, blocked)
                    t0 = time.perf_counter()
                    bodies = [render_tile(store, layer, t, user, blocked) for t in tiles]
                    dt = time.perf_counter() - t0
                    feats = sum(
                        len(mapbox_vector_tile.decode(b).get(layer, {}).get("features", []))
                        for b in bodies
                    )
                    sizes = [len(b) for b in bodies]
                    print(
                        f"{z:>4} {layer:8} {role:9} {len(tiles):>5} {len(tiles) / dt:>8.1f} "
                        f"{sum(sizes) / 1e3:>8.0f} {max(sizes) / 1e3:>7.0f} {feats:>9,}"
                    )
        store.close()


if __name__ == "__main__":
    main()

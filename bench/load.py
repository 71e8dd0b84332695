"""Load benchmark: mixed traffic from many clients on loopback, on either store.

A real server (``clearfield serve``, its own process) on 127.0.0.1 over the reference
scenario at a small scale, and ``--clients`` clients in threads of this process, each
doing what its kind of user does until ``--seconds`` have passed:

- a field team (one client in five) submits activities, each with its Idempotency-Key;
- a dashboard (two in five) reads statistics, a page of hazards in a map window,
  personnel, the OGC API's hazards, its own user;
- a map (two in five) fetches the vector tiles of a 1280×800 view (hazards, assets,
  released land) at zooms 9 to 13 around a random hazard.

Prints, per kind and in all: requests, requests/s, p50/p99 latency, errors (a 5xx or a
failed connection; a 4xx is counted apart and must be none), and the submissions
accepted against the records stored: none may be lost. Bounded in time and in count
(``--max-requests``), and it stops by itself.

    python bench/load.py [--seconds 300] [--clients 50] [--postgis WORKERS] [--scale 0.1]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))  # the tests' server helpers
sys.path.insert(0, str(Path(__file__).parent))

PASSWORD = "load-bench-password-7"
LAYERS = ("hazards", "assets", "released")


class Tally:
    """Latencies and outcomes per kind of request, shared by the client threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.codes: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        self.accepted: set[str] = set()
        self.count = 0

    def add(self, kind: str, seconds: float, code: int) -> None:
        with self.lock:
            self.latency[kind].append(seconds)
            self.codes[kind][code] += 1

    def take(self, cap: int) -> bool:
        """One more request, unless ``cap`` have been made."""
        with self.lock:
            self.count += 1
            return self.count <= cap


def _reads(hazards: list[dict[str, Any]], rng: random.Random) -> str:
    lon, lat = rng.choice(hazards)["centre"]
    window = f"{lon - 0.05},{lat - 0.05},{lon + 0.05},{lat + 0.05}"
    return rng.choice(
        [
            "/api/stats",
            f"/api/records/hazard?bbox={window}&limit=200",
            "/api/personnel",
            f"/ogc/collections/hazards/items?bbox={window}&limit=50",
            "/api/me",
            "/api/extent",
        ]
    )


def _tiles(hazards: list[dict[str, Any]], rng: random.Random) -> list[str]:
    from tiles import viewport

    lon, lat = rng.choice(hazards)["centre"]
    z = rng.randint(9, 13)
    return [f"/api/tiles/{layer}/{t.z}/{t.x}/{t.y}.pbf" for t in viewport(lon, lat, z) for layer in LAYERS]  # fmt: skip


def client(
    base: str,
    token: str,
    kind: str,
    until: float,
    tally: Tally,
    cap: int,
    hazards: list[dict[str, Any]],
    bodies: list[tuple[str, bytes]],
    seed: int,
) -> None:
    rng = random.Random(seed)
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60) as c:
        while time.monotonic() < until:
            if kind == "field":
                if not bodies:
                    return
                rid, body = bodies.pop()
                paths = [("POST", "/api/records", body, rid)]
            elif kind == "dashboard":
                paths = [("GET", _reads(hazards, rng), None, None)]
            else:
                paths = [("GET", p, None, None) for p in _tiles(hazards, rng)]
            for method, path, body, rid in paths:
                if time.monotonic() >= until or not tally.take(cap):
                    return
                t0 = time.perf_counter()
                try:
                    headers = {"Idempotency-Key": rid} if rid else {}
                    r = c.request(method, path, content=body, headers=headers)
                    code = r.status_code
                except httpx.TransportError:
                    code = 0
                tally.add(kind, time.perf_counter() - t0, code)
                if rid and code == 200:
                    with tally.lock:
                        tally.accepted.add(rid)


def _summary(name: str, latency: list[float], codes: dict[int, int], seconds: float) -> dict[str, Any]:  # fmt: skip
    q = statistics.quantiles(latency, n=100) if len(latency) >= 2 else [latency[0] if latency else 0.0] * 99  # fmt: skip
    return {
        "kind": name,
        "requests": len(latency),
        "per_s": round(len(latency) / seconds, 1),
        "p50_ms": round(q[49] * 1000, 1),
        "p99_ms": round(q[98] * 1000, 1),
        "errors": sum(n for c, n in codes.items() if c == 0 or c >= 500),
        "client_errors": sum(n for c, n in codes.items() if 400 <= c < 500),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    from clearfield import services
    from clearfield.scenario import generate
    from clearfield.users import add_user
    from server import serving_process
    from traffic import activity_bodies

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=300)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--scale", type=float, default=0.1)
    ap.add_argument("--max-requests", type=int, default=2_000_000)
    ap.add_argument("--postgis", type=int, metavar="WORKERS", default=0, help="the PostGIS store (a throwaway server) and this many server processes")  # fmt: skip
    ap.add_argument("--database", help="load the scenario into this empty database (sqlite:/// or postgresql://) instead of a throwaway one")  # fmt: skip
    args = ap.parse_args(argv)
    with contextlib.ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory())
        url = args.database or f"sqlite:///{Path(tmp) / 'load.db'}"
        options: tuple[str, ...] = ()
        if args.postgis:
            options = ("--workers", str(args.postgis))
            if not args.database:
                from conftest import postgres_url
                from pg import PostgresCluster

                url = postgres_url(stack.enter_context(PostgresCluster()).new_database("load"))
        store = services.open_store(url)
        scen = generate(scale=args.scale, seed=1)
        services.import_features(store, scen.features, source="load", actor="load")
        add_user(store, "officer", "im_officer", None, PASSWORD, actor="load")
        store.close()
        hazards = []
        for f in scen.features:
            if f["properties"]["record_type"] == "hazard":
                ring = f["geometry"]["coordinates"][0]
                if f["geometry"]["type"] == "MultiPolygon":
                    ring = ring[0]
                hazards.append({"centre": (sum(p[0] for p in ring) / len(ring), sum(p[1] for p in ring) / len(ring))})  # fmt: skip
        per_field_client = int(args.seconds * 20) + 10  # more than one client can send
        kinds = ["field", "dashboard", "dashboard", "tiles", "tiles"]
        tally = Tally()
        with serving_process(url, *options) as base:
            r = httpx.post(f"{base}/api/auth/token", data={"username": "officer", "password": PASSWORD}, timeout=30)  # fmt: skip
            token = r.json()["access_token"]
            threads = []
            until = time.monotonic() + args.seconds
            t0 = time.perf_counter()
            for i in range(args.clients):
                kind = kinds[i % len(kinds)]
                bodies = activity_bodies(scen.features, f"LOAD-{i:03d}", per_field_client) if kind == "field" else []  # fmt: skip
                bodies.reverse()  # (popped from the end: sent in id order)
                threads.append(threading.Thread(target=client, args=(base, token, kind, until, tally, args.max_requests, hazards, bodies, i)))  # fmt: skip
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=args.seconds + 120)
            wall = time.perf_counter() - t0
        store = services.open_store(url)
        with store.engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT record_id FROM entity WHERE record_id LIKE 'LOAD-%'"
            )
            stored = {r[0] for r in rows}
        store.close()
    kinds_rows = [_summary(k, tally.latency[k], tally.codes[k], wall) for k in ("field", "dashboard", "tiles")]  # fmt: skip
    every = [x for k in tally.latency for x in tally.latency[k]]
    codes: dict[int, int] = defaultdict(int)
    for k in tally.codes:
        for c, n in tally.codes[k].items():
            codes[c] += n
    total = _summary("all", every, codes, wall)
    result = {
        "store": f"postgis, {args.postgis} processes" if args.postgis else "sqlite",
        "clients": args.clients,
        "seconds": round(wall, 1),
        "kinds": kinds_rows,
        "all": total,
        "accepted": len(tally.accepted),
        "stored": len(stored),
        "lost": len(tally.accepted - stored),
        "codes": dict(sorted(codes.items())),
    }
    print(json.dumps(result))
    for row in [*kinds_rows, total]:
        print(
            f"{row['kind']:>9}: {row['requests']:>7} requests, {row['per_s']:>7}/s, p50 {row['p50_ms']} ms, "
            f"p99 {row['p99_ms']} ms, errors {row['errors']}, 4xx {row['client_errors']}"
        )
    print(f"submissions accepted {result['accepted']}, stored {result['stored']}, lost {result['lost']}")  # fmt: skip
    return result


if __name__ == "__main__":
    main()

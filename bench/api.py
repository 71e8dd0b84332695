"""API benchmark: sustained submissions per second and their latency, on loopback only.

A real server (`clearfield serve`, its own process) on 127.0.0.1 over the embedded
store (the reference scenario at a small scale), and N clients in threads of this
process each sending single-feature submissions
(an activity of a field team, with its Idempotency-Key), then the same number of
requests to a trivial endpoint of the same app (`/api/health`) as the peer. Prints
submissions/s, p50/p99 latency, the ratio to the trivial endpoint, and checks that
nothing was lost (records in the database = accepted answers).

Target (issue 4): >= 300 submissions/s with p99 < 250 ms on 2 cores, none lost.

    python bench/api.py [--requests 2000] [--clients 32] [--postgis WORKERS]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))  # the tests' server helpers


def _run(base: str, token: str, bodies: list[bytes | None], clients: int) -> tuple[list[float], list[int]]:  # fmt: skip
    lat: list[float] = []
    codes: list[int] = []
    lock = threading.Lock()
    nxt = iter(range(len(bodies)))

    def worker() -> None:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as c:  # fmt: skip
            while True:
                with lock:
                    i = next(nxt, None)
                if i is None:
                    return
                t0 = time.perf_counter()
                body = bodies[i]
                if body is None:
                    r = c.get("/api/health")
                else:
                    r = c.post("/api/records", content=body, headers={"Idempotency-Key": f"bench-{i}"})  # fmt: skip
                dt = time.perf_counter() - t0
                with lock:
                    lat.append(dt)
                    codes.append(r.status_code)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return lat, codes


def main(argv: list[str] | None = None) -> dict:
    from clearfield import services
    from clearfield.scenario import generate
    from clearfield.users import add_user
    from server import serving_process
    from traffic import activity_bodies

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument(
        "--postgis",
        type=int,
        metavar="WORKERS",
        default=0,
        help="the PostGIS store (a throwaway server) and this many server processes",
    )
    args = ap.parse_args(argv)
    with contextlib.ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory())
        options: tuple[str, ...] = ()
        url = f"sqlite:///{Path(tmp) / 'api.db'}"
        if args.postgis:
            from conftest import postgres_url
            from pg import PostgresCluster

            pg = stack.enter_context(PostgresCluster())
            url = postgres_url(pg.new_database("bench"))
            options = ("--workers", str(args.postgis))
        store = services.open_store(url)
        scen = generate(scale=0.1, seed=1)
        services.import_features(store, scen.features, source="bench", actor="bench")
        add_user(store, "lead", "im_officer", None, "bench-password-1", actor="bench")
        store.close()
        bodies: list[bytes | None] = [b for _, b in activity_bodies(scen.features, "ACT-BENCH", args.requests)]  # fmt: skip
        with serving_process(url, *options) as base:
            token = httpx.post(f"{base}/api/auth/token", data={"username": "lead", "password": "bench-password-1"}).json()["access_token"]  # fmt: skip
            t0 = time.perf_counter()
            lat, codes = _run(base, token, bodies, args.clients)
            wall = time.perf_counter() - t0
            t0 = time.perf_counter()
            lat0, _ = _run(base, token, [None] * args.requests, args.clients)
            wall0 = time.perf_counter() - t0
        store = services.open_store(url)
        stored = int(store.count("SELECT COUNT(*) FROM entity WHERE record_id LIKE 'ACT-BENCH-%'"))
        store.close()
    q = statistics.quantiles(lat, n=100)
    q0 = statistics.quantiles(lat0, n=100)
    accepted = sum(1 for c in codes if c == 200)
    result = {
        "store": f"postgis, {args.postgis} processes" if args.postgis else "sqlite",
        "requests": args.requests,
        "clients": args.clients,
        "submissions_per_s": round(args.requests / wall, 1),
        "p50_ms": round(q[49] * 1000, 1),
        "p99_ms": round(q[98] * 1000, 1),
        "trivial_per_s": round(args.requests / wall0, 1),
        "trivial_p50_ms": round(q0[49] * 1000, 1),
        "trivial_p99_ms": round(q0[98] * 1000, 1),
        "ratio_to_trivial": round((args.requests / wall) / (args.requests / wall0), 3),
        "accepted": accepted,
        "stored": stored,
        "lost": accepted - stored,
        "errors": sorted({c for c in codes if c != 200}),
    }
    print(json.dumps(result))
    print(
        f"submissions: {result['submissions_per_s']}/s (target >= 300), p50 {result['p50_ms']} ms, "
        f"p99 {result['p99_ms']} ms (target < 250); trivial endpoint {result['trivial_per_s']}/s; "
        f"ratio {result['ratio_to_trivial']}; accepted {accepted}, stored {stored}, lost {result['lost']}"
    )
    return result


if __name__ == "__main__":
    main()

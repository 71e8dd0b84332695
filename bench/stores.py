"""The two stores side by side at 10× the reference scenario: SQLite against PostGIS.

Builds the scenario at ``--scale`` (10: about 50,000 hazards, 150,000 release
activities) and, into a new SQLite file and a new database of a throwaway PostgreSQL
15 + PostGIS server on 127.0.0.1 (tests/pg.py), measures in one run:

- import: ``import_features`` of the whole scenario (validation, versions, quality
  checks, box index, audit log, every land release account);
- accounting: ``refresh_accounts`` (every hazard's account recomputed from the stored
  geometries: by the domain's Shapely accounting on every core for SQLite, inside
  PostGIS in one SQL statement for PostgreSQL) and ``programme_stats`` over the kept
  accounts;
- a spatial read: current hazards in a window of a tenth of the region;
- and that both give the same statistics and the same account for each hazard (within
  0.01% of its area), and PostGIS's own geodesic areas (``ST_Area(geography)``) of the
  hazards equal Clearfield's.

Prints a JSON line of figures and the PostGIS ÷ SQLite time ratios.

    python bench/stores.py [--scale 10]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))  # tests/pg.py: the server


def _time(fn):  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def _measure(url: str, features: list, metadata: dict) -> dict:
    from clearfield import services
    from clearfield.stats import programme_stats

    store = services.open_store(url)
    _, t_import = _time(lambda: services.import_features(store, features, source="bench", actor="bench"))  # fmt: skip
    store.set_programme(metadata, actor="bench")
    _, t_refresh = _time(store.refresh_accounts)
    stats, t_stats = _time(lambda: programme_stats(store))
    hazards = [s.record.geometry for s in store.records("hazard")]
    import shapely

    w, s, e, n = (float(v) for v in shapely.total_bounds(hazards))
    window = (w, s, w + (e - w) / math.sqrt(10), s + (n - s) / math.sqrt(10))
    inside, t_window = _time(lambda: sum(1 for _ in store.records("hazard", bbox=window)))
    areas = dict(store.query("SELECT e.record_id, v.area_m2 FROM record_version v JOIN entity e ON e.pk = v.entity_pk WHERE e.record_type = 'hazard' AND v.is_current = 1"))  # fmt: skip
    accounts = store.hazard_accounts()
    store.close()
    return {
        "import_s": round(t_import, 1),
        "records_per_s": round(len(features) / t_import),
        "refresh_accounts_s": round(t_refresh, 2),
        "stats_s": round(t_stats, 2),
        "window_hazards": inside,
        "window_s": round(t_window, 3),
        "_stats": stats,
        "_areas": areas,
        "_accounts": accounts,
    }


def main(argv: list[str] | None = None) -> dict:
    from clearfield.scenario import generate
    from conftest import postgres_url
    from pg import PostgresCluster

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=10.0)
    args = ap.parse_args(argv)
    scen = generate(scale=args.scale, seed=1)
    out: dict = {"scale": args.scale, "records": len(scen.features)}
    with tempfile.TemporaryDirectory() as tmp, PostgresCluster() as pg:
        sqlite = _measure(f"sqlite:///{Path(tmp) / 'bench.db'}", scen.features, scen.metadata)
        pg_url = postgres_url(pg.new_database("bench"))
        postgis = _measure(pg_url, scen.features, scen.metadata)
        with pg.connect("bench") as conn:
            st_area = dict(
                conn.execute(
                    "SELECT e.record_id, ST_Area(v.geom::geography) FROM record_version v "
                    "JOIN entity e ON e.pk = v.entity_pk "
                    "WHERE e.record_type = 'hazard' AND v.is_current = 1"
                ).fetchall()
            )
    worst = max(abs(st_area[k] - v) / v for k, v in postgis["_areas"].items())
    a, b = sqlite.pop("_stats"), postgis.pop("_stats")
    differ = max(
        abs(a["released_m2"][c] - b["released_m2"][c]) / max(a["released_m2"][c], 1.0)
        for c in a["released_m2"]
    )
    differ = max(differ, abs(a["remaining_m2"] - b["remaining_m2"]) / a["remaining_m2"])
    sqlite.pop("_areas"), postgis.pop("_areas")
    ours, theirs = sqlite.pop("_accounts"), postgis.pop("_accounts")
    assert ours.keys() == theirs.keys()
    per_hazard = max(
        abs(ours[h][f] - theirs[h][f]) / ours[h]["hazard_m2"] for h in ours for f in ours[h]
    )
    out.update(
        sqlite=sqlite,
        postgis=postgis,
        ratio_postgis_to_sqlite={
            k: round(postgis[k] / sqlite[k], 2)
            for k in ("import_s", "refresh_accounts_s", "stats_s", "window_s")
            if sqlite[k]
        },
        stats_largest_relative_difference=differ,
        account_largest_difference_of_hazard_area=per_hazard,
        st_area_vs_clearfield_largest_relative_difference=worst,
    )
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()

"""Shared test geometries and feature factories (GeoJSON dicts in EPSG:4326)."""

from __future__ import annotations

import math
import subprocess
import sys
from typing import Any

import shapely
from shapely import box

X0, Y0 = 33.5, 47.8  # inside the reference region
square = box(X0, Y0, X0 + 0.01, Y0 + 0.01)  # about 0.83 km²
polygon_with_hole = shapely.Polygon(
    square.exterior.coords,
    [box(X0 + 0.004, Y0 + 0.004, X0 + 0.006, Y0 + 0.006).exterior.coords],
)
multi_polygon = shapely.MultiPolygon([square, box(X0 + 0.02, Y0, X0 + 0.03, Y0 + 0.01)])
bow_tie = {
    "type": "Polygon",
    "coordinates": [[[X0, Y0], [X0 + 0.01, Y0 + 0.01], [X0 + 0.01, Y0], [X0, Y0 + 0.01], [X0, Y0]]],
}


def gj(geom: Any) -> dict[str, Any] | None:
    """A Shapely geometry as a GeoJSON mapping with lists (as a file would hold)."""
    if geom is None:
        return None
    import json

    return json.loads(shapely.to_geojson(geom))


def feature(record_type: str, geometry: Any = None, **props: Any) -> dict[str, Any]:
    return {
        "type": "Feature",
        "properties": {"record_type": record_type, **props},
        "geometry": geometry if isinstance(geometry, dict | None) else gj(geometry),
    }


def organisation(id: str = "ORG-1", **kw: Any) -> dict[str, Any]:
    return feature("organisation", None, id=id, **{"name": "Demining NGO", "kind": "ngo", **kw})


def team(id: str = "TM-1", **kw: Any) -> dict[str, Any]:
    props = {"organisation": "ORG-1", "kind": "manual", "personnel": 8, **kw}
    return feature("team", shapely.Point(X0, Y0), id=id, **props)


def hazard(id: str = "HA-1", geom: Any = square, **kw: Any) -> dict[str, Any]:
    props = {
        "name": f"Hazard {id}",
        "status": "SHA",
        "contamination": ["ap_mine"],
        "land_use": "agricultural",
        "organisation": "ORG-1",
        "district": "North",
        "recorded_on": "2025-01-10",
        "indirect_evidence": ["fighting reported"],
        **kw,
    }
    return feature("hazard", geom, id=id, **props)


def activity(id: str, geom: Any, kind: str = "clearance", **kw: Any) -> dict[str, Any]:
    props = {
        "hazard_id": "HA-1",
        "kind": kind,
        "organisation": "ORG-1",
        "team": "TM-1",
        "start_date": "2025-03-01",
        "end_date": "2025-03-20",
        "status": "approved",
        **kw,
    }
    return feature("activity", geom, id=id, **props)


def base_programme() -> list[dict[str, Any]]:
    return [organisation(), team(), hazard()]


def dump(store: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of a store's database, in key order: to show that a
    refused write left nothing behind, on either store."""
    from sqlalchemy import inspect

    out = {}
    with store.engine.connect() as conn:
        for table in sorted(inspect(conn).get_table_names()):
            if table.startswith(("record_bbox_", "spatial_ref_sys")):  # R*Tree shadow, PostGIS
                continue
            rows = conn.exec_driver_sql(f"SELECT * FROM {table}").all()
            out[table] = sorted((tuple(r) for r in rows), key=repr)
    return out


def same_figures(a: Any, b: Any, rel: float = 1e-9) -> bool:
    """Nested figures equal, floats within ``rel`` (two databases sum in their own order)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_figures(a[k], b[k], rel) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(same_figures(x, y, rel) for x, y in zip(a, b, strict=True))  # fmt: skip
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(a, b, rel_tol=rel, abs_tol=1e-9)
    return bool(a == b)


def cf(env: dict[str, str], *args: Any, ok: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the real ``clearfield`` command in a subprocess; ``ok``: it must succeed."""
    proc = subprocess.run(
        [sys.executable, "-m", "clearfield", *map(str, args)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if ok:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc

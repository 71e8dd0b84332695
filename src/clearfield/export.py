"""Exports an IM officer hands on: GeoPackage for QGIS, GeoJSON, XLSX for Excel.

Each holds the current version of every record, one layer or sheet per record type,
with the review status, version and (for hazards) the land release account. A
GeoPackage or GeoJSON export imports back into Clearfield unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import shapely

from clearfield.domain.parse import record_properties
from clearfield.domain.records import RECORD_TYPES
from clearfield.io import FileError
from clearfield.store.base import Store, StoredRecord

__all__ = ["FORMATS", "export", "stored_properties"]

FORMATS = (".gpkg", ".geojson", ".xlsx")
Progress = Callable[[str, int, int], None]


def _rows(
    store: Store, record_type: str, personal_data: bool, accounts: dict[str, Any]
) -> Iterator[tuple[dict[str, Any], Any]]:
    for s in store.records(record_type):
        yield stored_properties(s, personal_data, accounts), s.record.geometry


def stored_properties(
    s: StoredRecord, personal_data: bool, accounts: dict[str, Any]
) -> dict[str, Any]:
    """A stored record as file properties: version, area, account; names of casualties
    only with ``personal_data``."""
    props = record_properties(s.record)
    props.pop("record_type")
    props["version"] = s.version
    if s.area_m2 is not None:
        props["area_m2"] = round(s.area_m2, 2)
    if not personal_data and "casualties" in props:
        for c in props["casualties"]:
            c.pop("name", None)
    if s.is_counted:  # the account belongs to the counted version, not a pending one
        props.update({k: round(v, 2) for k, v in accounts.get(s.record.id, {}).items()})
    return props


def export(
    store: Store,
    path: Path,
    *,
    personal_data: bool = True,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Write every record type's current records to ``path`` (format by suffix); return counts."""
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise FileError(f"cannot export to {suffix!r}; use {', '.join(FORMATS)}", record=str(path))
    if not path.parent.is_dir():
        raise FileError(f"folder {path.parent} does not exist", record=str(path))
    if path.exists():
        path.unlink()
    accounts = store.hazard_accounts()
    counts: dict[str, int] = {}
    layers: dict[str, tuple[list[dict[str, Any]], list[Any]]] = {}
    for n, rtype in enumerate(RECORD_TYPES):
        if progress:
            progress(f"reading {rtype}", n, len(RECORD_TYPES))
        rows, geoms = [], []
        for row, geom in _rows(store, rtype, personal_data, accounts if rtype == "hazard" else {}):
            rows.append(row)
            geoms.append(geom)
        counts[rtype] = len(rows)
        layers[rtype] = (rows, geoms)
    if suffix == ".gpkg":
        from clearfield.io.gpkg import write_layer

        meta = {k: v for k, v in store.programme().items() if not k.startswith("context.")}
        for rtype, (rows, geoms) in layers.items():
            if rows:
                write_layer(path, rtype, rows, geoms, metadata=meta)
    elif suffix == ".geojson":
        from clearfield.io.geojson import write_geojson

        feats = [
            {
                "type": "Feature",
                "properties": {"record_type": rtype, **row},
                "geometry": None if g is None else shapely.geometry.mapping(g),
            }
            for rtype, (rows, geoms) in layers.items()
            for row, g in zip(rows, geoms, strict=True)
        ]
        meta = {k: v for k, v in store.programme().items() if not k.startswith("context.")}
        write_geojson(path, feats, programme=meta)
    else:
        from clearfield.io.xlsx import write_xlsx
        from clearfield.stats import programme_stats

        write_xlsx(path, layers, programme_stats(store), store.programme())
    if progress:
        progress("written", len(RECORD_TYPES), len(RECORD_TYPES))
    return counts

"""GeoPackage: one layer per record type, as QGIS and GDAL's ``ogrinfo`` open it.

Written and read with pyogrio (GDAL). Layers in another CRS are reprojected to
EPSG:4326 with pyproj on read. List values (contamination, evidence, casualties)
are stored as JSON text, so a GeoPackage export imports back unchanged.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pyogrio
import pyogrio.raw
import shapely
from pyproj import CRS, Transformer

from clearfield.io import FileError, json_lists, programme_metadata


def read_gpkg(path: Path) -> tuple[list[Any], dict[str, str]]:
    """Features of every record layer; layers whose name is not a record type are skipped."""
    from clearfield.domain.records import RECORD_TYPES

    try:
        layers = [name for name, _ in pyogrio.list_layers(path)]
    except Exception as exc:  # GDAL raises its own types for a broken file
        # (without GDAL's advice to name a driver: this reader names it already)
        reason = str(exc).split("; It might help")[0].rstrip(".")
        raise FileError(f"not a readable GeoPackage: {reason}", record=str(path)) from None
    order = {t: i for i, t in enumerate(RECORD_TYPES)}
    features: list[Any] = []
    for layer in sorted((n for n in layers if n in order), key=order.__getitem__):
        meta, _, geoms, fields = pyogrio.raw.read(path, layer=layer, datetime_as_string=True)
        geoms = _to_wgs84(geoms, meta.get("crs"), path)
        names = list(meta["fields"])
        for k in range(len(geoms) if geoms is not None else len(fields[0]) if fields else 0):
            props: dict[str, Any] = {"record_type": layer}
            for name, column in zip(names, fields, strict=True):
                value = _plain(column[k])
                if value is not None:
                    props[name] = value
            geom = None if geoms is None or geoms[k] is None else shapely.geometry.mapping(geoms[k])
            features.append({"type": "Feature", "properties": props, "geometry": json_lists(geom)})
    if not features:
        raise FileError(
            "no layer named after a record type (hazard, activity, ...)", record=str(path)
        )
    meta = pyogrio.read_info(path, layer=layers[0]).get("dataset_metadata")
    return features, programme_metadata(meta)


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _to_wgs84(wkb: Any, crs: str | None, path: Path) -> Any:
    if wkb is None:
        return None
    geoms = shapely.from_wkb(wkb)
    if crs is None or CRS.from_user_input(crs).equals(CRS.from_epsg(4326)):
        return geoms
    try:
        tr = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    except Exception as exc:
        raise FileError(f"cannot reproject from {crs}: {exc}", record=str(path)) from None
    return shapely.transform(geoms, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))


def _plain(value: Any) -> Any:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def write_layer(
    path: Path,
    layer: str,
    rows: list[dict[str, Any]],
    geoms: list[Any],
    metadata: dict[str, str] | None = None,
) -> None:
    """Append one layer: ``rows`` are flat property dicts, ``geoms`` Shapely geometries or None.

    ``metadata`` (the programme's name, whether its data are synthetic) is written to the
    GeoPackage's own metadata with the first layer.
    """
    columns: list[str] = []
    for row in rows:
        for key in row:
            if key not in columns:
                columns.append(key)
    data = []
    for col in columns:
        values = [_cell(row.get(col)) for row in rows]
        kinds = {type(v) for v in values if v is not None}
        if kinds <= {int} and kinds:
            arr = np.array([np.nan if v is None else v for v in values], dtype=float)
            if not any(v is None for v in values):
                arr = np.array(values, dtype=np.int64)
        elif kinds <= {int, float} and kinds:
            arr = np.array([np.nan if v is None else v for v in values], dtype=float)
        elif kinds == {str} and all(v is None or _ISO_DATE.fullmatch(v) for v in values):
            # a real Date column, so that QGIS filters and sorts it as dates
            arr = np.array(["NaT" if v is None else v for v in values], dtype="datetime64[D]")
        else:
            arr = np.array([None if v is None else str(v) for v in values], dtype=object)
        data.append(arr)
    has_geom = any(g is not None for g in geoms)
    kinds = {g.geom_type for g in geoms if g is not None}
    gtype = kinds.pop() if len(kinds) == 1 else "Unknown"
    pyogrio.raw.write(
        path,
        geometry=shapely.to_wkb(np.asarray(geoms, dtype=object)) if has_geom else None,
        field_data=data,
        fields=columns,
        layer=layer,
        driver="GPKG",
        geometry_type=gtype if has_geom else None,
        crs="EPSG:4326" if has_geom else None,
        append=path.exists(),
        dataset_metadata=None if path.exists() else metadata,
        # GeoPackage 1.3: what the GDAL and QGIS of today's Debian and Windows installs read
        # without a warning (pyogrio's own GDAL would write 1.4)
        dataset_options=None if path.exists() else {"VERSION": "1.3"},
    )


def _cell(value: Any) -> Any:
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return int(value)
    return value

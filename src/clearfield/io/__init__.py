"""Files in and out: GeoJSON, GeoPackage, CSV with WKT, XLSX. Records cross as feature dicts.

Every reader returns a list of GeoJSON-like feature mappings in EPSG:4326, so one
import path (``services.import_features``) validates all formats alike.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from clearfield.errors import ClearfieldError

__all__ = ["FileError", "json_lists", "read_features", "read_programme"]


class FileError(ClearfieldError):
    """A file that cannot be read as a whole (not JSON, not a FeatureCollection, unknown format)."""

    code = "BAD_FILE"


def json_lists(geometry: Any) -> Any:
    """A GeoJSON mapping with lists for tuples (Shapely's ``mapping`` gives tuples; files,
    and the geometry checks, have JSON arrays)."""
    if isinstance(geometry, tuple | list):
        return [json_lists(g) for g in geometry]
    if isinstance(geometry, dict):
        return {k: json_lists(v) for k, v in geometry.items()}
    return geometry


def read_programme(path: Path) -> dict[str, str]:
    """The programme metadata a Clearfield export carries (name, whether synthetic), if any."""
    suffix = path.suffix.lower()
    try:
        if suffix in (".geojson", ".json"):
            import orjson

            meta = orjson.loads(path.read_bytes()).get("programme")
        elif suffix == ".gpkg":
            import pyogrio

            layers = pyogrio.list_layers(path)
            meta = (
                pyogrio.read_info(path, layer=layers[0][0]).get("dataset_metadata")
                if len(layers)
                else None
            )
        else:
            meta = None
    except Exception:  # not ours to judge here: read_features names what is wrong with the file
        return {}
    return {str(k): str(v) for k, v in meta.items()} if isinstance(meta, dict) else {}


def read_features(path: Path) -> list[Any]:
    """Read the features of a GeoJSON, GeoPackage or CSV (WKT) file, by its suffix."""
    suffix = path.suffix.lower()
    if not path.exists():
        raise FileError("no such file", record=str(path))
    if suffix in (".geojson", ".json"):
        from clearfield.io.geojson import read_geojson

        return read_geojson(path)
    if suffix == ".gpkg":
        from clearfield.io.gpkg import read_gpkg

        return read_gpkg(path)
    if suffix == ".csv":
        from clearfield.io.csv_wkt import read_csv

        return read_csv(path)
    raise FileError(f"unknown file type {suffix!r}; use .geojson, .gpkg or .csv", record=str(path))

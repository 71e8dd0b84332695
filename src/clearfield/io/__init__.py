"""Files in and out: GeoJSON, GeoPackage, CSV with WKT, XLSX. Records cross as feature dicts.

Every reader returns a list of GeoJSON-like feature mappings in EPSG:4326, so one
import path (``services.import_features``) validates all formats alike.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from clearfield.errors import ClearfieldError

__all__ = ["FileError", "json_lists", "read_features", "read_file"]


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


def read_features(path: Path) -> list[Any]:
    """Read the features of a GeoJSON, GeoPackage or CSV (WKT) file, by its suffix."""
    return read_file(path)[0]


def read_file(path: Path) -> tuple[list[Any], dict[str, str]]:
    """The features of a file and the programme metadata it carries (a Clearfield export's
    name and synthetic mark), read in one pass."""
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

        return read_csv(path), {}
    raise FileError(f"unknown file type {suffix!r}; use .geojson, .gpkg or .csv", record=str(path))


def programme_metadata(meta: Any) -> dict[str, str]:
    """Metadata as plain text pairs; anything that is not a mapping carries none."""
    return {str(k): str(v) for k, v in meta.items()} if isinstance(meta, dict) else {}

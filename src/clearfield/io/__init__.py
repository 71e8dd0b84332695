"""Files in and out: GeoJSON, GeoPackage, CSV with WKT, XLSX. Records cross as feature dicts.

Every reader returns a list of GeoJSON-like feature mappings in EPSG:4326, so one
import path (``services.import_features``) validates all formats alike. (A GeoJSON
file's geometries stay as their text, a
:class:`clearfield.domain.polygon_arrays.GeometryText`, which the import reads
faster than decoded lists; ``GeometryText.decoded()`` gives the mapping.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from clearfield.errors import ClearfieldError

__all__ = ["FileError", "json_lists", "read_features", "read_file", "read_submissions"]


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


def read_submissions(path: Path) -> list[Any] | None:
    """The field submissions of a KoboToolbox or ODK Central export (its JSON, OData JSON,
    CSV or CSV zip), or None when the file is not one (a GeoJSON, GeoPackage, WKT CSV).

    Told apart by the first 64 KB: a whole programme's GeoJSON is not parsed twice.
    """
    suffix = path.suffix.lower()
    if not path.exists() or suffix not in (".json", ".csv", ".zip"):
        return None
    from clearfield.io.odk import from_central_csv, from_odata, kobo_list

    if suffix == ".zip":
        return from_central_csv(path)
    with path.open("rb") as f:
        head = f.read(65536).decode("utf-8", "replace")
    if suffix == ".csv":
        header = head.splitlines()[0] if head else ""
        columns = {c.strip().strip('"') for c in header.split(",")}
        return from_central_csv(path) if {"SubmissionDate", "KEY"} <= columns else None
    squeezed = head.replace(" ", "")
    if '"type":"FeatureCollection"' in squeezed or '"type":"Feature"' in squeezed:
        return None
    if "@odata.context" in head:
        return from_odata(_json(path))
    if "meta/instanceID" in head or '"_uuid"' in head:
        return kobo_list(_json(path))
    return None


def _json(path: Path) -> Any:
    import orjson

    try:
        return orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise FileError(f"not JSON ({exc})", record=str(path)) from None


def programme_metadata(meta: Any) -> dict[str, str]:
    """Metadata as plain text pairs; anything that is not a mapping carries none."""
    return {str(k): str(v) for k, v in meta.items()} if isinstance(meta, dict) else {}

"""GeoJSON FeatureCollections in EPSG:4326 (RFC 7946), read and written."""

from __future__ import annotations

import json
import mmap
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import msgspec
import orjson

from clearfield.bulk import collector_paused
from clearfield.domain.polygon_arrays import GeometryText
from clearfield.io import FileError, programme_metadata

MAX_BYTES = 2 * 1024**3


def read_geojson(path: Path) -> tuple[list[Any], dict[str, str]]:
    """The features of a FeatureCollection and its ``programme`` member; a file-level fault
    raises :class:`FileError`.

    A feature's geometry is left as its text (:class:`GeometryText`), from which a plain
    polygon is built faster than from decoded lists, when the file is a FeatureCollection
    of feature objects in plain JSON; otherwise the file is decoded whole (and NaN or
    Infinity, which some exporters write, are read for the geometry check to name)."""
    with path.open("rb") as f:
        try:
            # mapped, not read: reading copies the whole file into fresh memory first,
            # which took longer than parsing it (4 s of a 280 MB file's 6). (A file cut
            # short by another program while it is parsed ends the process (SIGBUS)
            # instead of failing the read: a file is imported once it is written.)
            view = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        except (ValueError, OSError):  # empty, or not a regular file (a pipe)
            doc = _parse(f.read(), path)
        else:
            with view, memoryview(view) as data:
                doc = _parse(data, path)
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        found = doc.get("type") if isinstance(doc, dict) else type(doc).__name__
        raise FileError(f"not a GeoJSON FeatureCollection (found {found!r})", record=str(path))
    crs = doc.get("crs")
    if crs is not None:
        name = str((crs.get("properties") or {}).get("name", "")) if isinstance(crs, dict) else ""
        if not name.endswith(("CRS84", "4326")):
            raise FileError(
                f"coordinates must be in EPSG:4326 (lon, lat); this file declares {name or crs!r}."
                " Reproject it, or import it as a GeoPackage, which Clearfield reprojects",
                record=str(path),
            )
    features = doc.get("features")
    if not isinstance(features, list):
        raise FileError("a FeatureCollection needs a 'features' array", record=str(path))
    return features, programme_metadata(doc.get("programme"))


class _Feature(msgspec.Struct):
    type: Any = None
    properties: Any = None
    geometry: msgspec.Raw = msgspec.Raw(b"null")


class _Collection(msgspec.Struct):
    features: list[_Feature]
    type: Any = None
    crs: Any = None
    programme: Any = None


_COLLECTION = msgspec.json.Decoder(_Collection)
_NULL = b"null"


def _parse(data: bytes | memoryview, path: Path) -> Any:
    try:  # (the geometries' text is copied: it must not keep the file's memory map open)
        with collector_paused():
            doc = _COLLECTION.decode(data)
            features = [
                {
                    "type": f.type,
                    "properties": f.properties,
                    "geometry": g if (g := GeometryText(f.geometry)) != _NULL else None,
                }
                for f in doc.features
            ]
            doc.features = []
        return {"type": doc.type, "crs": doc.crs, "programme": doc.programme, "features": features}
    except (msgspec.DecodeError, msgspec.ValidationError):
        pass  # not that shape: decoded whole, as any JSON
    try:
        with collector_paused():
            return orjson.loads(data)
    except orjson.JSONDecodeError:
        text = bytes(data)
        if not text.strip():
            raise FileError("the file is empty", record=str(path)) from None
        # NaN and Infinity are not JSON, but some exporters write them: read them so that
        # the geometry check can name the feature, instead of failing the whole file here.
        try:
            return json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise FileError(f"not valid JSON: {exc}", record=str(path)) from None
        except RecursionError:
            raise FileError("not valid JSON: nested too deeply", record=str(path)) from None


def write_geojson(path: Path, features: Iterable[dict[str, Any]], **members: Any) -> int:
    """Write a FeatureCollection; return the number of features."""
    feats = list(features)
    doc = {"type": "FeatureCollection", **members, "features": feats}
    path.write_bytes(orjson.dumps(doc, option=orjson.OPT_SERIALIZE_NUMPY))
    return len(feats)

"""CSV with a WKT ``geometry`` column in EPSG:4326: what spreadsheets and IMSMA exports give.

Columns are the import fields of DESIGN.md; list values are separated by ``;``; an
empty cell is no value. Numbers and dates stay text here and are read by the domain.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

import shapely

from clearfield.io import FileError, json_lists


def read_csv(path: Path) -> list[Any]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileError(f"not UTF-8 text: {exc}", record=str(path)) from None
    rows = list(csv.DictReader(text.splitlines()))
    if not rows:
        raise FileError("the file has no rows", record=str(path))
    if "record_type" not in rows[0]:
        raise FileError("a CSV import needs a record_type column", record=str(path))
    features = []
    for n, row in enumerate(rows, 1):
        wkt = (row.pop("geometry", None) or "").strip()
        geometry: Any = None
        if wkt:
            try:
                geometry = shapely.geometry.mapping(shapely.from_wkt(wkt))
            except shapely.errors.GEOSException as exc:
                # keep the row so the import names it; an unreadable geometry is its fault
                geometry = {"type": None, "error": f"WKT cannot be read: {_wkt_fault(exc)}"}
        props = {k: v for k, v in row.items() if k is not None and v not in (None, "")}
        if None in row:
            raise FileError(f"row {n} has more cells than the header", record=str(path))
        features.append({"type": "Feature", "properties": props, "geometry": json_lists(geometry)})
    return features


def _wkt_fault(exc: Exception) -> str:
    """GEOS's reason, said as a field team would look for it in the cell."""
    text = str(exc).removeprefix("ParseException: ")
    if "end of stream" in text:
        return "it ends before the geometry does (a closing parenthesis or a coordinate missing?)"
    if m := re.fullmatch(r"Unknown type: '(.*)'", text):
        return f"{m[1]!r} is not a geometry type (POINT, LINESTRING, POLYGON, MULTIPOLYGON, ...)"
    if m := re.fullmatch(r"Expected number but encountered (?:word: )?'?(.*?)'?", text):
        return f"{m[1]!r} stands where a coordinate should"
    return text

"""XLSX: a summary sheet, then one sheet per record type, geometries as WKT."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import shapely
from openpyxl import Workbook

EXCEL_CELL_LIMIT = 32_767


def write_xlsx(
    path: Path,
    layers: dict[str, tuple[list[dict[str, Any]], list[Any]]],
    summary: dict[str, Any],
    programme: dict[str, str],
) -> None:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("summary")
    for key in ("programme", "region", "synthetic"):
        if key in programme and key not in summary:  # (the figures say whether synthetic)
            ws.append([key, programme[key]])
    ws.append([])
    for key, value in _flatten(summary):
        ws.append([key, value])
    for rtype, (rows, geoms) in layers.items():
        if not rows:
            continue
        sheet = wb.create_sheet(rtype)
        columns: list[str] = []
        for row in rows:
            columns += [k for k in row if k not in columns]
        sheet.append([*columns, "geometry_wkt"])
        for row, geom in zip(rows, geoms, strict=True):
            wkt = shapely.to_wkt(geom, rounding_precision=7) if geom is not None else None
            if wkt and len(wkt) > EXCEL_CELL_LIMIT:
                wkt = "(geometry too large for a spreadsheet cell; see the GeoPackage export)"
            sheet.append([_cell(row.get(c)) for c in columns] + [wkt])
    wb.save(path)


def _cell(value: Any) -> Any:
    if isinstance(value, list | dict):
        if all(isinstance(v, str) for v in value):
            return "; ".join(value)
        return json.dumps(value, ensure_ascii=False)
    return value


def _flatten(d: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for k, v in d.items():
        if isinstance(v, dict):
            out += _flatten(v, f"{prefix}{k}.")
        else:
            out.append((f"{prefix}{k}", v))
    return out

"""CSV with WKT: an unreadable geometry cell is named in a field team's words."""

from __future__ import annotations

from clearfield.io.csv_wkt import read_csv


def test_unreadable_wkt_says_what_is_wrong_in_the_cell(tmp_path) -> None:
    path = tmp_path / "hazards.csv"
    path.write_text(
        "record_type,id,geometry\n"
        'hazard,H1,"POLYGON ((33.74 47.8, 33.75 47.8, 33.75"\n'
        'hazard,H2,"POLYGN ((0 0, 1 0, 1 1, 0 0))"\n'
        'hazard,H3,"POLYGON ((0 0, 1 0, x 1, 0 0))"\n'
        'hazard,H4,"POLYGON ((0 0, 1 0, 1 1, 0 0))"\n',
        encoding="utf-8",
    )
    errors = [(f["geometry"] or {}).get("error") for f in read_csv(path)]
    assert errors == [
        "WKT cannot be read: it ends before the geometry does (a closing parenthesis or a "
        "coordinate missing?)",
        "WKT cannot be read: 'POLYGN' is not a geometry type (POINT, LINESTRING, POLYGON, "
        "MULTIPOLYGON, ...)",
        "WKT cannot be read: 'x' stands where a coordinate should",
        None,
    ]

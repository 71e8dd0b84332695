"""A whole programme exported and imported again loses nothing: every record of every
type, as its current version, in a GeoPackage (one layer per record type), GeoJSON or
XLSX export read back into a new store."""

from __future__ import annotations

import pytest
import shapely

from clearfield import services
from clearfield.export import export
from clearfield.scenario import generate


def _records(store) -> dict[tuple[str, str], object]:
    from clearfield.domain.records import RECORD_TYPES

    out = {}
    for rtype in RECORD_TYPES:
        for s in store.records(rtype):
            out[(rtype, s.record.id)] = s.record
    return out


@pytest.mark.parametrize("suffix", [".gpkg", ".geojson"])
def test_a_programme_goes_out_and_back_unchanged(store, tmp_path, suffix) -> None:
    scen = generate(scale=0.02, seed=6)
    services.import_features(store, scen.features, source="scenario", actor="t")
    store.set_programme(scen.metadata, actor="t")
    path = tmp_path / f"programme{suffix}"
    export(store, path)
    back = services.open_store(f"sqlite:///{tmp_path / 'back.db'}")
    try:
        from clearfield.io import read_file

        features, _ = read_file(path)
        services.import_features(back, features, source=str(path), actor="t")
        ours, theirs = _records(store), _records(back)
        assert ours.keys() == theirs.keys()
        kinds = {k[0] for k in ours}
        assert {"hazard", "activity", "find", "accident", "asset", "project", "daily_report", "pledge"} <= kinds  # fmt: skip
        for key, rec in ours.items():
            other = theirs[key]
            for name in rec.__dataclass_fields__:
                a, b = getattr(rec, name), getattr(other, name)
                if name == "geometry" and a is not None:
                    assert shapely.equals_exact(a, b, 1e-12), key
                else:
                    assert a == b, (key, name, a, b)
    finally:
        back.close()

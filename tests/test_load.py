"""The load benchmark's short run, on each store: mixed traffic (field submissions,
dashboard reads, vector tiles) from ten clients for a few seconds against a real server
on 127.0.0.1 (two processes on PostgreSQL). No request fails or is refused, and every
accepted submission is stored: none lost. ``bench/load.py`` runs the long version."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "bench"))

import load


def test_mixed_traffic_is_served_and_nothing_is_lost(store_url: str) -> None:
    workers = ["--postgis", "2"] if store_url.startswith("postgresql") else []
    result = load.main(["--seconds", "8", "--clients", "10", "--scale", "0.02", "--database", store_url, *workers])  # fmt: skip
    kinds = {k["kind"]: k for k in result["kinds"]}
    assert all(kinds[k]["requests"] > 0 for k in ("field", "dashboard", "tiles")), kinds
    assert result["all"]["errors"] == 0 and result["all"]["client_errors"] == 0, result["codes"]
    assert result["accepted"] == kinds["field"]["requests"] > 0
    assert result["lost"] == 0 and result["stored"] == result["accepted"]

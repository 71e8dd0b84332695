"""Field traffic for the crash tests and the load benchmarks: submissions a team would
send, built from a scenario's own hazards and teams."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["activity_bodies"]


def activity_bodies(features: list[dict[str, Any]], prefix: str, n: int) -> list[tuple[str, bytes]]:  # fmt: skip
    """``n`` one-activity submissions ``(id, body)``: non-technical surveys of the
    scenario's hazards, in turn, by its first team, ids ``{prefix}-00000`` on."""
    hazards = [f for f in features if f["properties"]["record_type"] == "hazard"]
    team = next(f for f in features if f["properties"]["record_type"] == "team")
    out = []
    for i in range(n):
        h = hazards[i % len(hazards)]
        rid = f"{prefix}-{i:06d}"
        props = {
            "record_type": "activity",
            "id": rid,
            "hazard_id": h["properties"]["id"],
            "kind": "nts",
            "organisation": team["properties"]["organisation"],
            "team": team["properties"]["id"],
            "start_date": "2026-11-01",
            "end_date": "2026-11-02",
            "status": "submitted",
        }
        body = {"type": "Feature", "properties": props, "geometry": h["geometry"]}
        out.append((rid, json.dumps(body).encode()))
    return out

"""Stored records as GeoJSON features for one user: what their role may see of them.

One place for the rules, served alike by ``/api/records`` and the OGC API: a field lead
sees their own organisation's records only, personal data goes to the roles that need
it, and a hazard's polygon to the roles that work on hazards (the others get a point
generalised to about a kilometre).
"""

from __future__ import annotations

import json
from typing import Any

import shapely

from clearfield.domain.roles import sees_full_hazards, sees_personal_data, sees_record
from clearfield.export import stored_properties
from clearfield.users import User

__all__ = ["record_feature", "visible"]


def visible(user: User, rec: Any) -> bool:
    """May this user see this record at all?"""
    return sees_record(user.role, user.organisation, getattr(rec, "organisation", None))


def record_feature(user: User, s: Any, accounts: dict[str, Any]) -> dict[str, Any]:
    """A stored record (``StoredRecord``) as the Feature this user may see."""
    props = stored_properties(s, sees_personal_data(user.role), accounts)
    props["id"] = s.record.id
    props["review_status"] = s.record.review_status.value
    geom = s.record.geometry
    if geom is not None and s.record.RECORD_TYPE == "hazard" and not sees_full_hazards(user.role):
        c = geom.centroid  # generalised: about a kilometre, never the polygon
        geom = shapely.Point(round(c.x, 2), round(c.y, 2))
        props["generalised"] = True
    return {
        "type": "Feature",
        "id": s.record.id,
        "properties": props,
        "geometry": None if geom is None else json.loads(shapely.to_geojson(geom)),
    }

"""OGC API - Features (Part 1: Core, GeoJSON) at ``/ogc``, so QGIS, ArcGIS and GDAL read
Clearfield directly.

Four collections: ``hazards`` (current versions, as the reader's role may see them:
polygons for the roles that work on hazards, a generalised point for the others, a
field lead's own organisation only), ``released`` (approved land release activities,
by category), ``assets`` and ``finds``. Items take ``bbox`` (CRS84), ``datetime`` (an
instant or an interval, on each record's date of information), ``limit`` and
``offset``; a page that is not the last links to the ``next``. The same bearer tokens
as the rest of the API (``GDAL_HTTP_HEADERS="Authorization: Bearer ..."``; in QGIS, an
"API header" authentication).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlencode

import shapely
from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse
from shapely.geometry import shape

from clearfield.api.params import parse_bbox
from clearfield.api.record_features import record_feature, visible
from clearfield.domain.enums import ActivityKind
from clearfield.domain.roles import Forbidden, check, sees_full_hazards
from clearfield.errors import BadParameter, NotFound
from clearfield.store.base import Store, StoredRecord
from clearfield.users import User

__all__ = ["COLLECTIONS", "CONFORMANCE", "add_ogc"]

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
GEOJSON = "application/geo+json"
MAX_LIMIT = 10_000


@dataclass(frozen=True, slots=True)
class Collection:
    id: str
    title: str
    description: str
    record_type: str
    counted_only: bool = False  # approved versions only (released land)


COLLECTIONS = {
    c.id: c
    for c in (
        Collection(
            "hazards",
            "Hazardous areas",
            "Suspected and confirmed hazardous areas (current versions), with their land "
            "release account; generalised to a point for roles that do not work on them.",
            "hazard",
        ),
        Collection(
            "released",
            "Released land",
            "Approved land release activities: land cancelled by non-technical survey, "
            "reduced by technical survey, cleared by clearance (category, end date).",
            "activity",
            counted_only=True,
        ),
        Collection(
            "assets",
            "Infrastructure assets",
            "Damaged infrastructure (roads, bridges, power, water, schools, hospitals, "
            "housing) and its condition.",
            "asset",
        ),
        Collection(
            "finds",
            "Explosive ordnance finds",
            "Explosive ordnance found, by category, and what was done with it.",
            "find",
        ),
    )
}


def add_ogc(app: FastAPI, store: Store, current_user: Any) -> None:
    router = APIRouter(prefix="/ogc", tags=["OGC API - Features"])

    @router.get("")
    def landing(request: Request, user: User = Depends(current_user)) -> JSONResponse:
        """The landing page: links to the API's description, conformance and data."""
        base = _base(request)
        return _json(
            {
                "title": "Clearfield",
                "description": "Mine action and reconstruction records (OGC API - Features).",
                "links": [
                    _link(f"{base}/ogc", "self", "application/json", "this document"),
                    _link(
                        f"{base}/openapi.json",
                        "service-desc",
                        "application/vnd.oai.openapi+json;version=3.0",
                        "the API definition",
                    ),
                    _link(f"{base}/docs", "service-doc", "text/html", "the API documentation"),
                    _link(
                        f"{base}/ogc/conformance",
                        "conformance",
                        "application/json",
                        "conformance classes",
                    ),
                    _link(f"{base}/ogc/collections", "data", "application/json", "the collections"),
                ],
            }
        )

    @router.get("/conformance")
    def conformance(user: User = Depends(current_user)) -> JSONResponse:
        return _json({"conformsTo": CONFORMANCE})

    @router.get("/collections")
    def collections(request: Request, user: User = Depends(current_user)) -> JSONResponse:
        check(user.role, "read")
        base = _base(request)
        return _json(
            {
                "links": [_link(f"{base}/ogc/collections", "self", "application/json")],
                "collections": [_collection(store, c, base) for c in COLLECTIONS.values()],
            }
        )

    @router.get("/collections/{cid}")
    def collection(cid: str, request: Request, user: User = Depends(current_user)) -> JSONResponse:
        check(user.role, "read")
        return _json(_collection(store, _known(cid), _base(request)))

    @router.get("/collections/{cid}/items")
    def items(
        cid: str,
        request: Request,
        bbox: str | None = Query(None, description="minx,miny,maxx,maxy in CRS84"),
        datetime_: str | None = Query(
            None, alias="datetime", description="an instant, or an interval a/b (.. open)"
        ),
        limit: int = Query(100, ge=1, le=MAX_LIMIT),
        offset: int = Query(0, ge=0),
        user: User = Depends(current_user),
    ) -> JSONResponse:
        """The collection's features as GeoJSON, filtered and paged."""
        check(user.role, "read")
        c = _known(cid)
        box = parse_bbox(bbox, across_antimeridian=True)
        since, until = _interval(datetime_)
        accounts = store.hazard_accounts() if c.record_type == "hazard" else {}
        # a role shown generalised hazards is matched on the point it is shown, never on
        # the polygon it may not see (a bbox would otherwise trace the polygon's edges)
        shown_as_point = c.record_type == "hazard" and not sees_full_hazards(user.role)
        window = shapely.box(*box) if box and shown_as_point else None
        matched, page = 0, []
        for s in _records(store, c, None if shown_as_point else box):
            d = s.record.info_date
            if since is not None and (d is None or d < since):
                continue
            if until is not None and (d is None or d > until):
                continue
            if not visible(user, s.record):
                continue
            f = None
            if window is not None:
                f = record_feature(user, s, accounts)
                if f["geometry"] is None or not shapely.intersects(shape(f["geometry"]), window):
                    continue
            if offset <= matched < offset + limit:  # only the page is kept
                page.append(_item(c, f or record_feature(user, s, accounts)))
            matched += 1
        base = _base(request)
        here = f"{base}/ogc/collections/{cid}/items"
        params = {k: v for k, v in request.query_params.items() if k != "offset"}
        links = [
            _link(f"{here}?{urlencode({**params, 'offset': offset})}", "self", GEOJSON),
            _link(f"{base}/ogc/collections/{cid}", "collection", "application/json"),
        ]
        if offset + limit < matched:
            links.append(_link(f"{here}?{urlencode({**params, 'offset': offset + limit})}", "next", GEOJSON))  # fmt: skip
        if offset > 0:
            links.append(_link(f"{here}?{urlencode({**params, 'offset': max(0, offset - limit)})}", "prev", GEOJSON))  # fmt: skip
        return _json(
            {
                "type": "FeatureCollection",
                "features": page,
                "numberMatched": matched,
                "numberReturned": len(page),
                "timeStamp": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
                "links": links,
            },
            GEOJSON,
        )

    @router.get("/collections/{cid}/items/{fid}")
    def item(cid: str, fid: str, request: Request, user: User = Depends(current_user)) -> JSONResponse:  # fmt: skip
        check(user.role, "read")
        c = _known(cid)
        history = store.history(c.record_type, fid)  # NotFound: 404
        current = next((s for s in history if (s.is_counted if c.counted_only else s.is_current)), None)  # fmt: skip
        if current is None:
            raise NotFound(f"no feature {fid!r} in {cid}")
        if not visible(user, current.record):
            raise Forbidden("a field_lead sees their own organisation's records only")
        accounts = store.hazard_accounts() if c.record_type == "hazard" else {}
        base = _base(request)
        body = _item(c, record_feature(user, current, accounts))
        body["links"] = [
            _link(f"{base}/ogc/collections/{cid}/items/{fid}", "self", GEOJSON),
            _link(f"{base}/ogc/collections/{cid}", "collection", "application/json"),
        ]
        return _json(body, GEOJSON)

    app.include_router(router)


def _records(store: Store, c: Collection, box: tuple[float, float, float, float] | None) -> Iterator[StoredRecord]:  # fmt: skip
    return store.records(c.record_type, bbox=box, counted_only=c.counted_only)


def _item(c: Collection, feature: dict[str, Any]) -> dict[str, Any]:
    kind = feature["properties"].get("kind")
    if c.id == "released" and kind in _RELEASE:  # released land says how it was released
        feature["properties"]["category"] = _RELEASE[kind]
    return feature


_RELEASE = {k.value: k.release.value for k in ActivityKind}


def _collection(store: Store, c: Collection, base: str) -> dict[str, Any]:
    extent = store.extent_sample()
    if extent:
        xs, ys = [p[0] for p in extent], [p[1] for p in extent]
        spatial = [[min(xs), min(ys), max(xs), max(ys)]]
    else:
        spatial = [[-180.0, -90.0, 180.0, 90.0]]
    here = f"{base}/ogc/collections/{c.id}"
    return {
        "id": c.id,
        "title": c.title,
        "description": c.description,
        "itemType": "feature",
        "crs": [CRS84],
        "extent": {
            "spatial": {"bbox": spatial, "crs": CRS84},
            "temporal": {"interval": [[None, None]]},
        },
        "links": [
            _link(here, "self", "application/json"),
            _link(f"{here}/items", "items", GEOJSON, c.title),
        ],
    }


def _known(cid: str) -> Collection:
    if cid not in COLLECTIONS:
        raise NotFound(f"no collection {cid!r}; one of {', '.join(COLLECTIONS)}")
    return COLLECTIONS[cid]


def _interval(text: str | None) -> tuple[date | None, date | None]:
    """An RFC 3339 instant or interval (``a/b``, ``../b``, ``a/..``), as dates."""
    if text is None:
        return None, None
    parts = text.split("/")
    if len(parts) > 2:
        raise BadParameter(f"datetime {text!r} is not an instant or an interval a/b", record="datetime")  # fmt: skip
    ends = [_instant(p, text) for p in parts]
    if len(ends) == 1:
        return ends[0], ends[0]
    since, until = ends
    if since is not None and until is not None and since > until:
        raise BadParameter(f"datetime {text!r} ends before it starts", record="datetime")
    return since, until


def _instant(part: str, text: str) -> date | None:
    if part in ("..", ""):
        return None
    try:
        if len(part) == 10:
            return date.fromisoformat(part)
        return datetime.fromisoformat(part.replace("Z", "+00:00")).date()
    except ValueError:
        raise BadParameter(f"datetime {text!r}: {part!r} is not an RFC 3339 date or time", record="datetime") from None  # fmt: skip


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _link(href: str, rel: str, kind: str, title: str | None = None) -> dict[str, str]:
    link = {"href": href, "rel": rel, "type": kind}
    if title:
        link["title"] = title
    return link


def _json(body: dict[str, Any], media_type: str = "application/json") -> JSONResponse:
    return JSONResponse(body, media_type=media_type)

"""Bad input over HTTP: every case is a 4xx that names the field or the record, and the
database holds, row for row, what it held before.

Two corpora, against a real server on 127.0.0.1 on each store:

- every GeoJSON file of ``tests/data/bad`` (the import corpus the CLI refuses), sent as
  one submission to ``POST /api/records``: the same fault is refused the same way, and
  the answer's ``faults`` carry the field ``EXPECTED.json`` names;
- :data:`CASES`, the faults only an API meets: bodies that are not JSON or nested a
  thousand deep, NaN and Infinity, a body over the limit, injection strings in paths
  and parameters, parameters of the wrong type or out of range, dates out of order,
  another organisation's records, reviews of what cannot be reviewed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from clearfield import services
from clearfield.config import DEFAULT_MAX_BODY
from clearfield.ingest import new_ingest_key
from clearfield.users import add_user
from common import dump
from server import PASSWORD, login, running

BAD = Path(__file__).parent / "data" / "bad"
BASE = Path(__file__).parent / "data" / "good" / "base.geojson"
EXPECTED: dict[str, list[str]] = json.loads((BAD / "EXPECTED.json").read_text(encoding="utf-8"))
# (the API takes a single Feature: a field app sends one record at a time)
FILES = sorted(n for n in EXPECTED if n.endswith(".geojson") and n != "file_single_feature.geojson")
USERS = {"officer": ("im_officer", None), "lead": ("field_lead", "ORG-A"), "observer": ("observer", None)}  # fmt: skip
INGEST_KEY: dict[str, str] = {}


@dataclass(frozen=True)
class Case:
    """One bad request: who sends it, what, the statuses allowed, what the answer names."""

    name: str
    method: str
    path: str
    user: str | None = "officer"
    body: bytes | None = None
    params: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    status: tuple[int, ...] = (400, 422)
    names: tuple[str, ...] = ()  # substrings the answer must contain (the field, the record)
    ingest: bool = False  # HTTP Basic with ORG-A's ingest key instead of a user's token


def _feature(record_type: str, rid: str, geometry: Any, **props: Any) -> dict[str, Any]:
    return {"type": "Feature", "geometry": geometry, "properties": {"record_type": record_type, "id": rid, **props}}  # fmt: skip


SQUARE = {"type": "Polygon", "coordinates": [[[30.0, 48.0], [30.001, 48.0], [30.001, 48.001], [30.0, 48.001], [30.0, 48.0]]]}  # fmt: skip
ACTIVITY = {
    "organisation": "ORG-A",
    "hazard_id": "HA-1",
    "kind": "clearance",
    "team": "TM-A1",
    "start_date": "2025-05-01",
    "end_date": "2025-05-03",
    "status": "submitted",
}


def _activity(rid: str, **props: Any) -> bytes:
    return json.dumps(_feature("activity", rid, SQUARE, **{**ACTIVITY, **props})).encode()


def _raw(text: str) -> bytes:
    return text.encode()


INJECTIONS = (
    "' OR '1'='1",
    "1; DROP TABLE entity; --",
    '" OR 1=1 --',
    "HA-1' UNION SELECT * FROM app_user --",
    "../../../../etc/passwd",
    "..%2F..%2Fetc%2Fpasswd",
    "%00",
    "$(touch /tmp/pwned)",
    "<script>alert(1)</script>",
    "{{7*7}}",
)

# fmt: off
CASES: list[Case] = [
    # bodies that are not a submission
    Case("body not json", "POST", "/api/records", body=b"{not json"),
    Case("body empty", "POST", "/api/records", body=b""),
    Case("body null", "POST", "/api/records", body=b"null"),
    Case("body number", "POST", "/api/records", body=b"123"),
    Case("body string", "POST", "/api/records", body=b'"hazard"'),
    Case("body empty array", "POST", "/api/records", body=b"[]"),
    Case("body array of features", "POST", "/api/records", body=b'[{"type": "Feature"}]'),
    Case("body invalid utf-8", "POST", "/api/records", body=b'{"type": "Feature", "properties": {"name": "\xff\xfe"}}'),
    Case("body xml", "POST", "/api/records", body=b"<FeatureCollection/>", headers={"Content-Type": "application/xml"}),
    Case("body nested 100000 deep", "POST", "/api/records", body=b"[" * 100_000 + b"]" * 100_000),
    Case("properties nested 5000 deep", "POST", "/api/records", body=b'{"type": "Feature", "properties": ' + b'{"a": ' * 5000 + b"1" + b"}" * 5001),
    Case("feature without type", "POST", "/api/records", body=b'{"properties": {"record_type": "hazard"}}'),
    Case("collection features object", "POST", "/api/records", body=b'{"type": "FeatureCollection", "features": {}}'),
    Case("NaN literal", "POST", "/api/records", body=_raw('{"type": "Feature", "geometry": {"type": "Point", "coordinates": [NaN, 48]}, "properties": {"record_type": "team", "id": "TM-X"}}')),
    Case("Infinity literal", "POST", "/api/records", body=_raw('{"type": "Feature", "geometry": {"type": "Point", "coordinates": [Infinity, 48]}, "properties": {"record_type": "team", "id": "TM-X"}}')),
    Case("number beyond double", "POST", "/api/records", body=_raw('{"type": "Feature", "geometry": {"type": "Point", "coordinates": [1e400, 48]}, "properties": {"record_type": "team", "id": "TM-X"}}')),
    Case("body over the limit", "POST", "/api/records", body=b" " * (DEFAULT_MAX_BODY + 1024) + b"{}", status=(413,)),
    # fields of the wrong type, unknown values, dates out of order or in the future
    Case("start_date not a date", "POST", "/api/records", body=_activity("AC-X1", start_date="yesterday"), names=("start_date",)),
    Case("end before start", "POST", "/api/records", body=_activity("AC-X2", start_date="2025-05-09", end_date="2025-05-01"), names=("AC-X2",)),
    Case("end in the future", "POST", "/api/records", body=_activity("AC-X3", end_date="2099-01-01"), names=("AC-X3",)),
    Case("date february 30", "POST", "/api/records", body=_activity("AC-X4", end_date="2025-02-30"), names=("end_date",)),
    Case("kind unknown", "POST", "/api/records", body=_activity("AC-X5", kind="bulldozing"), names=("kind",)),
    Case("kind a number", "POST", "/api/records", body=_activity("AC-X6", kind=7), names=("kind",)),
    Case("status unknown", "POST", "/api/records", body=_activity("AC-X7", status="done"), names=("status",)),
    Case("hazard_id a list", "POST", "/api/records", body=_activity("AC-X8", hazard_id=["HA-1"]), names=("hazard_id",)),
    Case("hazard unknown", "POST", "/api/records", body=_activity("AC-X9", hazard_id="HA-404"), names=("HA-404",)),
    Case("team unknown", "POST", "/api/records", body=_activity("AC-X10", team="TM-404"), names=("TM-404",)),
    Case("record type unknown", "POST", "/api/records", body=json.dumps(_feature("minefield", "MF-1", SQUARE)).encode(), names=("minefield",)),
    Case("id empty", "POST", "/api/records", body=_activity(""), names=("id",)),
    Case("id a number", "POST", "/api/records", body=json.dumps(_feature("activity", 12, SQUARE, **ACTIVITY)).encode(), names=("id",)),
    Case("geometry swapped lat lon", "POST", "/api/records", body=json.dumps(_feature("activity", "AC-X11", {"type": "Polygon", "coordinates": [[[48.0, 130.0], [48.001, 130.0], [48.001, 130.001], [48.0, 130.001], [48.0, 130.0]]]}, **ACTIVITY)).encode(), names=("geometry",)),
    Case("geometry latitude 95", "POST", "/api/records", body=json.dumps(_feature("activity", "AC-X12", {"type": "Polygon", "coordinates": [[[30.0, 95.0], [30.1, 95.0], [30.1, 95.1], [30.0, 95.0]]]}, **ACTIVITY)).encode(), names=("geometry",)),
    Case("geometry bow tie", "POST", "/api/records", body=json.dumps(_feature("activity", "AC-X13", {"type": "Polygon", "coordinates": [[[30.0, 48.0], [30.001, 48.001], [30.001, 48.0], [30.0, 48.001], [30.0, 48.0]]]}, **ACTIVITY)).encode(), names=("geometry",)),
    Case("geometry a string", "POST", "/api/records", body=json.dumps(_feature("activity", "AC-X14", "POLYGON((30 48, 31 48, 31 49, 30 48))", **ACTIVITY)).encode(), names=("geometry",)),
    Case("geometry 100k vertices degenerate", "POST", "/api/records", body=json.dumps(_feature("activity", "AC-X15", {"type": "Polygon", "coordinates": [[[30.0, 48.0]] * 100_000]}, **ACTIVITY)).encode(), names=("geometry",)),
    # the roles: another organisation's records, reviews a role may not do
    Case("lead submits for another organisation", "POST", "/api/records", user="lead", body=_activity("AC-X16", organisation="ORG-B", team="TM-B1", hazard_id="HA-2"), status=(403, 422), names=("ORG-B",)),
    Case("lead submits with another organisation's team", "POST", "/api/records", user="lead", body=_activity("AC-X17", team="TM-B1"), status=(403, 422), names=("TM-B1",)),
    Case("lead approves", "POST", "/api/records/activity/AC-2/approve", user="lead", status=(403,), names=("approve",)),
    Case("observer submits", "POST", "/api/records", user="observer", body=_activity("AC-X18"), status=(403,), names=("submit",)),
    Case("lead reads another organisation's record", "GET", "/api/records/activity/AC-2", user="lead", status=(403,), names=("organisation",)),
    Case("no credentials", "POST", "/api/records", user=None, body=_activity("AC-X19"), status=(401,)),
    Case("bad bearer token", "GET", "/api/records/hazard", user=None, headers={"Authorization": "Bearer not.a.token"}, status=(401,)),
    Case("basic auth to the api", "GET", "/api/records/hazard", user=None, headers={"Authorization": "Basic b3JnOmtleQ=="}, status=(401,)),
    # reviews of what cannot be reviewed
    Case("approve unknown record", "POST", "/api/records/activity/AC-404/approve", status=(404,), names=("AC-404",)),
    Case("approve unknown type", "POST", "/api/records/minefield/AC-2/approve", status=(404,), names=("minefield",)),
    Case("unknown review action", "POST", "/api/records/activity/AC-2/delete", status=(404,), names=("delete",)),
    Case("reject without reason", "POST", "/api/records/activity/AC-2/reject", body=b"{}", names=("reason",)),
    Case("reject reason a number", "POST", "/api/records/activity/AC-2/reject", body=b'{"reason": 5}', names=("reason",)),
    Case("approve with a stale etag", "POST", "/api/records/activity/AC-2/approve", headers={"If-Match": '"1-draft"'}, status=(409, 412), names=("AC-2",)),
    Case("approve what is approved", "POST", "/api/records/activity/AC-1/approve", status=(409,), names=("AC-1",)),
    # parameters of the wrong type or out of range
    Case("bbox three numbers", "GET", "/api/records/hazard", params={"bbox": "1,2,3"}, names=("bbox",)),
    Case("bbox words", "GET", "/api/records/hazard", params={"bbox": "a,b,c,d"}, names=("bbox",)),
    Case("bbox NaN", "GET", "/api/records/hazard", params={"bbox": "nan,0,1,1"}, names=("bbox",)),
    Case("bbox inverted", "GET", "/api/records/hazard", params={"bbox": "31,49,30,48"}, names=("bbox",)),
    Case("bbox out of range", "GET", "/api/records/hazard", params={"bbox": "-200,0,1,1"}, names=("bbox",)),
    Case("limit zero", "GET", "/api/records/hazard", params={"limit": "0"}, names=("limit",)),
    Case("limit huge", "GET", "/api/records/hazard", params={"limit": "99999999"}, names=("limit",)),
    Case("limit a word", "GET", "/api/records/hazard", params={"limit": "all"}, names=("limit",)),
    Case("offset negative", "GET", "/api/records/hazard", params={"offset": "-1"}, names=("offset",)),
    Case("status unknown filter", "GET", "/api/records/hazard", params={"status": "done"}, names=("status",)),
    Case("records of unknown type", "GET", "/api/records/minefield", status=(404,), names=("minefield",)),
    Case("stats by unknown", "GET", "/api/stats", params={"by": "colour"}, names=("colour",)),
    Case("weekly report week 99", "GET", "/api/reports/weekly", params={"week": "2026-W99"}, names=("week",)),
    Case("weekly report week word", "GET", "/api/reports/weekly", params={"week": "last"}, names=("week",)),
    Case("weekly report format doc", "GET", "/api/reports/weekly", params={"format": "doc"}, names=("format",)),
    Case("tile zoom 40", "GET", "/api/tiles/hazards/40/0/0.pbf", names=("zoom",)),
    Case("tile x beyond zoom", "GET", "/api/tiles/hazards/2/9/0.pbf", names=("x",)),
    Case("tile negative y", "GET", "/api/tiles/hazards/2/0/-1.pbf", names=("y",)),
    Case("tile unknown layer", "GET", "/api/tiles/minefields/2/0/0.pbf", status=(400, 404, 422), names=("minefields",)),
    Case("tile word zoom", "GET", "/api/tiles/hazards/z/0/0.pbf", names=("z",)),
    Case("ogc unknown collection", "GET", "/ogc/collections/minefields/items", status=(404,), names=("minefields",)),
    Case("ogc unknown feature", "GET", "/ogc/collections/hazards/items/HA-404", status=(404,), names=("HA-404",)),
    Case("ogc bbox words", "GET", "/ogc/collections/hazards/items", params={"bbox": "a,b,c,d"}, names=("bbox",)),
    Case("ogc bbox five numbers", "GET", "/ogc/collections/hazards/items", params={"bbox": "1,2,3,4,5"}, names=("bbox",)),
    Case("ogc datetime word", "GET", "/ogc/collections/hazards/items", params={"datetime": "yesterday"}, names=("datetime",)),
    Case("ogc datetime out of order", "GET", "/ogc/collections/hazards/items", params={"datetime": "2026-01-01/2025-01-01"}, names=("datetime",)),
    Case("ogc limit negative", "GET", "/ogc/collections/hazards/items", params={"limit": "-5"}, names=("limit",)),
    Case("ogc offset word", "GET", "/ogc/collections/hazards/items", params={"offset": "next"}, names=("offset",)),
    Case("plan gantt unknown", "GET", "/api/plans/current/gantt", params={"team": "TM-404"}, status=(400, 404, 422)),
    # ingest: a key, a body, an organisation
    Case("ingest without auth", "POST", "/api/ingest/kobo", user=None, body=b"{}", status=(401,)),
    Case("ingest wrong key", "POST", "/api/ingest/kobo", user=None, body=b"{}", headers={"Authorization": "Basic T1JHLUE6d3Jvbmc="}, status=(401,)),
    Case("ingest unknown organisation", "POST", "/api/ingest/odk", user=None, body=b"{}", headers={"Authorization": "Basic T1JHLVo6a2V5"}, status=(401,)),
    Case("ingest body not json", "POST", "/api/ingest/kobo", user=None, ingest=True, body=b"{nope"),
    Case("ingest body an array of numbers", "POST", "/api/ingest/kobo", user=None, ingest=True, body=b"[1, 2, 3]"),
    Case("ingest body nested deep", "POST", "/api/ingest/odk", user=None, ingest=True, body=b"[" * 50_000 + b"]" * 50_000),
    Case("ingest odk body empty", "POST", "/api/ingest/odk", user=None, ingest=True, body=b""),
]
# injection strings in a path segment, a filter and a review: never more than a 4xx
for i, text in enumerate(INJECTIONS):
    quoted = httpx.URL("http://x/").copy_with(path="/" + text).raw_path.decode()[1:]
    CASES += [
        Case(f"injection {i} in a record id", "GET", f"/api/records/hazard/{quoted}", status=(404, 405)),
        Case(f"injection {i} in a record type", "GET", f"/api/records/{quoted}", status=(404, 405)),
        Case(f"injection {i} in a review", "POST", f"/api/records/activity/{quoted}/approve", status=(404, 405)),
        Case(f"injection {i} in an ogc item", "GET", f"/ogc/collections/hazards/items/{quoted}", status=(404, 405)),
        Case(f"injection {i} in a bbox", "GET", "/api/records/hazard", params={"bbox": text}, names=("bbox",)),
        Case(f"injection {i} as a record id", "POST", "/api/records", body=_activity(text), names=("id",)),
    ]
# fmt: on


@pytest.fixture(scope="module")
def server(database_url: str) -> Iterator[tuple[str, str]]:
    store = services.open_store(database_url)
    base = json.loads(BASE.read_text(encoding="utf-8"))["features"]
    services.import_features(store, base, source="base", actor="t")
    for name, (role, org) in USERS.items():
        add_user(store, name, role, org, PASSWORD, actor="t")
    key, digest = new_ingest_key()
    store.set_ingest_key("ORG-A", digest, actor="t")
    INGEST_KEY["ORG-A"] = key
    store.close()
    with running(database_url) as url:
        yield url, database_url


@pytest.fixture(scope="module")
def clients(server: tuple[str, str]) -> Iterator[dict[str | None, httpx.Client]]:
    base, _ = server
    out: dict[str | None, httpx.Client] = {u: login(base, u, PASSWORD) for u in USERS}
    out[None] = httpx.Client(base_url=base, timeout=30)
    yield out
    for c in out.values():
        c.close()


def _rows(url: str) -> dict[str, list[tuple[Any, ...]]]:
    store = services.open_store(url, create=False)
    try:
        return dump(store)
    finally:
        store.close()


def _send(clients: dict[str | None, httpx.Client], case: Case) -> httpx.Response:
    client = clients[case.user]
    headers = dict(case.headers)
    auth = ("ORG-A", INGEST_KEY["ORG-A"]) if case.ingest else None
    if case.body is not None and "Content-Type" not in headers:
        headers["Content-Type"] = "application/json"
    return client.request(
        case.method, case.path, content=case.body, params=case.params, headers=headers, auth=auth
    )


def test_the_corpus_is_large_and_varied() -> None:
    assert len(CASES) + len(FILES) >= 200
    assert len({c.name for c in CASES}) == len(CASES), "case names are unique"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_a_bad_request_is_a_4xx_naming_the_fault_and_changes_nothing(
    server: tuple[str, str], clients: dict[str | None, httpx.Client], case: Case
) -> None:
    _, url = server
    before = _rows(url)
    r = _send(clients, case)
    assert r.status_code in case.status, (r.status_code, r.text[:500])
    if r.status_code not in (401, 413):
        for name in case.names:
            assert name in r.text, f"the answer does not name {name!r}: {r.text[:500]}"
        assert r.headers["content-type"].startswith("application/json"), r.headers
    assert _rows(url) == before


def _field(expected: str) -> str | None:
    """The field in brackets of the CLI's message (``feature 2 (activity X) [end_date]``)."""
    found = re.search(r"\[([a-z_]+)\]", expected)
    return found.group(1) if found else None


@pytest.mark.parametrize("name", FILES)
def test_the_import_corpus_sent_to_the_api_is_refused_alike(
    server: tuple[str, str], clients: dict[str | None, httpx.Client], name: str
) -> None:
    _, url = server
    before = _rows(url)
    body = (BAD / name).read_bytes()
    r = clients["officer"].post("/api/records", content=body, headers={"Content-Type": "application/geo+json"})  # fmt: skip
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:500])
    answer = r.json()
    assert answer["message"] and answer["faults"], answer
    if "is not JSON" in answer["message"]:
        # NaN and Infinity are not JSON (RFC 8259): the parser stops at them, by position
        assert re.search(r"line \d+ column \d+", answer["message"]), answer
    else:
        fields = {f["field"] for f in answer["faults"]}
        said = answer["message"] + " ".join(str(f["record"]) for f in answer["faults"])
        for expected in EXPECTED[name]:
            wanted = _field(expected)
            if wanted is not None:
                assert wanted in fields, (wanted, answer)
            record = re.match(r"feature \d+ \(\w+ ([^)]+)\)", expected)
            if record is not None:
                assert record.group(1) in said, (expected, answer)
    assert _rows(url) == before

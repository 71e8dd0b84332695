"""The field forms: shipped as built, valid XLSForms, choice lists equal to the domain's
enumerations, tablet checks present in the XForm, and names the importer can map by name.

No database: the forms are files, and the domain reads their answers.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import tomllib
import xml.etree.ElementTree as ET
from enum import StrEnum
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from pyxform.xls2xform import convert
from shapely.geometry import Point, Polygon

from clearfield.domain.enums import (
    AccidentActivity,
    ActivityKind,
    AgeGroup,
    Contamination,
    Disposal,
    HazardStatus,
    LandUse,
    Outcome,
    ReviewStatus,
    Sex,
    VictimRole,
)
from clearfield.domain.parse import build_record
from clearfield.domain.records import (
    Accident,
    Activity,
    Casualty,
    DailyReport,
    EOFind,
    Hazard,
    Record,
)
from clearfield.forms import FORMS, FORMS_DIR, build_forms, write_forms
from clearfield.forms.choices import NtsOutcome, YesNo
from clearfield.forms.definitions import choice_table
from clearfield.forms.xlsform import field_table

ROOT = Path(__file__).resolve().parents[2]
FORM_IDS = [f.form_id for f in FORMS]
XF = "{http://www.w3.org/2002/xforms}"
JR = "{http://openrosa.org/javarosa}"

# What each select question must offer, written out here rather than taken from the
# module under test: (form, question) → (ODK type, enumeration).
SELECTS: dict[tuple[str, str], tuple[str, type[StrEnum]]] = {
    ("clearfield_nts", "nts_outcome"): ("select_one", NtsOutcome),
    ("clearfield_nts", "status"): ("select_one", HazardStatus),
    ("clearfield_nts", "contamination"): ("select_multiple", Contamination),
    ("clearfield_nts", "land_use"): ("select_one", LandUse),
    ("clearfield_nts", "location_safe"): ("select_one", YesNo),
    ("clearfield_ts", "location_safe"): ("select_one", YesNo),
    ("clearfield_clearance_daily", "location_safe"): ("select_one", YesNo),
    ("clearfield_eo_find", "category"): ("select_one", Contamination),
    ("clearfield_eo_find", "disposal"): ("select_one", Disposal),
    ("clearfield_eo_find", "location_safe"): ("select_one", YesNo),
    ("clearfield_accident", "device_category"): ("select_one", Contamination),
    ("clearfield_accident", "activity_at_time"): ("select_one", AccidentActivity),
    ("clearfield_accident", "location_safe"): ("select_one", YesNo),
    ("clearfield_accident", "sex"): ("select_one", Sex),
    ("clearfield_accident", "age_group"): ("select_one", AgeGroup),
    ("clearfield_accident", "outcome"): ("select_one", Outcome),
    ("clearfield_accident", "role"): ("select_one", VictimRole),
}

# The records a form's submission becomes; every question not listed as form logic
# must be named after a property of one of them.
RECORDS: dict[str, tuple[type, ...]] = {
    "clearfield_nts": (Hazard, Activity),
    "clearfield_ts": (Activity,),
    "clearfield_clearance_daily": (DailyReport,),
    "clearfield_eo_find": (EOFind,),
    "clearfield_accident": (Accident, Casualty),
    "clearfield_reconstruction_daily": (DailyReport,),
}
FORM_LOGIC = {
    "intro",
    "clearfield_form",
    "nts_outcome",
    "location_safe",
    "location_description",
    "percent_complete",
}
GEOMETRIES = {"geometry", "hazard_geometry", "release_geometry"}
LOCATED = {"clearfield_nts", "clearfield_ts", "clearfield_clearance_daily",
           "clearfield_eo_find", "clearfield_accident"}  # fmt: skip


def sheets(wb: Workbook) -> dict[str, list[tuple[Any, ...]]]:
    """Every sheet's cell values, row by row, trailing empty cells dropped."""
    out = {}
    for ws in wb.worksheets:
        rows = []
        for row in ws.iter_rows(values_only=True):
            cells = list(row)
            while cells and cells[-1] in (None, ""):
                cells.pop()
            rows.append(tuple(cells))
        out[ws.title] = rows
    return out


def shipped(form_id: str) -> Path:
    return FORMS_DIR / f"{form_id}.xlsx"


def survey(form_id: str) -> list[dict[str, Any]]:
    """The survey sheet of a shipped form as one dict per question."""
    rows = sheets(load_workbook(shipped(form_id)))["survey"]
    header = rows[0]
    return [dict(zip(header, r + (None,) * (len(header) - len(r)), strict=True)) for r in rows[1:]]


def choices(form_id: str) -> dict[str, list[str]]:
    rows = sheets(load_workbook(shipped(form_id)))["choices"]
    out: dict[str, list[str]] = {}
    for list_name, name, *_ in rows[1:]:
        out.setdefault(list_name, []).append(name)
    return out


@pytest.fixture(scope="module")
def xforms() -> dict[str, ET.Element]:
    """Each shipped form converted by pyxform, parsed; conversion warnings fail the test."""
    out = {}
    for form_id in FORM_IDS:
        warnings: list[str] = []
        result = convert(xlsform=shipped(form_id), warnings=warnings)
        assert warnings == [], f"{form_id}: {warnings}"
        out[form_id] = ET.fromstring(result.xform)
    return out


def binds(xform: ET.Element) -> dict[str, dict[str, str]]:
    """Bind attributes by field path below the root (``casualties/sex``), spaces squeezed."""
    out = {}
    for b in xform.iter(f"{XF}bind"):
        path = b.attrib["nodeset"].split("/", 2)[2]
        out[path] = {k: re.sub(r"\s+", " ", v).strip() for k, v in b.attrib.items()}
    return out


# (a) the shipped files are what the code builds --------------------------------------------


def test_the_package_ships_exactly_the_six_forms():
    assert sorted(p.name for p in FORMS_DIR.glob("*.xlsx")) == sorted(f"{i}.xlsx" for i in FORM_IDS)
    assert len(FORM_IDS) == 6
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]["clearfield"]
    assert "forms/xlsform/*.xlsx" in package_data


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_each_shipped_form_equals_the_form_built_now(form_id):
    built = sheets(build_forms()[form_id])
    assert list(built) == ["survey", "choices", "settings"]
    assert sheets(load_workbook(shipped(form_id))) == built, (
        f"{form_id}.xlsx is stale: regenerate it with `python -m clearfield.forms`"
    )


def test_a_changed_enumeration_makes_the_shipped_form_stale():
    grown = StrEnum("Contamination", {m.name: m.value for m in Contamination} | {"NEW": "new"})
    find = next(f for f in FORMS if f.form_id == "clearfield_eo_find")
    changed = dataclasses.replace(
        find,
        questions=tuple(
            dataclasses.replace(q, choices=grown) if q.choices is Contamination else q
            for q in find.questions
        ),
    )
    before, after = sheets(load_workbook(shipped(find.form_id))), sheets(changed.workbook())
    assert ("contamination", "new", "New") in after["choices"]
    assert after["choices"] != before["choices"]
    assert after["settings"][1][2] != before["settings"][1][2]  # the version follows the content


def test_written_forms_are_byte_for_byte_repeatable(tmp_path):
    first = [p.read_bytes() for p in write_forms(tmp_path / "a")]
    second = [p.read_bytes() for p in write_forms(tmp_path / "b")]
    assert first == second


def test_each_form_has_its_settings(tmp_path):
    for form_id in FORM_IDS:
        rows = sheets(load_workbook(shipped(form_id)))["settings"]
        settings = dict(zip(rows[0], rows[1], strict=True))
        assert settings["form_id"] == form_id
        assert settings["form_title"]
        assert re.fullmatch(r"[0-9a-f]{12}", settings["version"])
        assert settings["instance_name"].startswith("concat(")


# (b) every form is a valid XLSForm -------------------------------------------------------


def test_every_form_converts_without_error_or_warning(xforms):
    for form_id, xform in xforms.items():
        instance = next(xform.iter(f"{XF}instance"))[0]
        assert instance.attrib["id"] == form_id
        assert re.fullmatch(r"[0-9a-f]{12}", instance.attrib["version"])


def test_odk_validate_accepts_every_form(tmp_path):
    """JavaRosa (ODK Validate, shipped with pyxform; needs Java) parses every expression,
    so a function Collect does not know (``area``, ``today``) would fail here."""
    assert shutil.which("java"), "ODK Validate needs a Java runtime (apt install default-jre)"
    for form_id in FORM_IDS:
        warnings: list[str] = []
        convert(xlsform=shipped(form_id), warnings=warnings, validate=True)
        assert warnings == [], f"{form_id}: {warnings}"


# (c) choice lists are the domain's enumerations ------------------------------------------


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_every_select_offers_exactly_its_enumeration(form_id):
    lists = choices(form_id)
    selects = {}
    for q in survey(form_id):
        kind, _, list_name = q["type"].partition(" ")
        if kind.startswith("select_"):
            selects[q["name"]] = (kind, list_name)
    expected = {name: spec for (fid, name), spec in SELECTS.items() if fid == form_id}
    assert set(selects) == set(expected)
    for name, (kind, list_name) in selects.items():
        want_kind, enum = expected[name]
        assert kind == want_kind, name
        assert lists[list_name] == [m.value for m in enum], name
    assert set(lists) == {list_name for _, list_name in selects.values()}  # no unused lists


def test_enumeration_values_are_usable_as_odk_choice_names():
    # a select_multiple answer is the chosen names separated by spaces
    for _, enum in SELECTS.values():
        for m in enum:
            assert re.fullmatch(r"[A-Za-z0-9_]+", m.value), m


# (d) the tablet checks are in the XForm ---------------------------------------------------


def test_no_date_lies_in_the_future_and_work_ends_after_it_starts(xforms):
    dates = 0
    for form_id, xform in xforms.items():
        for path, bind in binds(xform).items():
            if bind.get("type") != "date":
                continue
            dates += 1
            assert ". <= today()" in bind["constraint"], (form_id, path)
            assert bind[f"{JR}constraintMsg"], (form_id, path)
            assert bind["required"] == "true()", (form_id, path)
            if path == "end_date":
                assert ". >= /data/start_date" in bind["constraint"], form_id
    assert dates == 8  # start and end (NTS, TS), report dates (2), found_on, occurred_on


def test_counts_areas_and_percentages_are_bounded(xforms):
    def constraint(form_id: str, path: str) -> str:
        return binds(xforms[form_id])[path]["constraint"]

    assert constraint("clearfield_clearance_daily", "people_present") == ". >= 1 and . <= 200"
    assert constraint("clearfield_clearance_daily", "area_worked_m2") == ". >= 0 and . <= 100000"
    assert constraint("clearfield_clearance_daily", "worker_days") == (
        ". >= 0 and . <= /data/people_present"
    )
    assert constraint("clearfield_clearance_daily", "finds") == ". >= 0 and . <= 10000"
    assert constraint("clearfield_eo_find", "quantity") == ". >= 1 and . <= 10000"
    assert constraint("clearfield_reconstruction_daily", "percent_complete") == (
        ". >= 0 and . <= 100"
    )
    assert constraint("clearfield_reconstruction_daily", "people_present") == ". >= 1 and . <= 1000"
    for form_id, xform in xforms.items():
        for path, bind in binds(xform).items():
            if bind.get("type") == "geoshape":
                assert bind["constraint"] == "area(.) > 0", (form_id, path)
            if bind.get("type") in ("int", "decimal"):
                assert bind.get("constraint"), (form_id, path)


def test_the_imas_evidence_rules_are_checked_on_the_tablet(xforms):
    b = binds(xforms["clearfield_nts"])
    assert b["direct_evidence"]["required"] == "/data/status = 'CHA'"
    assert b["indirect_evidence"]["required"] == "/data/direct_evidence = ''"
    for name in ("name", "status", "contamination", "land_use", "district", "recorded_on"):
        assert b[name]["relevant"] == "/data/nts_outcome != 'cancellation'", name
    assert b["kind"]["relevant"] == "/data/nts_outcome != 'hazard'"
    assert b["kind"]["calculate"] == "'nts'"
    assert binds(xforms["clearfield_ts"])["kind"]["calculate"] == "'ts'"


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_a_location_is_taken_only_where_it_is_safe(form_id, xforms):
    b = binds(xforms[form_id])
    geometries = {p for p, bind in b.items() if bind.get("type") in ("geopoint", "geoshape")}
    if form_id not in LOCATED:
        assert not geometries and "location_safe" not in b
        return
    assert geometries and geometries <= GEOMETRIES
    labels = {
        el.attrib["ref"].split("/", 2)[2]: el.findtext(f"{XF}label")
        for el in xforms[form_id].iter()
        if el.attrib.get("ref", "").startswith("/")
    }
    assert labels["location_safe"] == "Is it safe to record the location here?"
    assert b["location_safe"]["required"] == "true()"
    for path in geometries:
        assert b[path]["relevant"].startswith("/data/location_safe = 'yes'"), path
    assert b["location_description"]["relevant"] == "/data/location_safe = 'no'"
    # where the record cannot exist without a geometry, one or the other is required
    geometry_required = form_id != "clearfield_clearance_daily"
    assert (b["location_description"].get("required") == "true()") == geometry_required
    for path in geometries:
        assert (b[path].get("required") == "true()") == geometry_required


def test_every_submission_carries_an_instance_id(xforms):
    for form_id, xform in xforms.items():
        bind = binds(xform)["meta/instanceID"]
        assert bind[f"{JR}preload"] == "uid", form_id
        assert binds(xform)["meta/instanceName"]["calculate"].startswith("concat("), form_id


def test_casualties_are_a_repeat_with_the_domain_fields(xforms):
    xform = xforms["clearfield_accident"]
    repeats = [r.attrib["nodeset"] for r in xform.iter(f"{XF}repeat")]
    assert repeats == ["/data/casualties"]
    b = binds(xform)
    for name in ("sex", "age_group", "outcome", "role"):
        assert b[f"casualties/{name}"]["required"] == "true()", name
    assert "required" not in b["casualties/name"]  # personal data: never forced
    assert {f.name for f in dataclasses.fields(Casualty)} == {
        p.split("/")[1] for p in b if p.startswith("casualties/")
    }


# The names are the domain's, so the importer maps by name ---------------------------------


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_questions_are_named_after_the_properties_they_fill(form_id):
    properties: set[str] = set()
    for cls in RECORDS[form_id]:
        properties |= {f.name for f in dataclasses.fields(cls)}
        properties |= set(getattr(cls, "ALIASES", {}))
    for q in survey(form_id):
        if q["type"] in ("end_repeat", "begin_repeat"):
            continue
        name = q["name"]
        assert name in properties | FORM_LOGIC | GEOMETRIES, (form_id, name)


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_every_property_the_domain_requires_is_required_on_the_tablet(form_id):
    questions = {q["name"]: q for q in survey(form_id)}
    for cls in RECORDS[form_id]:
        for f in dataclasses.fields(cls):
            if f.name in ("id", "geometry") or f.default is not dataclasses.MISSING:
                continue
            if f.default_factory is not dataclasses.MISSING:
                continue
            q = questions.get(f.name)
            assert q is not None, (form_id, cls.__name__, f.name)
            assert q["required"] == "yes" or q["type"] == "calculate", (form_id, f.name)


# Sample submissions, as KoboToolbox's JSON gives them (every value a string), become
# records by the mapping docs/forms.md describes.


def to_shape(text: str) -> Polygon:
    """An ODK geoshape: ``lat lon alt acc`` vertices separated by ``;``, closed."""
    points = [v.split() for v in text.split(";")]
    return Polygon([(float(lon), float(lat)) for lat, lon, *_ in points])


def to_point(text: str) -> Point:
    lat, lon, *_ = text.split()
    return Point(float(lon), float(lat))


SHAPE = "48.50 35.00 120 4;48.50 35.01 120 4;48.51 35.01 120 4;48.51 35.00 120 4;48.50 35.00 120 4"
CANCELLED = "48.50 35.00 0 4;48.50 35.005 0 4;48.505 35.005 0 4;48.50 35.00 0 4"
INSTANCE = "uuid:0b3e9a5e-52c7-4bb5-9a35-6ad1d4f5f0b1"
NTS_SUBMISSION = {
    "organisation": "ORG-1", "team": "T-7", "start_date": "2026-03-01",
    "end_date": "2026-03-02", "nts_outcome": "both", "hazard_id": "HZ-12", "name": "North field",
    "status": "CHA", "contamination": "ap_mine uxo", "land_use": "agricultural",
    "district": "D01", "direct_evidence": "PMN-2 seen; mine sign", "indirect_evidence": "",
    "location_safe": "yes", "hazard_geometry": SHAPE, "release_geometry": CANCELLED,
    "kind": "nts", "recorded_on": "2026-03-02", "meta/instanceID": INSTANCE,
}  # fmt: skip


def properties(form_id: str, submission: dict[str, Any], cls: type) -> dict[str, Any]:
    """The properties of one record from a submission: the keys that are its properties,
    select_multiple answers split at spaces (the rest the domain reads as they are)."""
    multiple = {q["name"] for q in survey(form_id) if q["type"].startswith("select_multiple ")}
    names = {f.name for f in dataclasses.fields(cls)} | set(getattr(cls, "ALIASES", {}))
    out = {}
    for key, value in submission.items():
        if key in names and key != "geometry":
            out[key] = value.split() if key in multiple else value
    return out


def record(form_id: str, cls: type[Record], submission: dict[str, Any], geometry: Any) -> Record:
    questions = {q["name"] for q in survey(form_id)}
    assert set(submission) - {"meta/instanceID"} <= questions  # the names the form gives
    props = {**properties(form_id, submission, cls), "id": submission["meta/instanceID"]}
    return build_record(cls, props, geometry, record=form_id)


def test_an_nts_submission_makes_a_hazard_and_its_cancellation():
    s = NTS_SUBMISSION
    hazard = build_record(
        Hazard,
        {**properties("clearfield_nts", s, Hazard), "id": s["hazard_id"]},
        to_shape(s["hazard_geometry"]),
        record="nts",
    )
    assert hazard.status is HazardStatus.CHA
    assert hazard.contamination == (Contamination.AP_MINE, Contamination.UXO)
    assert hazard.direct_evidence == ("PMN-2 seen", "mine sign")
    assert hazard.recorded_on.isoformat() == "2026-03-02"
    props = properties("clearfield_nts", s, Activity)
    props.pop("status")  # the hazard's SHA/CHA, not the activity's review status
    activity = build_record(
        Activity, {**props, "id": INSTANCE}, to_shape(s["release_geometry"]), record="nts"
    )
    assert (activity.kind.value, activity.hazard_id, activity.team) == ("nts", "HZ-12", "T-7")
    assert hazard.geometry.contains(activity.geometry)


POINT = "48.5 35.004 121.3 3.9"
RETURNS = [
    ("clearfield_ts", Activity, to_shape(CANCELLED),
     {"hazard_id": "HZ-12", "organisation": "ORG-1", "start_date": "2026-03-03",
      "end_date": "2026-03-04", "location_safe": "yes", "geometry": CANCELLED, "kind": "ts"},
     {"kind": ActivityKind.TS, "hazard_id": "HZ-12"}),
    ("clearfield_clearance_daily", DailyReport, None,
     {"team": "T-7", "hazard_id": "HZ-12", "report_date": "2026-03-05", "people_present": "8",
      "worker_days": "6.5", "area_worked_m2": "240.5", "finds": "2", "incidents": "",
      "location_safe": "no", "location_description": "north of the well"},
     {"people_present": 8, "worker_days": 6.5, "area_worked_m2": 240.5, "finds": 2}),
    ("clearfield_eo_find", EOFind, to_point(POINT),
     {"organisation": "ORG-1", "hazard_id": "HZ-12", "found_on": "2026-03-05",
      "category": "ap_mine", "ordnance_type": "PMN-2", "quantity": "3",
      "disposal": "destroyed_in_situ", "location_safe": "yes", "geometry": POINT},
     {"quantity": 3, "disposal": Disposal.DESTROYED_IN_SITU, "category": Contamination.AP_MINE}),
    ("clearfield_reconstruction_daily", DailyReport, None,
     {"team": "B-2", "project_id": "PR-4", "report_date": "2026-03-05", "people_present": "48",
      "worker_days": "45", "percent_complete": "35", "incidents": "cement late"},
     {"project_id": "PR-4", "people_present": 48, "worker_days": 45.0}),
]  # fmt: skip


@pytest.mark.parametrize(("form_id", "cls", "geometry", "answers", "expected"), RETURNS)
def test_field_returns_become_records(form_id, cls, geometry, answers, expected):
    rec = record(form_id, cls, {**answers, "meta/instanceID": INSTANCE}, geometry)
    assert rec.id == INSTANCE
    assert {k: getattr(rec, k) for k in expected} == expected
    assert rec.review_status is ReviewStatus.SUBMITTED  # field returns wait for review
    if geometry is not None:
        assert rec.geometry.x if isinstance(geometry, Point) else rec.geometry.area > 0


def test_an_accident_submission_carries_its_casualties():
    submission = {
        "occurred_on": "2026-02-20", "district": "D03", "device_category": "at_mine",
        "device_type": "TM-62M", "activity_at_time": "agriculture", "location_safe": "yes",
        "geometry": "48.52 35.02 0 5", "meta/instanceID": INSTANCE,
        "casualties": [
            {"casualties/sex": "male", "casualties/age_group": "adult",
             "casualties/outcome": "killed", "casualties/role": "civilian",
             "casualties/name": "A. B."},
            {"casualties/sex": "female", "casualties/age_group": "child",
             "casualties/outcome": "injured", "casualties/role": "civilian"},
        ],
    }  # fmt: skip
    questions = {q["name"] for q in survey("clearfield_accident")}
    casualties = [
        {key.removeprefix("casualties/"): v for key, v in c.items()}
        for c in submission["casualties"]
    ]
    assert all(set(c) <= questions for c in casualties)
    accident = record(
        "clearfield_accident",
        Accident,
        {**submission, "casualties": casualties},
        to_point(submission["geometry"]),
    )
    assert (accident.killed, accident.injured) == (1, 1)
    assert accident.casualties[0].name == "A. B."


# The contract document ---------------------------------------------------------------------


def test_the_documentation_shows_every_form_as_built():
    doc = (ROOT / "docs" / "forms.md").read_text()
    for form in FORMS:
        assert f"`{form.form_id}`" in doc
        assert field_table(form) in doc, f"docs/forms.md: the table of {form.form_id} is stale"
    assert choice_table() in doc, "docs/forms.md: the table of choice lists is stale"

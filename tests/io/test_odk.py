"""Reading field submissions as KoboToolbox and ODK Central produce them.

The fixtures in ``tests/data/odk`` hold the same two submissions in every format (their
README lists the format facts and sources). The central promise tested here: whatever
server a submission comes through, ``Submission.fields`` carries the same answers under
the same names, so one mapping to the domain serves them all.
"""

from __future__ import annotations

import json
import re
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import shapely
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from clearfield.io.odk import (
    Submission,
    SubmissionFormatError,
    from_central_csv,
    from_kobo,
    from_odata,
    kobo_list,
    parse_odk_geometry,
)

DATA = Path(__file__).resolve().parent.parent / "data" / "odk"
FORM = "clearfield_odk_fixture"
S1 = "uuid:4f1c2a8e-6b0d-4c5e-9f3a-1d2e7b8c9a01"
S2_FIRST = "uuid:9d3e5b7a-2c41-4f8e-a6d0-3b9c1e5f7a24"
S2_EDITED = "uuid:c2a71f04-8e3b-4d59-b1c6-7f0a2d9e4b83"
GEO_FIELDS = {"location": "geopoint", "hazard_area": "geoshape"}

S1_KOBO_FIELDS = {
    "start": "2024-05-03T09:02:11.123+03:00",
    "end": "2024-05-03T09:19:47.845+03:00",
    "team": "MDD-07",
    "hazard_id": "UA-DP-0142",
    "occurred_on": "2024-05-02",
    "device_category": "ap_mine uxo",
    "people_present": "8",
    "area_m2": "240.5",
    "report/remarks": "Marking poles found on the field edge",
    "location_safe": "yes",
    "location": "48.50412 35.00871 121.3 3.9",
    "hazard_area": "48.5046 35.0081 120.2 4.1; 48.5049 35.0094 121.0 3.8; "
    "48.5038 35.0099 119.5 4.4; 48.5034 35.0085 118.9 4.0; 48.5046 35.0081 120.2 4.1",
    "casualties": [
        {"sex": "female", "age_group": "child"},
        {"sex": "male", "age_group": "adult"},
    ],
    "remarks": "Farmer reported the blast to the village head, who called the hotline",
}


def load(name: str) -> Any:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def comparable(fields: dict[str, Any]) -> dict[str, Any]:
    """The answers with the formats' spelling differences taken out, the ones the module
    keeps on purpose: an unanswered question is absent (KoboToolbox) or None (Central);
    a number is text or a JSON number; a geometry an ODK string, GeoJSON or WKT."""
    out: dict[str, Any] = {}
    for key, value in fields.items():
        if value is None:
            continue
        if isinstance(value, list):
            out[key] = [comparable(row) for row in value]
        elif key in GEO_FIELDS:
            out[key] = parse_odk_geometry(value, GEO_FIELDS[key]).wkt
        elif isinstance(value, int | float) or re.fullmatch(r"-?\d+(\.\d+)?", value):
            out[key] = Decimal(str(value))
        else:
            out[key] = value
    return out


def by_id(submissions: list[Submission]) -> dict[str, Submission]:
    return {s.instance_id: s for s in submissions}


SOURCES = {
    "kobo data API": lambda: kobo_list(load("kobo_data_api.json")),
    "kobo REST + edited": lambda: [
        from_kobo(load("kobo_rest_submission.json")),
        from_kobo(load("kobo_edited_submission.json")),
    ],
    "odata $expand=*": lambda: from_odata(load("odata_expanded.json")),
    "odata + repeat table": lambda: from_odata(
        load("odata_not_expanded.json"), [load("odata_casualties.json")]
    ),
    "odata $wkt=true": lambda: from_odata(load("odata_wkt.json")),
    "central zip": lambda: from_central_csv(DATA / "central_export.zip"),
}


# ---- one shape for all formats --------------------------------------------------------


@pytest.mark.parametrize("source", SOURCES)
def test_every_format_gives_the_same_answers_under_the_same_names(source):
    reference = by_id(SOURCES["kobo data API"]())
    got = by_id(SOURCES[source]())
    assert set(got) == {S1, S2_EDITED}
    for instance_id, submission in got.items():
        assert comparable(submission.fields) == comparable(reference[instance_id].fields)
    assert got[S1].fields["casualties"] == S1_KOBO_FIELDS["casualties"]
    assert "casualties" not in got[S2_EDITED].fields  # no rows: absent in every format
    assert got[S2_EDITED].deprecated_id == S2_FIRST
    assert got[S1].deprecated_id is None


@pytest.mark.parametrize("source", SOURCES)
def test_server_metadata_stays_out_of_the_answers(source):
    for submission in SOURCES[source]():
        keys = set(submission.fields)
        assert not {k for k in keys if k.startswith("_") or k.startswith(("meta", "formhub"))}
        assert not keys & {"instanceID", "KEY", "SubmissionDate", "SubmitterID", "ReviewState"}


def test_kobo_rest_submission_keeps_the_answers_as_given():
    s = from_kobo(load("kobo_rest_submission.json"))
    assert s.fields == S1_KOBO_FIELDS
    assert (s.instance_id, s.deprecated_id, s.source) == (S1, None, "kobo")
    assert s.form_id == "aK3vXb9QmL2pRt7YwZ5nJc"  # kpi's asset uid
    assert s.form_version == "vQ7hP3kZr2NwXb8TeLm5Ya"
    assert s.submitted_at == "2024-05-03T06:20:41Z"  # Kobo's UTC time, now marked so
    assert s.submitter == "mdd07_tablet2"
    assert s.raw == load("kobo_rest_submission.json")
    assert s.notes == (
        "submission _id=301948227: report/remarks is keyed by its full path, as the name "
        "'remarks' goes to remarks",
    )


def test_kobo_edited_submission_names_the_version_it_replaces():
    s = from_kobo(load("kobo_edited_submission.json"))
    assert (s.instance_id, s.deprecated_id) == (S2_EDITED, S2_FIRST)
    assert "report/remarks" not in s.fields  # Kobo leaves an unanswered question out
    assert s.fields["hazard_area"].endswith("5.0;")  # as given; the geometry reader copes


def test_kobo_list_takes_one_object_a_list_or_a_data_api_page():
    page = load("kobo_data_api.json")
    from_page = kobo_list(page)
    assert [s.instance_id for s in from_page] == [S1, S2_EDITED]
    assert [s.fields for s in kobo_list(page["results"])] == [s.fields for s in from_page]
    assert kobo_list(page["results"][0])[0].fields == S1_KOBO_FIELDS


def test_kobo_repeat_named_results_is_not_a_data_api_page():
    obj = {"meta/instanceID": "uuid:x", "results": [{"results/score": "3"}]}
    (s,) = kobo_list(obj)
    assert s.fields == {"results": [{"score": "3"}]}


def test_odata_keeps_numbers_and_geojson_as_central_gives_them():
    s1, s2 = from_odata(load("odata_expanded.json"))
    assert s1.fields["people_present"] == 8
    assert s1.fields["area_m2"] == 240.5
    assert s1.fields["location"] == {
        "type": "Point",
        "coordinates": [35.00871, 48.50412, 121.3],
        "properties": {"accuracy": 3.9},
    }
    assert s1.fields["location_description"] is None  # unasked: null in OData
    assert s2.fields["report/remarks"] is None
    assert (s1.form_id, s1.form_version, s1.source) == (FORM, "a3f9c2e7b1d4", "odk-odata")
    assert s1.submitted_at == "2024-05-03T06:20:41.512Z"
    assert s1.submitter == "MDD-07 tablet 2"
    # Central keeps the first version's id as __id: the edit names it
    assert (s2.instance_id, s2.deprecated_id) == (S2_EDITED, S2_FIRST)


def test_odata_fields_do_not_alias_the_raw_record():
    s1, _ = from_odata(load("odata_expanded.json"))
    s1.fields["location"]["coordinates"][0] = 0
    assert s1.raw["location"]["coordinates"][0] == 35.00871


def test_odata_wkt_geometries_stay_wkt():
    s1, _ = from_odata(load("odata_wkt.json"))
    assert s1.fields["location"] == "POINT (35.00871 48.50412 121.3)"
    assert parse_odk_geometry(s1.fields["location"]).equals(shapely.Point(35.00871, 48.50412))


def test_odata_repeat_not_expanded_is_left_out_and_noted():
    s1, s2 = from_odata(load("odata_not_expanded.json"))
    assert "casualties" not in s1.fields
    assert any("casualties is only a navigation link" in n for n in s1.notes)
    assert any("Submissions.casualties not given" in n for n in s1.notes)
    assert not any("navigation link" in n for n in s2.notes)


def test_central_csv_joins_geopoint_columns_back_into_the_odk_string():
    s1, s2 = from_central_csv(DATA / "central_export.zip")
    assert s1.fields["location"] == "48.50412 35.00871 121.3 3.9"
    assert s1.fields["people_present"] == "8"  # CSV numbers stay text
    assert s1.fields["location_description"] is None
    assert (s1.form_id, s1.form_version, s1.source) == (FORM, "a3f9c2e7b1d4", "odk-csv")
    assert s1.submitted_at == "2024-05-03T06:20:41.512Z"
    assert s1.submitter == "MDD-07 tablet 2"
    assert s2.raw["KEY"] == S2_FIRST and s2.raw["ReviewState"] == "edited"


def test_central_main_csv_alone_has_no_repeats_and_no_form_id():
    main = DATA / "central_csv" / f"{FORM}.csv"
    s1, _ = from_central_csv(main)
    assert "casualties" not in s1.fields
    assert s1.form_id is None
    assert from_central_csv(main, form_id=FORM)[0].form_id == FORM
    expected = {k: v for k, v in S1_KOBO_FIELDS.items() if k != "casualties"}
    assert comparable(s1.fields) == comparable(expected)


def test_central_zip_holds_the_csv_files_of_the_fixture_folder():
    with zipfile.ZipFile(DATA / "central_export.zip") as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    files = {p.name: p.read_bytes() for p in (DATA / "central_csv").glob("*.csv")}
    assert members == files


def test_central_csv_without_group_names_and_with_split_choices(tmp_path):
    """Central's export options "remove group names" (groupPaths=false) and "split
    select multiple": plain headers, one 0/1 column per choice."""
    csv_text = (
        "SubmissionDate,team,device_category,device_category/ap_mine,device_category/uxo,"
        "spot-Latitude,spot-Longitude,spot-Altitude,spot-Accuracy,instanceID,KEY,"
        "SubmitterID,SubmitterName,AttachmentsPresent,AttachmentsExpected,Status,"
        "ReviewState,DeviceID,Edits,FormVersion\n"
        "2024-05-03T06:20:41.512Z,MDD-07,ap_mine uxo,1,1,48.5,35.004,,,uuid:a,uuid:a,"
        "17,T,0,0,,,,0,1\n"
    )
    (tmp_path / "f.csv").write_text(csv_text, encoding="utf-8")
    (s,) = from_central_csv(tmp_path / "f.csv")
    assert s.fields == {"team": "MDD-07", "device_category": "ap_mine uxo", "spot": "48.5 35.004"}
    assert s.instance_id == "uuid:a"


# ---- repeats nested, and names shared -------------------------------------------------

NESTED_KOBO = {
    "meta/instanceID": "uuid:n1",
    "village": "Bilohirka",
    "household": [
        {
            "household/head": "Olena",
            "household/items": [
                {"household/items/item": "PMN-2"},
                {"household/items/item": "fuze"},
            ],
        },
        {"household/head": "Petro"},
    ],
}
NESTED_FIELDS = {
    "village": "Bilohirka",
    "household": [
        {"head": "Olena", "items": [{"item": "PMN-2"}, {"item": "fuze"}]},
        {"head": "Petro"},
    ],
}


def test_kobo_nested_repeats():
    assert from_kobo(NESTED_KOBO).fields == NESTED_FIELDS


def test_odata_nested_repeats_inline_and_from_tables():
    context = "https://c.example/v1/projects/1/forms/nest.svc/$metadata#"
    inline = {
        "@odata.context": context + "Submissions",
        "value": [
            {
                "village": "Bilohirka",
                "meta": {"instanceID": "uuid:n1"},
                "__id": "uuid:n1",
                "household@odata.navigationLink": "Submissions('uuid%3An1')/household",
                "household": [
                    {
                        "head": "Olena",
                        "__id": "h1",
                        "items@odata.navigationLink": "x",
                        "items": [{"item": "PMN-2", "__id": "i1"}, {"item": "fuze", "__id": "i2"}],
                    },
                    {"head": "Petro", "__id": "h2"},
                ],
            }
        ],
    }
    assert from_odata(inline)[0].fields == NESTED_FIELDS
    linked = {
        "@odata.context": context + "Submissions",
        "value": [
            {
                "village": "Bilohirka",
                "meta": {"instanceID": "uuid:n1"},
                "__id": "uuid:n1",
                "household@odata.navigationLink": "Submissions('uuid%3An1')/household",
            }
        ],
    }
    households = {
        "@odata.context": context + "Submissions.household",
        "value": [
            {"head": "Olena", "__id": "h1", "__Submissions-id": "uuid:n1"},
            {"head": "Petro", "__id": "h2", "__Submissions-id": "uuid:n1"},
            {"head": "Other page", "__id": "h9", "__Submissions-id": "uuid:elsewhere"},
        ],
    }
    items = {
        "@odata.context": context + "Submissions.household.items",
        "value": [
            {"item": "PMN-2", "__id": "i1", "__Submissions-household-id": "h1"},
            {"item": "fuze", "__id": "i2", "__Submissions-household-id": "h1"},
        ],
    }
    (s,) = from_odata(linked, [households, items])
    assert s.fields == NESTED_FIELDS
    assert s.notes == ()


def test_central_csv_nested_repeats(tmp_path):
    main = (
        "SubmissionDate,village,meta-instanceID,KEY,SubmitterID,SubmitterName,"
        "AttachmentsPresent,AttachmentsExpected,Status,ReviewState,DeviceID,Edits,FormVersion\n"
        "2024-05-03T06:20:41.512Z,Bilohirka,uuid:n1,uuid:n1,1,T,0,0,,,,0,1\n"
    )
    household = (
        "head,PARENT_KEY,KEY\n"
        "Olena,uuid:n1,uuid:n1/household[1]\n"
        "Petro,uuid:n1,uuid:n1/household[2]\n"
    )
    items = (
        "item,PARENT_KEY,KEY\n"
        "PMN-2,uuid:n1/household[1],uuid:n1/household[1]/items[1]\n"
        "fuze,uuid:n1/household[1],uuid:n1/household[1]/items[2]\n"
    )
    with zipfile.ZipFile(tmp_path / "nest.zip", "w") as archive:
        archive.writestr("nest.csv", main)
        archive.writestr("nest-household.csv", household)
        archive.writestr("nest-items.csv", items)
        archive.writestr("media/photo.jpg", b"\xff\xd8")
    (s,) = from_central_csv(tmp_path / "nest.zip")
    assert s.fields == NESTED_FIELDS
    assert s.form_id == "nest"


def test_repeat_inside_a_group_is_named_by_the_repeat():
    obj = {
        "meta/instanceID": "uuid:g",
        "incident/victims": [{"incident/victims/sex": "male"}],
    }
    assert from_kobo(obj).fields == {"victims": [{"sex": "male"}]}


def test_a_shared_name_goes_to_the_question_nearest_the_root():
    # the shape of kpi's own hook test: q1 at the root and group2/subgroup11/q1
    obj = {
        "meta/instanceID": "uuid:d",
        "group2/subgroup11/q1": "deep",
        "q1": "root",
        "g1/x": "first",
        "g2/x": "second",
    }
    s = from_kobo(obj)
    assert s.fields == {
        "group2/subgroup11/q1": "deep",
        "q1": "root",
        "x": "first",
        "g2/x": "second",
    }
    assert s.notes == (
        "submission: group2/subgroup11/q1 is keyed by its full path, as the name 'q1' goes to q1",
        "submission: g2/x is keyed by its full path, as the name 'x' goes to g1/x",
    )


# ---- errors say what and where --------------------------------------------------------

KOBO_OK = {"meta/instanceID": "uuid:ok", "team": "A"}
CTX = "https://c.example/v1/projects/1/forms/f.svc/$metadata#"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: kobo_list([KOBO_OK, KOBO_OK, {"team": "A"}]),
            "submission 3: no meta/instanceID",
        ),
        (lambda: from_kobo({"_id": 7, "team": "A"}), "submission _id=7: no meta/instanceID"),
        (
            lambda: from_kobo(["not", "an", "object"]),
            "submission: a KoboToolbox submission is a JSON object, not list",
        ),
        (
            lambda: kobo_list("text"),
            "KoboToolbox payload: expected a KoboToolbox submission, a list of them or a "
            "data API page {'results': [...]}, got str",
        ),
        (
            lambda: kobo_list([KOBO_OK, {**KOBO_OK, "casualties": ["female"]}]),
            "submission 2: casualties is a list whose items are not objects: not a "
            "KoboToolbox repeat",
        ),
        (
            lambda: from_kobo({**KOBO_OK, "casualties": [{"sex": "female"}]}),
            "submission, casualties[1]: key 'sex' in a row of repeat casualties does not "
            "start with 'casualties/'",
        ),
        (
            lambda: from_kobo({**KOBO_OK, "team": {"name": "A"}}),
            "submission: team is a dict: not an answer KoboToolbox sends",
        ),
        (
            lambda: from_odata({"value": "x"}),
            "OData document: no 'value' list of submissions: not an OData data document",
        ),
        (
            lambda: from_odata({"@odata.context": CTX + "Submissions.casualties", "value": []}),
            "OData document: this is the Submissions.casualties table; pass the Submissions "
            "table and this one in repeat_tables",
        ),
        (
            lambda: from_odata({"value": [{"__id": "uuid:a"}, {"team": "A"}]}),
            "submission 2: no __id or meta/instanceID",
        ),
        (
            lambda: from_odata({"value": [{"__id": "uuid:a"}]}, [{"value": []}]),
            "repeat table 1: not an OData repeat table: needs '@odata.context' ending in "
            "'#Submissions.<repeat>' and a 'value' list",
        ),
        (
            lambda: from_odata(
                {"value": []},
                [{"@odata.context": CTX + "Submissions.c", "value": [{"__id": "r"}]}],
            ),
            "Submissions.c row 1: no __Submissions-...-id naming the row's parent",
        ),
        (
            lambda: from_odata({"value": [{"__id": "uuid:a", "c": [1, 2]}]}),
            "submission 1 (uuid:a): c is a list whose items are not objects: not an "
            "expanded repeat",
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_payload_errors_name_what_and_where(call, message):
    with pytest.raises(SubmissionFormatError) as caught:
        call()
    assert str(caught.value) == message
    assert isinstance(caught.value, ValueError)
    assert caught.value.code == "BAD_SUBMISSION"


HEAD = "SubmissionDate,team,meta-instanceID,KEY,SubmitterID\n"


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"a.csv": "team,KEY\nA,uuid:a\n"}, "expected one main table"),
        ({"a.csv": HEAD + "2024-05-03,A,uuid:a,uuid:a\n"}, "a.csv line 2: 4 values for 5 columns"),
        ({"a.csv": HEAD + "2024-05-03,A,uuid:a,,1\n"}, "a.csv line 2: empty KEY"),
        (
            {"a.csv": HEAD + "2024-05-03,A,uuid:a,uuid:a,1\n2024-05-03,B,uuid:a,uuid:a,1\n"},
            "a.csv line 3: KEY 'uuid:a' appears twice",
        ),
        (
            {
                "a.csv": HEAD + "2024-05-03,A,uuid:a,uuid:a,1\n",
                "a-c.csv": "sex,PARENT_KEY,KEY\nf,uuid:zzz,uuid:zzz/c[1]\n",
            },
            "a-c.csv line 2: PARENT_KEY 'uuid:zzz' matches no submission or repeat row",
        ),
        (
            {
                "a.csv": HEAD + "2024-05-03,A,uuid:a,uuid:a,1\n",
                "a-c.csv": "sex,PARENT_KEY,KEY\nf,uuid:a,uuid:b/c[1]\n",
            },
            "a-c.csv line 2: KEY 'uuid:b/c[1]' is not a repeat row under PARENT_KEY 'uuid:a'",
        ),
        ({"a.csv": "SubmissionDate,team\n2024,A\n"}, "a.csv: no KEY column"),
    ],
)
def test_central_csv_errors_name_the_file_and_line(tmp_path, files, message):
    with zipfile.ZipFile(tmp_path / "export.zip", "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    with pytest.raises(SubmissionFormatError, match=re.escape(message)):
        from_central_csv(tmp_path / "export.zip")


def test_central_csv_refuses_what_is_not_an_export(tmp_path):
    with pytest.raises(SubmissionFormatError, match="no such file"):
        from_central_csv(tmp_path / "missing.zip")
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(SubmissionFormatError, match=r"unknown file type '\.json'"):
        from_central_csv(tmp_path / "x.json")
    (tmp_path / "bad.zip").write_bytes(b"not a zip")
    with pytest.raises(SubmissionFormatError, match="not a zip file"):
        from_central_csv(tmp_path / "bad.zip")
    (tmp_path / "latin.csv").write_bytes("SubmissionDate,é\n".encode("latin-1"))
    with pytest.raises(SubmissionFormatError, match="not UTF-8 text"):
        from_central_csv(tmp_path / "latin.csv")


# ---- geometry -------------------------------------------------------------------------

POINT = shapely.Point(35.00871, 48.50412)
SQUARE = shapely.Polygon([(35.0, 48.5), (35.01, 48.5), (35.01, 48.51), (35.0, 48.5)])
TRACE = shapely.LineString([(35.0, 48.5), (35.01, 48.51)])


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("48.50412 35.00871", POINT),
        ("48.50412 35.00871 121.3", POINT),
        ("48.50412 35.00871 121.3 3.9", POINT),
        ("  48.50412   35.00871 121.3 3.9\n", POINT),
        ("48.50412 35.00871 121.3 3.9;", POINT),
        ("48.5 35.0 0 0;48.51 35.01 0 0", TRACE),
        ("48.5 35.0 0 0; 48.51 35.01 0 0; ", TRACE),
        ("48.5 35.0 1 2; 48.5 35.01 1 2; 48.51 35.01 1 2; 48.5 35.0 1 2", SQUARE),
        ("48.5 35.0;48.5 35.01;48.51 35.01;48.5 35.0;", SQUARE),
        ("48.5 35.0 1 2;\n48.5 35.01 1 2;\n48.51 35.01 1 2;\n48.5 35.0 1 2;\n", SQUARE),
        ({"type": "Point", "coordinates": [35.00871, 48.50412]}, POINT),
        (
            {
                "type": "Point",
                "coordinates": [35.00871, 48.50412, 121.3],
                "properties": {"accuracy": 3.9},
            },
            POINT,
        ),
        ({"type": "LineString", "coordinates": [[35.0, 48.5, 1], [35.01, 48.51, 1]]}, TRACE),
        (
            {
                "type": "Polygon",
                "coordinates": [[[35.0, 48.5], [35.01, 48.5], [35.01, 48.51], [35.0, 48.5]]],
                "properties": {"accuracies": [2, 2, 2, 2]},
            },
            SQUARE,
        ),
        ("POINT (35.00871 48.50412 121.3)", POINT),
        ("POINT (35.00871 48.50412)", POINT),
        ("LINESTRING (35 48.5 0,35.01 48.51 0)", TRACE),
        ("POLYGON ((35 48.5 1,35.01 48.5 1,35.01 48.51 1,35 48.5 1))", SQUARE),
        ("polygon((35 48.5, 35.01 48.5, 35.01 48.51, 35 48.5))", SQUARE),
    ],
)
def test_every_spelling_of_a_geometry_reads_alike(value, expected):
    got = parse_odk_geometry(value)
    assert got.equals_exact(expected, 0)
    assert not got.has_z  # altitude dropped


def test_the_fixture_geometries_read_alike_in_every_format():
    for source in SOURCES.values():
        shapes = {
            s.instance_id: parse_odk_geometry(s.fields["hazard_area"], "geoshape") for s in source()
        }
        assert shapes[S1].equals_exact(
            shapely.Polygon(
                [
                    (35.0081, 48.5046),
                    (35.0094, 48.5049),
                    (35.0099, 48.5038),
                    (35.0085, 48.5034),
                    (35.0081, 48.5046),
                ]
            ),
            0,
        )
        assert len(shapes[S2_EDITED].exterior.coords) == 4  # trailing ";" tolerated


@pytest.mark.parametrize(
    ("value", "kind", "message"),
    [
        ("48.5", None, "point '48.5' has 1 number; an ODK point has 2 to 4"),
        ("48.5 35 1 2 3", None, "point '48.5 35 1 2 3' has 5 numbers"),
        ("48.5 35;48.6", None, "point 2 of 2 ('48.6') has 1 number"),
        ("48.5 east", None, "point '48.5 east': 'east' is not a number"),
        ("nan 35", None, "'nan' is not a number"),
        ("48.5 1_000", None, "'1_000' is not a number"),
        ("1e999 35", None, "latitude inf is not a finite number"),
        ("48.5 35 1e999 1", None, "altitude 1e999 is not a finite number"),
        ("91 35", None, "latitude 91 is outside -90..90 (ODK writes latitude first)"),
        ("35.004 190", None, "longitude 190 is outside -180..180"),
        ("48.5 35;;48.6 35", None, "point 2 of 3 is empty (two ';' in a row)"),
        (";", None, "no points"),
        ("   ", None, "empty geometry"),
        ("48.5 35;48.6 35;48.5 35", None, "a shape needs at least 4 points"),
        ("48.5 35;48.5 35", None, "a shape needs at least 4 points"),
        (
            "48.5 35;48.5 35.01;48.51 35.01",
            "geoshape",
            "the shape does not close: its last point '48.51 35.01' is not its first '48.5 35'",
        ),
        ("48.5 35", "geoshape", "a shape needs at least 4 points"),
        ("48.5 35", "geotrace", "a trace needs at least 2 points, got 1"),
        ("48.5 35;48.6 35", "geopoint", "a geopoint is one point, got 2"),
        ("POINT (35 48.5)", "geoshape", "a geoshape is a Polygon, got a Point"),
        ("48.5 35", "polygon", "unknown geometry kind 'polygon'"),
        (42, None, "a geometry is an ODK string, a GeoJSON mapping or WKT, not int"),
        (None, None, "not NoneType"),
        ({"type": "Feature", "geometry": {}}, None, "a GeoJSON Feature, not a geometry"),
        ({"type": "MultiPolygon", "coordinates": []}, None, "GeoJSON type 'MultiPolygon'"),
        ({"coordinates": [1, 2]}, None, "GeoJSON type None is not an ODK geometry"),
        ({"type": "Point", "coordinates": [35]}, None, "the Point is not a position"),
        ({"type": "Point", "coordinates": [35, True]}, None, "True is not a number"),
        ({"type": "Point", "coordinates": [35, "48"]}, None, "'48' is not a number"),
        ({"type": "Point", "coordinates": [35, 10**400]}, None, "a coordinate is out of range"),
        ({"type": "Point", "coordinates": [200, 48]}, None, "longitude 200 is outside"),
        ({"type": "LineString", "coordinates": [[35, 48]]}, None, "at least 2 positions"),
        ({"type": "Polygon", "coordinates": []}, None, "the Polygon has 0 rings"),
        (
            {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]},
            None,
            "the Polygon's ring does not close",
        ),
        ("POLYGON ((0 0, 1 0, 1 1))", None, "not an ODK geometry string nor readable WKT"),
        ("MULTIPOINT ((0 0), (1 1))", None, "WKT MultiPoint is not an ODK geometry"),
        ("POINT EMPTY", None, "an empty WKT geometry"),
        (
            "POLYGON ((0 0, 9 0, 9 9, 0 0), (1 1, 2 1, 2 2, 1 1))",
            None,
            "the Polygon has 2 rings",
        ),
        ("POINT (35 95)", None, "WKT position 1: latitude 95 is outside"),
        ("hello", None, "point 'hello': 'hello' is not a number"),
        ("POINTS (1 2)", None, "'POINTS' is not a number"),
    ],
)
def test_bad_geometries_give_precise_messages(value, kind, message):
    with pytest.raises(ValueError) as caught:
        parse_odk_geometry(value, kind)
    assert message in str(caught.value)


# ---- properties -----------------------------------------------------------------------

GEOMETRY_TEXT = st.text(alphabet="0123456789 .;-+eE\n\tPOINTLSGYZM(),", max_size=60)
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), GEOMETRY_TEXT))
def test_any_text_gives_a_geometry_or_a_value_error(text):
    try:
        geometry = parse_odk_geometry(text)
    except ValueError:
        return
    assert geometry.geom_type in ("Point", "LineString", "Polygon")


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        JSONISH,
        st.fixed_dictionaries(
            {"type": st.sampled_from(["Point", "LineString", "Polygon"]), "coordinates": JSONISH}
        ),
    ),
    st.sampled_from([None, "geopoint", "geotrace", "geoshape"]),
)
def test_any_json_value_gives_a_geometry_or_a_value_error(value, kind):
    try:
        geometry = parse_odk_geometry(value, kind)
    except ValueError:
        return
    assert geometry.geom_type in ("Point", "LineString", "Polygon")


LATITUDES = st.floats(min_value=-90, max_value=90, allow_nan=False)
LONGITUDES = st.floats(min_value=-180, max_value=180, allow_nan=False)
EXTRA = st.lists(st.floats(min_value=-1e4, max_value=1e4, allow_nan=False), max_size=2)
POSITIONS = st.tuples(LATITUDES, LONGITUDES, EXTRA)


def odk_point(lat: float, lon: float, extra: list[float]) -> str:
    return " ".join(repr(x) for x in (lat, lon, *extra))


@settings(deadline=None)
@given(POSITIONS, st.sampled_from(["", " ", ";", " ; \n"]))
def test_generated_points_round_trip(position, tail):
    lat, lon, extra = position
    text = odk_point(lat, lon, extra) + tail
    for value in (
        text,
        {"type": "Point", "coordinates": [lon, lat, *extra[:1]]},
        f"POINT ({lon!r} {lat!r})",
    ):
        got = parse_odk_geometry(value, "geopoint")
        assert (got.x, got.y) == (lon, lat)


@settings(deadline=None)
@given(
    st.lists(POSITIONS, min_size=3, max_size=12),
    st.sampled_from([";", "; ", " ;\n"]),
    st.booleans(),
)
def test_generated_shapes_round_trip(corners, separator, trailing):
    ring = [*corners, corners[0]]
    text = separator.join(odk_point(*p) for p in ring) + (";" if trailing else "")
    expected = [(lon, lat) for lat, lon, _ in ring]
    geojson = {"type": "Polygon", "coordinates": [[[x, y] for x, y in expected]]}
    wkt = "POLYGON ((" + ",".join(f"{x!r} {y!r}" for x, y in expected) + "))"
    for value, kind in ((text, "geoshape"), (text, None), (geojson, "geoshape"), (wkt, None)):
        got = parse_odk_geometry(value, kind)
        assert list(got.exterior.coords) == expected


@settings(deadline=None)
@given(st.lists(POSITIONS, min_size=2, max_size=12), st.sampled_from([";", "; "]))
def test_generated_traces_round_trip(points, separator):
    first, last = points[0][:2], points[-1][:2]
    assume(first != last or len(points) >= 4)  # a closed list reads as a shape without kind
    text = separator.join(odk_point(*p) for p in points)
    expected = [(lon, lat) for lat, lon, _ in points]
    got = parse_odk_geometry(text, "geotrace")
    assert list(got.coords) == expected
    geojson = parse_odk_geometry({"type": "LineString", "coordinates": [list(p) for p in expected]})
    assert list(geojson.coords) == expected


@settings(deadline=None)
@given(
    st.floats(min_value=90, max_value=1e9, exclude_min=True)
    | st.floats(-1e9, -90, exclude_max=True),
    LONGITUDES,
)
def test_out_of_range_latitudes_are_refused(lat, lon):
    with pytest.raises(ValueError, match=r"latitude .* is outside -90\.\.90"):
        parse_odk_geometry(f"{lat!r} {lon!r}")

"""Field submissions of Clearfield's own forms, as KoboToolbox and ODK Central deliver
them, into the review queue of a real store (each test on both stores): deduplicated by
instance id, edits versioned, the unmappable kept with their reason."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from shapely import box

from clearfield import services
from clearfield.ingest import check_ingest_key, ingest, new_ingest_key
from clearfield.io.odk import from_odata, kobo_list
from common import X0, Y0, base_programme, dump, hazard, organisation, team

INSIDE = box(X0 + 0.002, Y0 + 0.002, X0 + 0.004, Y0 + 0.004)  # inside HA-1


def shape(geom) -> str:
    """An ODK geoshape string: ``lat lon alt acc`` vertices joined by ``;``."""
    return ";".join(f"{y} {x} 120 4" for x, y in geom.exterior.coords)


def kobo(form: str, *, instance: str | None = None, deprecated: str | None = None, **answers: Any) -> dict[str, Any]:  # fmt: skip
    """A submission as a KoboToolbox REST Service posts it: flat keys, every answer text,
    Kobo's own keys beside them."""
    instance = instance or f"uuid:{uuid.uuid4()}"
    out = {
        "_id": 301948227,
        "formhub/uuid": "8d2f6c41b07e4a9d93c5e1f0a7b62d38",
        "clearfield_form": form,
        **{k: str(v) for k, v in answers.items() if not isinstance(v, list)},
        **{k: v for k, v in answers.items() if isinstance(v, list)},
        "__version__": "vQ7hP3kZr2NwXb8TeLm5Ya",
        "meta/instanceID": instance,
        "_xform_id_string": "aK3vXb9QmL2pRt7YwZ5nJc",
        "_uuid": instance.removeprefix("uuid:"),
        "_attachments": [],
        "_status": "submitted_via_web",
        "_submission_time": "2026-03-05T06:20:41",
        "_submitted_by": "team7_tablet2",
    }
    if deprecated:
        out["meta/deprecatedID"] = deprecated
    return out


def ts(**kw: Any) -> dict[str, Any]:
    answers = {
        "hazard_id": "HA-1",
        "organisation": "ORG-1",
        "team": "TM-1",
        "start_date": "2025-03-01",
        "end_date": "2025-03-04",
        "location_safe": "yes",
        "geometry": shape(INSIDE),
        "kind": "ts",
    }
    return kobo("clearfield_ts", **{**answers, **kw})


def daily(**kw: Any) -> dict[str, Any]:
    answers = {
        "team": "TM-1",
        "hazard_id": "HA-1",
        "report_date": "2025-03-05",
        "people_present": 8,
        "worker_days": 6.5,
        "area_worked_m2": 240.5,
        "finds": 2,
        "location_safe": "no",
        "location_description": "north of the well",
    }
    return kobo("clearfield_clearance_daily", **{**answers, **kw})


def accident(**kw: Any) -> dict[str, Any]:
    answers = {
        "occurred_on": "2025-03-06",
        "district": "North",
        "device_category": "ap_mine",
        "activity_at_time": "agriculture",
        "hazard_id": "HA-1",
        "organisation": "ORG-1",
        "location_safe": "yes",
        "geometry": f"{Y0 + 0.003} {X0 + 0.003} 110 5",
        "casualties": [
            {"casualties/sex": "female", "casualties/age_group": "child",
             "casualties/outcome": "injured", "casualties/role": "civilian"},
            {"casualties/sex": "male", "casualties/age_group": "adult",
             "casualties/outcome": "killed", "casualties/role": "civilian"},
        ],
    }  # fmt: skip
    return kobo("clearfield_accident", **{**answers, **kw})


@pytest.fixture
def programme(store):
    services.import_features(store, base_programme(), source="register", actor="officer")
    return store


def test_submissions_enter_the_review_queue_as_submitted(programme) -> None:
    store = programme
    payload = [ts(), daily(), accident()]
    report = ingest(store, kobo_list(payload), actor="kobo", organisation="ORG-1")
    ids = [p["meta/instanceID"] for p in payload]
    assert report.mapped == ids and not report.unmapped and not report.duplicates
    pending = {(s.record.RECORD_TYPE, s.record.id) for s in services.pending(store)}
    assert pending == {("activity", ids[0]), ("daily_report", ids[1]), ("accident", ids[2])}
    found = store.history("accident", ids[2])[0].record
    assert [c.outcome.value for c in found.casualties] == ["injured", "killed"]
    assert found.geometry.x == pytest.approx(X0 + 0.003)  # ODK puts latitude first
    activity = store.history("activity", ids[0])[0].record
    assert activity.geometry.equals_exact(INSIDE, 1e-9)
    assert store.history("daily_report", ids[1])[0].record.area_worked_m2 == 240.5
    kept = {r["instance_id"]: r for r in store.field_return_list()}
    assert set(kept) == set(ids) and {r["status"] for r in kept.values()} == {"mapped"}
    assert kept[ids[0]]["records"] == [["activity", ids[0]]]


def test_a_resent_submission_is_stored_once(programme) -> None:
    store = programme
    first = ts()
    ingest(store, kobo_list([first]), actor="kobo")
    before = dump(store)
    again = ingest(store, kobo_list([first, first]), actor="kobo")
    assert again.duplicates == [first["meta/instanceID"]] * 2 and not again.mapped
    assert dump(store) == before


def test_an_edited_submission_makes_a_new_version_of_the_same_record(programme) -> None:
    store = programme
    original = ts()
    ingest(store, kobo_list([original]), actor="kobo")
    first_id = original["meta/instanceID"]
    edit = ts(deprecated=first_id, end_date="2025-03-05")
    second_edit = ts(deprecated=edit["meta/instanceID"], end_date="2025-03-06")
    report = ingest(store, kobo_list([edit, second_edit]), actor="kobo")
    assert report.records == [("activity", first_id), ("activity", first_id)]
    history = store.history("activity", first_id)
    assert [h.record.end_date.isoformat() for h in history] == ["2025-03-04", "2025-03-05", "2025-03-06"]  # fmt: skip
    assert len([s for s in services.pending(store) if s.record.RECORD_TYPE == "activity"]) == 1


def test_what_cannot_be_mapped_is_kept_with_the_reason(programme) -> None:
    store = programme
    good = ts()
    unsafe = ts(location_safe="no", geometry=None, location_description="by the old mill")
    del unsafe["geometry"]
    unknown_hazard = ts(hazard_id="HA-404")
    other_org = ts(organisation="ORG-2")
    not_ours = kobo("someone_elses_form", q1="x")
    bad_shape = ts(geometry="48.5 35.0 0 0;48.6 35.1 0 0")  # two points: not a shape
    payload = [good, unsafe, unknown_hazard, other_org, not_ours, bad_shape]
    report = ingest(store, kobo_list(payload), actor="kobo", organisation="ORG-1")
    assert report.mapped == [good["meta/instanceID"]]
    reasons = report.unmapped
    assert "not safe to record" in reasons[unsafe["meta/instanceID"]]
    assert "by the old mill" in reasons[unsafe["meta/instanceID"]]
    assert "HA-404" in reasons[unknown_hazard["meta/instanceID"]]
    assert "ORG-2" in reasons[other_org["meta/instanceID"]]
    assert "not a submission of a Clearfield form" in reasons[not_ours["meta/instanceID"]]
    assert bad_shape["meta/instanceID"] in reasons
    kept = {r["instance_id"]: r for r in store.field_return_list(status="unmapped")}
    assert set(kept) == set(reasons)
    assert all(kept[i]["reason"] == reasons[i] and kept[i]["records"] == [] for i in kept)
    # kept as received: the raw submission can be fixed and sent again
    raw = store.field_returns([unsafe["meta/instanceID"]])[unsafe["meta/instanceID"]].raw
    assert "by the old mill" in raw


def test_odata_gives_the_same_records_as_kobo(programme) -> None:
    store = programme
    instance = f"uuid:{uuid.uuid4()}"
    odata = {
        "@odata.context": "https://central.example.org/v1/projects/3/forms/clearfield_ts.svc/$metadata#Submissions",
        "value": [
            {
                "__id": instance,
                "clearfield_form": "clearfield_ts",
                "hazard_id": "HA-1",
                "organisation": "ORG-1",
                "team": "TM-1",
                "start_date": "2025-03-01",
                "end_date": "2025-03-04",
                "location_safe": "yes",
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [[[x, y, 120] for x, y in INSIDE.exterior.coords]],
                    "properties": {"accuracies": [4, 4, 4, 4, 4]},
                },
                "location_description": None,
                "kind": "ts",
                "meta": {"instanceID": instance},
                "__system": {
                    "submissionDate": "2026-03-05T06:20:41.000Z",
                    "submitterId": "5",
                    "submitterName": "team7",
                    "attachmentsPresent": 0,
                    "attachmentsExpected": 0,
                    "status": None,
                    "reviewState": None,
                    "deviceId": "collect:abc",
                    "edits": 0,
                    "formVersion": "3",
                },
            }
        ],
    }  # fmt: skip
    report = ingest(store, from_odata(odata), actor="central")
    assert report.mapped == [instance]
    assert store.history("activity", instance)[0].record.geometry.equals_exact(INSIDE, 1e-9)


def test_an_ingest_key_is_the_organisations_own(programme) -> None:
    store = programme
    key, digest = new_ingest_key()
    store.set_ingest_key("ORG-1", digest, actor="admin")
    assert check_ingest_key(store, "ORG-1", key)
    assert not check_ingest_key(store, "ORG-1", key + "x")
    assert not check_ingest_key(store, "ORG-2", key)
    newer, newer_digest = new_ingest_key()
    store.set_ingest_key("ORG-1", newer_digest, actor="admin")
    assert not check_ingest_key(store, "ORG-1", key)  # the old key stops working
    assert check_ingest_key(store, "ORG-1", newer)


def test_a_submission_kept_unmapped_is_tried_again_when_sent_again(programme) -> None:
    store = programme
    early = ts(hazard_id="HA-9")  # the hazard is not recorded yet
    first = ingest(store, kobo_list([early]), actor="kobo")
    assert "HA-9" in first.unmapped[early["meta/instanceID"]]
    services.import_features(store, [hazard("HA-9", box(X0 + 0.02, Y0, X0 + 0.03, Y0 + 0.01))], source="register", actor="officer")  # fmt: skip
    fixed = dict(early, geometry=shape(box(X0 + 0.022, Y0 + 0.002, X0 + 0.024, Y0 + 0.004)))
    again = ingest(store, kobo_list([fixed]), actor="kobo")
    assert again.mapped == [early["meta/instanceID"]] and not again.duplicates
    kept = store.field_return_list()
    assert [(r["instance_id"], r["status"]) for r in kept] == [(early["meta/instanceID"], "mapped")]  # fmt: skip
    assert ingest(store, kobo_list([fixed]), actor="kobo").duplicates == [early["meta/instanceID"]]  # fmt: skip


def test_one_organisations_key_makes_no_version_of_anothers_records(programme) -> None:
    store = programme
    services.import_features(store, [organisation("ORG-2"), team("TM-2", organisation="ORG-2")], source="register", actor="officer")  # fmt: skip
    theirs = ts()
    ingest(store, kobo_list([theirs]), actor="kobo", organisation="ORG-1")
    before = dump(store)
    own_id = theirs["meta/instanceID"]
    same_answers = {k: v for k, v in theirs.items() if not k.startswith(("_", "meta/", "formhub"))}
    nts = {
        "organisation": "ORG-2", "team": "TM-2", "start_date": "2025-03-01",
        "end_date": "2025-03-02", "nts_outcome": "hazard", "hazard_id": "HA-1", "name": "Taken",
        "status": "SHA", "contamination": "uxo", "land_use": "agricultural", "district": "North",
        "indirect_evidence": "rumour", "location_safe": "yes", "hazard_geometry": shape(INSIDE),
        "recorded_on": "2025-03-02",
    }  # fmt: skip
    taken = {**same_answers, "organisation": "ORG-2", "team": "TM-2"}
    attempts = [
        ts(instance=own_id + "-x", organisation="ORG-2", team="TM-2"),  # fine: its own
        ts(organisation="ORG-2", team="TM-2", deprecated=own_id),  # an "edit" of ORG-1's
        kobo("clearfield_ts", **taken, instance=own_id),  # ORG-1's instance id
        ts(organisation="ORG-2", team="TM-1 "),  # ORG-1's team, with a space
        kobo("clearfield_nts", **nts),  # an update of ORG-1's hazard
    ]
    report = ingest(store, kobo_list(attempts), actor="kobo", organisation="ORG-2")
    assert report.mapped == [attempts[0]["meta/instanceID"]]
    assert set(report.unmapped) == {a["meta/instanceID"] for a in attempts[1:]} - {own_id}
    assert report.duplicates == [own_id]  # mapped already: not retried by anyone
    assert store.history("hazard", "HA-1")[-1].record.name == "Hazard HA-1"
    assert len(store.history("activity", own_id)) == 1
    assert (
        dump(store)["record_version"][: len(before["record_version"])] == before["record_version"]
    )


def test_an_edit_on_the_same_date_is_a_correction(programme) -> None:
    store = programme
    original = ts()
    ingest(store, kobo_list([original]), actor="kobo")
    smaller = box(X0 + 0.002, Y0 + 0.002, X0 + 0.003, Y0 + 0.003)
    edit = ts(deprecated=original["meta/instanceID"], geometry=shape(smaller))  # same end_date
    report = ingest(store, kobo_list([edit]), actor="kobo")
    assert report.mapped == [edit["meta/instanceID"]], report.unmapped
    history = store.history("activity", original["meta/instanceID"])
    assert len(history) == 2 and history[-1].is_current
    assert history[-1].record.geometry.equals_exact(smaller, 1e-9)


def test_odd_answers_are_kept_unmapped_not_crashes(programme) -> None:
    store = programme
    odd = [ts(), ts(team=[{"team/id": "TM-1"}])]  # repeats where one answer goes
    odd[0]["clearfield_form"] = [{"clearfield_form/x": "clearfield_ts"}]
    report = ingest(store, kobo_list(odd), actor="kobo", organisation="ORG-1")
    assert set(report.unmapped) == {o["meta/instanceID"] for o in odd}
    instance = f"uuid:{uuid.uuid4()}"
    linked_only = {
        "@odata.context": "https://c.example.org/v1/projects/1/forms/clearfield_accident.svc/$metadata#Submissions",
        "value": [{"__id": instance, "clearfield_form": "clearfield_accident",
                   "occurred_on": "2025-03-06", "district": "North", "device_category": "ap_mine",
                   "activity_at_time": "agriculture", "location_safe": "yes",
                   "geometry": {"type": "Point", "coordinates": [X0, Y0]},
                   "casualties@odata.navigationLink": f"Submissions('{instance}')/casualties",
                   "meta": {"instanceID": instance}}],
    }  # fmt: skip
    report = ingest(store, from_odata(linked_only), actor="central")
    assert "casualties" in report.unmapped[instance]  # never an accident without its people

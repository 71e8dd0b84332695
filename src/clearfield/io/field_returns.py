"""Field returns to records: a submission of one of Clearfield's forms as import features.

A submission read by :mod:`clearfield.io.odk` (from KoboToolbox or ODK Central) names
its form in the calculated answer ``clearfield_form``; every question of the forms is
named after the property it fills (``docs/forms.md``), so mapping is by name: the
answers that are a record's properties become the feature's properties, a
select_multiple answer is split at spaces, and the ODK geometry becomes GeoJSON. Every
record from the field enters the review queue as ``submitted``.

What cannot be mapped raises :class:`Unmappable` with the reason an officer reads: an
unknown form, a geometry not taken because the location was not safe to record, a
geometry ODK cannot have written. The domain's own checks (required answers, values,
geometry rules) run later, in the import, like any other record's.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

import shapely

from clearfield.domain.records import Accident, Activity, DailyReport, EOFind, Hazard, Record
from clearfield.errors import RecordError
from clearfield.forms.definitions import FORM_FIELD, FORMS
from clearfield.io.odk import Submission
from clearfield.io.odk_geometry import parse_odk_geometry

__all__ = ["Unmappable", "form_of", "to_features"]


class Unmappable(RecordError):
    """A submission no record can be made of as it stands; kept for an officer to fix."""

    code = "UNMAPPABLE"


_QUESTIONS = {form.form_id: {q.name: q for q in form.questions} for form in FORMS}


def form_of(sub: Submission) -> str:
    """The Clearfield form a submission answers (its ``clearfield_form`` answer)."""
    form_id = sub.fields.get(FORM_FIELD) or sub.form_id
    if not isinstance(form_id, str) or form_id not in _QUESTIONS:
        known = ", ".join(_QUESTIONS)
        raise Unmappable(
            f"not a submission of a Clearfield form (form {form_id!r}; known: {known})",
            record=sub.instance_id,
        )
    return str(form_id)


def to_features(sub: Submission, record_id: str) -> list[dict[str, Any]]:
    """The import features (GeoJSON dicts) a submission makes, all ``submitted``.

    ``record_id`` is the id of the record the submission is (the first instance id of
    its chain of edits): an edited submission makes a new version of the same record.
    """
    form_id = form_of(sub)
    return _MAKERS[form_id](sub, form_id, record_id)


def _nts(sub: Submission, form_id: str, record_id: str) -> list[dict[str, Any]]:
    outcome = sub.fields.get("nts_outcome")
    if outcome not in ("hazard", "cancellation", "both"):
        raise Unmappable(
            f"nts_outcome {outcome!r} is not hazard, cancellation or both", record=sub.instance_id
        )
    features = []
    if outcome in ("hazard", "both"):
        hazard = _feature(sub, form_id, Hazard, str(sub.fields.get("hazard_id") or ""))
        hazard["geometry"] = _geometry(sub, form_id, "hazard_geometry")
        features.append(hazard)
    if outcome in ("cancellation", "both"):
        # ``status`` in this form is the hazard's SHA/CHA, never the activity's review status
        release = _feature(sub, form_id, Activity, record_id, skip=("status",))
        release["geometry"] = _geometry(sub, form_id, "release_geometry")
        features.append(release)
    return features


def _one(cls: type[Record]) -> Callable[[Submission, str, str], list[dict[str, Any]]]:
    def make(sub: Submission, form_id: str, record_id: str) -> list[dict[str, Any]]:
        feature = _feature(sub, form_id, cls, record_id)
        if "geometry" in _QUESTIONS[form_id]:
            feature["geometry"] = _geometry(sub, form_id, "geometry", required=cls.GEOMETRY_REQUIRED)  # fmt: skip
        return [feature]

    return make


_MAKERS: dict[str, Callable[[Submission, str, str], list[dict[str, Any]]]] = {
    "clearfield_nts": _nts,
    "clearfield_ts": _one(Activity),
    "clearfield_clearance_daily": _one(DailyReport),
    "clearfield_eo_find": _one(EOFind),
    "clearfield_accident": _one(Accident),
    "clearfield_reconstruction_daily": _one(DailyReport),
}


def _feature(
    sub: Submission, form_id: str, cls: type[Record], record_id: str, skip: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The feature of one record: the answers that are its properties, by name."""
    names = {f.name for f in dataclasses.fields(cls)} | set(cls.ALIASES)
    names -= {"id", "geometry", "review_status", "rejection_reason", *skip, *cls.ALIASES}
    questions = _QUESTIONS[form_id]
    props: dict[str, Any] = {"record_type": cls.RECORD_TYPE, "id": record_id}
    for name, value in sub.fields.items():
        if name not in names or value is None:
            continue
        q = questions.get(name)
        if q is not None and q.type == "select_multiple" and isinstance(value, str):
            value = value.split()
        elif q is not None and q.type == "begin_repeat":
            value = [{k: v for k, v in row.items() if v is not None} for row in value]
        props[name] = value
    props["review_status"] = "submitted"
    return {"type": "Feature", "properties": props, "geometry": None}


def _geometry(
    sub: Submission, form_id: str, name: str, *, required: bool = True
) -> dict[str, Any] | None:
    """The GeoJSON of a geopoint or geoshape answer; none when the team could not take it."""
    value = sub.fields.get(name)
    if value is None:
        if not required:
            return None
        where = sub.fields.get("location_description")
        why = (
            f"the location was not safe to record ({where!r}): draw the {name} from it"
            if sub.fields.get("location_safe") == "no"
            else f"no {name} was given"
        )
        raise Unmappable(why, record=sub.instance_id, field=name)
    kind = _QUESTIONS[form_id][name].type
    try:
        geom = parse_odk_geometry(value, kind)  # type: ignore[arg-type]
    except ValueError as exc:
        raise Unmappable(str(exc), record=sub.instance_id, field=name) from None
    return json.loads(shapely.to_geojson(geom))

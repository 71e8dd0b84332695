"""The six field forms, question by question, and the files the package ships.

Every question is named after the property of the record it fills and every choice
list comes from an enumeration (see :mod:`clearfield.forms.xlsform` for why); the
constraints keep bad data on the tablet, where it is cheapest to fix.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path

from openpyxl import Workbook

from clearfield.domain.enums import (
    AccidentActivity,
    ActivityKind,
    AgeGroup,
    Contamination,
    Disposal,
    HazardStatus,
    LandUse,
    Outcome,
    Sex,
    VictimRole,
)
from clearfield.forms.choices import FORM_ENUMS, NtsOutcome, YesNo, choice_list_name
from clearfield.forms.xlsform import Form, Question, workbook_bytes

__all__ = ["FORMS", "FORMS_DIR", "FORM_FIELD", "build_forms", "choice_table", "write_forms"]

FORMS_DIR = Path(__file__).parent / "xlsform"
"""Where the generated forms ship, inside the package (``clearfield/forms/xlsform``)."""

# --- Building blocks shared by the forms --------------------------------------------------

_PAST = ". <= today()"
_PAST_MSG = "The date cannot be in the future."
_SAFE = f"${{location_safe}} = '{YesNo.YES}'"
_UNSAFE = f"${{location_safe}} = '{YesNo.NO}'"
_SHAPE_CONSTRAINT = "area(.) > 0"
_SHAPE_MSG = "The shape has no area: walk or place at least three distinct corners."
_NO_GEOMETRY = (
    "the record's geometry is not taken on the tablet: the importer holds the "
    "submission for the IM officer, who draws it from this description"
)


def _text(name: str, label: str, maps_to: str, *, required: bool = False, **kw: str) -> Question:
    """A text question; ``required`` as a flag, since only the NTS needs conditions."""
    return Question("text", name, label, required="yes" if required else "", maps_to=maps_to, **kw)


def _past_date(name: str, label: str, maps_to: str, **kw: str) -> Question:
    """A required date that may not lie in the future (no record's date of information may)."""
    return Question(
        "date",
        name,
        label,
        required="yes",
        constraint=_PAST,
        constraint_message=_PAST_MSG,
        maps_to=maps_to,
        **kw,
    )


def _end_date(label: str, maps_to: str) -> Question:
    """``end_date``: not before ``start_date`` (``domain.parse`` rejects it), not in the future."""
    return Question(
        "date",
        "end_date",
        label,
        required="yes",
        constraint=". >= ${start_date} and . <= today()",
        constraint_message="The end date must not be before the start date, nor in the future.",
        maps_to=maps_to,
    )


def _count(
    name: str, label: str, maps_to: str, low: int, high: int, *, required: bool = True, **kw: str
) -> Question:
    """A whole number in ``[low, high]``: a typo (an extra zero) is caught on the tablet."""
    return Question(
        "integer",
        name,
        label,
        required="yes" if required else "",
        constraint=f". >= {low} and . <= {high}",
        constraint_message=f"Enter a whole number from {low} to {high}.",
        maps_to=maps_to,
        **kw,
    )


def _location_safe(what: str) -> Question:
    """The safety question every located form asks before taking a position or boundary."""
    return Question(
        "select_one",
        "location_safe",
        "Is it safe to record the location here?",
        hint=(
            f"Answer no if taking the {what} would put you or others at risk "
            "(walking the ground, being seen); you then describe the location instead."
        ),
        required="yes",
        choices=YesNo,
        maps_to="— (form logic: asks for the geometry when yes, a description when no)",
    )


def _location_description(*, required: bool, extra: str = "") -> Question:
    """What the team writes instead of a geometry when recording one is not safe."""
    return Question(
        "text",
        "location_description",
        "Describe the location",
        hint=(
            "Where it is, so that an office can map it: village, road, distance and "
            "direction from a landmark, grid reference."
        ),
        required="yes" if required else "",
        relevant=_UNSAFE,
        maps_to=f"— (no property: {extra or _NO_GEOMETRY})",
    )


def _organisation(maps_to: str) -> Question:
    return _text(
        "organisation",
        "Organisation id",
        maps_to,
        required=True,
        hint="Your organisation's id in Clearfield (as on your accreditation).",
    )


def _team(maps_to: str, *, required: bool) -> Question:
    return _text(
        "team",
        "Team id",
        maps_to,
        required=required,
        hint="Your team's id in Clearfield.",
    )


def _intro(text: str) -> Question:
    return Question("note", "intro", text, maps_to="— (shown only)")


FORM_FIELD = "clearfield_form"
"""The calculated answer that names the form in every submission: KoboToolbox's JSON
carries its own asset uid, not the XLSForm's ``form_id``, so the importer reads this."""


def _form_marker(form_id: str) -> Question:
    return Question(
        "calculate",
        FORM_FIELD,
        calculation=f"'{form_id}'",
        maps_to="— (which form: the importer reads it)",
    )


def _kind(kind: ActivityKind, relevant: str = "") -> Question:
    """The activity's ``kind``, calculated so the submission carries it under its own name."""
    return Question(
        "calculate",
        "kind",
        calculation=f"'{kind.value}'",
        relevant=relevant,
        maps_to=f"`activity.kind` (always `{kind.value}`)",
    )


# --- The forms ---------------------------------------------------------------------------

_HAZARD = f"${{nts_outcome}} != '{NtsOutcome.CANCELLATION}'"
_RELEASE = f"${{nts_outcome}} != '{NtsOutcome.HAZARD}'"
_CHA = f"${{status}} = '{HazardStatus.CHA}'"

NTS = Form(
    form_id="clearfield_nts",
    title="Non-technical survey (NTS)",
    instance_name="concat('NTS ', ${hazard_id}, ' ', ${end_date})",
    records=(
        "a `hazard` (when `nts_outcome` is `hazard` or `both`) and/or an `activity` of kind "
        "`nts` that cancels land (when `nts_outcome` is `cancellation` or `both`)"
    ),
    questions=(
        _form_marker("clearfield_nts"),
        _intro(
            "Non-technical survey of a hazardous area: record the area you found, "
            "land you can cancel because there is no evidence of contamination, or both."
        ),
        _organisation("`hazard.organisation`; `activity.organisation`"),
        _team("`activity.team`", required=False),
        _past_date("start_date", "First day of the survey", "`activity.start_date`"),
        _end_date(
            "Last day of the survey",
            "`activity.end_date`; also `hazard.recorded_on` (see `recorded_on`)",
        ),
        Question(
            "select_one",
            "nts_outcome",
            "What does this survey record?",
            required="yes",
            choices=NtsOutcome,
            maps_to="— (form logic: which records the submission makes)",
        ),
        _text(
            "hazard_id",
            "Hazardous area id",
            "`hazard.id`; `activity.hazard_id`",
            required=True,
            hint="The id of the area in Clearfield; for a new area, the id the IM office issued.",
        ),
        Question(
            "text",
            "name",
            "Name of the hazardous area",
            required="yes",
            relevant=_HAZARD,
            maps_to="`hazard.name`",
        ),
        Question(
            "select_one",
            "status",
            "Classification",
            hint="CHA only with direct evidence of explosive ordnance (IMAS 04.10).",
            required="yes",
            relevant=_HAZARD,
            choices=HazardStatus,
            maps_to="`hazard.status` (not the activity's review status)",
        ),
        Question(
            "select_multiple",
            "contamination",
            "Contamination expected",
            required="yes",
            relevant=_HAZARD,
            choices=Contamination,
            maps_to="`hazard.contamination` (list)",
        ),
        Question(
            "select_one",
            "land_use",
            "Land use",
            required="yes",
            relevant=_HAZARD,
            choices=LandUse,
            maps_to="`hazard.land_use`",
        ),
        _text("district", "District", "`hazard.district`", relevant=_HAZARD, required=True),
        Question(
            "text",
            "direct_evidence",
            "Direct evidence",
            hint="What was seen of explosive ordnance itself; separate items with ;",
            # domain.parse: a CHA needs direct evidence (IMAS 04.10)
            required=_CHA,
            required_message=(
                "A CHA needs direct evidence (IMAS 04.10): record it, or classify the area SHA."
            ),
            relevant=_HAZARD,
            maps_to="`hazard.direct_evidence` (list: the text split at `;`)",
        ),
        Question(
            "text",
            "indirect_evidence",
            "Indirect evidence",
            hint="Reports, accidents, fighting, signs; separate items with ;",
            # domain.parse: a hazardous area needs evidence of one kind or the other
            required="${direct_evidence} = ''",
            required_message="A hazardous area needs evidence, direct or indirect.",
            relevant=_HAZARD,
            maps_to="`hazard.indirect_evidence` (list: the text split at `;`)",
        ),
        _location_safe("boundary"),
        Question(
            "geoshape",
            "hazard_geometry",
            "Boundary of the hazardous area",
            hint="Walk or place the corners of the whole area (it is not shrunk by a cancellation).",
            required="yes",
            relevant=f"{_SAFE} and {_HAZARD}",
            constraint=_SHAPE_CONSTRAINT,
            constraint_message=_SHAPE_MSG,
            maps_to="`hazard` geometry (Polygon)",
        ),
        Question(
            "geoshape",
            "release_geometry",
            "Boundary of the cancelled land",
            hint="Only the land with no evidence, inside the hazardous area.",
            required="yes",
            relevant=f"{_SAFE} and {_RELEASE}",
            constraint=_SHAPE_CONSTRAINT,
            constraint_message=_SHAPE_MSG,
            maps_to="`activity` geometry (Polygon: the land cancelled)",
        ),
        _location_description(required=True),
        _kind(ActivityKind.NTS, relevant=_RELEASE),
        Question(
            "calculate",
            "recorded_on",
            calculation="${end_date}",
            relevant=_HAZARD,
            maps_to="`hazard.recorded_on` (= `end_date`)",
        ),
    ),
)


TS = Form(
    form_id="clearfield_ts",
    title="Technical survey (TS)",
    instance_name="concat('TS ', ${hazard_id}, ' ', ${end_date})",
    records="an `activity` of kind `ts`: the land it reduces",
    questions=(
        _form_marker("clearfield_ts"),
        _intro("Technical survey: record the land of a hazardous area that the survey reduced."),
        _text("hazard_id", "Hazardous area id", "`activity.hazard_id`", required=True),
        _organisation("`activity.organisation`"),
        _team("`activity.team`", required=False),
        _past_date("start_date", "First day of the survey", "`activity.start_date`"),
        _end_date("Last day of the survey", "`activity.end_date`"),
        _location_safe("boundary"),
        Question(
            "geoshape",
            "geometry",
            "Boundary of the reduced land",
            hint="Only the land released by the survey, inside the hazardous area.",
            required="yes",
            relevant=_SAFE,
            constraint=_SHAPE_CONSTRAINT,
            constraint_message=_SHAPE_MSG,
            maps_to="`activity` geometry (Polygon: the land reduced)",
        ),
        _location_description(required=True),
        _kind(ActivityKind.TS),
    ),
)

CLEARANCE_DAILY = Form(
    form_id="clearfield_clearance_daily",
    title="Clearance daily report",
    instance_name="concat(${team}, ' ', ${hazard_id}, ' ', ${report_date})",
    records="a `daily_report` of a clearance team on one hazardous area",
    questions=(
        _form_marker("clearfield_clearance_daily"),
        _intro("Clearance daily report: one per team and day."),
        _team("`daily_report.team`", required=True),
        _text("hazard_id", "Hazardous area id", "`daily_report.hazard_id`", required=True),
        _past_date("report_date", "Date of the work", "`daily_report.report_date`"),
        _count(
            "people_present",
            "People present",
            "`daily_report.people_present`",
            1,
            200,
            hint="Everyone of the team on site today.",
        ),
        Question(
            "decimal",
            "worker_days",
            "Deminers working (person-days)",
            hint="Deminers who searched or cleared today; 0.5 for half a day.",
            constraint=". >= 0 and . <= ${people_present}",
            constraint_message="From 0 to the number of people present.",
            maps_to="`daily_report.worker_days`",
        ),
        Question(
            "decimal",
            "area_worked_m2",
            "Area cleared today (m²)",
            hint="0 on a day without clearance (weather, stand-down): say why under incidents.",
            required="yes",
            # 0 is a report (no ground worked); an empty answer would read as "not reported"
            constraint=". >= 0 and . <= 100000",
            constraint_message=(
                "Enter the area in square metres, from 0 to 100,000 "
                "(a manual team clears tens to hundreds a day)."
            ),
            maps_to="`daily_report.area_worked_m2`",
        ),
        _count(
            "finds",
            "Explosive ordnance items found today",
            "`daily_report.finds`",
            0,
            10000,
            hint="Record each find also with the EO find form.",
        ),
        _text(
            "incidents",
            "Incidents",
            "`daily_report.incidents`",
            hint="Accidents, near misses, stoppages (weather, access); leave empty if none.",
            appearance="multiline",
        ),
        _location_safe("boundary"),
        Question(
            "geoshape",
            "geometry",
            "Boundary of the land cleared today (optional)",
            relevant=_SAFE,
            constraint=_SHAPE_CONSTRAINT,
            constraint_message=_SHAPE_MSG,
            maps_to="`daily_report` geometry (Polygon; optional)",
        ),
        _location_description(required=False, extra="a daily report may go without a geometry"),
    ),
)

EO_FIND = Form(
    form_id="clearfield_eo_find",
    title="Explosive ordnance (EO) find",
    instance_name="concat('EO ', ${category}, ' x', ${quantity}, ' ', ${found_on})",
    records="a `find`",
    questions=(
        _form_marker("clearfield_eo_find"),
        _intro("Explosive ordnance find: one item, or several of the same type at one spot."),
        _organisation("`find.organisation`"),
        _team("`find.team`", required=False),
        _text(
            "hazard_id",
            "Hazardous area id (if in one)",
            "`find.hazard_id`",
            hint="Leave empty for a find outside any recorded hazardous area.",
        ),
        _past_date("found_on", "Date found", "`find.found_on`"),
        Question(
            "select_one",
            "category",
            "Category",
            required="yes",
            choices=Contamination,
            maps_to="`find.category`",
        ),
        _text(
            "ordnance_type",
            "Type (model)",
            "`find.ordnance_type`",
            required=True,
            hint="For example PMN-2, TM-62M, M77 submunition, 120 mm mortar.",
        ),
        _count("quantity", "Quantity", "`find.quantity`", 1, 10000, default="1"),
        Question(
            "select_one",
            "disposal",
            "Disposal",
            required="yes",
            default=Disposal.DESTROYED_IN_SITU.value,
            choices=Disposal,
            maps_to="`find.disposal`",
        ),
        _location_safe("position"),
        Question(
            "geopoint",
            "geometry",
            "Position of the find",
            required="yes",
            relevant=_SAFE,
            maps_to="`find` geometry (Point)",
        ),
        _location_description(required=True),
    ),
)

ACCIDENT = Form(
    form_id="clearfield_accident",
    title="Explosive ordnance accident and casualties",
    instance_name="concat('Accident ', ${district}, ' ', ${occurred_on})",
    records="an `accident` with its `casualties`",
    questions=(
        _form_marker("clearfield_accident"),
        _intro(
            "Explosive ordnance accident. Names of casualties are personal data: record "
            "them only if your organisation needs them; Clearfield shows them only to "
            "roles that need them."
        ),
        _past_date("occurred_on", "Date of the accident", "`accident.occurred_on`"),
        _text("district", "District", "`accident.district`", required=True),
        Question(
            "select_one",
            "device_category",
            "Category of the device",
            required="yes",
            choices=Contamination,
            maps_to="`accident.device_category`",
        ),
        _text("device_type", "Type of the device (if known)", "`accident.device_type`"),
        Question(
            "select_one",
            "activity_at_time",
            "What were the victims doing?",
            required="yes",
            choices=AccidentActivity,
            maps_to="`accident.activity_at_time`",
        ),
        _text(
            "hazard_id",
            "Hazardous area id (if in one)",
            "`accident.hazard_id`",
            hint="Leave empty if the accident was outside any recorded hazardous area.",
        ),
        _text(
            "organisation",
            "Organisation id (if a demining accident)",
            "`accident.organisation`",
            hint="The operator whose staff were harmed or who reports; may be empty.",
        ),
        _location_safe("position"),
        Question(
            "geopoint",
            "geometry",
            "Position of the accident",
            required="yes",
            relevant=_SAFE,
            maps_to="`accident` geometry (Point)",
        ),
        _location_description(required=True),
        Question(
            "begin_repeat",
            "casualties",
            "Casualty",
            maps_to="`accident.casualties` (list: one object per repeat)",
        ),
        Question(
            "select_one",
            "sex",
            "Sex",
            required="yes",
            choices=Sex,
            maps_to="`casualties[].sex`",
        ),
        Question(
            "select_one",
            "age_group",
            "Age group",
            hint="Child: under 18.",
            required="yes",
            choices=AgeGroup,
            maps_to="`casualties[].age_group`",
        ),
        Question(
            "select_one",
            "outcome",
            "Outcome",
            required="yes",
            choices=Outcome,
            maps_to="`casualties[].outcome`",
        ),
        Question(
            "select_one",
            "role",
            "Role",
            required="yes",
            default=VictimRole.CIVILIAN.value,
            choices=VictimRole,
            maps_to="`casualties[].role`",
        ),
        _text(
            "name",
            "Name (personal data, optional)",
            "`casualties[].name` (restricted personal data)",
        ),
        Question("end_repeat", "casualties", maps_to="—"),
    ),
)

RECONSTRUCTION_DAILY = Form(
    form_id="clearfield_reconstruction_daily",
    title="Reconstruction daily progress",
    instance_name="concat(${team}, ' ', ${project_id}, ' ', ${report_date})",
    records="a `daily_report` of a construction brigade on one reconstruction project",
    questions=(
        _form_marker("clearfield_reconstruction_daily"),
        _intro("Reconstruction daily progress: one per brigade and day."),
        _team("`daily_report.team`", required=True),
        _text(
            "project_id",
            "Reconstruction project id",
            "`daily_report.project_id`",
            required=True,
            hint="The project that rebuilds the asset (not the asset's id).",
        ),
        _past_date("report_date", "Date of the work", "`daily_report.report_date`"),
        _count(
            "people_present",
            "Workers present",
            "`daily_report.people_present`",
            1,
            1000,
        ),
        Question(
            "decimal",
            "worker_days",
            "Worker-days worked",
            hint="Workers who worked today; 0.5 for half a day.",
            constraint=". >= 0 and . <= ${people_present}",
            constraint_message="From 0 to the number of workers present.",
            maps_to="`daily_report.worker_days`",
        ),
        Question(
            "decimal",
            "percent_complete",
            "Work complete so far (%)",
            required="yes",
            constraint=". >= 0 and . <= 100",
            constraint_message="Enter a percentage from 0 to 100.",
            maps_to=(
                "— (no property of a daily report; the importer may set "
                "`project.status` `in_progress`, or `completed` at 100)"
            ),
        ),
        _text(
            "incidents",
            "Notes and incidents",
            "`daily_report.incidents`",
            hint="Delays, shortages, safety events, suspected explosive ordnance.",
            appearance="multiline",
        ),
    ),
)

FORMS: tuple[Form, ...] = (NTS, TS, CLEARANCE_DAILY, EO_FIND, ACCIDENT, RECONSTRUCTION_DAILY)
"""Every field form, in the order a programme meets them."""


def build_forms() -> dict[str, Workbook]:
    """Every form as an openpyxl workbook, by form id."""
    return {form.form_id: form.workbook() for form in FORMS}


def write_forms(folder: Path | str = FORMS_DIR, forms: Iterable[Form] = FORMS) -> list[Path]:
    """Write each form to ``folder/<form_id>.xlsx``; return the paths written.

    The default folder is the one the package ships: ``python -m clearfield.forms``
    refreshes the shipped forms this way.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for form in forms:
        path = folder / f"{form.form_id}.xlsx"
        path.write_bytes(workbook_bytes(form.workbook()))
        paths.append(path)
    return paths


def choice_table() -> str:
    """The Markdown table of every choice list the forms use, with its values."""
    lines = ["| list | generated from | values |", "|---|---|---|"]
    seen: list[type[StrEnum]] = []
    for form in FORMS:
        seen += [e for e in form.enums() if e not in seen]
    for enum in seen:
        module = "clearfield.forms.choices" if enum in FORM_ENUMS else "clearfield.domain.enums"
        values = ", ".join(f"`{m.value}`" for m in enum)
        lines.append(f"| `{choice_list_name(enum)}` | `{module}.{enum.__name__}` | {values} |")
    return "\n".join(lines)

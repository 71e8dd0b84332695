"""XLSForm workbooks: questions, forms, the ``.xlsx`` files and their documentation tables.

The six forms themselves are in :mod:`clearfield.forms.definitions`.

Why build the forms in code rather than keep hand-edited spreadsheets: a form is a
contract with the importer. Every question is named after the property of the record
it fills (``domain.records`` / ``domain.parse``), so a submission maps onto a record
by name, and every choice list is *generated* from an enumeration, so a value added to
or removed from ``domain.enums`` changes the forms too (a test compares the shipped
``.xlsx`` files with what this module builds and fails until they are regenerated).

The forms keep bad data off the server where it is cheapest to fix, on the tablet:
dates may not lie in the future, an end date may not precede its start, areas and
counts must be in sane ranges, and the IMAS evidence rules for a hazardous area are
checked before the team leaves the site. A location is recorded only when the team says
it is safe to do so; otherwise the form asks for a description instead, which an IM
officer turns into a geometry.

Regenerate the shipped forms after changing this module or an enumeration with::

    python -m clearfield.forms
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from openpyxl import Workbook

from clearfield.forms.choices import choice_label, choice_list_name

__all__ = [
    "CHOICE_COLUMNS",
    "SETTINGS_COLUMNS",
    "SURVEY_COLUMNS",
    "Form",
    "Question",
    "field_table",
    "workbook_bytes",
]

SURVEY_COLUMNS = (
    "type",
    "name",
    "label",
    "hint",
    "required",
    "required_message",
    "relevant",
    "constraint",
    "constraint_message",
    "calculation",
    "default",
    "appearance",
)
CHOICE_COLUMNS = ("list_name", "name", "label")
SETTINGS_COLUMNS = ("form_title", "form_id", "version", "instance_name")


@dataclass(frozen=True, slots=True)
class Question:
    """One row of an XLSForm ``survey`` sheet, with what it maps to in the domain.

    ``type`` is the ODK type without its list (``select_one``); ``choices`` names the
    enumeration whose values make the list, so the list cannot drift from the domain.
    ``maps_to`` is documentation for the importer (``record_type.property``), not part
    of the workbook.
    """

    type: str
    name: str
    label: str = ""
    hint: str = ""
    required: str = ""  # "yes", or an XPath expression for a conditional requirement
    required_message: str = ""
    relevant: str = ""
    constraint: str = ""
    constraint_message: str = ""
    calculation: str = ""
    default: str = ""
    appearance: str = ""
    choices: type[StrEnum] | None = None
    maps_to: str = ""

    @property
    def xls_type(self) -> str:
        """The ``type`` cell: ``select_one land_use`` for a select, the plain type otherwise."""
        if self.choices is not None:
            return f"{self.type} {choice_list_name(self.choices)}"
        return self.type

    def row(self) -> list[str]:
        """The question's cells, in :data:`SURVEY_COLUMNS` order."""
        cells = {"type": self.xls_type}
        return [cells.get(c, getattr(self, c)) for c in SURVEY_COLUMNS]


@dataclass(frozen=True, slots=True)
class Form:
    """One XLSForm: its settings, its questions, and the records a submission makes."""

    form_id: str
    title: str
    instance_name: str
    records: str  # what a submission becomes, for the documentation
    questions: tuple[Question, ...] = field(default=())

    def enums(self) -> list[type[StrEnum]]:
        """The enumerations the form's selects use, in order of first use (each once)."""
        out: list[type[StrEnum]] = []
        for q in self.questions:
            if q.choices is not None and q.choices not in out:
                out.append(q.choices)
        return out

    def survey_rows(self) -> list[list[str]]:
        """The ``survey`` sheet: a header of :data:`SURVEY_COLUMNS`, then one row a question."""
        return [list(SURVEY_COLUMNS), *(q.row() for q in self.questions)]

    def choice_rows(self) -> list[list[str]]:
        """The ``choices`` sheet: every value of every enumeration the form uses, in order."""
        rows = [list(CHOICE_COLUMNS)]
        for enum in self.enums():
            name = choice_list_name(enum)
            rows += [[name, m.value, choice_label(enum, m.value)] for m in enum]
        return rows

    @property
    def version(self) -> str:
        """A digest of the form's content: it changes exactly when the form does.

        ODK Central refuses a changed form under an unchanged version, and a digest
        needs no one to remember to bump it; it also keeps the workbook deterministic.
        """
        content = [self.form_id, self.title, self.instance_name]
        content += [self.survey_rows(), self.choice_rows()]
        return hashlib.sha256(json.dumps(content).encode()).hexdigest()[:12]

    def settings_rows(self) -> list[list[str]]:
        """The ``settings`` sheet; ``instance_name`` titles a submission in server lists."""
        return [
            list(SETTINGS_COLUMNS),
            [self.title, self.form_id, self.version, self.instance_name],
        ]

    def workbook(self) -> Workbook:
        """The XLSForm workbook: ``survey``, ``choices`` and ``settings`` sheets."""
        wb = Workbook()
        wb.remove(wb.active)
        for title, rows in (
            ("survey", self.survey_rows()),
            ("choices", self.choice_rows()),
            ("settings", self.settings_rows()),
        ):
            ws = wb.create_sheet(title)
            for row in rows:
                ws.append([cell if cell != "" else None for cell in row])
            ws.freeze_panes = "A2"
            for col, header in zip(ws.iter_cols(min_row=1, max_row=1), rows[0], strict=True):
                width = 40 if header in ("label", "hint", "constraint_message") else 22
                ws.column_dimensions[col[0].column_letter].width = width
        wb.properties.creator = "clearfield"
        wb.properties.created = _FIXED_TIME
        return wb


# --- Deterministic files -----------------------------------------------------------------

# openpyxl stamps the time of saving into the file (zip entries and docProps/core.xml);
# fixed stamps make the same form the same bytes, so a regenerated form is a clean diff.
_FIXED_TIME = datetime(2026, 1, 1)
_ZIP_TIME = (2026, 1, 1, 0, 0, 0)
_MODIFIED = re.compile(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)")


def workbook_bytes(wb: Workbook) -> bytes:
    """The ``.xlsx`` bytes of a workbook, with fixed timestamps so that they are repeatable."""
    raw = io.BytesIO()
    wb.save(raw)
    out = io.BytesIO()
    stamp = _FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = _MODIFIED.sub(rb"\g<1>" + stamp + rb"\g<2>", data)
            entry = zipfile.ZipInfo(info.filename, date_time=_ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            dst.writestr(entry, data)
    return out.getvalue()


# --- Documentation -------------------------------------------------------------------------


def field_table(form: Form) -> str:
    """The Markdown table of a form's fields for ``docs/forms.md`` (a test keeps them equal).

    ``field`` is the key in a KoboToolbox submission (``casualties/sex`` inside the
    repeat); ``asked when`` is the question's relevance (an unasked field is absent or
    empty in the submission); ``required`` is ``yes`` or the condition that requires it.
    """
    lines = [
        "| field | type | required | asked when | maps to |",
        "|---|---|---|---|---|",
    ]
    group = ""
    for q in form.questions:
        if q.type == "end_repeat":
            group = ""
            continue
        cells = [
            f"`{group}{q.name}`",
            f"`{q.xls_type}`",
            _code(q.required) if q.required != "yes" else "yes",
            _code(q.relevant) or "always",
            q.maps_to,
        ]
        lines.append("| " + " | ".join(cells) + " |")
        if q.type == "begin_repeat":
            group = f"{q.name}/"
    return "\n".join(lines)


def _code(text: str) -> str:
    return f"`{text}`" if text else ""

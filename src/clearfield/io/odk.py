"""Field submissions as KoboToolbox and ODK Central deliver them, read into one shape.

Teams fill XLSForms on tablets (ODK Collect, KoboToolbox); the servers hand the
submissions on in three shapes, each with its own spelling of the same answers:

* **KoboToolbox** (a REST Service's POST, or the data API's ``{"results": [...]}``): one
  flat JSON object per submission, keys are XPaths without the root (``report/team``),
  a repeat is a list of objects whose keys are full paths too (``casualties/sex``), and
  Kobo's own keys start with ``_`` (``_id``, ``_uuid``, ``_submission_time``...).
  Every answer is text; an unasked question is left out.
* **ODK Central OData** (``.../forms/<id>.svc/Submissions``): groups are nested
  objects, integers and decimals are JSON numbers, geometries are GeoJSON objects (or
  WKT with ``$wkt=true``), an unanswered question is ``null``, a repeat is a
  ``<name>@odata.navigationLink`` and, with ``$expand=*``, a list of objects.
* **ODK Central CSV** (the ``.csv`` of the main table, or the export ``.zip`` with one
  CSV per repeat): group paths joined with ``-``, a geopoint split into four columns,
  repeat rows in their own files, tied by ``PARENT_KEY`` to a ``KEY``.

Every reader returns :class:`Submission`: the submission's identity and metadata, and
``fields``, the answers keyed by the question's *name* (``team``, not ``report/team``
or ``report-team``), so one mapping to the domain serves all three. Answers stay as the
format gives them (text, a JSON number, a geometry string or GeoJSON object); turning
them into domain values is the domain reader's job, which already accepts numbers
written as text. :func:`parse_odk_geometry` reads every geometry spelling the formats
use. The sources behind each rule are listed in ``tests/data/odk/README.md``.

This module reads payloads only: it opens no database, makes no HTTP request and
knows nothing of the CLI.
"""

from __future__ import annotations

import copy
import csv
import io
import re
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote

from clearfield.errors import ClearfieldError
from clearfield.io.odk_geometry import GEOJSON_TYPES, GeoKind, parse_odk_geometry

__all__ = [
    "GeoKind",
    "Source",
    "Submission",
    "SubmissionFormatError",
    "from_central_csv",
    "from_kobo",
    "from_odata",
    "kobo_list",
    "parse_odk_geometry",
]

Source = Literal["kobo", "odk-odata", "odk-csv"]


class SubmissionFormatError(ClearfieldError, ValueError):
    """A payload that is not what KoboToolbox or ODK Central sends, named with where it
    goes wrong (``submission 3: no meta/instanceID``). A ``ValueError`` so callers that
    only know "bad input" catch it, and a ``ClearfieldError`` so the CLI and the API
    report it like every other refusal, never as a ``KeyError`` trace."""

    code = "BAD_SUBMISSION"


@dataclass(frozen=True)
class Submission:
    """One submission, whatever server it came from.

    ``instance_id`` is the ``meta/instanceID`` the device wrote (``uuid:...``): the
    idempotency key, and a new one for every edited version. ``deprecated_id`` names the
    submission an edit replaces: KoboToolbox's ``meta/deprecatedID`` (the version just
    before); ODK Central exports no such chain, so for Central it is the submission's
    first instance id (Central's ``__id``/``KEY``) whenever that differs from
    ``meta/instanceID`` -- the record the first version created either way.

    ``fields`` holds the answers keyed by question name, groups dropped; a repeat is a
    list of rows, each a dict keyed the same way. Two questions of one table sharing a
    name: the one nearer the root (the first in form order, when equally deep) keeps the
    name and the other is keyed by its full path with ``/`` (``report/remarks``), noted
    in ``notes``. KoboToolbox leaves unasked questions out, so such a clash is seen only
    when both are answered: forms should not reuse names (Clearfield's do not).

    Values: text as given (a ``select_multiple`` stays one string of choice names
    separated by spaces, ``"ap_mine uxo"``); numbers as the format gives them (JSON
    numbers from OData, text from KoboToolbox and CSV); geometries as given (an ODK
    string, or from OData a GeoJSON mapping or WKT: read them with
    :func:`parse_odk_geometry`); ``""`` and ``null`` become ``None``. A question
    KoboToolbox left out is absent, and so is a repeat with no rows in every format
    (KoboToolbox and OData cannot tell it from an unasked one): read with ``.get``.
    The server's metadata (Kobo's ``_`` keys, the ``meta`` and ``formhub`` groups,
    Central's ``__system`` and CSV metadata columns) stays out of ``fields``.

    ``raw`` is the submission's own object (KoboToolbox, OData) or main-table row (CSV)
    as received, to keep a submission that cannot be mapped; repeat rows that came in
    separate tables (OData subtables, CSV repeat files) are in ``fields`` only.
    ``notes`` says what a reader of ``fields`` should know that ``fields`` cannot show:
    a question keyed by its full path, a repeat the payload did not carry.
    """

    instance_id: str
    deprecated_id: str | None
    form_id: str | None
    form_version: str | None
    submitted_at: str | None
    submitter: str | None
    fields: dict[str, Any]
    source: Source
    raw: Any = field(repr=False)
    notes: tuple[str, ...] = ()


# --------------------------------------------------------------------------------------
# Answers: a flat list of (path, value) in document order, then named


@dataclass
class _Repeat:
    """The rows of one repeat, each a list of items relative to the repeat."""

    rows: list[list[_Item]]


_Item = tuple[tuple[str, ...], Any]
_SERVER_GROUPS = ("meta", "formhub")  # the instance's own metadata, not questions


def _blank_to_none(value: Any) -> Any:
    """``""`` and ``null`` mean "no answer" in every format; one spelling for both."""
    return None if value is None or value == "" else value


def _named(items: list[_Item], where: str, notes: list[str]) -> dict[str, Any]:
    """Key each answer by its question name; a name two questions share goes to the one
    nearest the root (first in document order when equally deep) and the other keeps
    its full path. Choosing by depth, not only order, keeps a root question's key free:
    its full path is its name."""
    owner: dict[str, tuple[str, ...]] = {}
    for path, _ in items:
        held = owner.get(path[-1])
        if held is None or len(path) < len(held):
            owner[path[-1]] = path
    fields: dict[str, Any] = {}
    for path, value in items:
        name = path[-1]
        key = name
        if owner[name] != path:
            key = "/".join(path)
            notes.append(
                f"{where}: {key} is keyed by its full path, as the name {name!r} goes to "
                f"{'/'.join(owner[name])}"
            )
        if isinstance(value, _Repeat):
            fields[key] = [
                _named(row, f"{where}, {'/'.join(path)}[{n}]", notes)
                for n, row in enumerate(value.rows, 1)
            ]
        else:
            fields[key] = value
    return fields


def _submission(items: list[_Item], where: str, notes: list[str], **meta: Any) -> Submission:
    fields = _named(items, where, notes)
    return Submission(fields=fields, notes=tuple(notes), **meta)


def _text(value: Any) -> str | None:
    """Metadata as text: ids may come as JSON numbers (Central's ``submitterId``)."""
    value = _blank_to_none(value)
    return None if value is None else str(value)


# --------------------------------------------------------------------------------------
# KoboToolbox

_NAIVE_ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?")


def from_kobo(obj: Mapping[str, Any]) -> Submission:
    """One KoboToolbox submission: the JSON object a REST Service POSTs, or one item of
    the data API's ``results``.

    ``form_id`` is ``_xform_id_string`` (the asset uid on kpi servers, not the XLSForm's
    ``form_id``), ``form_version`` is ``__version__`` (Kobo's deployment version id),
    ``submitted_at`` is ``_submission_time`` marked as UTC (Kobo writes it in UTC
    without an offset) and ``submitter`` is ``_submitted_by`` (an account name). Keys at
    the root that start with ``_`` are Kobo's and are skipped, so a root question named
    ``_x`` would be lost (Clearfield's forms have none).
    """
    where = "submission"
    if isinstance(obj, Mapping) and isinstance(obj.get("_id"), int | str):
        where = f"submission _id={obj['_id']}"
    return _from_kobo(obj, where)


def kobo_list(payload: Any) -> list[Submission]:
    """KoboToolbox submissions from one object, a list of them, or a data API page
    (``{"count": .., "next": .., "results": [...]}``); errors name the submission's
    place (``submission 3``, counting from 1)."""
    if isinstance(payload, Mapping):
        results = payload.get("results")
        if isinstance(results, list) and "meta/instanceID" not in payload:
            payload = results  # a data API page, not a submission with a "results" repeat
        else:
            return [from_kobo(payload)]
    if not isinstance(payload, list):
        raise SubmissionFormatError(
            f"expected a KoboToolbox submission, a list of them or a data API page "
            f"{{'results': [...]}}, got {type(payload).__name__}",
            record="KoboToolbox payload",
        )
    return [_from_kobo(obj, f"submission {n}") for n, obj in enumerate(payload, 1)]


def _from_kobo(obj: Any, where: str) -> Submission:
    if not isinstance(obj, Mapping):
        raise SubmissionFormatError(
            f"a KoboToolbox submission is a JSON object, not {type(obj).__name__}",
            record=where,
        )
    instance_id = obj.get("meta/instanceID")
    if not isinstance(instance_id, str) or not instance_id:
        raise SubmissionFormatError("no meta/instanceID", record=where)
    submitted_at = _text(obj.get("_submission_time"))
    if submitted_at is not None and _NAIVE_ISO.fullmatch(submitted_at):
        submitted_at += "Z"
    notes: list[str] = []
    return _submission(
        _kobo_items(obj, (), where),
        where,
        notes,
        instance_id=instance_id,
        deprecated_id=_text(obj.get("meta/deprecatedID")),
        form_id=_text(obj.get("_xform_id_string")),
        form_version=_text(obj.get("__version__")),
        submitted_at=submitted_at,
        submitter=_text(obj.get("_submitted_by")),
        source="kobo",
        raw=obj,
    )


def _kobo_items(obj: Mapping[str, Any], table: tuple[str, ...], where: str) -> list[_Item]:
    """Answers of a submission (``table`` empty) or of a repeat row (``table`` the
    repeat's full path, which prefixes every key of its rows)."""
    items: list[_Item] = []
    for key, value in obj.items():
        if not isinstance(key, str) or not key:
            raise SubmissionFormatError(f"key {key!r} is not a question path", record=where)
        parts = tuple(key.split("/"))
        if not table:
            if key.startswith("_") or parts[0] in _SERVER_GROUPS:
                continue  # Kobo's own keys and the instance metadata
        elif parts[: len(table)] != table or len(parts) == len(table):
            raise SubmissionFormatError(
                f"key {key!r} in a row of repeat {'/'.join(table)} does not start with "
                f"'{'/'.join(table)}/'",
                record=where,
            )
        path = parts[len(table) :]
        if isinstance(value, list):
            if not all(isinstance(row, Mapping) for row in value):
                raise SubmissionFormatError(
                    f"{key} is a list whose items are not objects: not a KoboToolbox repeat",
                    record=where,
                )
            if value:
                rows = [
                    _kobo_items(row, parts, f"{where}, {key}[{n}]")
                    for n, row in enumerate(value, 1)
                ]
                items.append((path, _Repeat(rows)))
        elif value is None or isinstance(value, str | int | float):
            items.append((path, _blank_to_none(value)))
        else:
            raise SubmissionFormatError(
                f"{key} is a {type(value).__name__}: not an answer KoboToolbox sends",
                record=where,
            )
    return items


# --------------------------------------------------------------------------------------
# ODK Central OData

_NAV = "@odata.navigationLink"
_FORM_IN_CONTEXT = re.compile(r"/forms/([^/]+)\.svc/")
_PARENT_ID = re.compile(r"__(Submissions(?:-[A-Za-z0-9_]+)*)-id")


def from_odata(
    payload: Mapping[str, Any], repeat_tables: Iterable[Mapping[str, Any]] = ()
) -> list[Submission]:
    """The submissions of an ODK Central OData ``Submissions`` document.

    Repeats come inline with ``$expand=*``. Without it, pass the repeat tables'
    documents (``Submissions.casualties``...) as ``repeat_tables``: their rows are
    joined to their submission (or parent row) by ``__Submissions-id`` (or
    ``__Submissions-<repeat>-id``), the table named by each document's
    ``@odata.context``. Rows of submissions not in ``payload`` (another page) are
    ignored. A repeat that is only a navigation link, with no rows given, is left out
    of ``fields`` and named in ``notes``.

    ``form_id`` is read from ``@odata.context`` (``.../forms/<id>.svc/...``);
    ``submitted_at``, ``submitter`` (``submitterName``, else ``submitterId``) and
    ``form_version`` from ``__system``.
    """
    try:
        return _from_odata(payload, repeat_tables)
    except RecursionError:  # groups nested past any form's
        raise SubmissionFormatError("groups nested too deep to be a form's") from None


def _from_odata(
    payload: Mapping[str, Any], repeat_tables: Iterable[Mapping[str, Any]] = ()
) -> list[Submission]:
    if not isinstance(payload, Mapping) or not isinstance(payload.get("value"), list):
        raise SubmissionFormatError(
            "no 'value' list of submissions: not an OData data document",
            record="OData document",
        )
    context = payload.get("@odata.context")
    table = _odata_table(payload)
    if table not in (None, "Submissions"):
        raise SubmissionFormatError(
            f"this is the {table} table; pass the Submissions table and this one in repeat_tables",
            record="OData document",
        )
    form_id = None
    if isinstance(context, str) and (match := _FORM_IN_CONTEXT.search(context)):
        form_id = unquote(match.group(1))
    children = _odata_children(repeat_tables)
    out = []
    for n, record in enumerate(payload["value"], 1):
        where = f"submission {n}"
        if not isinstance(record, Mapping):
            raise SubmissionFormatError(
                f"an OData submission is a JSON object, not {type(record).__name__}",
                record=where,
            )
        logical = record.get("__id")
        meta = record.get("meta")
        instance_id = meta.get("instanceID") if isinstance(meta, Mapping) else None
        if not isinstance(instance_id, str) or not instance_id:
            instance_id = logical
        if not isinstance(instance_id, str) or not instance_id:
            raise SubmissionFormatError("no __id or meta/instanceID", record=where)
        where = f"submission {n} ({instance_id})"
        system = record.get("__system")
        system = system if isinstance(system, Mapping) else {}
        notes: list[str] = []
        items = _odata_items(record, ("Submissions",), children, where, notes)
        out.append(
            _submission(
                items,
                where,
                notes,
                instance_id=instance_id,
                deprecated_id=logical
                if isinstance(logical, str) and logical != instance_id
                else None,
                form_id=form_id,
                form_version=_text(system.get("formVersion")),
                submitted_at=_text(system.get("submissionDate")),
                submitter=_text(system.get("submitterName")) or _text(system.get("submitterId")),
                source="odk-odata",
                raw=record,
            )
        )
    return out


def _odata_table(document: Mapping[str, Any]) -> str | None:
    context = document.get("@odata.context")
    if isinstance(context, str) and "#" in context:
        return context.rsplit("#", 1)[1]
    return None


def _odata_children(
    tables: Iterable[Mapping[str, Any]],
) -> dict[str, dict[tuple[str, ...], list[Mapping[str, Any]]]]:
    """Rows of the given repeat tables by their parent's ``__id``, then by the repeat's
    path relative to the parent's table (``("casualties",)``)."""
    index: dict[str, dict[tuple[str, ...], list[Mapping[str, Any]]]] = {}
    for t, document in enumerate(tables, 1):
        table = _odata_table(document) if isinstance(document, Mapping) else None
        rows = document.get("value") if isinstance(document, Mapping) else None
        if table is None or not table.startswith("Submissions.") or not isinstance(rows, list):
            raise SubmissionFormatError(
                "not an OData repeat table: needs '@odata.context' ending in "
                "'#Submissions.<repeat>' and a 'value' list",
                record=f"repeat table {t}",
            )
        path = tuple(table.split("."))
        for n, row in enumerate(rows, 1):
            where = f"{table} row {n}"
            if not isinstance(row, Mapping):
                raise SubmissionFormatError("a row is not a JSON object", record=where)
            parent = None
            for key, value in row.items():
                match = _PARENT_ID.fullmatch(key) if isinstance(key, str) else None
                if match:
                    parent = (tuple(match.group(1).split("-")), value)
            if parent is None or not isinstance(parent[1], str):
                raise SubmissionFormatError(
                    "no __Submissions-...-id naming the row's parent", record=where
                )
            parent_table, parent_id = parent
            if path[: len(parent_table)] != parent_table or len(path) == len(parent_table):
                raise SubmissionFormatError(
                    f"parent table {'.'.join(parent_table)} does not contain {table}",
                    record=where,
                )
            index.setdefault(parent_id, {}).setdefault(path[len(parent_table) :], []).append(row)
    return index


def _is_geojson(value: Mapping[str, Any]) -> bool:
    return value.get("type") in GEOJSON_TYPES and isinstance(value.get("coordinates"), list)


def _odata_items(
    record: Mapping[str, Any],
    table: tuple[str, ...],
    children: Mapping[str, Mapping[tuple[str, ...], list[Mapping[str, Any]]]],
    where: str,
    notes: list[str],
) -> list[_Item]:
    """Answers of an OData record, a submission or a repeat row (``table`` its table
    path, ``("Submissions", "casualties")``): its own values, its inline repeats, and the
    rows the given repeat tables hold for it."""
    linked: list[tuple[str, ...]] = []
    items = _odata_walk(record, (), table, children, where, notes, linked)
    have = {path for path, value in items if isinstance(value, _Repeat)}
    own_id = record.get("__id")
    joined = children.get(own_id, {}) if isinstance(own_id, str) else {}
    for path, rows in joined.items():
        if path in have:
            continue  # expanded inline as well: the inline rows are the record's own
        items.append((path, _odata_rows(rows, path, table, children, where, notes)))
        have.add(path)
    for path in linked:
        if path not in have:
            notes.append(
                f"{where}: repeat {'/'.join(path)} is only a navigation link (no $expand=* "
                f"and its table {'.'.join((*table, *path))} not given): left out of fields"
            )
    return items


def _odata_rows(
    rows: list[Any],
    path: tuple[str, ...],
    table: tuple[str, ...],
    children: Mapping[str, Mapping[tuple[str, ...], list[Mapping[str, Any]]]],
    where: str,
    notes: list[str],
) -> _Repeat:
    if not all(isinstance(row, Mapping) for row in rows):
        raise SubmissionFormatError(
            f"{'/'.join(path)} is a list whose items are not objects: not an expanded repeat",
            record=where,
        )
    return _Repeat(
        [
            _odata_items(row, (*table, *path), children, f"{where}, {'/'.join(path)}[{n}]", notes)
            for n, row in enumerate(rows, 1)
        ]
    )


def _odata_walk(
    obj: Mapping[str, Any],
    prefix: tuple[str, ...],
    table: tuple[str, ...],
    children: Mapping[str, Mapping[tuple[str, ...], list[Mapping[str, Any]]]],
    where: str,
    notes: list[str],
    linked: list[tuple[str, ...]],
) -> list[_Item]:
    """Values of a record and of its groups (nested objects), ``prefix`` the group path;
    navigation links found on the way are collected in ``linked``."""
    items: list[_Item] = []
    for key, value in obj.items():
        if not isinstance(key, str) or key.startswith(("__", "@")):
            continue  # __id, __system, __Submissions-id, @odata.* annotations
        if key.endswith(_NAV):
            linked.append((*prefix, key[: -len(_NAV)]))
            continue
        path = (*prefix, key)
        if not prefix and len(table) == 1 and key in _SERVER_GROUPS:
            continue  # the submission's meta group: its instanceID is instance_id
        if isinstance(value, list):
            if value:
                items.append((path, _odata_rows(value, path, table, children, where, notes)))
        elif isinstance(value, Mapping):
            if _is_geojson(value):
                items.append((path, copy.deepcopy(dict(value))))
            else:
                items.extend(_odata_walk(value, path, table, children, where, notes, linked))
        else:
            items.append((path, _blank_to_none(value)))
    return items


# --------------------------------------------------------------------------------------
# ODK Central CSV

_GEO_SUFFIXES = ("-Latitude", "-Longitude", "-Altitude", "-Accuracy")
_REPEAT_INDEX = re.compile(r"\[\d+\]\Z")


@dataclass
class _Table:
    name: str
    header: list[str]
    rows: list[tuple[int, list[str]]]  # (line number, cells)


def from_central_csv(path_or_zip: str | Path, *, form_id: str | None = None) -> list[Submission]:
    """Submissions from ODK Central's CSV export: the main table's ``.csv``, or the
    export ``.zip`` whose repeat CSVs (``<form>-<repeat>.csv``) are joined back by
    ``PARENT_KEY``.

    Columns: ``SubmissionDate`` first, then the questions (group paths joined by
    ``-``, a geopoint as ``<name>-Latitude``/``-Longitude``/``-Altitude``/``-Accuracy``,
    joined back here into the ODK string ``"lat lon alt acc"``), then ``KEY`` and the
    metadata after it. Columns with ``/`` (the optional one-per-choice columns of a
    ``select_multiple``) are skipped: the question's own column has the answer.
    Every value stays text. ``form_id`` defaults to the zip's main CSV name (Central
    names it ``<xmlFormId>.csv``); a bare CSV carries no form id.

    A question name with ``-`` in it cannot be told from a group path in these headers
    and is read as one; Clearfield's forms use none.
    """
    path = Path(path_or_zip)
    if not path.is_file():
        raise SubmissionFormatError("no such file", record=str(path))
    suffix = path.suffix.lower()
    if suffix == ".zip":
        tables = _zip_tables(path)
    elif suffix == ".csv":
        tables = [_read_table(path.name, path.read_bytes())]
    else:
        raise SubmissionFormatError(
            f"unknown file type {suffix!r}: use Central's .csv or .zip export", record=str(path)
        )
    mains = [t for t in tables if t.header[:1] == ["SubmissionDate"]]
    repeats = [t for t in tables if t.header[-2:] == ["PARENT_KEY", "KEY"]]
    if len(mains) != 1:
        names = ", ".join(t.name for t in mains) or "none"
        raise SubmissionFormatError(
            f"expected one main table (a CSV whose first column is SubmissionDate), found {names}",
            record=str(path),
        )
    main = mains[0]
    if suffix == ".zip" and form_id is None:
        form_id = main.name.rsplit("/", 1)[-1].removesuffix(".csv") or None
    if "KEY" not in main.header:
        raise SubmissionFormatError("no KEY column", record=main.name)
    key_at = len(main.header) - 1 - main.header[::-1].index("KEY")

    # repeat rows by the KEY of their parent (a submission or another repeat row)
    child_rows: dict[str, list[tuple[tuple[str, ...], _Table, int, list[str]]]] = {}
    for table in repeats:
        for line, cells in table.rows:
            parent, key = cells[-2], cells[-1]
            if not key.startswith(parent + "/") or not _REPEAT_INDEX.search(key):
                raise SubmissionFormatError(
                    f"KEY {key!r} is not a repeat row under PARENT_KEY {parent!r}",
                    record=f"{table.name} line {line}",
                )
            rel = tuple(_REPEAT_INDEX.sub("", key[len(parent) + 1 :]).split("/"))
            child_rows.setdefault(parent, []).append((rel, table, line, cells))
    keys = {cells[key_at] for _, cells in main.rows}
    keys.update(cells[-1] for t in repeats for _, cells in t.rows)
    for parent, rows in child_rows.items():
        if parent not in keys:
            _, table, line, _ = rows[0]
            raise SubmissionFormatError(
                f"PARENT_KEY {parent!r} matches no submission or repeat row",
                record=f"{table.name} line {line}",
            )

    def attached(key: str) -> list[_Item]:
        """The repeats under a KEY; a row's KEY extends its parent's, so this ends."""
        grouped: dict[tuple[str, ...], list[list[_Item]]] = {}
        for rel, table, _, cells in child_rows.get(key, []):
            items = _csv_items(table.header[:-2], cells[:-2], root=False)
            items += attached(cells[-1])
            grouped.setdefault(rel, []).append(items)
        return [(rel, _Repeat(rows)) for rel, rows in grouped.items()]

    out = []
    seen: set[str] = set()
    for line, cells in main.rows:
        where = f"{main.name} line {line}"
        logical = cells[key_at]
        if not logical:
            raise SubmissionFormatError("empty KEY", record=where)
        if logical in seen:
            raise SubmissionFormatError(f"KEY {logical!r} appears twice", record=where)
        seen.add(logical)
        row = dict(zip(main.header, cells, strict=True))
        instance_id = _meta_instance_id(main.header, cells) or logical
        items = _csv_items(main.header[1:key_at], cells[1:key_at], root=True)
        items += attached(logical)

        system = dict(zip(main.header[key_at + 1 :], cells[key_at + 1 :], strict=True))
        out.append(
            _submission(
                items,
                where,
                [],
                instance_id=instance_id,
                deprecated_id=logical if logical != instance_id else None,
                form_id=form_id,
                form_version=_text(system.get("FormVersion")),
                submitted_at=_text(cells[0]),
                submitter=_text(system.get("SubmitterName")) or _text(system.get("SubmitterID")),
                source="odk-csv",
                raw=row,
            )
        )
    return out


MAX_UNZIPPED_BYTES = 512 * 1024 * 1024
"""An export's tables, unzipped, are at most this large (a small zip may unpack to much)."""


def _zip_tables(path: Path) -> list[_Table]:
    try:
        with zipfile.ZipFile(path) as archive:
            members = [
                info
                for info in archive.infolist()
                if info.filename.lower().endswith(".csv") and "/" not in info.filename
            ]
            unzipped = sum(info.file_size for info in members)
            if unzipped > MAX_UNZIPPED_BYTES:
                raise SubmissionFormatError(
                    f"its tables unzip to {unzipped:,} bytes; at most {MAX_UNZIPPED_BYTES:,}",
                    record=str(path),
                )
            return [_read_table(info.filename, archive.read(info)) for info in members]
    except zipfile.BadZipFile as exc:
        raise SubmissionFormatError(f"not a zip file: {exc}", record=str(path)) from None


def _read_table(name: str, data: bytes) -> _Table:
    """A CSV as Central writes it (UTF-8, comma separated, ``"`` quoted), every row as
    wide as the header."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SubmissionFormatError(f"not UTF-8 text: {exc}", record=name) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if not header:
            raise SubmissionFormatError("empty file: no header", record=name)
        rows = []
        for cells in reader:
            if not cells:
                continue
            if len(cells) != len(header):
                raise SubmissionFormatError(
                    f"{len(cells)} values for {len(header)} columns",
                    record=f"{name} line {reader.line_num}",
                )
            rows.append((reader.line_num, cells))
    except csv.Error as exc:
        raise SubmissionFormatError(
            f"not CSV: {exc}", record=f"{name} line {reader.line_num}"
        ) from None
    return _Table(name, header, rows)


def _meta_instance_id(header: list[str], cells: list[str]) -> str | None:
    """``meta-instanceID``, or ``instanceID`` in an export made without group names."""
    for name in ("meta-instanceID", "instanceID"):
        if name in header and cells[header.index(name)]:
            return cells[header.index(name)]
    return None


def _csv_items(columns: list[str], cells: list[str], *, root: bool) -> list[_Item]:
    """Answers from question columns: a geopoint's four columns joined back into the
    ODK string, ``/`` columns (one per choice) skipped, the instance metadata skipped."""
    grouped_meta = any(c.split("-", 1)[0] in _SERVER_GROUPS and "-" in c for c in columns)
    items: list[_Item] = []
    i = 0
    while i < len(columns):
        column = columns[i]
        if column.endswith(_GEO_SUFFIXES[0]):
            base = column[: -len(_GEO_SUFFIXES[0])]
            if [base + s for s in _GEO_SUFFIXES] == columns[i : i + 4]:
                parts = []
                for value in cells[i : i + 4]:
                    if not value:
                        break
                    parts.append(value)
                items.append((tuple(base.split("-")), " ".join(parts) or None))
                i += 4
                continue
        i += 1
        if "/" in column:
            continue
        path = tuple(column.split("-"))
        if root and len(path) > 1 and path[0] in _SERVER_GROUPS:
            continue
        if root and not grouped_meta and column in ("instanceID", "instanceName"):
            continue  # export without group names: the meta group's columns
        items.append((path, _blank_to_none(cells[i - 1])))
    return items

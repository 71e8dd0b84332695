"""Build records from the properties of a file's feature, with precise reasons when they are wrong.

One generic reader serves every record type: the dataclass fields of the record
say what each property must be (text, whole number, number, date, one value of an
enumeration, or a list of them). A record is accepted whole or rejected with every
fault found in it.

>>> from clearfield.domain.records import Hazard
>>> props = {"id": "H1", "name": "North field", "status": "SHA", "contamination": ["ap_mine"],
...          "land_use": "agricultural", "organisation": "O1", "district": "D1",
...          "recorded_on": "2026-03-01", "indirect_evidence": ["fighting reported"]}
>>> h = build_record(Hazard, props, None, record="feature 1")
>>> (h.id, h.status, h.contamination, h.recorded_on.isoformat())
('H1', <HazardStatus.SHA: 'SHA'>, (<Contamination.AP_MINE: 'ap_mine'>,), '2026-03-01')
>>> build_record(Hazard, {**props, "status": "SUSPECT"}, None, record="feature 1")
Traceback (most recent call last):
...
clearfield.errors.RecordError: feature 1 (hazard H1) [status]: 'SUSPECT' is not one of SHA, CHA
"""

from __future__ import annotations

import dataclasses
import math
import re
import types
import typing
import warnings
from collections.abc import Callable, Sequence
from datetime import date, datetime
from enum import Enum
from functools import cache
from typing import Any

import numpy as np
import orjson
import shapely

from clearfield.domain.accounting import ACCOUNT_FIELDS
from clearfield.domain.enums import HazardStatus, ReviewStatus
from clearfield.domain.geometry import parse_geometry
from clearfield.domain.polygon_arrays import (
    GeometryText,
    plain_rings,
    polygons_from_lists,
    polygons_from_text,
)
from clearfield.domain.records import RECORD_TYPES, Casualty, Hazard, Record
from clearfield.errors import RecordError

__all__ = [
    "DERIVED_PROPERTIES",
    "build_record",
    "parse_feature",
    "parse_features",
    "record_properties",
    "record_values",
]

# Properties Clearfield writes on export that are derived, not data: read back, ignored.
DERIVED_PROPERTIES = frozenset(
    {"record_type", "version", "area_m2", "current", "repaired", "quality_flags", "stored_at"}
    | set(ACCOUNT_FIELDS)
)

_TEXT_LIMIT = 10_000
_ID = re.compile(r"[^\W_][\w.:-]{0,99}")
"""A record id: a letter or digit (of any script), then letters, digits, ``_ . : -``; at
most 100 characters. Ids travel in URLs, file names, map labels and other programmes'
registers, so none may carry a quote, a slash, a space, a percent sign or markup."""
_INT_LIMIT = 2**53  # counts of people, items and days; beyond this a value is a mistake


@dataclasses.dataclass(frozen=True, slots=True)
class _Field:
    name: str
    kind: Any  # str, int, float, bool, date, an Enum class, or Casualty
    many: bool  # a tuple of kind
    required: bool
    optional: bool  # None is allowed


@cache
def _fields(cls: type) -> tuple[_Field, ...]:
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        if f.name in ("geometry",):
            continue
        tp = hints[f.name]
        optional = False
        if isinstance(tp, types.UnionType) or typing.get_origin(tp) is typing.Union:
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            optional = len(args) < len(typing.get_args(tp))
            tp = args[0]
        many = typing.get_origin(tp) is tuple
        if many:
            tp = typing.get_args(tp)[0]
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        out.append(_Field(f.name, tp, many, required, optional))
    return tuple(out)


@cache
def _props_of(cls: type) -> tuple[dict[str, _Field], dict[str, str]]:
    """(property name → field, attribute → property name) for a record class."""
    by_prop: dict[str, _Field] = {}
    prop_of: dict[str, str] = {}
    aliases = getattr(cls, "ALIASES", {})
    reverse = {attr: prop for prop, attr in aliases.items()}
    for f in _fields(cls):
        prop = reverse.get(f.name, f.name)
        by_prop[prop] = f
        prop_of[f.name] = prop
    return by_prop, prop_of


def build_record(
    cls: type[Record],
    props: dict[str, Any],
    geometry: Any,
    *,
    record: str,
    new: bool = True,
) -> Record:
    """Return a ``cls`` from file properties and an already-checked geometry.

    ``record`` names the feature in messages (its index in the file); the record's id
    is added when it has one. Raises :class:`RecordError` for the first fault.
    ``new=False`` reads a stored record: its id is not held to the rule of new ids (a
    record stored before the rule keeps the id it has).
    """
    rid = props.get("id")
    label = f"{record} ({cls.RECORD_TYPE} {rid})" if isinstance(rid, str) and rid else record
    known, plan = _plan(cls)
    faults: list[RecordError] = []
    if not known.issuperset(props):
        for key in props:
            if key not in known and not key.startswith("_"):
                faults.append(
                    RecordError(
                        f"unknown property for a {cls.RECORD_TYPE}", record=label, field=key
                    )
                )
    kwargs: dict[str, Any] = {}
    for prop, name, other, read, f in plan:
        value = props.get(prop)
        if value is None and other is not None:
            value = props.get(other)
        if value is None or value == "" or (f.many and value == []):
            if name == "review_status":
                kwargs[name] = cls.DEFAULT_REVIEW
            elif f.required:
                faults.append(RecordError("is required", record=label, field=prop))
            continue
        try:
            kwargs[name] = read(value)
        except Exception:  # anything unusual: the exact reader converts it or names the fault
            try:
                kwargs[f.name] = _convert(f, value, label, prop)
            except RecordError as exc:
                faults.append(exc)
    if new and isinstance(kwargs.get("id"), str) and not _ID.fullmatch(kwargs["id"]):
        faults.insert(0, RecordError(
            f"{kwargs['id'][:40]!r} is not an id: letters, digits and _ . : - only, "
            "starting with a letter or digit, at most 100 characters",
            record=record,
            field="id",
        ))  # fmt: skip
    if faults:  # every fault of the record at once, so the field team fixes it in one go
        faults[0].more = faults[1:]
        raise faults[0]
    rec = cls(**kwargs, geometry=geometry)
    _check_rules(rec, label)
    return rec


@cache
def _plan(cls: type) -> tuple[frozenset[str], tuple[tuple[str, str, str | None, Any, _Field], ...]]:
    """(the properties a ``cls`` may carry, and per field: its property, attribute, the
    attribute's name when the file may use it instead, its fast reader, the field)."""
    by_prop = _props_of(cls)[0]
    known = (
        frozenset(by_prop) | DERIVED_PROPERTIES | frozenset(getattr(cls, "ALIASES", {}).values())
    )
    plan = tuple(
        (prop, f.name, f.name if prop != f.name else None, _FAST[(f.kind, f.many)], f)
        for prop, f in by_prop.items()
    )
    return known, plan


class _FastReaders(dict):
    """(kind, many) → a converter for the common, well-formed value; it raises otherwise."""

    def __missing__(self, key: tuple[Any, bool]) -> Any:
        kind, many = key
        if many:
            one = self[(kind, False)]

            def read_many(v: Any) -> tuple[Any, ...]:
                if type(v) is not list:
                    raise TypeError
                t = tuple(map(one, v))
                if len(set(t)) != len(t):
                    raise ValueError
                return t

            fn = read_many
        elif kind is str:

            def fn(v: Any) -> str:
                if type(v) is not str or len(v) > _TEXT_LIMIT or "\x00" in v:
                    raise TypeError
                return v.strip()

        elif kind is int:

            def fn(v: Any) -> int:
                if type(v) is not int or v < 0 or v > _INT_LIMIT:
                    raise TypeError
                return v

        elif kind is float:

            def fn(v: Any) -> float:
                if type(v) not in (int, float) or not v >= 0 or v == math.inf:
                    raise TypeError
                return float(v)

        elif kind is date:

            def fn(v: Any) -> date:
                if type(v) is not str or len(v) != 10:
                    raise TypeError
                return date.fromisoformat(v)

        elif isinstance(kind, type) and issubclass(kind, Enum):
            fn = kind._value2member_map_.__getitem__
        else:

            def fn(v: Any) -> Any:
                raise TypeError

        self[key] = fn
        return fn


_FAST = _FastReaders()


def _convert(f: _Field, value: Any, label: str, prop: str) -> Any:
    if f.many:
        if isinstance(value, str) and f.kind is not Casualty:
            value = [v.strip() for v in value.split(";") if v.strip()]  # CSV and XLSX cells
        if not isinstance(value, list):
            raise RecordError(f"must be a list, not {value!r}", record=label, field=prop)
        items = tuple(_scalar(f.kind, v, label, prop) for v in value)
        if len(set(items)) != len(items) and f.kind is not Casualty:
            raise RecordError("lists a value twice", record=label, field=prop)
        return items
    return _scalar(f.kind, value, label, prop)


def _scalar(kind: Any, value: Any, label: str, prop: str) -> Any:
    if kind is str:
        if isinstance(value, int | float) and not isinstance(value, bool) and prop == "id":
            raise RecordError(f"ids are strings; write {str(value)!r}", record=label, field=prop)
        if not isinstance(value, str):
            raise RecordError(f"must be text, not {value!r}", record=label, field=prop)
        value = value.strip()
        if len(value) > _TEXT_LIMIT:
            raise RecordError(f"is longer than {_TEXT_LIMIT} characters", record=label, field=prop)
        if "\x00" in value:
            raise RecordError("contains a NUL character", record=label, field=prop)
        return value
    if kind is bool:
        if isinstance(value, bool):
            return value
        raise RecordError(f"must be true or false, not {value!r}", record=label, field=prop)
    if kind is int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise RecordError(f"must be a whole number, not {value!r}", record=label, field=prop)
        if value > _INT_LIMIT:
            raise RecordError(f"is too large ({value})", record=label, field=prop)
        if value < 0:
            raise RecordError(f"must not be negative ({value})", record=label, field=prop)
        return value
    if kind is float:
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                raise RecordError(
                    f"must be a number, not {value!r}", record=label, field=prop
                ) from None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise RecordError(f"must be a number, not {value!r}", record=label, field=prop)
        if not math.isfinite(value):
            raise RecordError(f"must be a finite number, not {value!r}", record=label, field=prop)
        if value < 0:
            raise RecordError(f"must not be negative ({value})", record=label, field=prop)
        return float(value)
    if kind is date:
        if isinstance(value, date):
            return value
        if not isinstance(value, str):
            raise RecordError(f"must be an ISO date, not {value!r}", record=label, field=prop)
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
        try:  # a timestamp, as spreadsheets and GeoPackage date-time fields give
            return datetime.fromisoformat(value.strip()).date()
        except ValueError:
            raise RecordError(
                f"{value!r} is not an ISO date (YYYY-MM-DD)", record=label, field=prop
            ) from None
    if isinstance(kind, type) and issubclass(kind, Enum):
        try:
            return kind(value)
        except ValueError:
            allowed = ", ".join(m.value for m in kind)
            raise RecordError(
                f"{value!r} is not one of {allowed}", record=label, field=prop
            ) from None
    if kind is Casualty:
        if not isinstance(value, dict):
            raise RecordError(
                f"a casualty must be an object, not {value!r}", record=label, field=prop
            )
        return build_casualty(value, label, prop)
    raise TypeError(f"no reader for {kind!r}")  # a programming error, not bad input


def build_casualty(value: dict[str, Any], label: str, prop: str) -> Casualty:
    kwargs: dict[str, Any] = {}
    known = {f.name: f for f in _fields(Casualty)}
    for key in value:
        if key not in known:
            raise RecordError(f"unknown casualty property {key!r}", record=label, field=prop)
    for name, f in known.items():
        v = value.get(name)
        if v is None or v == "":
            if f.required:
                raise RecordError(f"casualty {name} is required", record=label, field=prop)
            continue
        kwargs[name] = _scalar(f.kind, v, label, f"{prop}.{name}")
    return Casualty(**kwargs)


def _check_rules(rec: Record, label: str) -> None:
    """Rules between fields: IMAS evidence, dates in order, sizes that make sense."""
    if isinstance(rec, Hazard):
        if rec.status is HazardStatus.CHA and not rec.direct_evidence:
            raise RecordError(
                "a CHA needs direct evidence (IMAS 04.10); record it or classify the area SHA",
                record=label,
                field="direct_evidence",
            )
        if not rec.direct_evidence and not rec.indirect_evidence:
            raise RecordError(
                "a hazardous area needs evidence, direct or indirect",
                record=label,
                field="indirect_evidence",
            )
    start, end = getattr(rec, "start_date", None), getattr(rec, "end_date", None)
    if start is not None and end is not None and end < start:
        raise RecordError(
            f"end_date {end} is before start_date {start}", record=label, field="end_date"
        )
    if getattr(rec, "personnel", 1) == 0:
        raise RecordError("must be at least 1", record=label, field="personnel")
    if getattr(rec, "quantity", 1) == 0:
        raise RecordError("must be at least 1", record=label, field="quantity")
    if rec.review_status is ReviewStatus.REJECTED and not rec.rejection_reason:
        raise RecordError(
            "a rejected record needs a rejection_reason", record=label, field="status"
        )


@cache
def _attrs(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in _fields(cls))


def record_values(rec: Record) -> dict[str, Any]:
    """The record's set fields by attribute name, values as they are (enums, dates, tuples).

    The cheap form for hashing and storing: orjson writes enums, dates, tuples and
    casualties natively, and :func:`build_record` reads the result back.
    """
    return {a: v for a in _attrs(type(rec)) if (v := getattr(rec, a)) is not None}


def record_properties(rec: Record) -> dict[str, Any]:
    """The file properties of a record (the inverse of :func:`build_record`), JSON-ready."""
    cls = type(rec)
    props: dict[str, Any] = {"record_type": cls.RECORD_TYPE}
    for attr, prop in _props_of(cls)[1].items():
        value = getattr(rec, attr)
        if value is None:
            continue
        props[prop] = _plain(value)
    return props


def _plain(value: Any) -> Any:
    if type(value) in (str, int, float):
        return value
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple):
        return [v.value if isinstance(v, Enum) else _plain(v) for v in value]
    if isinstance(value, Casualty):
        return {k: _plain(v) for k, v in dataclasses.asdict(value).items() if v is not None}
    return value


def parse_feature(feature: Any, *, index: int, repair: bool = False) -> tuple[Record, str | None]:
    """Build the record a GeoJSON-like feature describes; return it and any repair note.

    ``index`` (1-based) names the feature in messages, with its id when it has one.
    """
    label = f"feature {index}"
    if not isinstance(feature, dict):
        raise RecordError("a feature must be a JSON object", record=label)
    props = feature.get("properties")
    if not isinstance(props, dict):
        raise RecordError("a feature needs a properties object", record=label)
    rid = props.get("id")
    if isinstance(rid, str) and rid:
        label = f"{label} ({props.get('record_type', 'record')} {rid})"
    rtype = props.get("record_type")
    cls = RECORD_TYPES.get(rtype) if isinstance(rtype, str) else None
    if cls is None:
        known = ", ".join(RECORD_TYPES)
        missing = rtype is None or rtype == ""
        reason = f"is required: one of {known}" if missing else f"{rtype!r} is not one of {known}"
        raise RecordError(f"record_type {reason}", record=label, field="record_type")
    if "id" not in props or rid in (None, ""):
        raise RecordError("is required", record=label, field="id")
    try:
        geom, note = parse_geometry(
            feature.get("geometry"),
            allowed=cls.GEOMETRY,
            record=label,
            required=cls.GEOMETRY_REQUIRED,
            repair=repair,
        )
    except RecordError as bad:  # the properties' faults too, to be fixed in the same go
        try:
            build_record(cls, props, None, record=f"feature {index}")
        except RecordError as more:
            bad.more = [*bad.more, more, *more.more]
        raise bad from None
    return build_record(cls, props, geom, record=f"feature {index}"), note


def parse_features(
    features: Sequence[Any],
    *,
    repair: bool = False,
    progress: Callable[[int, int], None] | None = None,
    first: int = 1,
) -> list[tuple[int, Record | RecordError, str | None]]:
    """Parse many features at once: ``(index, record or the error, repair note)`` for
    each, indices counted from ``first`` (a part of a larger file).

    Geometries are read in one vectorised pass through GEOS and checked as arrays
    (type, finite and in-range bounds, validity, area); only a geometry that fails
    one of those goes through :func:`parse_geometry` one by one, which names the
    exact fault. The result is the same as :func:`parse_feature` on each feature.
    """
    heads: list[tuple[int, Any, type[Record] | None]] = []
    readable: list[Any] = []  # the GeoJSON geometry of each feature worth reading at once
    for i, feature in enumerate(features, first):
        cls = None
        if isinstance(feature, dict) and isinstance(feature.get("properties"), dict):
            rtype = feature["properties"].get("record_type")
            cls = RECORD_TYPES.get(rtype) if isinstance(rtype, str) else None
        heads.append((i, feature, cls))
        readable.append(feature.get("geometry") if cls is not None else None)
    fast = _fast_geometries(heads, _read_geometries(readable))
    out: list[tuple[int, Record | RecordError, str | None]] = []
    for (i, feature, cls), geom in zip(heads, fast, strict=True):
        if progress is not None and (i - first + 1) % 20_000 == 0:
            progress(i - first + 1, len(heads))
        try:
            if cls is None or geom is None:
                rec, note = parse_feature(feature, index=i, repair=repair)
            else:
                props = feature["properties"]
                if "id" not in props or props.get("id") in (None, ""):
                    raise RecordError("is required", record=f"feature {i}", field="id")
                rec, note = build_record(cls, props, geom, record=f"feature {i}"), None
        except RecordError as exc:
            out.append((i, exc, None))
            continue
        out.append((i, rec, note))
    return out


def _empty_part(geom: dict[str, Any]) -> bool:
    """An empty ring or polygon, which GEOS's reader would quietly drop: the exact reader
    rejects it."""
    coords = geom.get("coordinates")
    if not isinstance(coords, list):
        return False
    if geom.get("type") == "Polygon":
        return any(not ring for ring in coords)
    if geom.get("type") == "MultiPolygon":
        return any(not poly or any(not ring for ring in poly) for poly in coords)
    return False


def _read_geometries(geojson: list[Any]) -> np.ndarray:
    """GEOS geometries of GeoJSON geometries, mappings or text (None where one cannot be
    read so, or should not be: the exact reader names the fault).

    Plain polygons, nearly every geometry of a programme, are built straight from their
    coordinates as arrays; the others go through GEOS's GeoJSON reader, as do all when
    any coordinate is unusual (not two plain numbers)."""
    out = np.full(len(geojson), None, dtype=object)
    as_text = [k for k, g in enumerate(geojson) if type(g) is GeometryText]
    if as_text:
        out[as_text] = polygons_from_text([geojson[k] for k in as_text])
    usable: dict[int, dict[str, Any]] = {}  # the mappings left to read, by index
    for k, g in enumerate(geojson):
        if g is None or out[k] is not None:
            continue
        if type(g) is GeometryText:
            g = g.decoded()
        if isinstance(g, dict) and "error" not in g and not _empty_part(g):
            usable[k] = g
    polygons = [
        k
        for k, g in usable.items()
        if g.get("type") == "Polygon" and plain_rings(g.get("coordinates"))
    ]
    built = polygons_from_lists([usable[k]["coordinates"] for k in polygons])
    if built is not None:
        out[polygons] = built
    rest = [k for k in usable if out[k] is None]
    texts = []
    for k in rest:
        try:
            texts.append(orjson.dumps(usable[k]))
        except (TypeError, orjson.JSONEncodeError):
            texts.append(None)  # left to the exact reader
    if rest:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            out[rest] = shapely.from_geojson(texts, on_invalid="ignore")
    return out


def _fast_geometries(
    heads: list[tuple[int, Any, type[Record] | None]], read: np.ndarray
) -> list[Any]:
    """Geometries that pass every check as arrays; None where the slow path must look."""
    result: list[Any] = [None] * len(read)
    idx = [k for k, g in enumerate(read) if g is not None]
    if not idx:
        return result
    geoms = read[idx]
    ok = ~shapely.is_missing(geoms)
    ok[ok] &= ~shapely.is_empty(geoms[ok])
    bounds = shapely.bounds(geoms)
    with np.errstate(invalid="ignore"):
        ok &= np.isfinite(bounds).all(axis=1)
        ok &= (np.abs(bounds[:, [0, 2]]) <= 180).all(axis=1) & (
            np.abs(bounds[:, [1, 3]]) <= 90
        ).all(axis=1)
    ok[ok] &= shapely.is_valid(geoms[ok])
    # with altitudes GEOS pads positions that lack one: the exact walk insists on all or none
    ok[ok] &= ~shapely.has_z(geoms[ok])
    types = shapely.get_type_id(geoms)
    polygonal = np.isin(types, (3, 6))
    ok[ok & polygonal] &= shapely.area(geoms[ok & polygonal]) > 0
    names = np.array(
        [
            "Point",
            "LineString",
            "LinearRing",
            "Polygon",
            "MultiPoint",
            "MultiLineString",
            "MultiPolygon",
            "GeometryCollection",
        ],
        dtype=object,
    )
    for j, k in enumerate(idx):
        if ok[j]:
            cls = heads[k][2]
            if cls is not None and names[types[j]] in cls.GEOMETRY:
                result[k] = geoms[j]
    return result

"""What Clearfield does, for the CLI today and the API later: import, review, stats, export.

Services check everything before they write: a file is parsed and validated whole,
its references and versions are resolved against the store, and only then is it
written, in one transaction. A file with one bad record writes nothing.
"""

from __future__ import annotations

import dataclasses
import hashlib
import typing
from collections import defaultdict
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import shapely

from clearfield.bulk import collector_paused
from clearfield.domain import quality
from clearfield.domain.enums import ReviewStatus
from clearfield.domain.parse import parse_features, record_values
from clearfield.domain.records import RECORD_TYPES, Record
from clearfield.errors import ClearfieldError, ImportRejected, RecordError, StoreError
from clearfield.store.base import (
    REVIEW_STATE,
    FieldReturn,
    NewVersion,
    RememberedAnswer,
    Store,
    StoredRecord,
    VersionInfo,
    stored_text,
)
from clearfield.store.sqlite import SQLiteStore
from clearfield.store.sqlite import schema_revisions as sqlite_schema_revisions

__all__ = ["ImportReport", "import_features", "open_store", "review"]

Progress = Callable[[str, int, int], None]


POSTGRES_PREFIXES = ("postgresql://", "postgres://", "postgresql+psycopg://")


def open_store(url: str, *, create: bool = True, serving: bool = False) -> Store:
    """Open the store a database URL names: ``sqlite:///PATH`` (embedded) or
    ``postgresql://...`` (the server store, PostGIS). ``serving``: for a server, whose
    requests read while it writes (the embedded store then keeps its write-ahead log
    for bulk writes too)."""
    if url.startswith("sqlite:///"):
        return SQLiteStore.open(url, create=create, serving=serving)
    if url.startswith(POSTGRES_PREFIXES):
        from clearfield.store.postgis import PostGISStore  # (psycopg only when used)

        return PostGISStore.open(url, create=create)
    raise StoreError(f"unknown database URL {url!r}; use sqlite:///PATH or postgresql://...")


def schema_revisions(url: str) -> tuple[str | None, str]:
    """(the database's schema revision or None, the newest known), changing nothing."""
    if url.startswith("sqlite:///"):
        return sqlite_schema_revisions(url)
    if url.startswith(POSTGRES_PREFIXES):
        from clearfield.store.postgis import schema_revisions

        return schema_revisions(url)
    open_store(url, create=False)  # says plainly which stores there are
    raise StoreError(f"unknown database URL {url!r}")


def holding_programme(url: str) -> str | None:
    """What holds a programme at ``url`` already (the file, or the database with
    records in it), for messages; None when there is nothing there to lose."""
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        return str(path) if path.exists() else None
    store = open_store(url)
    try:
        return None if store.is_empty() else "the database at " + store.safe_url()  # type: ignore[attr-defined]
    finally:
        store.close()


def erase(url: str) -> None:
    """Delete the programme at ``url`` whole (the file; or every Clearfield table) so a
    new one can be built there. Callers check :func:`replaceable` first."""
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    store = open_store(url)
    try:
        store.erase()  # type: ignore[attr-defined]
    finally:
        store.close()


SCENARIO_ACTOR = "scenario"


def replaceable(url: str) -> str | None:
    """Why the database at ``url`` must not be replaced by a scenario, or None when it may.

    Only a database that is synthetic and holds nothing but what the generator wrote may
    be deleted: real records imported into a demo database count as real.
    """
    try:
        store = open_store(url, create=False)
    except ClearfieldError as exc:
        return f"it cannot be read as a Clearfield database ({exc})"
    try:
        if store.programme().get("synthetic") != "true":
            return "it holds real (non-synthetic) data"
        others = store.records_written_by_others(SCENARIO_ACTOR)
        if others:
            noun = "record in it was" if others == 1 else "records in it were"
            return f"{others:,} {noun} imported by hand, not generated"
        return None
    finally:
        store.close()


@dataclass
class ImportReport:
    """What an import did, per record type."""

    source: str
    created: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    versioned: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    unchanged: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    # versions written older than their record's latest date of information: kept as
    # history, the current version stays the one it was
    history: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    repaired: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    # feature index (1-based) -> ("created" | "new_version" | "unchanged", type, id): lets
    # a caller that merged several submissions into one import answer each of them
    outcomes: dict[int, tuple[str, str, str]] = field(default_factory=dict)

    @property
    def written(self) -> int:
        return sum(self.created.values()) + sum(self.versioned.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "created": dict(self.created),
            "new_versions": dict(self.versioned),
            "unchanged": dict(self.unchanged),
            "repaired": self.repaired,
            "quality_flags": self.flags,
        }


def content_hash(rec: Record, values: dict[str, Any], wkb: bytes | None = None) -> str:
    """Digest of what a record says (not its review state), to tell a re-sent record from a change.

    ``values``: the record's :func:`~clearfield.domain.parse.record_values`, whose review
    state is taken out. ``wkb`` is the *normalised* geometry, when the caller has it.
    """
    for name in REVIEW_STATE:
        values.pop(name, None)
    for name in _text_lists(type(rec)):  # lists of categories or texts: order carries nothing
        value = values.get(name)
        if value and list(value) != (ordered := sorted(value)):
            values = {**values, name: ordered}
    h = hashlib.sha256(orjson.dumps(values, option=orjson.OPT_SORT_KEYS))
    if rec.geometry is not None:
        h.update(wkb if wkb is not None else shapely.to_wkb(shapely.normalize(rec.geometry)))
    return h.hexdigest()


@cache
def _text_lists(cls: type[Record]) -> tuple[str, ...]:
    """The fields of ``cls`` that hold a list of texts or categories (Casualty lists are not)."""
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        for arg in (tp, *typing.get_args(tp)):  # (a tuple, or a tuple or None)
            if typing.get_origin(arg) is tuple:
                item = typing.get_args(arg)[0]
                if isinstance(item, type) and issubclass(item, str):
                    out.append(f.name)
                break
    return tuple(out)


@collector_paused()
def import_features(
    store: Store,
    features: list[Any],
    *,
    source: str,
    actor: str,
    repair: bool = False,
    today: date | None = None,
    progress: Progress | None = None,
    remember: Callable[[ImportReport], Sequence[RememberedAnswer]] | None = None,
    field_returns: Sequence[FieldReturn] = (),
    corrections: Collection[tuple[str, str]] = (),
    hand_over: bool = False,
) -> ImportReport:
    """Validate every feature, resolve references and versions, then write all in one go.

    Raises :class:`ImportRejected` with every bad record when anything is wrong; the
    store is then untouched. ``remember`` makes, from the checked import's report, the
    answers to store with the records (the API's submissions and their client ids);
    ``field_returns`` are the field submissions the features came from, kept with them;
    ``corrections`` the records they correct on a date already stored (edits).
    ``hand_over``: the caller has no more use for ``features``, which are let go part by
    part as they are parsed (the list is left empty): a whole programme's file then is
    not held beside its records, and their memory serves the rest of the import.
    """
    today = today or datetime.now(UTC).date()
    errors: list[RecordError] = []
    by_type: dict[str, list[tuple[int, Record, str | None]]] = defaultdict(list)
    wkbs: dict[str, list[Any]] = defaultdict(list)
    total = len(features)
    # a first load into an empty store is checked for data quality in another process,
    # part by part as it is parsed, on the guess that every record is new; its accounts
    # start there once all is parsed, and the write takes both only if the guess holds
    ahead = store.first_load_ahead(total)
    in_file: dict[str, set[str]] = defaultdict(set)
    try:
        for start in range(0, total, _PARSE_PART):
            checking = None
            if progress is not None:
                checking = lambda d, t, a=start: progress("checking records", a + d, total)  # noqa: E731
            if hand_over:
                part = features[:_PARSE_PART]
                del features[:_PARSE_PART]
            else:
                part = features[start : start + _PARSE_PART]
            for rtype, ids in _ids_in_file(part).items():
                in_file[rtype] |= ids
            parsed = _parse_part(part, start + 1, repair, today, errors, checking)
            del part
            _add_part(parsed, by_type, wkbs, ahead)
        if progress is not None:
            progress("checking records", total, total)
        guess = _first_load(by_type, wkbs, today)
        ahead = store.account_ahead(guess, ahead)
        errors += _check_references(store, by_type, in_file)
        report = ImportReport(source=source)
        versions = _resolve_versions(
            store,
            by_type,
            today,
            report,
            errors,
            corrections,
            wkbs,
            guess if ahead else None,
            ahead.normalised() if ahead is not None else None,
        )
        del guess
        if errors:
            errors.sort(key=lambda e: feature_index(e))
            raise ImportRejected(source, errors)
        if progress is not None:
            progress("checking data quality", 0, 1)
        _quality(store, versions, report, ahead)
        if progress is not None:
            progress("writing", 0, 1)
        answers = remember(report) if remember is not None else ()
        # the versions are all that is left of the records, and the write lets them go
        # as it queues their rows: half a million of them are freed while it inserts
        del by_type, wkbs, in_file
        store.write(
            versions,
            actor=actor,
            source=source,
            remember=answers,
            field_returns=field_returns,
            ahead=ahead,
            hand_over=True,
        )
    finally:
        if ahead is not None:
            ahead.close()
    if progress is not None:
        progress("writing", 1, 1)
    return report


_PARSE_PART = 50_000  # features parsed at a time (a first load's checks go on meanwhile)


def _parse_part(
    features: list[Any],
    first: int,
    repair: bool,
    today: date,
    errors: list[RecordError],
    progress: Callable[[int, int], None] | None,
) -> list[tuple[int, Record, str | None]]:
    """The records of a part of the file (features ``first``, ``first + 1``, ...); what
    cannot be a record goes to ``errors``."""
    parsed = []
    for i, rec, note in parse_features(features, repair=repair, progress=progress, first=first):
        if isinstance(rec, RecordError):
            errors.append(rec)
            continue
        info = rec.info_date
        if info is not None and info > today + timedelta(days=1):
            errors.append(
                RecordError(
                    f"date of information {info} is in the future",
                    record=_label(i, rec),
                    field=rec.INFO_DATE,
                )
            )
            continue
        parsed.append((i, rec, note))
    return parsed


def _add_part(
    parsed: list[tuple[int, Record, str | None]],
    by_type: dict[str, list[tuple[int, Record, str | None]]],
    wkbs: dict[str, list[Any]],
    ahead: Any,
) -> None:
    """File a part's records by type with their geometries as WKB, and send those with
    a geometry to be checked ahead (``ahead``, when a first load's checks run so)."""
    mine: dict[str, list[tuple[int, Record, str | None]]] = defaultdict(list)
    for item in parsed:
        mine[item[1].RECORD_TYPE].append(item)
    for rtype, items in mine.items():
        part = shapely.to_wkb(np.asarray([r.geometry for _, r, _ in items], dtype=object)).tolist()
        offset = len(by_type[rtype])  # (the part's place among the load's of its type)
        by_type[rtype] += items
        wkbs[rtype] += part
        if ahead is None:
            continue
        shaped = [k for k, w in enumerate(part) if w is not None]
        if shaped:
            recs = [items[k][1] for k in shaped]
            shapes = [part[k] for k in shaped]
            ahead.check(rtype, recs[0].areal(), shapes, recs, [offset + k for k in shaped])


def _label(index: int, rec: Record) -> str:
    return f"feature {index} ({rec.RECORD_TYPE} {rec.id})"


def feature_index(err: RecordError) -> int:
    """The 1-based index of the feature an error of an import names (0: none)."""
    text = err.record or ""
    if text.startswith("feature "):
        digits = text[8:].split(" ", 1)[0]
        if digits.isdigit():
            return int(digits)
    return 0


def _ids_in_file(features: list[Any]) -> dict[str, set[str]]:
    """Ids the file declares per record type, bad records included, so that a rejected
    record is not reported a second time as an unknown reference by the records after it."""
    out: dict[str, set[str]] = defaultdict(set)
    for f in features:
        props = f.get("properties") if isinstance(f, dict) else None
        if isinstance(props, dict):
            rtype, rid = props.get("record_type"), props.get("id")
            if isinstance(rtype, str) and isinstance(rid, str):
                out[rtype].add(rid)
    return out


def _check_references(
    store: Store,
    by_type: dict[str, list[tuple[int, Record, str | None]]],
    in_file: dict[str, set[str]],
) -> list[RecordError]:
    """Every reference must name a record in the file or already stored."""
    errors = []
    wanted: dict[str, set[str]] = defaultdict(set)
    for items in by_type.values():
        for _, rec, _ in items:
            for prop, target in rec.REFERENCES.items():
                value = getattr(rec, prop)
                if value is not None and value not in in_file.get(target, ()):
                    wanted[target].add(value)
    found = {target: store.existing(target, ids) for target, ids in wanted.items()}
    if all(found[target] >= ids for target, ids in wanted.items()):
        return errors  # every reference found: no need to look for the records naming others
    for items in by_type.values():
        for i, rec, _ in items:
            for prop, target in rec.REFERENCES.items():
                value = getattr(rec, prop)
                if (
                    value is not None
                    and value not in in_file.get(target, ())
                    and value not in found.get(target, ())
                ):
                    errors.append(
                        RecordError(
                            f"unknown {target} reference {value!r}: no {target} with that id is "
                            "stored or in this file",
                            record=_label(i, rec),
                            field=prop,
                        )
                    )
    return errors


def _first_load(
    by_type: dict[str, list[tuple[int, Record, str | None]]],
    wkbs: dict[str, Any],
    today: date,
) -> list[NewVersion]:
    """The versions :func:`_resolve_versions` gives when every record is new to the store
    and appears once: a guess made before the store is asked."""
    return [
        NewVersion(
            record=rec, version=1, content_hash="", info_date=rec.info_date or today, wkb=wkb
        )
        for rtype in RECORD_TYPES
        for (_, rec, _), wkb in zip(by_type.get(rtype, []), wkbs.get(rtype, ()), strict=True)
    ]


def _resolve_versions(
    store: Store,
    by_type: dict[str, list[tuple[int, Record, str | None]]],
    today: date,
    report: ImportReport,
    errors: list[RecordError],
    corrections: Collection[tuple[str, str]] = (),
    wkbs_by_type: dict[str, Any] | None = None,
    guess: list[NewVersion] | None = None,
    normalised: dict[str, list[bytes]] | None = None,
) -> list[NewVersion]:
    """Decide, for each record, whether it is new, a new version, unchanged, or a conflict.

    ``corrections``: (record type, id) whose new content on a date already stored is a
    correction of it (an edited field submission), not a conflict: a new version, which
    becomes the current one. ``wkbs_by_type``: each record's geometry as WKB, in the
    order of ``by_type``, when the caller has it already. ``guess``: what
    :func:`_first_load` made of ``by_type`` (accounts started from it); a version that
    turns out as guessed is that very object, completed, so the accounts' check that
    the write is the guess finds them the same at a glance. ``normalised``: the
    normalised WKB of the records with a geometry, by type in the order of ``by_type``,
    where the first load's checks made it already."""
    out: list[NewVersion] = []
    k = -1  # the position of the record in ``by_type``'s order, which ``guess`` follows
    for rtype in RECORD_TYPES:  # dependency order
        items = by_type.get(rtype, [])
        if not items:
            continue
        stored = store.versions(rtype, {r.id for _, r, _ in items})
        current_props = store.current_properties(rtype, stored.keys()) if stored else {}
        seen: dict[tuple[str, date | None], tuple[int, str]] = {}
        next_version: dict[str, int] = {
            rid: max(v.version for v in vs) for rid, vs in stored.items()
        }
        geoms = np.asarray([r.geometry for _, r, _ in items], dtype=object)
        wkbs = (wkbs_by_type or {}).get(rtype)
        if wkbs is None:
            wkbs = shapely.to_wkb(geoms)
        # the same polygon drawn from another vertex or the other way round is the same data
        same_shape = _normalised(geoms, (normalised or {}).get(rtype))
        seen_ids: set[str] = set()
        first_of_type = len(out)
        created = versioned = 0
        for (i, rec, note), wkb, shape in zip(items, wkbs, same_shape, strict=True):
            k += 1
            rid = rec.id
            values = record_values(rec)
            digest = content_hash(rec, values, shape)
            info = rec.info_date
            key = (rid, info)
            corrected = bool(corrections) and (rtype, rid) in corrections
            if (key in seen or (info is None and rid in seen_ids)) and not corrected:
                first, first_digest = seen.get(key, (0, ""))
                if first_digest == digest:  # the same record sent twice: once is enough
                    report.unchanged[rtype] += 1
                    report.outcomes[i] = ("unchanged", rtype, rec.id)
                    continue
                errors.append(
                    RecordError(
                        f"conflict: {rtype} {rec.id} appears twice in this file with the same date of "
                        f"information{f' ({info})' if info else ''} (first at feature {first})",
                        record=_label(i, rec),
                        field="id",
                    )
                )
                continue
            seen[key] = (i, digest)
            seen_ids.add(rid)
            history = stored.get(rid)
            if history is None:
                same_day = []
            elif info is not None:
                same_day = [v for v in history if v.info_date == info]
            else:
                latest = history[-1:]
                same_day = latest if latest and latest[0].content_hash == digest else []
            if corrected and same_day and same_day[-1].content_hash != digest:
                same_day = []  # a correction: a new version on the same date
            if same_day:
                if digest in (same_day[0].content_hash, same_day[-1].content_hash):
                    report.unchanged[rtype] += 1
                    report.outcomes[i] = ("unchanged", rtype, rec.id)
                    continue
                errors.append(
                    RecordError(
                        f"conflict: {rtype} {rec.id} is already stored with date of information "
                        f"{info} and different content; a correction needs a later date",
                        record=_label(i, rec),
                        field=rec.INFO_DATE or "id",
                    )
                )
                continue
            version = next_version.get(rid, 0) + 1
            next_version[rid] = version
            if version > 1:
                versioned += 1
                report.outcomes[i] = ("new_version", rtype, rid)
            else:
                created += 1
                report.outcomes[i] = ("created", rtype, rid)
            if note:
                report.repaired.append(f"{_label(i, rec)}: {note}")
            nv = guess[k] if guess is not None else None
            if nv is None or not (nv.record is rec and nv.version == version and nv.wkb is wkb):
                nv = NewVersion(record=rec, version=version, content_hash="", info_date=None)
            nv.content_hash, nv.info_date, nv.repair_note = digest, info or today, note
            nv.previous, nv.wkb, nv.shape = current_props.get(rid), wkb, shape
            nv.text = stored_text(values)
            out.append(nv)
        if created:
            report.created[rtype] += created
        if versioned:
            report.versioned[rtype] += versioned
        if report.versioned.get(rtype):
            _count_history(out[first_of_type:], stored, report.history)
    return out


def _normalised(geoms: np.ndarray, made: list[bytes] | None) -> Any:
    """The normalised WKB of ``geoms`` (None for none): ``made`` already for those that
    are not None, in order, when it holds as many."""
    shaped = ~shapely.is_missing(geoms)
    if made is None or len(made) != np.count_nonzero(shaped):
        return shapely.to_wkb(shapely.normalize(geoms))
    if len(made) == len(geoms):
        return made
    out = np.full(len(geoms), None, dtype=object)
    out[shaped] = made
    return out


def _count_history(
    versions: list[NewVersion], stored: dict[str, list[VersionInfo]], history: dict[str, int]
) -> None:
    """Count the versions written that will not be current: an older report arriving
    late, or the earlier of two in one file (the current version is the one with the
    latest date of information)."""
    newest: dict[str, date] = {}
    for rid, infos in stored.items():
        dates = [v.info_date for v in infos if v.info_date is not None]
        if dates:
            newest[rid] = max(dates)
    dated = [(nv, nv.info_date) for nv in versions if nv.info_date is not None]
    for nv, info in dated:
        newest[nv.record.id] = max(newest.get(nv.record.id, info), info)
    for nv, info in dated:
        if info < newest[nv.record.id]:
            history[nv.record.RECORD_TYPE] += 1


def _quality(
    store: Store, versions: list[NewVersion], report: ImportReport, ahead: Any = None
) -> None:
    """Attach geocheck-style flags and areas to the versions about to be written.

    ``ahead``: what :meth:`Store.first_load_ahead` started; on a first load into an empty
    store it checked the guessed versions in its worker process while the file was
    parsed, and those checks are taken when the versions are the guess."""
    by_type: dict[str, list[NewVersion]] = defaultdict(list)
    for nv in versions:
        if nv.record.geometry is not None:
            by_type[nv.record.RECORD_TYPE].append(nv)
    # (taken only while the store is still empty: a record stored meanwhile is checked against)
    done = ahead.quality_for(versions) if ahead is not None and store.is_empty() else None
    extent = store.extent_sample() if done is None else None
    for rtype, items in by_type.items():
        ids = [nv.record.id for nv in items]
        if done is not None:
            areas, flags = done[rtype]
        else:
            areas, flags = _check_type(store, rtype, items, ids, versions, extent)
        if areas is not None:
            for nv, a in zip(items, areas.tolist(), strict=True):
                nv.area_m2 = a
        for i, code, message in flags:
            items[i].flags.append((code, message))
            report.flags.append(f"{rtype} {ids[i]}: {code}: {message}")


def _check_type(
    store: Store,
    rtype: str,
    items: list[NewVersion],
    ids: list[str],
    versions: list[NewVersion],
    extent: Any,
) -> tuple[Any, list[quality.Flag]]:
    """The quality checks of one type's new versions (``ids`` theirs) against what the
    store holds."""
    geoms = [nv.record.geometry for nv in items]
    arr = np.asarray(geoms, dtype=object)
    mine = set(ids)
    if len(items) > 1_000:  # a bulk load: one window over the whole file
        near = store.geometries_near(rtype, tuple(shapely.total_bounds(arr)))  # type: ignore[arg-type]
    else:  # a field return: only what lies around each record
        boxes = [tuple(b) for b in shapely.bounds(arr).tolist()]
        near = store.geometries_touching(rtype, boxes)  # type: ignore[arg-type]
    near = [(rid, g) for rid, g in near if rid not in mine]
    shapes = [nv.shape for nv in items]
    parents: list[Any] = []
    parent_ids: list[str] = []
    if rtype == "activity":
        hazards = {
            nv.record.id: nv.record.geometry for nv in versions if nv.record.RECORD_TYPE == "hazard"
        }
        parent_ids = [nv.record.hazard_id for nv in items]  # type: ignore[attr-defined]
        missing = set(parent_ids) - hazards.keys()
        if missing:
            hazards.update(store.current_geometries("hazard", missing))
        parents = [hazards.get(h) for h in parent_ids]
    return quality.check_records(
        rtype,
        geoms,
        ids,
        polygonal=items[0].record.areal(),
        near=near,
        extent=extent,
        parents=parents,
        parent_ids=parent_ids,
        normalised=None if None in shapes else shapes,
    )


def review(
    store: Store,
    record_type: str,
    record_id: str,
    status: ReviewStatus,
    *,
    actor: str,
    reason: str | None = None,
    expected: str | None = None,
) -> StoredRecord:
    """Submit, approve or reject the current version of a record (audited); with
    ``expected`` (its review tag as read), only if nobody changed it since."""
    check_record_type(record_type)
    return store.review(record_type, record_id, status, reason, actor, expected)


def check_record_type(record_type: str) -> None:
    """Refuse a name that is not a record type: a typo would otherwise read as "none"."""
    if record_type not in RECORD_TYPES:
        raise RecordError(f"unknown record type {record_type!r}; one of {', '.join(RECORD_TYPES)}")


def pending(store: Store, record_type: str | None = None) -> list[StoredRecord]:
    """The review queue: current versions waiting for an IM officer, oldest first."""
    if record_type:
        check_record_type(record_type)
    types = [record_type] if record_type else list(RECORD_TYPES)
    out = []
    for rtype in types:
        out += list(store.records(rtype, review_status=ReviewStatus.SUBMITTED))
    return sorted(out, key=lambda s: (s.stored_at, s.record.RECORD_TYPE, s.record.id))

"""Field submissions into the review queue: dedupe, version edits, keep what cannot be mapped.

The ingest of KoboToolbox and ODK Central submissions (read by :mod:`clearfield.io.odk`),
for the API's ``/api/ingest/*`` and ``clearfield import``. For each submission:

- its ``meta/instanceID`` is its identity: one already mapped is not stored again (one
  kept unmapped is tried again when it is sent again);
- an edited submission (``meta/deprecatedID``) makes a new version of the records its
  original made (records are named after the first instance id of the chain of edits);
- the records it makes enter the review queue as ``submitted``;
- one that cannot be mapped (an unknown form, a geometry not taken, an answer the domain
  refuses, another organisation's key) is kept, unmapped, with the reason, for an IM
  officer: a submission is never dropped.

Everything one call receives is stored in one transaction, records and submissions.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from clearfield.errors import ImportRejected, RecordError
from clearfield.io.field_returns import Unmappable, form_of, to_features
from clearfield.io.odk import Submission
from clearfield.owners import Owners
from clearfield.services import ImportReport, feature_index, import_features
from clearfield.store.base import FieldReturn, Store

__all__ = ["IngestReport", "check_ingest_key", "ingest", "new_ingest_key"]


@dataclass(slots=True)
class IngestReport:
    """What became of each submission of one delivery."""

    received: int = 0
    mapped: list[str] = field(default_factory=list)  # instance ids
    unmapped: dict[str, str] = field(default_factory=dict)  # instance id -> reason
    duplicates: list[str] = field(default_factory=list)  # stored already: nothing done
    records: list[tuple[str, str]] = field(default_factory=list)  # (record type, id) made
    imported: ImportReport | None = None

    @property
    def daily_reports(self) -> int:
        return sum(1 for t, _ in self.records if t == "daily_report")

    def as_dict(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "mapped": self.mapped,
            "unmapped": self.unmapped,
            "duplicates": self.duplicates,
            "records": [list(r) for r in self.records],
        }


def ingest(
    store: Store,
    submissions: Sequence[Submission],
    *,
    actor: str,
    organisation: str | None = None,
    today: date | None = None,
) -> IngestReport:
    """Store a delivery of submissions (see the module doc); ``organisation``: the one
    whose ingest key brought them, whose records alone they may make."""
    report = IngestReport(received=len(submissions))
    fresh = _fresh(store, submissions, report, organisation)
    if not fresh:
        return report
    roots = _roots(store, fresh)
    made: dict[str, list[dict[str, Any]]] = {}
    why: dict[str, str] = {}
    for sub in fresh:
        left_out = [n for n in sub.notes if "left out of fields" in n]
        try:
            if left_out:  # (a repeat that is only a link: its rows would be lost)
                raise Unmappable("; ".join(left_out), record=sub.instance_id)
            made[sub.instance_id] = to_features(sub, roots[sub.instance_id])
        except RecordError as exc:
            why[sub.instance_id] = str(exc.message)
    if organisation is not None:
        owners = Owners(store)
        for instance_id, features in list(made.items()):
            foreign = owners.foreign(features, organisation)
            if foreign:
                why[instance_id] = f"{foreign}, but came with the ingest key of {organisation!r}"
                del made[instance_id]
    # an edit corrects the record its original made, on the same date or a later one
    corrections = {_key(f) for s in fresh if s.deprecated_id for f in made.get(s.instance_id, [])}
    while True:  # import what maps; what the domain refuses is kept unmapped, the rest again
        order = [s for s in fresh if s.instance_id in made]
        features = [f for s in order for f in made[s.instance_id]]
        owner = [s.instance_id for s in order for _ in made[s.instance_id]]
        returns = [_return(s, roots, made, why, organisation) for s in fresh]
        try:
            report.imported = import_features(
                store,
                features,
                source=f"field submissions ({', '.join(sorted({s.source for s in fresh})) or '-'})",
                actor=actor,
                today=today,
                field_returns=returns,
                corrections=corrections,
            )
            break
        except ImportRejected as rejected:
            blamed = _blame(rejected.errors, owner)
            if not blamed.keys() & made.keys():  # (cannot happen; never loop for ever)
                blamed = {o: str(rejected) for o in made}
            for instance_id, reason in blamed.items():
                why[instance_id] = reason
                made.pop(instance_id, None)
    for s in fresh:
        if s.instance_id in made:
            report.mapped.append(s.instance_id)
            report.records += [_key(f) for f in made[s.instance_id]]
        else:
            report.unmapped[s.instance_id] = why[s.instance_id]
    return report


def _fresh(
    store: Store,
    submissions: Sequence[Submission],
    report: IngestReport,
    organisation: str | None,
) -> list[Submission]:
    """The submissions not stored yet (nor earlier in the same delivery), and those kept
    unmapped before: sent again (fixed, or after the hazard they name was recorded),
    they are tried again."""
    stored = store.field_returns([s.instance_id for s in submissions])
    seen: set[str] = set()
    fresh = []
    for s in submissions:
        kept = stored.get(s.instance_id)
        # a submission is retried by its own organisation's key (or by an officer's import)
        done = kept is not None and (
            kept.status == "mapped" or organisation not in (None, kept.organisation)
        )
        if done or s.instance_id in seen:
            report.duplicates.append(s.instance_id)
            continue
        seen.add(s.instance_id)
        fresh.append(s)
    return fresh


def _roots(store: Store, subs: list[Submission]) -> dict[str, str]:
    """Each submission's record identity: the first instance id of its chain of edits."""
    earlier = store.field_returns([s.deprecated_id for s in subs if s.deprecated_id])
    roots: dict[str, str] = {}
    for s in subs:  # a delivery may hold an original and its edit: in order, in turn
        d = s.deprecated_id
        if d is None:
            roots[s.instance_id] = s.instance_id
        elif d in roots:
            roots[s.instance_id] = roots[d]
        elif d in earlier:
            roots[s.instance_id] = earlier[d].root_id
        else:  # ODK Central names the first version itself; Kobo's may not have reached us
            roots[s.instance_id] = d
    return roots


def _blame(errors: list[RecordError], owner: list[str]) -> dict[str, str]:
    """Which submissions the import's errors are about, and why (all of the delivery's,
    when an error names no feature: none of them can then be told apart)."""
    blamed: dict[str, list[str]] = {}
    for e in errors:
        i = feature_index(e)
        if not 1 <= i <= len(owner):
            return {o: f"refused with the others of its delivery: {e}" for o in owner}
        field_name = f"{e.field}: " if e.field else ""
        blamed.setdefault(owner[i - 1], []).append(f"{field_name}{e.message}")
    return {k: "; ".join(v) for k, v in blamed.items()}


def _return(
    s: Submission,
    roots: dict[str, str],
    made: dict[str, list[dict[str, Any]]],
    why: dict[str, str],
    organisation: str | None,
) -> FieldReturn:
    features = made.get(s.instance_id)
    try:
        form_id: str | None = form_of(s)
    except Unmappable:
        form_id = s.form_id
    return FieldReturn(
        instance_id=s.instance_id,
        root_id=roots[s.instance_id],
        deprecated_id=s.deprecated_id,
        source=s.source,
        form_id=form_id,
        organisation=organisation,
        status="mapped" if features is not None else "unmapped",
        reason=None if features is not None else why.get(s.instance_id),
        records=tuple(_key(f) for f in features or ()),
        raw=json.dumps(s.raw, default=str),
    )


def _key(feature: dict[str, Any]) -> tuple[str, str]:
    props = feature["properties"]
    return (props["record_type"], props["id"])


def new_ingest_key() -> tuple[str, str]:
    """(a new random key to give an organisation, the hash to store)."""
    key = secrets.token_urlsafe(32)
    return key, _hash(key)


def check_ingest_key(store: Store, organisation: str, key: str) -> bool:
    """True when ``key`` is the organisation's current ingest key."""
    stored = store.ingest_key(organisation)
    return stored is not None and hmac.compare_digest(stored, _hash(key))


def _hash(key: str) -> str:
    # a key is 256 random bits: a plain SHA-256 is as good as a slow password hash here
    return hashlib.sha256(key.encode()).hexdigest()

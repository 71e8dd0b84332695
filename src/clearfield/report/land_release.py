"""The figures of the IMAS-style land release report for a period, and its XLSX.

National authorities and oversight bodies check this table against ``clearfield stats``
for the same period, so every land release number here is one that
:func:`clearfield.stats.programme_stats` gives (``by="hazard"`` for the rows,
``by="organisation"`` for the organisation totals, no grouping for the programme
totals): the report reads the store's land release accounts and never measures a
polygon itself, so the two can never drift apart.

The organisation of a row is the operator whose approved release activities in the
period released the land (the accounts' ``organisation``, as ``stats --by organisation``
groups it), not the organisation that reported the hazard: that is whom an IMAS land
release table credits.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from openpyxl import Workbook

from clearfield.planning import programme_date
from clearfield.report.weekly import CATEGORIES
from clearfield.stats import programme_stats
from clearfield.store.base import Store

__all__ = ["AREA_COLUMNS", "check_period", "land_release_figures", "land_release_xlsx"]

AREA_COLUMNS = (
    "hazard_m2",
    *(f"{c}_m2" for c in CATEGORIES),
    "released_m2",
    "remaining_m2",
    "released_before_m2",
)
"""The m² columns of every row and total, in the order the tables show them."""

HAZARD_COLUMNS = ("hazard", "name", "organisation", "organisation_name", "district", "status")
ORGANISATION_COLUMNS = ("organisation", "organisation_name", "hazards")


def check_period(since: date, until: date) -> None:
    """Refuse a period that ends before it starts, naming both dates (the CLI's --from/--to).

    >>> check_period(date(2026, 2, 1), date(2026, 1, 1))
    Traceback (most recent call last):
    ...
    ValueError: the period starts (--from 2026-02-01) after it ends (--to 2026-01-01)
    """
    if since > until:
        raise ValueError(
            f"the period starts (--from {since.isoformat()}) after it ends (--to {until.isoformat()})"
        )


def _released(groups: dict[str, Any], key: str) -> float:
    g = groups.get(key)
    return float(sum(g["released_m2"].values())) if g else 0.0


def land_release_figures(
    store: Store, since: date, until: date, *, personal_data: bool
) -> dict[str, Any]:
    """Everything the land release report of ``since``..``until`` (inclusive) shows.

    Rows: every hazard with approved land released in the period (releases whose end
    date falls in it), sorted by releasing organisation then hazard id. "Remaining" is
    the hazard ground left now; "released before" is what approved releases dated before
    the period had released. The table holds no personal data (hazards and operators
    only); ``personal_data`` is recorded so the weekly and land release reports are
    asked for the same way by the CLI and the dashboard.
    """
    check_period(since, until)
    programme = store.programme()
    total = programme_stats(store, since=since, until=until)
    by_hazard = programme_stats(store, by="hazard", since=since, until=until)["by"]["groups"]
    by_org = programme_stats(store, by="organisation", since=since, until=until)["by"]["groups"]
    before: dict[str, Any] = {}
    if since > date.min:
        day_before = since - timedelta(days=1)
        before = programme_stats(store, by="hazard", until=day_before)["by"]["groups"]
    released = {k: g for k, g in by_hazard.items() if _released(by_hazard, k) > 0}
    operators = _operators(store, set(released), since, until)
    names = {s.record.id: s.record.name for s in store.records("organisation")}  # type: ignore[attr-defined]
    rows = [
        _hazard_row(hid, g, info, operators.get(hid, []), names, _released(before, hid))
        for hid, g, info in _hazard_info(store, released)
    ]
    rows.sort(key=lambda r: (r["organisation"], r["hazard"]))
    organisations = _organisation_totals(rows, by_org, names)
    totals = _sum_rows(rows)
    totals.update({f"{c}_m2": float(total["released_m2"][c]) for c in CATEGORIES})
    totals["released_m2"] = float(sum(total["released_m2"].values()))
    return {
        "programme": programme.get("programme") or "Clearfield programme",
        "region": programme.get("region"),
        "synthetic": total["synthetic"],
        "from": since.isoformat(),
        "to": until.isoformat(),
        "date_of_information": min(until, programme_date(store)).isoformat(),
        "personal_data": personal_data,
        "categories": list(CATEGORIES),
        "hazards": rows,
        "organisations": organisations,
        "totals": totals,
        "flagged_outside_m2": float(total["flagged_outside_m2"]),
        "programme_now": {
            "hazards": total["hazards"]["count"],
            "hazard_m2": float(total["hazards"]["area_m2"]),
            "remaining_m2": float(total["remaining_m2"]),
        },
    }


def _operators(store: Store, hazards: set[str], since: date, until: date) -> dict[str, list[str]]:
    """Hazard id → the organisations of its approved releases ending in the period (the
    same activities the accounts count: current, approved versions)."""
    out: dict[str, set[str]] = defaultdict(set)
    for s in store.records("activity", counted_only=True):
        a = s.record
        if a.hazard_id in hazards and since <= a.end_date <= until:  # type: ignore[attr-defined]
            out[a.hazard_id].add(a.organisation)  # type: ignore[attr-defined]
    return {h: sorted(orgs) for h, orgs in out.items()}


def _hazard_info(
    store: Store, groups: dict[str, Any]
) -> list[tuple[str, dict[str, Any], dict[str, str]]]:
    """(id, stats group, name/district/status) of the counted hazards among ``groups``."""
    info = {}
    for s in store.records("hazard", counted_only=True):
        h = s.record
        if h.id in groups:
            info[h.id] = {"name": h.name, "district": h.district, "status": h.status.value}  # type: ignore[attr-defined]
    return [(hid, g, info.get(hid, {"name": "", "district": "", "status": ""})) for hid, g in groups.items()]  # fmt: skip


def _hazard_row(
    hid: str,
    g: dict[str, Any],
    info: dict[str, str],
    operators: list[str],
    names: dict[str, str],
    released_before: float,
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "hazard": hid,
        **info,
        "organisations": operators,
        "organisation": "; ".join(operators),
        "organisation_name": "; ".join(names.get(o, o) for o in operators),
        "hazard_m2": float(g["area_m2"]),
    }
    row.update({f"{c}_m2": float(g["released_m2"][c]) for c in CATEGORIES})
    row["released_m2"] = float(sum(g["released_m2"].values()))
    row["remaining_m2"] = float(g["remaining_m2"])
    row["released_before_m2"] = released_before
    return row


def _sum_rows(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"hazards": len(rows)}
    out.update({k: float(sum(r[k] for r in rows)) for k in AREA_COLUMNS})
    return out


def _organisation_totals(
    rows: list[dict[str, Any]], by_org: dict[str, Any], names: dict[str, str]
) -> list[dict[str, Any]]:
    """Per releasing organisation: released m² as ``stats --by organisation`` gives them;
    hazards, hazard area, remaining and released before summed over its hazards' rows
    (a hazard two operators released in the period counts under each of them)."""
    keys = {k for k in by_org if _released(by_org, k) > 0}
    keys |= {o for r in rows for o in r["organisations"]}
    out = []
    for key in sorted(keys):
        t = _sum_rows([r for r in rows if key in r["organisations"]])
        g = by_org.get(key)
        for c in CATEGORIES:
            t[f"{c}_m2"] = float(g["released_m2"][c]) if g else 0.0
        t["released_m2"] = sum(t[f"{c}_m2"] for c in CATEGORIES)
        out.append({"organisation": key, "organisation_name": names.get(key, key), **t})
    return out


def land_release_xlsx(figures: dict[str, Any], path: Path) -> None:
    """The report as a workbook for the authority's own checks: ``summary``,
    ``by_organisation`` and ``by_hazard``; m² as numbers (unrounded, so sums re-add) and
    each table's header row frozen."""
    wb = Workbook(write_only=True)
    summary = wb.create_sheet("summary")
    summary.freeze_panes = "A2"
    summary.append(["item", "value"])
    if figures["synthetic"]:
        summary.append(["SYNTHETIC DATA", "generated for demonstration and testing, not a real programme"])  # fmt: skip
    for key in ("programme", "region", "from", "to", "date_of_information"):
        summary.append([key, figures[key]])
    summary.append(["hazards", figures["totals"]["hazards"]])
    for key in AREA_COLUMNS:
        summary.append([key, figures["totals"][key]])
    summary.append(["flagged_outside_m2", figures["flagged_outside_m2"]])
    for key, value in figures["programme_now"].items():
        summary.append([f"programme_now.{key}", value])
    _table(wb, "by_organisation", [*ORGANISATION_COLUMNS, *AREA_COLUMNS], figures["organisations"])
    _table(wb, "by_hazard", [*HAZARD_COLUMNS, *AREA_COLUMNS], figures["hazards"])
    wb.save(path)


def _table(wb: Workbook, title: str, columns: list[str], rows: list[dict[str, Any]]) -> None:
    sheet = wb.create_sheet(title)
    sheet.freeze_panes = "A2"
    sheet.append(columns)
    for row in rows:
        sheet.append([row[c] for c in columns])

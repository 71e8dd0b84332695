"""Who may do what: roles, and the rules the API enforces (issue 4's table).

Kept in the domain so the rule is written once and tested without HTTP:

| action | admin | im_officer | planner | field_lead | observer |
|---|---|---|---|---|---|
| read records | all | all | all | own organisation | all, generalised |
| casualty personal data | yes | yes | no | no | no |
| uncleared hazard polygons at full detail | yes | yes | yes | own organisation | no |
| submit records | yes | yes | no | own organisation, as submitted | no |
| approve / reject | yes | yes | no | no | no |
| statistics, plans, KPIs, events | yes | yes | yes | yes | yes |
| start a planning run | yes | no | yes | no | no |
| manage users | yes | no | no | no | no |

>>> check(Role.FIELD_LEAD, "approve")
Traceback (most recent call last):
...
clearfield.domain.roles.Forbidden: a field_lead may not approve or reject records; an im_officer or admin does
"""

from __future__ import annotations

from enum import StrEnum

from clearfield.errors import ClearfieldError

__all__ = [
    "ACTIONS",
    "Forbidden",
    "Role",
    "check",
    "sees_full_hazards",
    "sees_personal_data",
    "sees_record",
]


class Role(StrEnum):
    ADMIN = "admin"
    IM_OFFICER = "im_officer"
    PLANNER = "planner"
    FIELD_LEAD = "field_lead"
    OBSERVER = "observer"


class Forbidden(ClearfieldError):
    """The user's role does not allow the action (HTTP 403, with this reason)."""

    code = "FORBIDDEN"


_ALL = frozenset(Role)
ACTIONS: dict[str, tuple[frozenset[Role], str]] = {
    "read": (_ALL, "read records"),
    "submit": (
        frozenset({Role.ADMIN, Role.IM_OFFICER, Role.FIELD_LEAD}),
        "submit records; a field_lead, im_officer or admin does",
    ),
    "approve": (
        frozenset({Role.ADMIN, Role.IM_OFFICER}),
        "approve or reject records; an im_officer or admin does",
    ),
    "stats": (_ALL, "read statistics"),
    "plan": (
        frozenset({Role.ADMIN, Role.PLANNER}),
        "start a planning run; a planner or admin does",
    ),
    "read_plan": (_ALL, "read plans"),
    "reports": (
        frozenset({Role.ADMIN, Role.IM_OFFICER, Role.PLANNER, Role.OBSERVER}),
        "read the programme's reports (all organisations'); a field_lead reads their own records",
    ),
    "users": (frozenset({Role.ADMIN}), "manage users; an admin does"),
}


def check(role: Role, action: str, *, own_organisation: bool = True) -> None:
    """Raise :class:`Forbidden` with the reason unless ``role`` may do ``action``.

    ``own_organisation`` says whether the records concerned belong to the user's
    organisation: a field lead acts on their own organisation's records only.
    """
    allowed, what = ACTIONS[action]
    if role not in allowed:
        raise Forbidden(f"a {role.value} may not {what}")
    if role is Role.FIELD_LEAD and not own_organisation:
        raise Forbidden("a field_lead acts on their own organisation's records only")


def sees_record(role: Role, user_organisation: str | None, organisation: str | None) -> bool:
    """Whether a user sees a record of ``organisation``: a field lead sees their own
    organisation's records and those that belong to none (assets, say); others see all."""
    return role is not Role.FIELD_LEAD or organisation is None or organisation == user_organisation


def sees_personal_data(role: Role) -> bool:
    """Casualty names and other personal data: IM officers and admins only."""
    return role in (Role.ADMIN, Role.IM_OFFICER)


def sees_full_hazards(role: Role) -> bool:
    """Observers (oversight, donors) see hazards generalised, never the exact polygon of
    ground not yet cleared."""
    return role is not Role.OBSERVER

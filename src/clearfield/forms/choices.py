"""The forms' choice lists: the domain's enumerations, and the two the forms add.

A choice list's values are an enumeration's own and never change here; only the labels
a field team reads are written here (a value without one gets a label made from it).
"""

from __future__ import annotations

import re
from enum import StrEnum

from clearfield.domain.enums import (
    AccidentActivity,
    Contamination,
    Disposal,
    HazardStatus,
)

__all__ = ["FORM_ENUMS", "NtsOutcome", "YesNo", "choice_label", "choice_list_name"]


class YesNo(StrEnum):
    """A form's own yes/no answer: ODK has no boolean question type."""

    YES = "yes"
    NO = "no"


class NtsOutcome(StrEnum):
    """What a non-technical survey records: the area, a cancellation, or both.

    Not a domain enumeration: it only tells the form which questions to ask and the
    importer which records to make (a hazard, an ``nts`` activity, or both).
    """

    HAZARD = "hazard"
    CANCELLATION = "cancellation"
    BOTH = "both"


FORM_ENUMS: tuple[type[StrEnum], ...] = (YesNo, NtsOutcome)
"""Choice lists that belong to the forms, not to the domain (form logic only)."""

# Labels a field team reads; values are the enumerations' own and never change here.
# A value without a label here (a new enum member) gets one made from the value.
_LABELS: dict[type[StrEnum], dict[str, str]] = {
    YesNo: {"yes": "Yes", "no": "No"},
    NtsOutcome: {
        "hazard": "Record a hazardous area (new, or an update of a known one)",
        "cancellation": "Cancel land of a known hazardous area (no evidence found)",
        "both": "Record a hazardous area and cancel part of it",
    },
    HazardStatus: {
        "SHA": "SHA: suspected hazardous area (indirect evidence only)",
        "CHA": "CHA: confirmed hazardous area (direct evidence)",
    },
    Contamination: {
        "ap_mine": "Anti-personnel mines",
        "at_mine": "Anti-tank mines",
        "uxo": "Unexploded ordnance (UXO)",
        "cluster_munition": "Cluster munitions",
        "ied": "Improvised explosive devices (IED)",
        "booby_trap": "Booby traps",
        "abandoned_ordnance": "Abandoned explosive ordnance (AXO)",
    },
    Disposal: {
        "destroyed_in_situ": "Destroyed in situ",
        "removed_for_destruction": "Removed for later destruction",
        "rendered_safe": "Rendered safe",
        "handed_over": "Handed over (police, military)",
        "pending": "Pending (marked, not yet disposed of)",
    },
    AccidentActivity: {
        "demining": "Demining",
        "agriculture": "Farming",
        "travel": "Travelling",
        "herding": "Herding animals",
        "collecting": "Collecting wood, food or scrap",
        "playing": "Playing",
        "tampering": "Handling or tampering with the device",
        "reconstruction": "Reconstruction work",
        "other": "Other",
    },
}


def choice_label(enum: type[StrEnum], value: str) -> str:
    """The label a field team reads for one value of an enumeration."""
    return _LABELS.get(enum, {}).get(value) or value.replace("_", " ").capitalize()


def choice_list_name(enum: type[StrEnum]) -> str:
    """The XLSForm list name of an enumeration: its class name in snake case.

    >>> choice_list_name(HazardStatus), choice_list_name(Contamination)
    ('hazard_status', 'contamination')
    """
    return re.sub(r"(?<!^)(?=[A-Z])", "_", enum.__name__).lower()

"""IMAS categories and workflow states, spelled exactly as files and the API spell them.

Every enumeration is a ``StrEnum`` so that a value read from a file compares equal to
its member and is written back unchanged.
"""

from __future__ import annotations

from enum import StrEnum


class HazardStatus(StrEnum):
    SHA = "SHA"  # suspected hazardous area: indirect evidence only
    CHA = "CHA"  # confirmed hazardous area: direct evidence


class Contamination(StrEnum):
    AP_MINE = "ap_mine"
    AT_MINE = "at_mine"
    UXO = "uxo"
    CLUSTER_MUNITION = "cluster_munition"
    IED = "ied"
    BOOBY_TRAP = "booby_trap"
    ABANDONED_ORDNANCE = "abandoned_ordnance"


class LandUse(StrEnum):
    AGRICULTURAL = "agricultural"
    RESIDENTIAL = "residential"
    ROAD = "road"
    FOREST = "forest"
    INDUSTRIAL = "industrial"
    WATER = "water"
    OTHER = "other"


class OrganisationKind(StrEnum):
    NGO = "ngo"
    COMMERCIAL = "commercial"
    MILITARY = "military"
    CIVIL_PROTECTION = "civil_protection"
    NATIONAL_AUTHORITY = "national_authority"


class TeamKind(StrEnum):
    MANUAL = "manual"
    MECHANICAL = "mechanical"
    DOG = "dog"
    SURVEY = "survey"
    EOD = "eod"
    CONSTRUCTION = "construction"

    @property
    def is_sapper(self) -> bool:
        """Every kind but construction is mine action personnel (a sapper, in DESIGN's count)."""
        return self is not TeamKind.CONSTRUCTION


class ActivityKind(StrEnum):
    NTS = "nts"  # non-technical survey: cancels
    TS = "ts"  # technical survey: reduces
    CLEARANCE = "clearance"  # clears

    @property
    def release(self) -> ReleaseCategory:
        return _RELEASE[self]


class ReleaseCategory(StrEnum):
    CANCELLED = "cancelled"
    REDUCED = "reduced"
    CLEARED = "cleared"


_RELEASE = {
    ActivityKind.NTS: ReleaseCategory.CANCELLED,
    ActivityKind.TS: ReleaseCategory.REDUCED,
    ActivityKind.CLEARANCE: ReleaseCategory.CLEARED,
}


class ReviewStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"


class AssetKind(StrEnum):
    ROAD_SEGMENT = "road_segment"
    BRIDGE = "bridge"
    POWER_LINE = "power_line"
    SUBSTATION = "substation"
    WATER_PLANT = "water_plant"
    SCHOOL = "school"
    HOSPITAL = "hospital"
    HOUSING = "housing"


class DamageLevel(StrEnum):
    LIGHT = "light"
    MODERATE = "moderate"
    SEVERE = "severe"
    DESTROYED = "destroyed"


class AssetCondition(StrEnum):
    DAMAGED = "damaged"
    UNDER_RECONSTRUCTION = "under_reconstruction"
    RESTORED = "restored"


class ProjectStatus(StrEnum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    SUSPENDED = "suspended"
    COMPLETED = "completed"


class Disposal(StrEnum):
    DESTROYED_IN_SITU = "destroyed_in_situ"
    REMOVED_FOR_DESTRUCTION = "removed_for_destruction"
    RENDERED_SAFE = "rendered_safe"
    HANDED_OVER = "handed_over"
    PENDING = "pending"


class Sex(StrEnum):
    FEMALE = "female"
    MALE = "male"
    UNKNOWN = "unknown"


class AgeGroup(StrEnum):
    CHILD = "child"
    ADULT = "adult"
    UNKNOWN = "unknown"


class Outcome(StrEnum):
    KILLED = "killed"
    INJURED = "injured"


class VictimRole(StrEnum):
    DEMINER = "deminer"
    CIVILIAN = "civilian"


class AccidentActivity(StrEnum):
    """What the victims were doing, as mine action accident reports record it."""

    DEMINING = "demining"
    AGRICULTURE = "agriculture"
    TRAVEL = "travel"
    HERDING = "herding"
    COLLECTING = "collecting"
    PLAYING = "playing"
    TAMPERING = "tampering"
    RECONSTRUCTION = "reconstruction"
    OTHER = "other"

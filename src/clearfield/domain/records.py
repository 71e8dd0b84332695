"""The records a mine action programme keeps, one dataclass per entity of DESIGN.md.

A record is a value: parsing and validation (``domain.parse``) build it, the store
keeps its versions, accounting and reports read it. Class attributes say how a
record type behaves in files and in the store:

- ``RECORD_TYPE``: the ``properties.record_type`` that names it in a file;
- ``INFO_DATE``: the field holding its date of information (versions are ordered by
  it; ``None`` when the record has none, and a changed record is then versioned by
  the day it was stored);
- ``GEOMETRY``: the geometry types it accepts, and whether one is required;
- ``REFERENCES``: fields that name another record, and that record's type;
- ``DEFAULT_REVIEW``: the review status a record gets when the file does not say.
  Field returns (activities, finds, accidents, daily reports) wait for review;
  registers an IM officer imports (hazards, assets, teams) are taken as approved.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, ClassVar

from shapely.geometry.base import BaseGeometry

from clearfield.domain.enums import (
    AccidentActivity,
    ActivityKind,
    AgeGroup,
    AssetCondition,
    AssetKind,
    Contamination,
    DamageLevel,
    Disposal,
    HazardStatus,
    LandUse,
    OrganisationKind,
    Outcome,
    ProjectStatus,
    ReviewStatus,
    Sex,
    TeamKind,
    VictimRole,
)

POLYGONAL = ("Polygon", "MultiPolygon")


@dataclass(kw_only=True, slots=True)
class Record:
    """What every record has: an id unique within its type, a review state, a geometry."""

    RECORD_TYPE: ClassVar[str] = ""
    INFO_DATE: ClassVar[str | None] = None
    GEOMETRY: ClassVar[tuple[str, ...]] = ()
    GEOMETRY_REQUIRED: ClassVar[bool] = False
    REFERENCES: ClassVar[dict[str, str]] = {}
    DEFAULT_REVIEW: ClassVar[ReviewStatus] = ReviewStatus.APPROVED
    ALIASES: ClassVar[dict[str, str]] = {}  # file property name -> attribute name
    RESTRICTED: ClassVar[tuple[str, ...]] = ()  # personal data, for roles that need it only

    id: str
    review_status: ReviewStatus = ReviewStatus.APPROVED
    rejection_reason: str | None = None
    geometry: BaseGeometry | None = None

    @property
    def info_date(self) -> date | None:
        return getattr(self, self.INFO_DATE) if self.INFO_DATE else None

    @classmethod
    def areal(cls) -> bool:
        """Whether records of this type are areas (a polygon required): their area is
        kept, and checked for duplicates."""
        return cls.GEOMETRY_REQUIRED and "Polygon" in cls.GEOMETRY

    @property
    def counts(self) -> bool:
        """Only approved records count anywhere (DESIGN: land release accounting)."""
        return self.review_status is ReviewStatus.APPROVED


@dataclass(kw_only=True, slots=True)
class Organisation(Record):
    """An accredited operator: NGO, commercial company, military engineers, civil protection."""

    RECORD_TYPE: ClassVar[str] = "organisation"

    name: str
    kind: OrganisationKind
    country: str | None = None


@dataclass(kw_only=True, slots=True)
class Team(Record):
    """A sapper team or construction brigade; ``base`` is its geometry (a Point) when known."""

    RECORD_TYPE: ClassVar[str] = "team"
    GEOMETRY: ClassVar[tuple[str, ...]] = ("Point",)
    REFERENCES: ClassVar[dict[str, str]] = {"organisation": "organisation"}

    organisation: str
    kind: TeamKind
    personnel: int
    name: str | None = None
    available_from: date | None = None
    # m² per person per working day (per machine-hour for a flail); None: the field default
    productivity_m2: float | None = None


@dataclass(kw_only=True, slots=True)
class Hazard(Record):
    """A hazardous area: SHA on indirect evidence, CHA on direct evidence (IMAS 04.10)."""

    RECORD_TYPE: ClassVar[str] = "hazard"
    INFO_DATE: ClassVar[str | None] = "recorded_on"
    GEOMETRY: ClassVar[tuple[str, ...]] = POLYGONAL
    GEOMETRY_REQUIRED: ClassVar[bool] = True
    REFERENCES: ClassVar[dict[str, str]] = {"organisation": "organisation"}

    name: str
    status: HazardStatus
    contamination: tuple[Contamination, ...]
    land_use: LandUse
    organisation: str
    district: str
    recorded_on: date
    direct_evidence: tuple[str, ...] = ()
    indirect_evidence: tuple[str, ...] = ()


@dataclass(kw_only=True, slots=True)
class Activity(Record):
    """A land release activity on one hazard; its polygon is the area it releases."""

    RECORD_TYPE: ClassVar[str] = "activity"
    INFO_DATE: ClassVar[str | None] = "end_date"
    GEOMETRY: ClassVar[tuple[str, ...]] = POLYGONAL
    GEOMETRY_REQUIRED: ClassVar[bool] = True
    REFERENCES: ClassVar[dict[str, str]] = {
        "hazard_id": "hazard",
        "organisation": "organisation",
        "team": "team",
    }
    DEFAULT_REVIEW: ClassVar[ReviewStatus] = ReviewStatus.SUBMITTED
    ALIASES: ClassVar[dict[str, str]] = {"status": "review_status"}

    hazard_id: str
    kind: ActivityKind
    organisation: str
    start_date: date
    end_date: date
    team: str | None = None
    depth_cm: float | None = None


@dataclass(kw_only=True, slots=True)
class EOFind(Record):
    """Explosive ordnance found (and what was done with it)."""

    RECORD_TYPE: ClassVar[str] = "find"
    INFO_DATE: ClassVar[str | None] = "found_on"
    GEOMETRY: ClassVar[tuple[str, ...]] = ("Point",)
    GEOMETRY_REQUIRED: ClassVar[bool] = True
    REFERENCES: ClassVar[dict[str, str]] = {
        "hazard_id": "hazard",
        "organisation": "organisation",
        "team": "team",
    }
    DEFAULT_REVIEW: ClassVar[ReviewStatus] = ReviewStatus.SUBMITTED
    ALIASES: ClassVar[dict[str, str]] = {"status": "review_status"}

    organisation: str
    found_on: date
    category: Contamination
    ordnance_type: str
    quantity: int = 1
    disposal: Disposal = Disposal.DESTROYED_IN_SITU
    hazard_id: str | None = None
    team: str | None = None


@dataclass(kw_only=True, slots=True, frozen=True)
class Casualty:
    """One person harmed. ``name`` is personal data: restricted to roles that need it."""

    sex: Sex
    age_group: AgeGroup
    outcome: Outcome
    role: VictimRole = VictimRole.CIVILIAN
    name: str | None = None


@dataclass(kw_only=True, slots=True)
class Accident(Record):
    """An explosive ordnance accident and the people it harmed."""

    RECORD_TYPE: ClassVar[str] = "accident"
    INFO_DATE: ClassVar[str | None] = "occurred_on"
    GEOMETRY: ClassVar[tuple[str, ...]] = ("Point",)
    GEOMETRY_REQUIRED: ClassVar[bool] = True
    REFERENCES: ClassVar[dict[str, str]] = {"hazard_id": "hazard", "organisation": "organisation"}
    DEFAULT_REVIEW: ClassVar[ReviewStatus] = ReviewStatus.SUBMITTED
    ALIASES: ClassVar[dict[str, str]] = {"status": "review_status"}
    RESTRICTED: ClassVar[tuple[str, ...]] = ("casualties.name",)

    occurred_on: date
    district: str
    device_category: Contamination
    activity_at_time: AccidentActivity
    device_type: str | None = None
    organisation: str | None = None
    hazard_id: str | None = None
    casualties: tuple[Casualty, ...] = ()

    @property
    def killed(self) -> int:
        return sum(1 for c in self.casualties if c.outcome is Outcome.KILLED)

    @property
    def injured(self) -> int:
        return sum(1 for c in self.casualties if c.outcome is Outcome.INJURED)


# Default access buffer (m): the ground around an asset that must be safe before
# a brigade can work on it. Linear assets need their verges, sites their compound.
ACCESS_BUFFER_M: dict[AssetKind, float] = {
    AssetKind.ROAD_SEGMENT: 25.0,
    AssetKind.BRIDGE: 100.0,
    AssetKind.POWER_LINE: 25.0,
    AssetKind.SUBSTATION: 150.0,
    AssetKind.WATER_PLANT: 150.0,
    AssetKind.SCHOOL: 200.0,
    AssetKind.HOSPITAL: 200.0,
    AssetKind.HOUSING: 100.0,
}


@dataclass(kw_only=True, slots=True)
class Asset(Record):
    """A damaged infrastructure asset; blocked by every unreleased hazard in its access buffer."""

    RECORD_TYPE: ClassVar[str] = "asset"
    INFO_DATE: ClassVar[str | None] = "assessed_on"
    GEOMETRY: ClassVar[tuple[str, ...]] = (
        "Point",
        "LineString",
        "MultiLineString",
        "Polygon",
        "MultiPolygon",
    )
    GEOMETRY_REQUIRED: ClassVar[bool] = True

    name: str
    kind: AssetKind
    damage: DamageLevel
    district: str
    assessed_on: date
    population_served: int | None = None  # None: not assessed (not zero people)
    work_worker_days: float | None = None
    condition: AssetCondition = AssetCondition.DAMAGED
    access_buffer_m: float | None = None

    @property
    def buffer_m(self) -> float:
        return (
            self.access_buffer_m if self.access_buffer_m is not None else ACCESS_BUFFER_M[self.kind]
        )


@dataclass(kw_only=True, slots=True)
class ReconstructionProject(Record):
    """Rebuilding one asset; may start only when the asset is no longer blocked."""

    RECORD_TYPE: ClassVar[str] = "project"
    INFO_DATE: ClassVar[str | None] = "updated_on"
    REFERENCES: ClassVar[dict[str, str]] = {
        "asset_id": "asset",
        "organisation": "organisation",
        "team": "team",
    }

    asset_id: str
    organisation: str
    updated_on: date
    status: ProjectStatus = ProjectStatus.PLANNED
    team: str | None = None
    start_date: date | None = None
    end_date: date | None = None
    work_worker_days: float | None = None


@dataclass(kw_only=True, slots=True)
class DailyReport(Record):
    """A team's progress for one day; drives progress figures and re-planning."""

    RECORD_TYPE: ClassVar[str] = "daily_report"
    INFO_DATE: ClassVar[str | None] = "report_date"
    GEOMETRY: ClassVar[tuple[str, ...]] = POLYGONAL
    REFERENCES: ClassVar[dict[str, str]] = {
        "team": "team",
        "hazard_id": "hazard",
        "project_id": "project",
    }
    DEFAULT_REVIEW: ClassVar[ReviewStatus] = ReviewStatus.SUBMITTED
    ALIASES: ClassVar[dict[str, str]] = {"status": "review_status"}

    team: str
    report_date: date
    people_present: int
    hazard_id: str | None = None
    project_id: str | None = None
    area_worked_m2: float | None = None  # None: not reported
    worker_days: float | None = None
    finds: int | None = None
    incidents: str | None = None


@dataclass(kw_only=True, slots=True)
class Pledge(Record):
    """A partner's commitment of personnel (and teams) of one kind by a date."""

    RECORD_TYPE: ClassVar[str] = "pledge"
    INFO_DATE: ClassVar[str | None] = "pledged_on"
    REFERENCES: ClassVar[dict[str, str]] = {"organisation": "organisation"}

    organisation: str
    team_kind: TeamKind
    personnel: int
    by_date: date
    pledged_on: date
    teams: int = 0


@dataclass(kw_only=True, slots=True)
class AuditEvent:
    """Who changed what, when, with the record before and after. Append-only."""

    at: datetime
    actor: str
    action: str
    record_type: str
    record_id: str
    version: int | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    detail: str | None = None
    id: int | None = field(default=None)


RECORD_TYPES: dict[str, type[Record]] = {
    cls.RECORD_TYPE: cls
    for cls in (
        Organisation,
        Team,
        Hazard,
        Activity,
        EOFind,
        Accident,
        Asset,
        ReconstructionProject,
        DailyReport,
        Pledge,
    )
}
"""Record types in dependency order: a type only references types listed before it."""

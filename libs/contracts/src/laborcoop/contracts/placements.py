"""Events of the labour exchange: workers, demands and placements (three topics).

No event carries personal data: a worker is an opaque id with non-identifying attributes (origin
province, occupations, brand, availability); never a name, ID number, phone number, birth date
or the poverty-alleviation flag. ``subject`` is the aggregate's id and ``sequence`` its version.
``provinces`` names the worker's origin province for worker events, the posting province for
demand events, and both the origin and the destination for placement events.
"""

from datetime import date
from uuid import UUID

from laborcoop.contracts import topics
from laborcoop.contracts.codes import (
    Availability,
    ConsentScope,
    DemandKind,
    DemandStatus,
    PlacementStatus,
    ReturnPath,
)
from laborcoop.contracts.events import EventPayload, event_type

# -- workers (topic laborcoop.placements.workers) ---------------------------------------------


class _WorkerEvent(EventPayload):
    worker_id: UUID
    origin: str
    """The sending province (GB/T 2260), which registered the worker and keeps the record."""


class WorkerProfile(_WorkerEvent):
    """The non-identifying attributes of a worker record as it now stands."""

    occupations: tuple[str, ...]
    brand_id: UUID | None = None
    availability: Availability


@event_type("cn.laborcoop.placements.worker.registered.v1", topic=topics.WORKERS)
class WorkerRegistered(WorkerProfile):
    """The origin province registered a worker (by hand or by bulk import)."""


@event_type("cn.laborcoop.placements.worker.updated.v1", topic=topics.WORKERS)
class WorkerUpdated(WorkerProfile):
    """The record changed: its occupations, brand or availability (a placement accepted or
    ended changes the availability)."""


@event_type("cn.laborcoop.placements.worker.consent_changed.v1", topic=topics.WORKERS)
class WorkerConsentChanged(_WorkerEvent):
    """The worker gave (``granted``) or withdrew consent to share ``scope`` with ``province``."""

    province: str
    scope: ConsentScope
    granted: bool
    until: date | None = None


# -- demands (topic laborcoop.placements.demands) ---------------------------------------------


class _DemandEvent(EventPayload):
    demand_id: UUID
    province: str
    """The receiving province that posted the demand."""


@event_type("cn.laborcoop.placements.demand.posted.v1", topic=topics.DEMANDS)
class DemandPosted(_DemandEvent):
    """A receiving province posted a demand for an employer (an organisation, not a person)."""

    kind: DemandKind
    employer_name: str
    employer_credit_code: str
    occupation: str
    headcount: int
    wage_min: int
    wage_max: int
    city_code: str
    start_date: date
    end_date: date | None = None
    preferred_brands: tuple[UUID, ...] = ()


@event_type("cn.laborcoop.placements.demand.filled.v1", topic=topics.DEMANDS)
class DemandFilled(_DemandEvent):
    """Accepted placements reached the headcount."""

    headcount: int


@event_type("cn.laborcoop.placements.demand.closed.v1", topic=topics.DEMANDS)
class DemandClosed(_DemandEvent):
    """The demand stopped taking proposals: closed by its province, or ``expired``."""

    status: DemandStatus
    reason: str


# -- placements (topic laborcoop.placements.placements) ---------------------------------------


class PlacementEvent(EventPayload):
    """What every placement event says of the placement."""

    placement_id: UUID
    worker_id: UUID
    demand_id: UUID
    origin: str
    destination: str
    agreement_id: UUID | None = None
    """The agreement whose corridor target the placement counts against (none when outside any
    agreement)."""
    brand_id: UUID | None = None
    status: PlacementStatus


@event_type("cn.laborcoop.placements.placement.proposed.v1", topic=topics.PLACEMENTS)
class PlacementProposed(PlacementEvent):
    """The receiving province proposed a worker for one of its demands."""

    occupation: str
    beyond_target: bool = False
    """The corridor's target for the period was already reached (allowed, flagged)."""


@event_type("cn.laborcoop.placements.placement.accepted.v1", topic=topics.PLACEMENTS)
class PlacementAccepted(PlacementEvent):
    """The origin province accepted (with the worker's consent to share identity)."""


@event_type("cn.laborcoop.placements.placement.declined.v1", topic=topics.PLACEMENTS)
class PlacementDeclined(PlacementEvent):
    reason: str


@event_type("cn.laborcoop.placements.placement.onboarded.v1", topic=topics.PLACEMENTS)
class PlacementOnboarded(PlacementEvent):
    """The worker started work on ``on``."""

    on: date


@event_type("cn.laborcoop.placements.placement.milestone_reached.v1", topic=topics.PLACEMENTS)
class PlacementMilestoneReached(PlacementEvent):
    """The worker stayed ``months`` (3 or 6) on the job: subsidies in many provinces."""

    months: int
    on: date


@event_type("cn.laborcoop.placements.placement.completed.v1", topic=topics.PLACEMENTS)
class PlacementCompleted(PlacementEvent):
    on: date


@event_type("cn.laborcoop.placements.placement.terminated.v1", topic=topics.PLACEMENTS)
class PlacementTerminated(PlacementEvent):
    """One side ended the placement before completion."""

    province: str
    reason: str


@event_type("cn.laborcoop.placements.placement.returned.v1", topic=topics.PLACEMENTS)
class PlacementReturned(PlacementEvent):
    """The worker returned home (返乡), and what followed."""

    on: date
    follow_up: ReturnPath
    note: str | None = None

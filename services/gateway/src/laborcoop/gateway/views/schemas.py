"""The views' answers. Lists are pages of records; overviews are aggregates, with records only
where the caller may see them (``views.authorization``). Every answer says how far behind the
event stream it is (``freshness``)."""

from datetime import date, datetime
from typing import Generic, TypeVar
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg
from pydantic import Field

from laborcoop.common.inputs import ApiModel
from laborcoop.common.pagination import Page
from laborcoop.contracts.agreements import Terms, awaited
from laborcoop.contracts.codes import (
    AgreementKind,
    AgreementStatus,
    DemandKind,
    DemandStatus,
    PlacementStatus,
    ReturnPath,
)
from laborcoop.gateway.views.authorization import Viewer

T = TypeVar("T")


class Freshness(ApiModel):
    """How far the view is behind one topic of the event stream."""

    topic: str = Field(examples=["laborcoop.placements.placements"])
    consumer_group: str = Field(examples=["gateway.placements"])
    last_event_at: datetime | None = Field(
        description="`time` of the newest event of the topic the view has applied (null: none "
        "yet). Compare it with the time of the change you wait for."
    )
    lag: int | None = Field(
        description="Records of the topic the view's consumer group had not yet applied when "
        "last measured (0: it had caught up); null: not measured yet."
    )
    lag_measured_at: datetime | None = Field(description="When `lag` was measured.")


class ViewPage(Page[T], Generic[T]):
    freshness: list[Freshness]


# -- records ------------------------------------------------------------------------------------


class SignatureOut(ApiModel):
    province: str
    signed_at: datetime


class AgreementItem(ApiModel):
    """An agreement as the agreements service shows it: the terms in force (or, before it is in
    force, as they stand), who signed them, and an amendment under signature with who signed it
    and who is awaited (the amendment to its parties only)."""

    id: UUID
    status: AgreementStatus
    revision: int
    terms: Terms
    amendment: Terms | None = Field(description="a revision under signature, if any")
    signatures: list[SignatureOut] = Field(
        description="who signed the proposal being signed, or the revision in force"
    )
    amendment_signatures: list[SignatureOut] = Field(
        description="who signed the amendment under signature (parties only)"
    )
    awaiting: list[str] = Field(description="parties yet to sign the revision under signature")
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: asyncpg.Record, viewer: Viewer) -> "AgreementItem":
        """The row as ``viewer`` may see it (as the agreements service's ``AgreementOut``)."""
        parties: list[str] = row["parties"]
        amendment = row["amendment"]
        private = amendment is not None and not any(viewer.is_province(p) for p in parties)
        signatures = _signatures(row["signatures"])
        amendment_signatures = [] if private else _signatures(row["amendment_signatures"])
        collecting = amendment_signatures if amendment is not None else signatures
        pending = awaited(
            row["status"],
            parties,
            {s.province for s in collecting},
            amendment_pending=amendment is not None,
        )
        return cls(
            id=row["id"],
            status=row["status"],
            revision=row["revision"],
            terms=row["terms"],
            amendment=None if private else amendment,
            signatures=signatures,
            amendment_signatures=amendment_signatures,
            awaiting=[] if private else pending,
            version=row["version"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )


def _signatures(held: list[dict[str, str]]) -> list[SignatureOut]:
    """Who signed, in the order they signed."""
    return [SignatureOut.model_validate(signature) for signature in held]


class DemandItem(ApiModel):
    id: UUID
    province: str
    status: DemandStatus
    kind: DemandKind
    employer_name: str
    employer_credit_code: str
    occupation: str
    headcount: int
    wage_min: int
    wage_max: int
    city_code: str
    start_date: date
    end_date: date | None
    preferred_brands: list[UUID]
    closed_reason: str | None
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: asyncpg.Record) -> "DemandItem":
        return cls.model_validate({**row, "province": row["province"].strip()})


class PlacementItem(ApiModel):
    """A placement as the gateway's projection holds it; days are calendar days of
    `LABORCOOP_TIMEZONE`, as the placements service reports them."""

    id: UUID
    status: PlacementStatus
    worker_id: UUID
    demand_id: UUID
    origin: str
    destination: str
    occupation: str
    brand_id: UUID | None
    agreement_id: UUID | None
    beyond_target: bool
    proposed_on: date
    onboarded_on: date | None
    retained_3m_on: date | None
    retained_6m_on: date | None
    ended_on: date | None
    end_reason: str | None
    follow_up: ReturnPath | None
    follow_up_note: str | None
    version: int
    updated_at: datetime

    @classmethod
    def of(cls, row: asyncpg.Record, timezone: ZoneInfo) -> "PlacementItem":
        terminated: datetime | None = row["terminated_at"]
        ended = row["completed_on"] or (
            terminated.astimezone(timezone).date() if terminated else row["returned_on"]
        )
        return cls(
            id=row["id"],
            status=row["status"],
            worker_id=row["worker_id"],
            demand_id=row["demand_id"],
            origin=row["origin"],
            destination=row["destination"],
            occupation=row["occupation"],
            brand_id=row["brand_id"],
            agreement_id=row["agreement_id"],
            beyond_target=row["beyond_target"],
            proposed_on=row["proposed_at"].astimezone(timezone).date(),
            onboarded_on=row["onboarded_on"],
            retained_3m_on=row["retained_3m_on"],
            retained_6m_on=row["retained_6m_on"],
            ended_on=ended,
            end_reason=row["end_reason"],
            follow_up=row["follow_up"],
            follow_up_note=row["follow_up_note"],
            version=row["version"],
            updated_at=row["updated_at"],
        )


class AgreementRef(ApiModel):
    """An agreement named in an aggregate (shown only to those who may see its record)."""

    id: UUID
    title: str
    kind: AgreementKind
    status: AgreementStatus
    parties: list[str]
    effective_from: date
    effective_to: date | None


# -- aggregates ---------------------------------------------------------------------------------


class MonthFlow(ApiModel):
    month: str = Field(examples=["2025-03"], description="a calendar month, YYYY-MM")
    proposed: int = Field(description="placements proposed in the month")
    onboarded: int = Field(description="workers who started work in the month")
    returned: int = Field(description="workers who returned home in the month")


class Flows(ApiModel):
    """Placements by status (every status, declined included) and by month."""

    total: int
    by_status: dict[str, int] = Field(examples=[{"proposed": 2, "onboarded": 5}])
    by_month: list[MonthFlow]


class CorridorCount(ApiModel):
    origin: str
    destination: str
    placements: int = Field(description="placements on the corridor, declined proposals aside")


class BrandCount(ApiModel):
    brand_id: UUID
    name: str | None = Field(description="null while the gateway has not seen the brand yet")
    province: str | None
    placements: int = Field(description="placements of its workers, declined proposals aside")


class AgreementCounts(ApiModel):
    total: int
    by_kind: dict[str, int]
    by_status: dict[str, int]


class WorkerCounts(ApiModel):
    """Workers by availability (counts only: the gateway keeps no personal data)."""

    total: int
    by_availability: dict[str, int] = Field(examples=[{"available": 120, "placed": 30}])


class Returns(ApiModel):
    """Workers who returned home (返乡), by what followed."""

    total: int
    by_follow_up: dict[str, int] = Field(examples=[{"business_startup": 3, "local_job": 7}])


class Indicators(ApiModel):
    """A brand's figures for one period, as last reported (a figure not reported is null)."""

    period: str = Field(examples=["2024", "2024-Q3"])
    revision: int
    practitioners: int | None
    jobs_created: int | None
    people_trained: int | None
    labour_income_yuan: int | None
    output_value_yuan: int | None
    average_monthly_wage_yuan: int | None
    skilled_share: float | None
    satisfaction: float | None
    source: str | None
    reported_at: datetime


class BrandFigures(ApiModel):
    id: UUID
    name: str
    province: str
    category: str
    status: str
    level: str | None
    latest: Indicators | None = Field(description="the figures of its latest period, if any")


class TargetActual(ApiModel):
    """A corridor of an active agreement: its target of workers transferred in a period (null:
    the terms set none) beside the placements counted against the agreement there (proposed in
    the period and not declined, as the placements service counts them)."""

    agreement_id: UUID
    title: str
    origin: str
    destination: str
    period: str = Field(examples=["2025", "2025-Q1"])
    target: int | None
    actual: int


class ProvinceSummary(ApiModel):
    code: str
    name: str
    brands: int
    active_agreements: int
    workers: int
    placements_outbound: int = Field(description="placements from the province, not declined")
    placements_inbound: int = Field(description="placements to the province, not declined")
    open_demands: int


class ProvinceOverview(ApiModel):
    code: str
    name: str
    own: bool = Field(
        description="the caller is this province (or the ministry): draft agreements it "
        "initiated are counted; otherwise records of the province are left out and only "
        "aggregates shown"
    )
    brands_total: int
    brands: list[BrandFigures] = Field(description="its brands by name (at most 200)")
    agreements: AgreementCounts = Field(description="agreements it is a party to")
    placements_outbound: Flows
    placements_inbound: Flows
    workers: WorkerCounts
    top_corridors: list[CorridorCount]
    top_brands: list[BrandCount]
    targets: list[TargetActual] = Field(
        description="per active agreement of the province (those the caller may see) and "
        "corridor from or to it"
    )
    freshness: list[Freshness]


class CorridorAgreement(ApiModel):
    """An active agreement covering the corridor, with the corridor's targets and actuals."""

    agreement: AgreementRef
    targets: list[TargetActual]


class Corridor(ApiModel):
    origin: str
    destination: str
    placements: Flows
    covered: bool = Field(description="an active agreement covers the corridor")
    agreements: list[CorridorAgreement] = Field(
        description="the covering agreements whose record the caller may see"
    )


class BrandImpact(ApiModel):
    brand: BrandFigures
    indicators: list[Indicators] = Field(description="every period reported, oldest first")
    agreements: AgreementCounts = Field(description="agreements linking the brand")
    linking: list[AgreementRef] = Field(
        description="the agreements linking it whose record the caller may see (at most 200)"
    )
    workers: WorkerCounts = Field(description="workers affiliated with the brand")
    placements: Flows = Field(description="placements of its workers")
    destinations: list[CorridorCount]
    returns: Returns
    freshness: list[Freshness]


class BrandTotals(ApiModel):
    total: int
    by_status: dict[str, int]
    by_level: dict[str, int]
    reporting: int = Field(description="brands that reported indicators")
    practitioners: int | None = Field(description="sum over brands of their latest period")
    jobs_created: int | None
    people_trained: int | None
    labour_income_yuan: int | None
    output_value_yuan: int | None


class DemandTotals(ApiModel):
    total: int
    by_status: dict[str, int]
    open_headcount: int


class NationalOverview(ApiModel):
    brands: BrandTotals
    agreements: AgreementCounts
    demands: DemandTotals
    placements: Flows
    workers: WorkerCounts
    top_corridors: list[CorridorCount]
    top_brands: list[BrandCount]
    returns: Returns
    freshness: list[Freshness]

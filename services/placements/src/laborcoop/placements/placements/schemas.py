"""The placements API models."""

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import Field, StrictBool

from laborcoop.common.inputs import ApiModel, CalendarDate
from laborcoop.common.values import PersonFreeNote, PersonFreeReason
from laborcoop.contracts.codes import PlacementStatus, ReturnPath
from laborcoop.placements.placements.domain import Placement


class PlacementCreate(ApiModel):
    """A proposal by the demand's province. The agreement is the one named, or the first active
    agreement covering the corridor (worker's origin → demand's province); a corridor no active
    agreement covers needs ``outside_agreement: true``."""

    worker_id: UUID
    demand_id: UUID
    agreement_id: UUID | None = None
    outside_agreement: StrictBool = False


class Decline(ApiModel):
    reason: PersonFreeReason = Field(examples=["劳动者本人另有安排"])


class Termination(ApiModel):
    reason: PersonFreeReason = Field(examples=["用工单位经营调整"])


class Dated(ApiModel):
    on: CalendarDate = Field(description="The day it happened, YYYY-MM-DD, not in the future")


class Milestone(Dated):
    months: Literal[3, 6] = Field(description="Months on the job: 3, then 6")


class Return(Dated):
    """The worker returned home (返乡), and what followed."""

    follow_up: ReturnPath
    note: Annotated[PersonFreeNote | None, Field(examples=["返乡创办艾灸馆"])] = None


class PlacementOut(ApiModel):
    id: UUID
    status: PlacementStatus
    worker_id: UUID
    demand_id: UUID
    origin: str
    destination: str
    occupation: str
    brand_id: UUID | None
    agreement_id: UUID | None
    outside_agreement: StrictBool
    beyond_target: bool = Field(
        description="The corridor's target for the period was reached when it was proposed"
    )
    proposed_on: date
    onboarded_on: date | None
    retained_3m_on: date | None
    retained_6m_on: date | None
    ended_on: date | None
    end_reason: str | None
    follow_up: ReturnPath | None
    follow_up_note: str | None
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, placement: Placement) -> "PlacementOut":
        return cls(
            id=placement.id,
            status=placement.status,
            proposed_on=placement.proposed_on,
            onboarded_on=placement.onboarded_on,
            retained_3m_on=placement.retained_3m_on,
            retained_6m_on=placement.retained_6m_on,
            ended_on=placement.ended_on,
            end_reason=placement.end_reason,
            follow_up=placement.follow_up,
            follow_up_note=placement.follow_up_note,
            version=placement.version,
            created_at=placement.created_at,
            updated_at=placement.updated_at,
            **vars(placement.match),
        )

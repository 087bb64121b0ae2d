"""The demands API models."""

from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import ConfigDict, Field

from laborcoop.common.inputs import ApiModel, CalendarDate, NfcText, WholeNumber
from laborcoop.common.values import TEXT, Distinct, PersonFreeReason
from laborcoop.contracts.codes import DemandKind, DemandStatus, OccupationCode
from laborcoop.contracts.identifiers import CreditCode
from laborcoop.contracts.openapi import whole_number
from laborcoop.placements.demands.domain import Demand, Posting
from laborcoop.placements.workers.schemas import MonthlyWage

DivisionCode = Annotated[str, Field(pattern=r"^\d{6}$", examples=["310115"])]

_EXAMPLE: dict[str, Any] = {
    "kind": "placement",
    "employer_name": "上海某某物业服务有限公司",
    "employer_credit_code": "91350100M000100Y43",
    "occupation": "4-10-01-01",
    "headcount": 20,
    "wage_min": 6000,
    "wage_max": 9000,
    "city_code": "310115",
    "start_date": "2025-04-01",
}


class DemandCreate(ApiModel):
    """A demand posted by the caller's province for one of its employers. ``city_code`` is the
    work location (a division code inside the caller's province)."""

    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE]})

    kind: DemandKind = DemandKind.PLACEMENT
    employer_name: Annotated[NfcText, Field(min_length=2, max_length=200, json_schema_extra=TEXT)]
    employer_credit_code: CreditCode
    occupation: OccupationCode
    headcount: Annotated[WholeNumber, Field(ge=1, le=10_000), whole_number(1, 10_000)]
    wage_min: MonthlyWage
    wage_max: MonthlyWage
    city_code: DivisionCode
    start_date: CalendarDate
    end_date: CalendarDate | None = Field(
        default=None, description="Required for a `shared_employee` secondment, YYYY-MM-DD"
    )
    open_until: CalendarDate | None = Field(
        default=None, description="Last day it takes proposals (default: start + 60 days)"
    )
    preferred_brands: Annotated[list[UUID], Field(max_length=20), *Distinct] = Field(
        default_factory=list
    )

    def posting(self) -> Posting:
        return Posting(
            kind=self.kind,
            employer_name=self.employer_name,
            employer_credit_code=self.employer_credit_code,
            occupation=self.occupation,
            headcount=self.headcount,
            wage_min=self.wage_min,
            wage_max=self.wage_max,
            city_code=self.city_code,
            start_date=self.start_date,
            end_date=self.end_date,
            preferred_brands=tuple(self.preferred_brands),
        )


class DemandOut(ApiModel):
    id: UUID
    province: str
    status: DemandStatus
    kind: DemandKind
    employer_name: str
    employer_credit_code: str
    occupation: str
    headcount: int
    accepted: int
    wage_min: int
    wage_max: int
    city_code: str
    start_date: date
    end_date: date | None
    open_until: date
    preferred_brands: list[UUID]
    closed_reason: str | None
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, demand: Demand) -> "DemandOut":
        posting = vars(demand.posting) | {"preferred_brands": list(demand.posting.preferred_brands)}
        return cls(
            id=demand.id,
            province=demand.province,
            status=demand.status,
            accepted=demand.accepted,
            open_until=demand.open_until,
            closed_reason=demand.closed_reason,
            version=demand.version,
            created_at=demand.created_at,
            updated_at=demand.updated_at,
            **posting,
        )


class Closure(ApiModel):
    reason: PersonFreeReason = Field(examples=["岗位已由本地招聘补足"])

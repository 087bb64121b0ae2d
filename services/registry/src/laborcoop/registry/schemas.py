"""The registry's API models. Requests reject unknown fields and normalise text to NFC."""

from datetime import datetime
from typing import Annotated, Any, Final, Self
from uuid import UUID

from pydantic import ConfigDict, Field, field_validator, model_validator
from pydantic.json_schema import SkipJsonSchema

from laborcoop.common.api import ApiModel, NfcText, WholeNumber
from laborcoop.common.values import OPTIONAL_TEXT, TEXT, Count, Distinct, Note, Reason, Yuan
from laborcoop.contracts.brands import IndicatorFigures
from laborcoop.contracts.codes import (
    INDUSTRY_SECTIONS,
    BrandCategory,
    BrandLevel,
    BrandOwnership,
    BrandStatus,
    DevelopmentStage,
    Industry,
    OccupationCode,
)
from laborcoop.contracts.openapi import (
    at_least_one_of,
    whole_number,
)
from laborcoop.contracts.provinces import ProvinceCode
from laborcoop.registry.domain import Attributes, Brand, IndicatorReport

BrandName = Annotated[
    NfcText,
    Field(min_length=2, max_length=64, examples=["安化黑茶茶艺师"], json_schema_extra=TEXT),
]
DivisionCode = Annotated[str, Field(pattern=r"^\d{6}$", examples=["430923"])]
Description = Annotated[NfcText, Field(max_length=2000, json_schema_extra=OPTIONAL_TEXT)]
Operator = Annotated[
    NfcText,
    Field(min_length=2, max_length=128, examples=["安化县人社局"], json_schema_extra=TEXT),
]


def _industry_schema(schema: dict[str, Any]) -> None:
    """Each section with the divisions it has, so that a generated client sends no division of
    another section (the check of :class:`Industry`)."""
    schema["anyOf"] = [
        {
            "properties": {
                "section": {"const": section},
                "division": {"enum": [f"{d:02d}" for d in range(low, high + 1)]},
            }
        }
        for section, (low, high) in INDUSTRY_SECTIONS.items()
    ]


class IndustryIn(Industry):
    """An industry in a request: unknown fields are refused, as everywhere in the API."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_industry_schema)


def _plain(industry: Industry | None) -> Industry | None:
    """The contract's own model, so that attributes compare equal whatever parsed them."""
    return Industry(**industry.model_dump()) if industry is not None else None


Occupations = Annotated[
    list[OccupationCode], Field(max_length=20, examples=[["4-10-01-01"]]), *Distinct
]

_EXAMPLE_BRAND: dict[str, Any] = {
    "name": "安化黑茶茶艺师",
    "province": "430000",
    "city_code": "430923",
    "category": "culture_tourism",
    "ownership": "regional_public",
    "occupations": ["4-03-02-09"],
    "industry": {"section": "C", "division": "15"},
    "description": "安化黑茶制茶与茶艺从业者",
    "operator": "安化县人力资源和社会保障局",
    "development_stage": "expansion",
}


_EXAMPLE_INDICATORS: dict[str, Any] = {
    "practitioners": 15000,
    "labour_income_yuan": 1_600_000_000,
    "source": "2024年全国劳务协作暨劳务品牌发展大会",
}


class BrandCreate(ApiModel):
    """A brand to register. Only ``name``, ``province`` and ``category`` are required."""

    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE_BRAND]})

    name: BrandName
    province: ProvinceCode = Field(examples=["430000"])
    city_code: DivisionCode | None = None
    category: BrandCategory
    ownership: BrandOwnership | None = None
    occupations: Occupations = Field(default_factory=list)
    industry: IndustryIn | None = None
    description: Description | None = None
    operator: Operator | None = None
    development_stage: DevelopmentStage | None = None

    def attributes(self) -> Attributes:
        return Attributes(
            name=self.name,
            category=self.category,
            city_code=self.city_code,
            ownership=self.ownership,
            occupations=tuple(self.occupations),
            industry=_plain(self.industry),
            description=self.description,
            operator=self.operator,
            development_stage=self.development_stage,
        )


class BrandPatch(ApiModel):
    """Attributes to change; a field absent stays as it is, ``null`` clears an optional one."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"development_stage": "growth"}]})

    # null is refused for these two (they cannot be cleared), so the document does not offer it
    name: BrandName | SkipJsonSchema[None] = None
    city_code: DivisionCode | None = None
    category: BrandCategory | SkipJsonSchema[None] = None
    ownership: BrandOwnership | None = None
    occupations: Occupations | None = None
    industry: IndustryIn | None = None
    description: Description | None = None
    operator: Operator | None = None
    development_stage: DevelopmentStage | None = None

    @field_validator("name", "category", mode="after")
    @classmethod
    def _required_stay(cls, value: object) -> object:
        if value is None:
            raise ValueError("cannot be cleared")
        return value

    def changes(self) -> dict[str, Any]:
        """The attributes this patch sets, as the domain holds them."""
        changes = {k: getattr(self, k) for k in self.model_fields_set}
        if "occupations" in changes:
            changes["occupations"] = tuple(changes["occupations"] or ())
        if "industry" in changes:
            changes["industry"] = _plain(changes["industry"])
        return changes


class BrandOut(ApiModel):
    id: UUID
    province: str
    name: str
    city_code: str | None
    category: BrandCategory
    ownership: BrandOwnership | None
    occupations: list[str]
    industry: Industry | None
    description: str | None
    operator: str | None
    development_stage: DevelopmentStage | None
    status: BrandStatus
    level: BrandLevel | None
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, brand: Brand) -> "BrandOut":
        a = brand.attributes
        return cls(
            id=brand.id,
            province=brand.province,
            name=a.name,
            city_code=a.city_code,
            category=a.category,
            ownership=a.ownership,
            occupations=list(a.occupations),
            industry=a.industry,
            description=a.description,
            operator=a.operator,
            development_stage=a.development_stage,
            status=brand.status,
            level=brand.level,
            version=brand.version,
            created_at=brand.created_at,
            updated_at=brand.updated_at,
        )


class Recognition(ApiModel):
    level: BrandLevel = Field(examples=["province"])


class Suspension(ApiModel):
    reason: Reason = Field(examples=["投诉核查中"])


class Retirement(ApiModel):
    reason: Reason = Field(examples=["品牌运营主体注销"])


class Reinstatement(ApiModel):
    note: Note | None = None


Wage = Annotated[
    WholeNumber,
    Field(ge=500, le=200_000),
    whole_number(500, 200_000, "plausible range: 500–200,000 yuan"),
]
Share = Annotated[float, Field(ge=0, le=1)]


FIGURES: Final = tuple(IndicatorFigures.model_fields)


def _indicators_schema(schema: dict[str, Any]) -> None:
    schema["examples"] = [_EXAMPLE_INDICATORS]
    at_least_one_of(*FIGURES)(schema)


class IndicatorsIn(ApiModel):
    """The figures of one period; leave out what is not known (absent is not zero). At least
    one figure: the document says so (``anyOf``), so a generated client sends no empty report."""

    model_config = ConfigDict(json_schema_extra=_indicators_schema)

    practitioners: Count | None = None
    jobs_created: Count | None = None
    people_trained: Count | None = Field(default=None, description="人次 (person-times)")
    labour_income_yuan: Yuan | None = None
    output_value_yuan: Yuan | None = None
    average_monthly_wage_yuan: Wage | None = None
    skilled_share: Share | None = None
    satisfaction: Share | None = None
    source: Note | None = None

    @model_validator(mode="after")
    def _something_reported(self) -> Self:
        if not self.figures().model_dump(exclude_none=True):
            raise ValueError("report at least one figure")
        return self

    def figures(self) -> IndicatorFigures:
        return IndicatorFigures(**self.model_dump(exclude={"source"}))


class IndicatorReportOut(ApiModel):
    period: str
    revision: int
    correction: bool
    figures: IndicatorFigures
    source: str | None
    reported_at: datetime

    @classmethod
    def of(cls, report: IndicatorReport) -> "IndicatorReportOut":
        return cls(
            period=report.period,
            revision=report.revision,
            correction=report.revision > 1,
            figures=report.figures,
            source=report.source,
            reported_at=report.reported_at,
        )

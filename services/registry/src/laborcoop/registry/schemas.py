"""The registry's API models. Requests reject unknown fields and normalise text to NFC."""

from collections.abc import Iterable
from dataclasses import fields
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Final, Self, cast, get_type_hints
from uuid import UUID

from pydantic import ConfigDict, Field, TypeAdapter, create_model, field_validator, model_validator
from pydantic.json_schema import SkipJsonSchema

from laborcoop.common.inputs import ApiModel, NfcText, WholeNumber
from laborcoop.common.values import OPTIONAL_TEXT, TEXT, Count, Distinct, Note, Reason, Yuan
from laborcoop.contracts.brands import IndicatorFigures
from laborcoop.contracts.codes import (
    BrandCategory,
    BrandLevel,
    BrandOwnership,
    BrandStatus,
    DevelopmentStage,
    OccupationCode,
)
from laborcoop.contracts.openapi import (
    IndustryIn,
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


class BrandAttributesIn(ApiModel):
    """A brand's attributes as the API takes them, each with its validation: the API's one list
    of them (the domain's is :class:`~laborcoop.contracts.brands.BrandDescription`, with the
    same names: ``tests/test_schemas.py``). :class:`BrandCreate`, :class:`BrandPatch` and
    :class:`BrandOut` are derived from it, so an attribute's documentation belongs in its type
    (``Annotated``), which every derived model keeps."""

    name: BrandName
    city_code: DivisionCode | None = None
    category: BrandCategory
    ownership: BrandOwnership | None = None
    occupations: Occupations = Field(default_factory=list)
    industry: IndustryIn | None = None
    description: Description | None = None
    operator: Operator | None = None
    development_stage: DevelopmentStage | None = None


ATTRIBUTES: Final = tuple(BrandAttributesIn.model_fields)
_ATTRIBUTE_NAMES: Final = set(ATTRIBUTES)
REQUIRED: Final = tuple(n for n, f in BrandAttributesIn.model_fields.items() if f.is_required())
_DOMAIN_TYPES: Final = {
    name: TypeAdapter[Any](info.annotation or Any) for name, info in Attributes.model_fields.items()
}


def _as_held(name: str, value: Any) -> Any:
    """``value`` of attribute ``name`` as the domain holds it: a tuple for a list, the
    contract's own model for an ``IndustryIn`` (so that attributes compare equal whatever parsed
    them), and ``null`` (clearing it) as the attribute's default."""
    if value is None:
        return Attributes.model_fields[name].get_default(call_default_factory=True)
    return _DOMAIN_TYPES[name].validate_python(value)


def _attributes_of(model: ApiModel, names: Iterable[str]) -> dict[str, Any]:
    return {
        name: _as_held(name, value) for name, value in model.model_dump(include=set(names)).items()
    }


class _Province(ApiModel):
    # ``name`` is here for its place only: pydantic lists a field where a class first declares
    # it, so the document keeps ``name, province`` first; BrandAttributesIn gives it its type.
    name: Any
    province: ProvinceCode = Field(examples=["430000"])


class BrandCreate(BrandAttributesIn, _Province):
    """A brand to register. Only ``name``, ``province`` and ``category`` are required."""

    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE_BRAND]})

    def attributes(self) -> Attributes:
        # validated from plain values, so lists become tuples and an IndustryIn the contract's
        # Industry (the cheapest way found: it is on the path of every registration)
        return Attributes.model_validate(self.model_dump(include=_ATTRIBUTE_NAMES))


def _stays(value: object) -> object:
    if value is None:
        raise ValueError("cannot be cleared")
    return value


_UNOFFERED_NULL: Final = cast(Any, SkipJsonSchema)[None]
"""``SkipJsonSchema[None]``: ``null`` accepted (then refused by :func:`_stays`), not documented."""


def _optional_attributes() -> type[ApiModel]:
    """Every attribute of :class:`BrandAttributesIn`, optional and absent by default: a
    required one takes no ``null`` (it cannot be cleared, so the document does not offer it),
    an optional one takes ``null`` to clear it."""
    hints = get_type_hints(BrandAttributesIn, include_extras=True)
    fields: dict[str, Any] = {
        name: (hints[name] | _UNOFFERED_NULL if name in REQUIRED else hints[name] | None, None)
        for name in ATTRIBUTES
    }
    stays = field_validator(*REQUIRED, mode="after")(_stays)
    model: type[ApiModel] = create_model(
        "_OptionalAttributes", __base__=ApiModel, __validators__={"_stays": stays}, **fields
    )
    return model


def _attribute_values() -> type[ApiModel]:
    """Every attribute as the domain holds it, always present (``null`` when unset)."""
    fields: dict[str, Any] = {
        name: (info.annotation, ...) for name, info in Attributes.model_fields.items()
    }
    model: type[ApiModel] = create_model("_AttributeValues", __base__=ApiModel, **fields)
    return model


if TYPE_CHECKING:  # their fields are the attributes, which only the running code enumerates

    class _OptionalAttributes(ApiModel): ...

    class _AttributeValues(ApiModel): ...

else:
    _OptionalAttributes = _optional_attributes()
    _AttributeValues = _attribute_values()


class BrandPatch(_OptionalAttributes):
    """Attributes to change; a field absent stays as it is, ``null`` clears an optional one."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"development_stage": "growth"}]})

    def changes(self) -> dict[str, Any]:
        """The attributes this patch sets, as the domain holds them."""
        return _attributes_of(self, self.model_fields_set)


class _Identity(ApiModel):
    id: UUID
    province: str


class BrandOut(_AttributeValues, _Identity):
    status: BrandStatus
    level: BrandLevel | None
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, brand: Brand) -> "BrandOut":
        return cls(
            id=brand.id,
            province=brand.province,
            status=brand.status,
            level=brand.level,
            version=brand.version,
            created_at=brand.created_at,
            updated_at=brand.updated_at,
            **{f.name: getattr(brand.attributes, f.name) for f in fields(brand.attributes)},
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

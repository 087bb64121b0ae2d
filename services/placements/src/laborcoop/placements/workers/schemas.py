"""The workers API models. Requests reject unknown fields; text is NFC-normalised."""

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import ConfigDict, Field, StrictBool, field_validator

from laborcoop.common.inputs import ApiModel, CalendarDate, NfcText, WholeNumber
from laborcoop.common.values import TEXT, Distinct
from laborcoop.contracts.codes import (
    Availability,
    CertificateKind,
    ConsentScope,
    Education,
    OccupationCode,
    Sex,
)
from laborcoop.contracts.identifiers import MobilePhone, ResidentId
from laborcoop.contracts.openapi import never_null, whole_number
from laborcoop.contracts.provinces import ProvinceCode
from laborcoop.placements.workers.domain import Certificate, Consent, Profile
from laborcoop.placements.workers.repository import Read
from laborcoop.placements.workers.service import Disclosure, Person

PersonName = Annotated[
    NfcText, Field(min_length=2, max_length=50, json_schema_extra=TEXT, examples=["张三"])
]
MonthlyWage = Annotated[
    WholeNumber, Field(ge=0, le=1_000_000), whole_number(0, 1_000_000, "yuan a month")
]
Occupations = Annotated[list[OccupationCode], Field(min_length=1, max_length=10), *Distinct]
Purpose = Annotated[
    NfcText, Field(min_length=2, max_length=200, json_schema_extra=TEXT, examples=["placement"])
]


class CertificateIn(ApiModel):
    kind: CertificateKind
    name: Annotated[NfcText, Field(min_length=2, max_length=100, json_schema_extra=TEXT)]
    level: Annotated[WholeNumber, Field(ge=1, le=5), whole_number(1, 5)] | None = None
    issuer: Annotated[NfcText, Field(min_length=2, max_length=100, json_schema_extra=TEXT)]
    year: Annotated[WholeNumber, Field(ge=1950, le=2100), whole_number(1950, 2100)]

    def value(self) -> Certificate:
        return Certificate(**self.model_dump())


class ProfileIn(ApiModel):
    """The non-identifying attributes, which the origin may change."""

    education: Education
    occupations: Occupations = Field(examples=[["4-10-01-01"]])
    certificates: Annotated[list[CertificateIn], Field(max_length=20)] = Field(default_factory=list)
    brand_id: UUID | None = Field(
        default=None, description="A brand of the worker's province, not retired."
    )
    wage_min: MonthlyWage | None = None
    wage_max: MonthlyWage | None = None

    def profile(self) -> Profile:
        return Profile(
            education=self.education,
            occupations=tuple(self.occupations),
            certificates=tuple(c.value() for c in self.certificates),
            brand_id=self.brand_id,
            wage_min=self.wage_min,
            wage_max=self.wage_max,
        )


_EXAMPLE: dict[str, Any] = {
    "name": "张三",
    "resident_id": "11010519491231002X",
    "phone": "13800138000",
    "poverty_alleviation": False,
    "education": "junior_secondary",
    "occupations": ["4-10-01-01"],
    "wage_min": 5000,
    "wage_max": 8000,
}


class WorkerCreate(ProfileIn):
    """A worker registered by its origin province (the caller's own). Sex, birth year and home
    county are read from the ID number."""

    # A refused value is not echoed in the 422 (nor in any log of it): it may be personal data.
    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE]}, hide_input_in_errors=True)

    name: PersonName
    resident_id: ResidentId
    phone: MobilePhone
    poverty_alleviation: StrictBool = Field(
        default=False, description="脱贫人口/监测对象: sensitive, shown to the origin only."
    )

    def person(self) -> Person:
        return Person(self.name, self.resident_id, self.phone, self.poverty_alleviation)


class WorkerPatch(ApiModel):
    """Changes to the non-identifying attributes; absent fields stay as they are (``null``
    clears the brand or a wage bound; education, occupations and certificates cannot be null).
    The personal data itself is not changed here."""

    model_config = ConfigDict(
        json_schema_extra=never_null("education", "occupations", "certificates")
    )

    education: Education | None = None
    occupations: Occupations | None = None
    certificates: Annotated[list[CertificateIn], Field(max_length=20)] | None = None
    brand_id: UUID | None = None
    wage_min: MonthlyWage | None = None
    wage_max: MonthlyWage | None = None

    @field_validator("education", "occupations", "certificates")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        """Absent keeps the value; ``null`` would clear what every worker must have."""
        if value is None:
            raise ValueError("cannot be null (leave it out to keep the current value)")
        return value

    def changes(self) -> dict[str, Any]:
        sent = self.model_dump(exclude_unset=True)
        if self.occupations is not None:
            sent["occupations"] = tuple(self.occupations)
        if self.certificates is not None:
            sent["certificates"] = tuple(c.value() for c in self.certificates)
        return sent


class AvailabilityIn(ApiModel):
    available: StrictBool = Field(
        description="true: available; false: unavailable (not while placed)"
    )


class ConsentIn(ApiModel):
    """The worker's consent, as the origin recorded it with the worker."""

    province: ProvinceCode = Field(examples=["310000"])
    scope: ConsentScope
    until: CalendarDate | None = Field(default=None, description="last day it holds, YYYY-MM-DD")


class ConsentWithdrawal(ApiModel):
    province: ProvinceCode = Field(examples=["310000"])
    scope: ConsentScope = Field(description="withdrawing `contact` withdraws `identity` too")


class ConsentOut(ApiModel):
    province: str
    scope: ConsentScope
    recorded_by: str
    recorded_at: datetime
    until: date | None
    withdrawn_at: datetime | None

    @classmethod
    def of(cls, consent: Consent) -> "ConsentOut":
        return cls(**consent.model_dump())


class CertificateOut(ApiModel):
    kind: CertificateKind
    name: str
    level: int | None
    issuer: str
    year: int


class WorkerOut(ApiModel):
    """A worker record as the caller may see it: ``clear`` lists the personal fields shown in
    the clear (each such read is audited); the others are masked (``张*``,
    ``430524********1234``, ``138****5678``). ``sex``, ``birth_year``,
    ``poverty_alleviation`` and ``consents`` are shown to the origin province only."""

    id: UUID
    origin: str
    county: str
    name: str
    resident_id: str
    phone: str
    clear: list[Literal["name", "resident_id", "phone", "poverty_alleviation"]]
    sex: Sex | None
    birth_year: int | None
    poverty_alleviation: StrictBool | None
    education: Education
    occupations: list[str]
    certificates: list[CertificateOut]
    brand_id: UUID | None
    wage_min: int | None
    wage_max: int | None
    availability: Availability
    consents: list[ConsentOut] | None
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, shown: Disclosure) -> "WorkerOut":
        worker, profile, to_origin = shown.worker, shown.worker.profile, shown.to_origin
        return cls(
            id=worker.id,
            origin=worker.origin,
            county=worker.county,
            name=shown.name,
            resident_id=shown.resident_id,
            phone=shown.phone,
            clear=list(shown.clear),  # type: ignore[arg-type]
            sex=worker.sex if to_origin else None,
            birth_year=worker.birth_year if to_origin else None,
            poverty_alleviation=shown.poverty_alleviation,
            education=profile.education,
            occupations=list(profile.occupations),
            certificates=[CertificateOut(**c.model_dump()) for c in profile.certificates],
            brand_id=profile.brand_id,
            wage_min=profile.wage_min,
            wage_max=profile.wage_max,
            availability=worker.availability,
            consents=[ConsentOut.of(c) for c in worker.consents] if to_origin else None,
            version=worker.version,
            created_at=worker.created_at,
            updated_at=worker.updated_at,
        )


class ReadOut(ApiModel):
    """One read of the worker's personal data in the clear."""

    id: int
    client_id: str
    province: str | None
    fields: list[str]
    purpose: str
    read_at: datetime

    @classmethod
    def of(cls, read: Read) -> "ReadOut":
        return cls(
            id=read.id,
            client_id=read.client_id,
            province=read.province,
            fields=list(read.fields),
            purpose=read.purpose,
            read_at=read.read_at,
        )

"""The agreements API models. Requests reject unknown fields; text is NFC-normalised."""

from datetime import datetime
from typing import Annotated, Any, Final, Self
from uuid import UUID

from pydantic import ConfigDict, Field, model_validator

from laborcoop.agreements.domain import Agreement
from laborcoop.common.auth import Principal
from laborcoop.common.inputs import ApiModel, CalendarDate, NfcText
from laborcoop.common.values import TEXT, Count, Distinct, Reason, Yuan
from laborcoop.contracts.agreements import Terms, awaited
from laborcoop.contracts.codes import (
    AgreementKind,
    AgreementStatus,
    CooperationArea,
    PartyRole,
    Period,
)
from laborcoop.contracts.openapi import at_least_one_of
from laborcoop.contracts.provinces import ProvinceCode

Title = Annotated[NfcText, Field(min_length=2, max_length=200, json_schema_extra=TEXT)]


class PartyIn(ApiModel):
    province: ProvinceCode = Field(examples=["310000"])
    role: PartyRole = Field(examples=["receiving"])


TARGET_FIGURES: Final = ("workers_transferred", "people_trained", "job_postings")


class TargetIn(ApiModel):
    """Targets of one corridor and period; at least one figure (the document says so with an
    ``anyOf``, so a generated client sends no empty target)."""

    model_config = ConfigDict(json_schema_extra=at_least_one_of(*TARGET_FIGURES))

    period: Period = Field(examples=["2025"])
    origin: ProvinceCode = Field(examples=["530000"])
    destination: ProvinceCode = Field(examples=["310000"])
    workers_transferred: Count | None = None
    people_trained: Count | None = None
    job_postings: Count | None = None

    @model_validator(mode="after")
    def _some_figure(self) -> Self:
        if (self.workers_transferred, self.people_trained, self.job_postings) == (None,) * 3:
            raise ValueError("a target names at least one figure")
        return self


class ProjectIn(ApiModel):
    name: Title
    amount_yuan: Yuan


_EXAMPLE: dict[str, Any] = {
    "title": "深化沪滇劳务协作",
    "kind": "bilateral",
    "parties": [
        {"province": "310000", "role": "receiving"},
        {"province": "530000", "role": "sending"},
    ],
    "areas": ["job_matching", "joint_training"],
    "targets": [
        {
            "period": "2025",
            "origin": "530000",
            "destination": "310000",
            "workers_transferred": 10000,
        }
    ],
    "projects": [{"name": "沪滇职业技能合作培训", "amount_yuan": 5_000_000}],
    "linked_brands": [],
    "effective_from": "2025-01-01",
    "effective_to": "2027-12-31",
}


def _terms_schema(schema: dict[str, Any]) -> None:
    """Examples, and what JSON Schema can say of the parties' count: exactly two for a
    bilateral agreement (the other checks relate items to each other or to the caller)."""
    schema["examples"] = [_EXAMPLE]
    schema["anyOf"] = [
        {
            "properties": {
                "kind": {"const": AgreementKind.BILATERAL.value},
                "parties": {"minItems": 2, "maxItems": 2},
            }
        },
        {"properties": {"kind": {"enum": [k.value for k in AgreementKind if k != "bilateral"]}}},
    ]


class TermsIn(ApiModel):
    """The terms to draft, edit or amend. The initiator is the calling province."""

    model_config = ConfigDict(json_schema_extra=_terms_schema)

    title: Title
    kind: AgreementKind
    parties: Annotated[list[PartyIn], Field(min_length=2, max_length=31)]
    areas: Annotated[list[CooperationArea], *Distinct] = Field(default_factory=list)
    targets: Annotated[list[TargetIn], Field(max_length=500)] = Field(default_factory=list)
    projects: Annotated[list[ProjectIn], Field(max_length=500)] = Field(default_factory=list)
    linked_brands: Annotated[list[UUID], Field(max_length=100), *Distinct] = Field(
        default_factory=list
    )
    effective_from: CalendarDate
    effective_to: CalendarDate | None = None

    def sent(self) -> dict[str, Any]:
        """The terms as sent, as plain values: everything but the initiator, which no caller
        chooses (the use case names it, see :func:`laborcoop.agreements.domain.terms_of`)."""
        return self.model_dump()


class Signature(ApiModel):
    province: ProvinceCode = Field(description="the signing party: the caller's own province")


class Decline(ApiModel):
    province: ProvinceCode
    reason: Reason


class Termination(ApiModel):
    reason: Reason


class SignatureOut(ApiModel):
    province: str
    signed_at: datetime


def _listed(signatures: dict[str, datetime]) -> list[SignatureOut]:
    return [SignatureOut(province=p, signed_at=t) for p, t in signatures.items()]


class AgreementOut(ApiModel):
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
    def of(cls, a: Agreement, viewer: Principal | None = None) -> "AgreementOut":
        """The agreement as ``viewer`` may see it: an amendment under signature and who signed
        it are shown to the parties only (None: the caller acted as a party)."""
        private = a.amendment is not None and viewer is not None and not a.is_party(viewer)
        collecting = a.amendment_signatures if a.amendment is not None else a.signatures
        pending = awaited(
            a.status, a.parties, collecting, amendment_pending=a.amendment is not None
        )
        return cls(
            id=a.id,
            status=a.status,
            revision=a.revision,
            terms=a.terms,
            amendment=None if private else a.amendment,
            signatures=_listed(a.signatures),
            amendment_signatures=[] if private else _listed(a.amendment_signatures),
            awaiting=[] if private else pending,
            version=a.version,
            created_at=a.created_at,
            updated_at=a.updated_at,
        )

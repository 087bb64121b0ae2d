"""Events of inter-province cooperation agreements (topic ``laborcoop.agreements.agreements``).

``subject`` is the agreement id, ``sequence`` its version. ``provinces`` names every party, except
for events of a draft that was never proposed, which name only the initiator. ``revision`` counts
the agreement's terms: 1 for the original, +1 for each amendment adopted or under signature.
"""

from datetime import date
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from laborcoop.contracts import topics
from laborcoop.contracts.codes import AgreementKind, AgreementStatus, CooperationArea, PartyRole
from laborcoop.contracts.events import EventPayload, event_type


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class Party(_Value):
    province: str
    role: PartyRole


class Target(_Value):
    """What a corridor (origin → destination) should achieve in a period (a year or quarter)."""

    period: str
    origin: str
    destination: str
    workers_transferred: int | None = None
    people_trained: int | None = None
    job_postings: int | None = None


class Project(_Value):
    name: str
    amount_yuan: int


class Terms(_Value):
    """Everything the parties sign: a new revision of the terms is signed again by every party."""

    title: str
    kind: AgreementKind
    parties: tuple[Party, ...]
    initiator: str
    areas: tuple[CooperationArea, ...] = ()
    targets: tuple[Target, ...] = ()
    projects: tuple[Project, ...] = ()
    linked_brands: tuple[UUID, ...] = ()
    effective_from: date
    effective_to: date | None = None


class _AgreementEvent(EventPayload):
    agreement_id: UUID
    revision: int


@event_type("cn.laborcoop.agreements.agreement.drafted.v1", topic=topics.AGREEMENTS)
class AgreementDrafted(_AgreementEvent):
    """The initiator drafted an agreement (seen only by the initiator until proposed)."""

    terms: Terms


@event_type("cn.laborcoop.agreements.agreement.draft_updated.v1", topic=topics.AGREEMENTS)
class AgreementDraftUpdated(_AgreementEvent):
    """The initiator changed the draft; ``terms`` is the draft as it now stands."""

    terms: Terms


@event_type("cn.laborcoop.agreements.agreement.proposed.v1", topic=topics.AGREEMENTS)
class AgreementProposed(_AgreementEvent):
    """Terms were put to the parties for signature: a draft, or an amendment if ``amendment``."""

    terms: Terms
    amendment: bool = False


@event_type("cn.laborcoop.agreements.agreement.signed.v1", topic=topics.AGREEMENTS)
class AgreementSigned(_AgreementEvent):
    """One party signed the terms of ``revision``; ``remaining`` are those yet to sign."""

    province: str
    remaining: tuple[str, ...]


@event_type("cn.laborcoop.agreements.agreement.declined.v1", topic=topics.AGREEMENTS)
class AgreementDeclined(_AgreementEvent):
    """A party declined: a proposal returns to draft; a declined amendment is dropped."""

    province: str
    reason: str
    amendment: bool = False


@event_type("cn.laborcoop.agreements.agreement.activated.v1", topic=topics.AGREEMENTS)
class AgreementActivated(_AgreementEvent):
    """Every party had signed and the start date came: the agreement is in force."""

    terms: Terms


@event_type("cn.laborcoop.agreements.agreement.amended.v1", topic=topics.AGREEMENTS)
class AgreementAmended(_AgreementEvent):
    """Every party signed an amendment: ``terms`` replace the earlier revision in force."""

    terms: Terms
    status: AgreementStatus


@event_type("cn.laborcoop.agreements.agreement.expired.v1", topic=topics.AGREEMENTS)
class AgreementExpired(_AgreementEvent):
    """The end date passed."""

    effective_to: date


@event_type("cn.laborcoop.agreements.agreement.terminated.v1", topic=topics.AGREEMENTS)
class AgreementTerminated(_AgreementEvent):
    """A party ended the agreement early."""

    province: str
    reason: str

"""Events of inter-province cooperation agreements (topic ``laborcoop.agreements.agreements``).

``subject`` is the agreement id, ``sequence`` its version. ``provinces`` names every party, except
for events of a draft that was never proposed, which name only the initiator. ``revision`` counts
the agreement's terms: 1 for the original, +1 for each amendment adopted or under signature.
"""

from collections.abc import Collection, Sequence
from dataclasses import dataclass
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


@dataclass(frozen=True, slots=True)
class TermsStand:
    """For a copy of the agreement kept from its events (the placements' ``agreement_copy``,
    the gateway's ``agreement_view``): the event carries the terms as they now stand, which
    become the copy's with ``status`` (written whole, so the copy does not depend on having
    seen the draft)."""

    terms: "Terms"
    status: AgreementStatus
    revision: int


@dataclass(frozen=True, slots=True)
class StatusMoves:
    """For a copy of the agreement: only its version moves on, and its status becomes
    ``status`` when one is given and, with ``of_revision``, only when the copy holds that
    revision of the terms."""

    status: AgreementStatus | None = None
    of_revision: int | None = None


class _AgreementEvent(EventPayload):
    agreement_id: UUID
    revision: int

    def copy_change(self) -> TermsStand | StatusMoves:
        """What this event changes in a copy of its agreement (each event type says)."""
        raise NotImplementedError


@event_type("cn.laborcoop.agreements.agreement.drafted.v1", topic=topics.AGREEMENTS)
class AgreementDrafted(_AgreementEvent):
    """The initiator drafted an agreement (seen only by the initiator until proposed)."""

    terms: Terms

    def copy_change(self) -> TermsStand:
        return TermsStand(self.terms, AgreementStatus.DRAFT, self.revision)


@event_type("cn.laborcoop.agreements.agreement.draft_updated.v1", topic=topics.AGREEMENTS)
class AgreementDraftUpdated(_AgreementEvent):
    """The initiator changed the draft; ``terms`` is the draft as it now stands."""

    terms: Terms

    def copy_change(self) -> TermsStand:
        return TermsStand(self.terms, AgreementStatus.DRAFT, self.revision)


@event_type("cn.laborcoop.agreements.agreement.proposed.v1", topic=topics.AGREEMENTS)
class AgreementProposed(_AgreementEvent):
    """Terms were put to the parties for signature: a draft, or an amendment if ``amendment``."""

    terms: Terms
    amendment: bool = False

    def copy_change(self) -> TermsStand | StatusMoves:
        """An amendment's terms are under signature, not in force: only the version moves."""
        if self.amendment:
            return StatusMoves()
        return TermsStand(self.terms, AgreementStatus.PROPOSED, self.revision)


@event_type("cn.laborcoop.agreements.agreement.signed.v1", topic=topics.AGREEMENTS)
class AgreementSigned(_AgreementEvent):
    """One party signed the terms of ``revision``; ``remaining`` are those yet to sign."""

    province: str
    remaining: tuple[str, ...]

    def copy_change(self) -> StatusMoves:
        """The last signature makes a proposal ``signed``, but leaves an amended agreement
        ``active`` (its ``amended`` follows): so only when the copy holds this revision."""
        if self.remaining:
            return StatusMoves()
        return StatusMoves(AgreementStatus.SIGNED, of_revision=self.revision)


@event_type("cn.laborcoop.agreements.agreement.declined.v1", topic=topics.AGREEMENTS)
class AgreementDeclined(_AgreementEvent):
    """A party declined: a proposal returns to draft; a declined amendment is dropped."""

    province: str
    reason: str
    amendment: bool = False

    def copy_change(self) -> StatusMoves:
        """A declined proposal returns to draft; a declined amendment changes nothing."""
        return StatusMoves(None if self.amendment else AgreementStatus.DRAFT)


@event_type("cn.laborcoop.agreements.agreement.activated.v1", topic=topics.AGREEMENTS)
class AgreementActivated(_AgreementEvent):
    """Every party had signed and the start date came: the agreement is in force."""

    terms: Terms

    def copy_change(self) -> TermsStand:
        return TermsStand(self.terms, AgreementStatus.ACTIVE, self.revision)


@event_type("cn.laborcoop.agreements.agreement.amended.v1", topic=topics.AGREEMENTS)
class AgreementAmended(_AgreementEvent):
    """Every party signed an amendment: ``terms`` replace the earlier revision in force."""

    terms: Terms
    status: AgreementStatus

    def copy_change(self) -> TermsStand:
        return TermsStand(self.terms, self.status, self.revision)


@event_type("cn.laborcoop.agreements.agreement.expired.v1", topic=topics.AGREEMENTS)
class AgreementExpired(_AgreementEvent):
    """The end date passed."""

    effective_to: date

    def copy_change(self) -> StatusMoves:
        return StatusMoves(AgreementStatus.EXPIRED)


@event_type("cn.laborcoop.agreements.agreement.terminated.v1", topic=topics.AGREEMENTS)
class AgreementTerminated(_AgreementEvent):
    """A party ended the agreement early."""

    province: str
    reason: str

    def copy_change(self) -> StatusMoves:
        return StatusMoves(AgreementStatus.TERMINATED)


AgreementEvent = (
    AgreementDrafted
    | AgreementDraftUpdated
    | AgreementProposed
    | AgreementSigned
    | AgreementDeclined
    | AgreementActivated
    | AgreementAmended
    | AgreementExpired
    | AgreementTerminated
)

AGREEMENT_EVENTS: tuple[type[AgreementEvent], ...] = (
    AgreementDrafted,
    AgreementDraftUpdated,
    AgreementProposed,
    AgreementSigned,
    AgreementDeclined,
    AgreementActivated,
    AgreementAmended,
    AgreementExpired,
    AgreementTerminated,
)
"""Every event type of the agreements topic."""


def awaited(
    status: AgreementStatus,
    parties: Sequence[str],
    signed: Collection[str],
    *,
    amendment_pending: bool,
) -> list[str]:
    """The parties, in their order, yet to sign what is under signature (a proposal, or an
    amendment of an agreement in force); none when nothing is. ``signed``: who signed it so far.
    The agreements service's record and the gateway's list both answer it as ``awaiting``."""
    if status != AgreementStatus.PROPOSED and not amendment_pending:
        return []
    return [p for p in parties if p not in signed]

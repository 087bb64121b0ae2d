"""The cooperation agreement aggregate: terms, multi-party signing, amendments, time.

Plain code, no I/O. Lifecycle:

    draft ──propose──▶ proposed ──every party signs──▶ signed ──start date──▶ active
      ▲                   │                                                     │
      └────declined───────┘            expired ◀──end date── active ──party──▶ terminated

A draft is edited only by its initiator. Each party signs or declines once, as itself; a decline
returns the proposal to draft. An active agreement may be amended: the new revision of the terms
is signed again by every party while the old one stays in force; a decline drops the amendment.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from uuid import UUID

from laborcoop.common.principal import Principal
from laborcoop.common.problems import Conflict, FieldError, Forbidden, InvalidInput, InvalidState
from laborcoop.common.recording import record
from laborcoop.contracts.agreements import (
    AgreementActivated,
    AgreementAmended,
    AgreementDeclined,
    AgreementDrafted,
    AgreementDraftUpdated,
    AgreementExpired,
    AgreementProposed,
    AgreementSigned,
    AgreementTerminated,
    Terms,
)
from laborcoop.contracts.codes import AgreementKind, AgreementStatus
from laborcoop.contracts.envelope import CloudEvent
from laborcoop.contracts.events import EventPayload
from laborcoop.contracts.ids import uuid7

S = AgreementStatus
PUBLIC_STATES = frozenset({S.ACTIVE, S.EXPIRED, S.TERMINATED})
_DRAFT_TYPES = frozenset({AgreementDrafted.event_type, AgreementDraftUpdated.event_type})
_PUBLIC_TYPES = frozenset(
    t.event_type
    for t in (AgreementActivated, AgreementAmended, AgreementExpired, AgreementTerminated)
)
_ALL_TYPES = frozenset(
    t.event_type
    for t in (
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
)


def drafting_province(principal: Principal) -> str:
    """The initiator of the terms ``principal`` drafts or edits: its own province (403 for a
    caller without one, before anything is read)."""
    if principal.own_province is None:
        raise Forbidden("only a province drafts agreements")
    return principal.own_province


def terms_of(sent: Mapping[str, Any], initiator: str) -> Terms:
    """The terms a caller sent, with their initiator, which no caller sends: the drafting
    province, or for an amendment the agreement's own (an amendment keeps it)."""
    return Terms.model_validate({**sent, "initiator": initiator})


def check_terms(terms: Terms) -> None:
    """The invariants of terms that no field validator can see alone."""
    problems = [*_party_problems(terms), *_target_problems(terms)]
    if terms.effective_to is not None and terms.effective_to < terms.effective_from:
        problems.append(FieldError(field="effective_to", message="ends before it starts"))
    if problems:
        raise InvalidInput(problems)


def _party_problems(terms: Terms) -> list[FieldError]:
    provinces = [p.province for p in terms.parties]
    problems = []
    if len(set(provinces)) != len(provinces):
        problems.append(FieldError(field="parties", message="a province is a party only once"))
    if terms.kind == AgreementKind.BILATERAL and len(provinces) != 2:
        problems.append(
            FieldError(field="parties", message="a bilateral agreement has exactly two parties")
        )
    if len(provinces) < 2:
        problems.append(FieldError(field="parties", message="an agreement has two or more parties"))
    if terms.initiator not in provinces:
        problems.append(FieldError(field="initiator", message="the initiator must be a party"))
    return problems


def _target_problems(terms: Terms) -> list[FieldError]:
    parties = {p.province for p in terms.parties}
    problems = []
    for i, target in enumerate(terms.targets):
        if target.origin == target.destination:
            problems.append(FieldError(field=f"targets.{i}", message="origin equals destination"))
        for end in ("origin", "destination"):
            if getattr(target, end) not in parties:
                problems.append(FieldError(field=f"targets.{i}.{end}", message="not a party"))
    return problems


@dataclass
class Agreement:
    id: UUID
    status: AgreementStatus
    terms: Terms
    revision: int
    signatures: dict[str, datetime]
    """Who signed the terms: those of the proposal being signed, then of the revision in force."""
    amendment: Terms | None
    version: int
    created_at: datetime
    updated_at: datetime
    ever_proposed: bool = False
    amendment_signatures: dict[str, datetime] = field(default_factory=dict)
    """Who signed the amendment under signature (the revision in force keeps its own)."""
    pending_events: list[CloudEvent] = field(default_factory=list, repr=False, compare=False)

    # -- reading -----------------------------------------------------------------------------

    @property
    def parties(self) -> list[str]:
        return [p.province for p in self.terms.parties]

    @property
    def initiator(self) -> str:
        return self.terms.initiator

    def visible_to(self, principal: Principal) -> bool:
        """Drafts to their initiator, proposals to their parties, the rest to everyone.

        The list query applies the same rule in SQL (``repository._VISIBLE``)."""
        if self.status in PUBLIC_STATES:
            return True
        if self.status == S.DRAFT:
            return principal.acts_for(self.initiator)
        return self.is_party(principal)

    def is_party(self, principal: Principal) -> bool:
        return any(principal.acts_for(p) for p in self.parties)

    def visible_event_types(self, principal: Principal) -> frozenset[str] | None:
        """The event types of its history ``principal`` may read (None: all of them).

        The initiator saw everything; parties did not see the draft; everyone else sees only
        what happened while the agreement was public."""
        if principal.acts_for(self.initiator):
            return None
        if self.is_party(principal):
            return frozenset(t for t in _ALL_TYPES if t not in _DRAFT_TYPES)
        return _PUBLIC_TYPES

    def unsigned(self) -> list[str]:
        return [p for p in self.parties if p not in self._collecting()]

    def _collecting(self) -> dict[str, datetime]:
        """The signatures being collected: an amendment's, or else the proposal's."""
        return self.amendment_signatures if self.amendment is not None else self.signatures

    # -- commands ----------------------------------------------------------------------------

    @classmethod
    def draft(cls, principal: Principal, terms: Terms, now: datetime) -> "Agreement":
        if not principal.acts_for(terms.initiator):
            raise Forbidden("a province drafts agreements only as their initiator")
        check_terms(terms)
        agreement = cls(
            id=uuid7(),
            status=S.DRAFT,
            terms=terms,
            revision=1,
            signatures={},
            amendment=None,
            version=0,
            created_at=now,
            updated_at=now,
        )
        agreement._record(
            AgreementDrafted(agreement_id=agreement.id, revision=1, terms=terms), now, draft=True
        )
        return agreement

    def update_draft(self, principal: Principal, terms: Terms, now: datetime) -> None:
        self._require_initiator(principal, "edits the draft")
        self._require(S.DRAFT, action="edit the draft")
        if terms.initiator != self.initiator:
            raise InvalidInput.field("initiator", "the initiator of a draft cannot change")
        check_terms(terms)
        self.terms = terms
        self._record(
            AgreementDraftUpdated(agreement_id=self.id, revision=self.revision, terms=terms),
            now,
            draft=True,
        )

    def propose(self, principal: Principal, now: datetime) -> None:
        self._require_initiator(principal, "proposes")
        self._require(S.DRAFT, action="propose")
        self.status, self.signatures, self.ever_proposed = S.PROPOSED, {}, True
        self._record(
            AgreementProposed(agreement_id=self.id, revision=self.revision, terms=self.terms), now
        )

    def sign(self, principal: Principal, province: str, today: date, now: datetime) -> None:
        self._require_acting_party(principal, province)
        signing = self._under_signature("sign")
        self._require_unsigned(province, signing)
        self._collecting()[province] = now
        self._record(
            AgreementSigned(
                agreement_id=self.id,
                revision=signing,
                province=province,
                remaining=tuple(self.unsigned()),
            ),
            now,
        )
        if not self.unsigned():
            self._all_signed(today, now)

    def decline(self, principal: Principal, province: str, reason: str, now: datetime) -> None:
        self._require_acting_party(principal, province)
        signing = self._under_signature("decline")
        self._require_unsigned(province, signing)
        amendment = self.amendment is not None
        self._record(
            AgreementDeclined(
                agreement_id=self.id,
                revision=signing,
                province=province,
                reason=reason,
                amendment=amendment,
            ),
            now,
        )
        if amendment:
            self.amendment, self.amendment_signatures = None, {}
        else:
            self.status, self.signatures = S.DRAFT, {}

    def amend(self, principal: Principal, terms: Terms, now: datetime) -> None:
        self._require_party(principal, "amends")
        self._require(S.ACTIVE, action="amend")
        if self.amendment is not None:
            raise InvalidState(self.status, "amend while another amendment is under signature")
        if {p.province for p in terms.parties} != set(self.parties):
            raise InvalidInput.field("parties", "an amendment keeps the same parties")
        if terms.initiator != self.initiator:
            raise InvalidInput.field("initiator", "an amendment keeps the initiator")
        check_terms(terms)
        self.amendment, self.amendment_signatures = terms, {}
        self._record(
            AgreementProposed(
                agreement_id=self.id, revision=self.revision + 1, terms=terms, amendment=True
            ),
            now,
        )

    def terminate(self, principal: Principal, reason: str, now: datetime) -> None:
        self._require_party(principal, "terminates")
        if self.status not in {S.SIGNED, S.ACTIVE}:
            raise InvalidState(self.status, "terminate")
        self.status, self.amendment, self.amendment_signatures = S.TERMINATED, None, {}
        assert principal.province is not None
        self._record(
            AgreementTerminated(
                agreement_id=self.id,
                revision=self.revision,
                province=principal.province,
                reason=reason,
            ),
            now,
        )

    # -- time --------------------------------------------------------------------------------

    def due(self, today: date) -> bool:
        """Whether :meth:`advance` would change anything on ``today``."""
        if self.status == S.SIGNED:
            return self.terms.effective_from <= today
        end = self.terms.effective_to
        return self.status == S.ACTIVE and end is not None and end < today

    def advance(self, today: date, now: datetime) -> None:
        """Activate at the start date, expire after the end date (the scheduler's work)."""
        if self.status == S.SIGNED and self.terms.effective_from <= today:
            self._activate(now)
        end = self.terms.effective_to
        if self.status == S.ACTIVE and end is not None and end < today:
            self.status, self.amendment, self.amendment_signatures = S.EXPIRED, None, {}
            self._record(
                AgreementExpired(agreement_id=self.id, revision=self.revision, effective_to=end),
                now,
            )

    # -- internals ---------------------------------------------------------------------------

    def _all_signed(self, today: date, now: datetime) -> None:
        if self.amendment is not None:
            self.terms, self.amendment = self.amendment, None
            self.signatures, self.amendment_signatures = self.amendment_signatures, {}
            self.revision += 1
            self._record(
                AgreementAmended(
                    agreement_id=self.id,
                    revision=self.revision,
                    terms=self.terms,
                    status=self.status,
                ),
                now,
            )
            return
        self.status = S.SIGNED
        if self.terms.effective_from <= today:
            self._activate(now)

    def _activate(self, now: datetime) -> None:
        self.status = S.ACTIVE
        self._record(
            AgreementActivated(agreement_id=self.id, revision=self.revision, terms=self.terms), now
        )

    def _under_signature(self, action: str) -> int:
        """The revision being signed, or 409 when nothing awaits signature."""
        if self.status == S.PROPOSED:
            return self.revision
        if self.status == S.ACTIVE and self.amendment is not None:
            return self.revision + 1
        raise InvalidState(self.status, action)

    def _require_unsigned(self, province: str, revision: int) -> None:
        if province in self._collecting():
            raise Conflict(
                f"{province} already signed revision {revision}", current_state=self.status
            )

    def _require(self, status: AgreementStatus, *, action: str) -> None:
        if self.status != status:
            raise InvalidState(self.status, action)

    def _require_initiator(self, principal: Principal, verb: str) -> None:
        if not principal.acts_for(self.initiator):
            raise Forbidden(f"only the initiator {verb}")

    def _require_party(self, principal: Principal, verb: str) -> None:
        if not self.is_party(principal):
            raise Forbidden(f"only a party {verb}")

    def _require_acting_party(self, principal: Principal, province: str) -> None:
        self._require_party(principal, "signs or declines")
        if not principal.acts_for(province):
            raise Forbidden("a party signs or declines only for itself")

    def _record(self, payload: EventPayload, now: datetime, *, draft: bool = False) -> None:
        """One event; a draft's events name only the initiator until it is first proposed."""
        provinces = [self.initiator] if draft and not self.ever_proposed else self.parties
        record(self, payload, now=now, provinces=provinces)

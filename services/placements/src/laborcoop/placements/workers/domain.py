"""The worker record, kept by its origin (sending) province.

Plain code, no I/O. The personal data (name, ID number, phone, the poverty-alleviation flag)
reaches this aggregate already sealed (``laborcoop.placements.protection``): the record holds
only sealed values and the ID number's blind index, never plaintext, so nothing a worker does can
leak it. What is derived from the ID number (sex, birth year, home county) is derived once, at
registration, by :func:`identity_facts`.

Availability:

    available ──a placement is accepted──▶ placed ──it ends──▶ available
        ▲ └──────────── the origin marks ───────────▶ unavailable ──┘

Consent to share with a receiving province (PIPL Art. 23) is a list of records: who recorded it,
when, its scope, until when, and when it was withdrawn. Only the origin province records consent.
"""

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Final
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from laborcoop.common.principal import Principal
from laborcoop.common.problems import Conflict, Forbidden, InvalidInput, InvalidState
from laborcoop.common.recording import record
from laborcoop.contracts.codes import (
    Availability,
    CertificateKind,
    ConsentScope,
    Education,
    Sex,
)
from laborcoop.contracts.envelope import CloudEvent
from laborcoop.contracts.identifiers import facts_of
from laborcoop.contracts.ids import uuid7
from laborcoop.contracts.placements import (
    WorkerConsentChanged,
    WorkerRegistered,
    WorkerUpdated,
)


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Certificate(_Value):
    kind: CertificateKind
    name: str
    level: int | None = None
    """职业技能等级 1 (highest, 高级技师) to 5 (初级工), where the kind has levels."""
    issuer: str
    year: int


class Consent(_Value):
    """The worker's consent to share ``scope`` with ``province``, as the origin recorded it."""

    province: str
    scope: ConsentScope
    recorded_by: str
    recorded_at: datetime
    until: date | None = None
    withdrawn_at: datetime | None = None

    def in_force(self, today: date) -> bool:
        return self.withdrawn_at is None and (self.until is None or today <= self.until)

    def covers(self, scope: ConsentScope) -> bool:
        """Identity consent includes the contact details."""
        return self.scope in (scope, ConsentScope.IDENTITY)


@dataclass(frozen=True)
class Sealed:
    """A worker's personal data as stored: each value sealed with its key's id, and the blind
    index of the ID number (HMAC), which finds a duplicate without opening anything."""

    name: str
    resident_id: str
    phone: str
    poverty_alleviation: str
    id_index: bytes


MINIMUM_AGE: Final = 16
"""The Labour Law's minimum working age (Art. 15): no one younger is registered."""


@dataclass(frozen=True)
class IdentityFacts:
    sex: Sex
    birth_date: date
    county: str

    @property
    def birth_year(self) -> int:
        return self.birth_date.year


def identity_facts(resident_id: str) -> IdentityFacts:
    """What the ID number says (validated before): never entered a second time."""
    facts = facts_of(resident_id)
    return IdentityFacts(facts.sex, facts.birth_date, facts.county)


def add_years(day: date, years: int) -> date:
    """The same day ``years`` later (28 February for 29 February in a common year)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


@dataclass(frozen=True)
class Profile:
    """What the origin may change about a worker: the non-identifying attributes."""

    education: Education
    occupations: tuple[str, ...]
    certificates: tuple[Certificate, ...] = ()
    brand_id: UUID | None = None
    wage_min: int | None = None
    wage_max: int | None = None

    def check(self) -> None:
        if (
            self.wage_min is not None
            and self.wage_max is not None
            and self.wage_max < self.wage_min
        ):
            raise InvalidInput.field("wage_max", "below wage_min")


def registering_province(principal: Principal) -> str:
    """Only a province registers workers, as their origin."""
    if principal.own_province is None:
        raise Forbidden("only a province registers its workers")
    return principal.own_province


@dataclass
class Worker:
    id: UUID
    origin: str
    county: str
    sex: Sex
    birth_year: int
    sealed: Sealed
    profile: Profile
    availability: Availability
    consents: tuple[Consent, ...]
    version: int
    created_at: datetime
    updated_at: datetime
    pending_events: list[CloudEvent] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def register(
        cls,
        principal: Principal,
        *,
        worker_id: UUID | None = None,
        facts: IdentityFacts,
        sealed: Sealed,
        profile: Profile,
        now: datetime,
    ) -> "Worker":
        origin = registering_province(principal)
        if facts.birth_date > add_years(now.date(), -MINIMUM_AGE):
            raise InvalidInput.field("resident_id", f"the person is under {MINIMUM_AGE}")
        if facts.county[:2] != origin[:2]:
            raise InvalidInput.field("resident_id", "its county is not in the registering province")
        profile.check()
        worker = cls(
            id=worker_id or uuid7(),
            origin=origin,
            county=facts.county,
            sex=facts.sex,
            birth_year=facts.birth_year,
            sealed=sealed,
            profile=profile,
            availability=Availability.AVAILABLE,
            consents=(),
            version=0,
            created_at=now,
            updated_at=now,
        )
        record(worker, WorkerRegistered(**worker._profile_payload()), now=now, provinces=[origin])
        return worker

    # -- who may do what --------------------------------------------------------------------

    def is_kept_by(self, principal: Principal) -> bool:
        return principal.acts_for(self.origin)

    def _require_origin(self, principal: Principal, action: str) -> None:
        if not self.is_kept_by(principal):
            raise Forbidden(f"only the worker's origin province ({self.origin}) may {action}")

    def consent_of(self, province: str, scope: ConsentScope, today: date) -> Consent | None:
        """The consent in force that lets ``province`` see ``scope``, if any."""
        for consent in self.consents:
            if consent.province == province and consent.covers(scope) and consent.in_force(today):
                return consent
        return None

    # -- commands ---------------------------------------------------------------------------

    def update(self, principal: Principal, profile: Profile, now: datetime) -> None:
        self._require_origin(principal, "change the record")
        profile.check()
        if profile == self.profile:
            return
        self.profile = profile
        self._record_update(now)

    def set_available(self, principal: Principal, available: bool, now: datetime) -> None:
        """The origin marks the worker available or unavailable (not while placed)."""
        self._require_origin(principal, "change the availability")
        if self.availability == Availability.PLACED:
            raise InvalidState(self.availability.value, "change the availability of")
        wanted = Availability.AVAILABLE if available else Availability.UNAVAILABLE
        if wanted != self.availability:
            self.availability = wanted
            self._record_update(now)

    def require_available(self) -> None:
        if self.availability != Availability.AVAILABLE:
            raise Conflict(
                f"the worker is {self.availability.value}, not available", field="worker_id"
            )

    def place(self, now: datetime) -> None:
        """A placement of this worker was accepted (the placement checked who may)."""
        self.require_available()
        self.availability = Availability.PLACED
        self._record_update(now)

    def release(self, now: datetime) -> None:
        """The worker's live placement ended: available again."""
        if self.availability == Availability.PLACED:
            self.availability = Availability.AVAILABLE
            self._record_update(now)

    def grant_consent(
        self,
        principal: Principal,
        *,
        province: str,
        scope: ConsentScope,
        until: date | None,
        today: date,
        now: datetime,
    ) -> None:
        self._require_origin(principal, "record consent")
        if province == self.origin:
            raise InvalidInput.field("province", "the origin province keeps the record already")
        if until is not None and until < today:
            raise InvalidInput.field("until", "already past")
        kept = tuple(
            c
            for c in self.consents
            if not (c.province == province and c.scope == scope and c.withdrawn_at is None)
        )
        consent = Consent(
            province=province,
            scope=scope,
            recorded_by=principal.client_id,
            recorded_at=now,
            until=until,
        )
        self.consents = (*kept, consent)
        record(
            self,
            WorkerConsentChanged(
                worker_id=self.id,
                origin=self.origin,
                province=province,
                scope=scope,
                granted=True,
                until=until,
            ),
            now=now,
            provinces=[self.origin, province],
        )

    def withdraw_consent(
        self, principal: Principal, *, province: str, scope: ConsentScope, now: datetime
    ) -> None:
        """Withdraw consent of ``scope`` (identity withdraws contact too: it includes it)."""
        self._require_origin(principal, "withdraw consent")
        withdrawn = [
            c
            for c in self.consents
            if c.province == province
            and c.withdrawn_at is None
            and scope in (c.scope, ConsentScope.CONTACT)
        ]
        if not withdrawn:
            raise Conflict(
                f"no consent of scope {scope.value} for {province} to withdraw", field="province"
            )
        self.consents = tuple(
            c.model_copy(update={"withdrawn_at": now}) if c in withdrawn else c
            for c in self.consents
        )
        record(
            self,
            WorkerConsentChanged(
                worker_id=self.id, origin=self.origin, province=province, scope=scope, granted=False
            ),
            now=now,
            provinces=[self.origin, province],
        )

    def _profile_payload(self) -> dict[str, Any]:
        return {
            "worker_id": self.id,
            "origin": self.origin,
            "occupations": self.profile.occupations,
            "brand_id": self.profile.brand_id,
            "availability": self.availability,
        }

    def _record_update(self, now: datetime) -> None:
        record(self, WorkerUpdated(**self._profile_payload()), now=now, provinces=[self.origin])

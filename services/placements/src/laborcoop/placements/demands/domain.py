"""The job demand, posted by a receiving province for an employer.

Plain code, no I/O. Lifecycle:

    open ──accepted placements reach the headcount──▶ filled
      ├──the province closes it──▶ closed
      └──its open_until passes───▶ expired

Proposals on an open demand are not limited (they are a shortlist); acceptances are: each
accepted placement counts once, in the same transaction as the placement, with the demand's row
locked, so concurrent acceptances beyond the headcount are refused by the database's ordering,
not by luck. A placement that ends later does not reopen a filled demand.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Final
from uuid import UUID

from laborcoop.common.principal import Principal
from laborcoop.common.problems import Conflict, FieldError, Forbidden, InvalidInput, InvalidState
from laborcoop.common.recording import record
from laborcoop.contracts.codes import DemandKind, DemandStatus
from laborcoop.contracts.envelope import CloudEvent
from laborcoop.contracts.ids import uuid7
from laborcoop.contracts.placements import DemandClosed, DemandFilled, DemandPosted
from laborcoop.contracts.provinces import province_of

DEFAULT_OPEN_DAYS: Final = 60
MOST_AHEAD: Final = timedelta(days=730)
"""How far ahead a demand may start: a demand is for work that is coming, not a plan."""
"""A demand without ``open_until`` takes proposals until this many days after its start."""


@dataclass(frozen=True)
class Posting:
    """What the receiving province posted; it does not change afterwards."""

    kind: DemandKind
    employer_name: str
    employer_credit_code: str
    occupation: str
    headcount: int
    wage_min: int
    wage_max: int
    city_code: str
    start_date: date
    end_date: date | None = None
    preferred_brands: tuple[UUID, ...] = ()

    def problems(self, province: str, today: date) -> list[FieldError]:
        found = []
        if self.wage_max < self.wage_min:
            found.append(FieldError(field="wage_max", message="below wage_min"))
        if province_of(self.city_code) != province:
            found.append(FieldError(field="city_code", message="not in the posting province"))
        if self.start_date < today:
            found.append(FieldError(field="start_date", message="already past"))
        if self.start_date > today + MOST_AHEAD:
            found.append(FieldError(field="start_date", message="more than two years ahead"))
        if self.kind == DemandKind.SHARED_EMPLOYEE and self.end_date is None:
            found.append(FieldError(field="end_date", message="a secondment has an end date"))
        if self.end_date is not None and self.end_date <= self.start_date:
            found.append(FieldError(field="end_date", message="not after start_date"))
        return found


def posting_province(principal: Principal) -> str:
    """Only a province posts demands, for its own employers."""
    if principal.own_province is None:
        raise Forbidden("only a receiving province posts demands")
    return principal.own_province


@dataclass
class Demand:
    id: UUID
    province: str
    status: DemandStatus
    posting: Posting
    accepted: int
    open_until: date
    closed_reason: str | None
    version: int
    created_at: datetime
    updated_at: datetime
    pending_events: list[CloudEvent] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def post(
        cls,
        principal: Principal,
        posting: Posting,
        *,
        open_until: date | None,
        today: date,
        now: datetime,
    ) -> "Demand":
        province = posting_province(principal)
        problems = posting.problems(province, today)
        if open_until is not None and open_until < today:
            problems.append(FieldError(field="open_until", message="already past"))
        if problems:
            raise InvalidInput(problems)
        until = open_until or posting.start_date + timedelta(days=DEFAULT_OPEN_DAYS)
        demand = cls(
            id=uuid7(),
            province=province,
            status=DemandStatus.OPEN,
            posting=posting,
            accepted=0,
            open_until=until,
            closed_reason=None,
            version=0,
            created_at=now,
            updated_at=now,
        )
        payload = DemandPosted(demand_id=demand.id, province=province, **vars(posting))
        record(demand, payload, now=now, provinces=[province])
        return demand

    @property
    def is_open(self) -> bool:
        return self.status == DemandStatus.OPEN

    def is_posted_by(self, principal: Principal) -> bool:
        return principal.acts_for(self.province)

    def require_poster(self, principal: Principal, action: str) -> None:
        if not self.is_posted_by(principal):
            raise Forbidden(f"only the demand's province ({self.province}) may {action}")

    def require_open(self, action: str) -> None:
        if not self.is_open:
            raise InvalidState(self.status.value, action)

    def close(self, principal: Principal, reason: str, now: datetime) -> None:
        self.require_poster(principal, "close it")
        self.require_open("close")
        self._end(DemandStatus.CLOSED, reason, now)

    def expire(self, today: date, now: datetime) -> bool:
        """Mark an open demand past its ``open_until`` expired (the scheduler)."""
        if not self.is_open or today <= self.open_until:
            return False
        self._end(DemandStatus.EXPIRED, f"open until {self.open_until.isoformat()}", now)
        return True

    def count_acceptance(self, now: datetime) -> None:
        """One more placement on this demand was accepted; the last one fills it."""
        if self.accepted >= self.posting.headcount:
            raise Conflict(
                f"the demand's headcount of {self.posting.headcount} is already reached",
                field="demand_id",
            )
        self.require_open("accept a placement on")
        self.accepted += 1
        if self.accepted == self.posting.headcount:
            self.status = DemandStatus.FILLED
            payload = DemandFilled(
                demand_id=self.id, province=self.province, headcount=self.posting.headcount
            )
            record(self, payload, now=now, provinces=[self.province])
        else:
            self.version += 1  # the count changed: a new ETag, no event of its own
            self.updated_at = now

    def _end(self, status: DemandStatus, reason: str, now: datetime) -> None:
        self.status = status
        self.closed_reason = reason
        payload = DemandClosed(
            demand_id=self.id, province=self.province, status=status, reason=reason
        )
        record(self, payload, now=now, provinces=[self.province])

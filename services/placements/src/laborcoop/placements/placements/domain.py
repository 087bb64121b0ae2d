"""The placement: a worker on a demand, from the proposal to the return home.

Plain code, no I/O. Lifecycle:

    proposed ──origin accepts──▶ accepted ──onboarded──▶ onboarded ──▶ completed
       │                            │                      │  3- and 6-month milestones
       └─origin declines─▶ declined │                      │
    proposed/accepted/onboarded ──either side──▶ terminated (reason)
    onboarded/completed/terminated ──▶ returned (返乡: local job, business start-up, training)

The receiving province (the demand's) proposes; the origin province (the worker's) accepts or
declines, and needs the worker's consent to share identity with the receiving province to accept;
either side records onboarding, milestones, completion, termination and the return home. A
placement holds its worker while live (proposed, accepted, onboarded): the database allows one
live placement per worker (``placements_one_live_per_worker``).
"""

import calendar
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Final
from uuid import UUID

from laborcoop.common.principal import Principal
from laborcoop.common.problems import Conflict, Forbidden, InvalidInput, InvalidState
from laborcoop.common.recording import record
from laborcoop.contracts.codes import PlacementStatus, ReturnPath
from laborcoop.contracts.envelope import CloudEvent
from laborcoop.contracts.ids import uuid7
from laborcoop.contracts.placements import (
    PlacementAccepted,
    PlacementCompleted,
    PlacementDeclined,
    PlacementEvent,
    PlacementMilestoneReached,
    PlacementOnboarded,
    PlacementProposed,
    PlacementReturned,
    PlacementTerminated,
)

P = PlacementStatus
MILESTONES: Final = (3, 6)
_RETURNABLE: Final = frozenset({P.ONBOARDED, P.COMPLETED, P.TERMINATED})


@dataclass(frozen=True)
class Match:
    """Who is placed where, fixed when proposed."""

    worker_id: UUID
    demand_id: UUID
    origin: str
    destination: str
    occupation: str
    brand_id: UUID | None
    agreement_id: UUID | None
    outside_agreement: bool
    beyond_target: bool


@dataclass
class Placement:
    id: UUID
    status: PlacementStatus
    match: Match
    proposed_on: date
    onboarded_on: date | None
    retained_3m_on: date | None
    retained_6m_on: date | None
    ended_on: date | None
    end_reason: str | None
    follow_up: ReturnPath | None
    follow_up_note: str | None
    version: int
    created_at: datetime
    updated_at: datetime
    pending_events: list[CloudEvent] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def propose(
        cls, principal: Principal, match: Match, *, today: date, now: datetime
    ) -> "Placement":
        if not principal.acts_for(match.destination):
            raise Forbidden("only the demand's province proposes placements on it")
        if match.origin == match.destination:
            raise InvalidInput.field("worker_id", "the worker is of the demand's own province")
        placement = cls(
            id=uuid7(),
            status=P.PROPOSED,
            match=match,
            proposed_on=today,
            onboarded_on=None,
            retained_3m_on=None,
            retained_6m_on=None,
            ended_on=None,
            end_reason=None,
            follow_up=None,
            follow_up_note=None,
            version=0,
            created_at=now,
            updated_at=now,
        )
        placement._record(
            PlacementProposed,
            now,
            occupation=match.occupation,
            beyond_target=match.beyond_target,
        )
        return placement

    # -- who may see and do what ------------------------------------------------------------

    def visible_to(self, principal: Principal) -> bool:
        return principal.acts_for(self.match.origin) or principal.acts_for(self.match.destination)

    def _require_origin(self, principal: Principal, action: str) -> None:
        if not principal.acts_for(self.match.origin):
            raise Forbidden(f"only the worker's origin province ({self.match.origin}) may {action}")

    def _require_side(self, principal: Principal, action: str) -> None:
        if not self.visible_to(principal):
            raise Forbidden(f"only the origin or the destination province may {action}")

    def _require_status(
        self, allowed: frozenset[PlacementStatus] | PlacementStatus, action: str
    ) -> None:
        states = allowed if isinstance(allowed, frozenset) else frozenset({allowed})
        if self.status not in states:
            raise InvalidState(self.status.value, action)

    @property
    def is_live(self) -> bool:
        return self.status.live

    # -- commands ---------------------------------------------------------------------------

    def accept(self, principal: Principal, *, identity_consent: bool, now: datetime) -> None:
        """The origin accepts; the caller then places the worker and counts the acceptance on
        the demand, in the same unit of work."""
        self._require_origin(principal, "accept")
        self._require_status(P.PROPOSED, "accept")
        if not identity_consent:
            raise Conflict(
                "the worker has not consented to share identity with "
                f"{self.match.destination}: record the consent first",
                field="worker_id",
            )
        self.status = P.ACCEPTED
        self._record(PlacementAccepted, now)

    def decline(self, principal: Principal, reason: str, now: datetime) -> None:
        self._require_origin(principal, "decline")
        self._require_status(P.PROPOSED, "decline")
        self.status = P.DECLINED
        self.end_reason = reason
        self._record(PlacementDeclined, now, reason=reason)

    def onboard(self, principal: Principal, on: date, *, today: date, now: datetime) -> None:
        self._require_side(principal, "record onboarding")
        self._require_status(P.ACCEPTED, "record onboarding of")
        _not_future(on, today)
        if on < self.proposed_on:
            raise InvalidInput.field("on", "before the proposal")
        self.status = P.ONBOARDED
        self.onboarded_on = on
        self._record(PlacementOnboarded, now, on=on)

    def reach_milestone(
        self, principal: Principal, months: int, on: date, *, today: date, now: datetime
    ) -> None:
        self._require_side(principal, "record a milestone")
        self._require_status(P.ONBOARDED, "record a milestone of")
        assert self.onboarded_on is not None, "an onboarded placement has its date"
        _not_future(on, today)
        if months not in MILESTONES:
            raise InvalidInput.field("months", "3 or 6")
        if on < add_months(self.onboarded_on, months):
            raise InvalidInput.field("on", f"less than {months} months after onboarding")
        if self.milestone(months) is not None:
            raise Conflict(f"the {months}-month milestone is already recorded", field="months")
        if months == 6 and self.retained_3m_on is None:
            raise Conflict("record the 3-month milestone first", field="months")
        setattr(self, f"retained_{months}m_on", on)
        self._record(PlacementMilestoneReached, now, months=months, on=on)

    def milestone(self, months: int) -> date | None:
        return self.retained_3m_on if months == 3 else self.retained_6m_on

    def complete(self, principal: Principal, on: date, *, today: date, now: datetime) -> None:
        self._require_side(principal, "complete")
        self._require_status(P.ONBOARDED, "complete")
        _not_future(on, today)
        _not_before(on, self._last_day_recorded(), "the last day already recorded")
        self.status = P.COMPLETED
        self.ended_on = on
        self._record(PlacementCompleted, now, on=on)

    def terminate(self, principal: Principal, reason: str, *, today: date, now: datetime) -> None:
        self._require_side(principal, "terminate")
        self._require_status(frozenset({P.PROPOSED, P.ACCEPTED, P.ONBOARDED}), "terminate")
        self.status = P.TERMINATED
        self.ended_on = today
        self.end_reason = reason
        province = principal.province or ""
        self._record(PlacementTerminated, now, province=province, reason=reason)

    def return_home(
        self,
        principal: Principal,
        on: date,
        follow_up: ReturnPath,
        note: str | None,
        *,
        today: date,
        now: datetime,
    ) -> None:
        self._require_side(principal, "record the return home")
        self._require_status(_RETURNABLE, "record the return home of")
        if self.onboarded_on is None:
            raise Conflict("the worker never started this placement: nothing to return from")
        _not_future(on, today)
        _not_before(on, self._last_day_recorded(), "the last day already recorded")
        self.status = P.RETURNED
        self.ended_on = self.ended_on or on
        self.follow_up = follow_up
        self.follow_up_note = note
        self._record(PlacementReturned, now, on=on, follow_up=follow_up, note=note)

    def _last_day_recorded(self) -> date | None:
        """The latest of the placement's recorded days (onboarding, milestones, its end)."""
        days = [self.onboarded_on, self.retained_3m_on, self.retained_6m_on, self.ended_on]
        known = [d for d in days if d is not None]
        return max(known) if known else None

    def _record(self, kind: type[PlacementEvent], now: datetime, **details: Any) -> None:
        m = self.match
        payload = kind(
            placement_id=self.id,
            worker_id=m.worker_id,
            demand_id=m.demand_id,
            origin=m.origin,
            destination=m.destination,
            agreement_id=m.agreement_id,
            brand_id=m.brand_id,
            status=self.status,
            **details,
        )
        record(self, payload, now=now, provinces=[m.origin, m.destination])


def _not_before(on: date, earliest: date | None, what: str) -> None:
    if earliest is not None and on < earliest:
        raise InvalidInput.field("on", f"before {what} ({earliest.isoformat()})")


def _not_future(on: date, today: date) -> None:
    if on > today:
        raise InvalidInput.field("on", "in the future")


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, or the month's last day when it has no such day."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))

"""The agreements use cases, one method each: load the agreement, call it, save it.

Each runs in the unit of work its caller opened (one per request: see
:meth:`laborcoop.common.idempotency.CommandRequest.execute`; one per agreement for the
scheduler), which sends the agreement's row and its events as one statement. A command answers
404 (not visible to the caller), then 403 (the caller may not act), then 428/412 (its
``If-Match``; see :func:`~laborcoop.common.versioning.precondition`), then what the copy of the
register says of the linked brands (422): the brands are read only for a caller who may act on
the version it read.
"""

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from laborcoop.agreements import repository
from laborcoop.agreements.domain import Agreement, drafting_province, terms_of
from laborcoop.common.auth import Principal
from laborcoop.common.clock import Clock, utc_now
from laborcoop.common.db import Connection
from laborcoop.common.errors import FieldError, InvalidInput
from laborcoop.common.settings import ServiceSettings
from laborcoop.common.store import AggregateStore, Lock
from laborcoop.common.unit_of_work import UnitOfWork
from laborcoop.common.versioning import precondition
from laborcoop.contracts.agreements import Terms


@dataclass(frozen=True)
class Agreements:
    """The use cases, bound to the service's settings, calendar and clock."""

    settings: ServiceSettings
    timezone: ZoneInfo
    clock: Clock = utc_now
    agreements: AggregateStore[Agreement] = repository.AGREEMENT_STORE

    def today(self) -> date:
        """The calendar date where the agreements apply (China), which start and end dates use."""
        return self.clock().astimezone(self.timezone).date()

    async def draft(
        self, uow: UnitOfWork, principal: Principal, sent: Mapping[str, Any]
    ) -> Agreement:
        """Draft the terms ``sent`` (plain values) with the caller's province as initiator."""
        terms = terms_of(sent, drafting_province(principal))
        await check_brands(uow, terms)
        agreement = Agreement.draft(principal, terms, self.clock())
        self.agreements.add(uow, agreement)
        return agreement

    async def edit_draft(
        self,
        uow: UnitOfWork,
        principal: Principal,
        agreement_id: UUID,
        if_match: str | None,
        sent: Mapping[str, Any],
    ) -> Agreement:
        """Rewrite a draft's terms (``sent``: plain values; the initiator is the caller's)."""
        initiator = drafting_province(principal)
        agreement = await self._load(uow, principal, agreement_id)
        terms = terms_of(sent, initiator)
        with precondition(if_match, agreement.version, required=True):
            agreement.update_draft(principal, terms, self.clock())
        await check_brands(uow, terms)
        self.agreements.save(uow, agreement)
        return agreement

    async def propose(
        self, uow: UnitOfWork, principal: Principal, agreement_id: UUID, if_match: str | None
    ) -> Agreement:
        agreement = await self._load(uow, principal, agreement_id)
        with precondition(if_match, agreement.version):
            agreement.propose(principal, self.clock())
        self.agreements.save(uow, agreement)
        return agreement

    async def sign(
        self,
        uow: UnitOfWork,
        principal: Principal,
        agreement_id: UUID,
        if_match: str | None,
        province: str,
    ) -> Agreement:
        agreement = await self._load(uow, principal, agreement_id)
        with precondition(if_match, agreement.version):
            agreement.sign(principal, province, self.today(), self.clock())
        self.agreements.save(uow, agreement)
        return agreement

    async def decline(
        self,
        uow: UnitOfWork,
        principal: Principal,
        agreement_id: UUID,
        if_match: str | None,
        province: str,
        reason: str,
    ) -> Agreement:
        agreement = await self._load(uow, principal, agreement_id)
        with precondition(if_match, agreement.version):
            agreement.decline(principal, province, reason, self.clock())
        self.agreements.save(uow, agreement)
        return agreement

    async def amend(
        self,
        uow: UnitOfWork,
        principal: Principal,
        agreement_id: UUID,
        if_match: str | None,
        sent: Mapping[str, Any],
    ) -> Agreement:
        """Propose the terms ``sent`` (plain values) as an amendment; they keep the agreement's
        initiator, whichever party proposes them."""
        agreement = await self._load(uow, principal, agreement_id)
        terms = terms_of(sent, agreement.initiator)
        with precondition(if_match, agreement.version):
            agreement.amend(principal, terms, self.clock())
        await check_brands(uow, terms)
        self.agreements.save(uow, agreement)
        return agreement

    async def terminate(
        self,
        uow: UnitOfWork,
        principal: Principal,
        agreement_id: UUID,
        if_match: str | None,
        reason: str,
    ) -> Agreement:
        agreement = await self._load(uow, principal, agreement_id)
        with precondition(if_match, agreement.version):
            agreement.terminate(principal, reason, self.clock())
        self.agreements.save(uow, agreement)
        return agreement

    async def advance(self, uow: UnitOfWork, agreement_id: UUID) -> bool:
        """The scheduler's step for one agreement; False when another replica holds its row or
        it is no longer due (another replica advanced it first)."""
        agreement = await self.agreements.find(uow, agreement_id, lock=Lock.SKIP_LOCKED)
        today = self.today()
        if agreement is None or not agreement.due(today):
            return False
        agreement.advance(today, self.clock())
        self.agreements.save(uow, agreement)
        return True

    async def visible(
        self, conn: Connection, principal: Principal, agreement_id: UUID
    ) -> Agreement:
        """The agreement for a read; 404 when ``principal`` may not see it."""
        return await self.agreements.require(
            conn, agreement_id, visible=lambda a: a.visible_to(principal)
        )

    async def history_types(
        self, conn: Connection, principal: Principal, agreement_id: UUID
    ) -> Collection[str] | None:
        """For ``GET /{id}/history``: 404 unless ``principal`` sees the agreement; the events
        it may see (an amendment under signature is the parties' alone)."""
        agreement = await self.visible(conn, principal, agreement_id)
        return agreement.visible_event_types(principal)

    async def _load(self, uow: UnitOfWork, principal: Principal, agreement_id: UUID) -> Agreement:
        """The agreement, locked; 404 also when ``principal`` may not see it (its existence is
        not disclosed)."""
        return await self.agreements.load(
            uow, agreement_id, visible=lambda a: a.visible_to(principal)
        )


async def check_brands(uow: UnitOfWork, terms: Terms) -> None:
    """Linked brands must be known to this service's copy of the register and not retired."""
    if not terms.linked_brands:
        return
    statuses = await repository.brand_statuses(uow, terms.linked_brands)
    problems = []
    for i, brand in enumerate(terms.linked_brands):
        status = statuses.get(brand)
        if status is None:
            problems.append(
                FieldError(
                    field=f"linked_brands.{i}",
                    code="unknown_brand",
                    message=f"brand {brand} is not in the register",
                )
            )
        elif status == "retired":
            problems.append(
                FieldError(
                    field=f"linked_brands.{i}",
                    code="retired_brand",
                    message=f"brand {brand} is retired",
                )
            )
    if problems:
        raise InvalidInput(problems)

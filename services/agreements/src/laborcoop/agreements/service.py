"""Agreements use cases, each inside the one transaction its caller opened: load (locked),
check visibility, call the aggregate, save, and hand its events to the history and the outbox."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from uuid import UUID
from zoneinfo import ZoneInfo

from laborcoop.agreements import repository
from laborcoop.agreements.domain import Agreement
from laborcoop.common.aggregates import publish
from laborcoop.common.auth import Principal
from laborcoop.common.clock import Clock, utc_now
from laborcoop.common.db import Connection
from laborcoop.common.errors import FieldError, InvalidInput, NotFound
from laborcoop.common.settings import ServiceSettings
from laborcoop.common.versioning import check_version
from laborcoop.contracts.agreements import Terms


@dataclass(frozen=True)
class Agreements:
    settings: ServiceSettings
    timezone: ZoneInfo
    clock: Clock = utc_now

    def today(self) -> date:
        """The calendar date where the agreements apply (China), which start and end dates use."""
        return self.clock().astimezone(self.timezone).date()

    async def draft(self, conn: Connection, principal: Principal, terms: Terms) -> Agreement:
        await check_brands(conn, terms)
        agreement = Agreement.draft(principal, terms, self.clock())
        await repository.insert(conn, agreement)
        await publish(conn, self.settings, agreement)
        return agreement

    async def edit_draft(
        self,
        conn: Connection,
        principal: Principal,
        agreement_id: UUID,
        if_match: str | None,
        terms: Terms,
    ) -> Agreement:
        agreement = await self._load(conn, principal, agreement_id, if_match, required=True)
        await check_brands(conn, terms)
        agreement.update_draft(principal, terms, self.clock())
        return await self._save(conn, agreement)

    async def amend(
        self,
        conn: Connection,
        principal: Principal,
        agreement_id: UUID,
        if_match: str | None,
        terms_of: Callable[[str], Terms],
    ) -> Agreement:
        """``terms_of`` builds the amended terms for the agreement's (unchanged) initiator."""
        agreement = await self._load(conn, principal, agreement_id, if_match, required=False)
        terms = terms_of(agreement.initiator)
        await check_brands(conn, terms)
        agreement.amend(principal, terms, self.clock())
        return await self._save(conn, agreement)

    async def act(
        self,
        conn: Connection,
        principal: Principal,
        agreement_id: UUID,
        if_match: str | None,
        act: Callable[[Agreement, "Agreements"], None],
    ) -> Agreement:
        """Propose, sign, decline or terminate: one command on one visible agreement."""
        agreement = await self._load(conn, principal, agreement_id, if_match, required=False)
        act(agreement, self)
        return await self._save(conn, agreement)

    async def advance(self, conn: Connection, agreement_id: UUID) -> bool:
        """The scheduler's step for one agreement; False when another replica holds it."""
        agreement = await repository.lock_if_free(conn, agreement_id)
        if agreement is None or not agreement.due(self.today()):
            return False
        agreement.advance(self.today(), self.clock())
        await self._save(conn, agreement)
        return True

    async def visible(
        self, conn: Connection, principal: Principal, agreement_id: UUID
    ) -> Agreement:
        agreement = await repository.get(conn, agreement_id)
        if agreement is None or not agreement.visible_to(principal):
            raise NotFound(f"no agreement {agreement_id}")
        return agreement

    async def _load(
        self,
        conn: Connection,
        principal: Principal,
        agreement_id: UUID,
        if_match: str | None,
        *,
        required: bool,
    ) -> Agreement:
        agreement = await repository.get(conn, agreement_id, lock=True)
        if agreement is None or not agreement.visible_to(principal):
            raise NotFound(f"no agreement {agreement_id}")
        check_version(if_match, agreement.version, required=required)
        return agreement

    async def _save(self, conn: Connection, agreement: Agreement) -> Agreement:
        await repository.update(conn, agreement)
        await publish(conn, self.settings, agreement)
        return agreement


async def check_brands(conn: Connection, terms: Terms) -> None:
    """Linked brands must be known to this service's copy of the register and not retired."""
    if not terms.linked_brands:
        return
    statuses = await repository.brand_statuses(conn, terms.linked_brands)
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

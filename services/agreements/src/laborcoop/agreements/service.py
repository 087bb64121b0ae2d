"""Agreements use cases, each inside the one transaction its caller opened: load (locked),
check visibility, call the aggregate, check ``If-Match``, save, and hand its events to the
history and the outbox.

A command answers 404 (not visible to the caller), then 403 (the caller may not act), then
428/412 (the caller's ``If-Match``), then what the stored register says of the linked brands
(422). The aggregate checks who may act before anything else, so the version is checked after
its command and before anything is read further or written (see :func:`preconditioned`)."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TypeVar
from uuid import UUID
from zoneinfo import ZoneInfo

from laborcoop.agreements import repository
from laborcoop.agreements.domain import Agreement
from laborcoop.common.aggregates import publish
from laborcoop.common.auth import Principal
from laborcoop.common.clock import Clock, utc_now
from laborcoop.common.db import Connection
from laborcoop.common.errors import FieldError, Forbidden, InvalidInput, NotFound, Problem
from laborcoop.common.settings import ServiceSettings
from laborcoop.common.versioning import check_version
from laborcoop.contracts.agreements import Terms

T = TypeVar("T")


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
        agreement = await self._load(conn, principal, agreement_id)
        preconditioned(
            if_match,
            agreement.version,
            lambda: agreement.update_draft(principal, terms, self.clock()),
            required=True,
        )
        await check_brands(conn, terms)
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
        agreement = await self._load(conn, principal, agreement_id)
        terms = terms_of(agreement.initiator)
        preconditioned(
            if_match,
            agreement.version,
            lambda: agreement.amend(principal, terms, self.clock()),
            required=False,
        )
        await check_brands(conn, terms)
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
        agreement = await self._load(conn, principal, agreement_id)
        preconditioned(if_match, agreement.version, lambda: act(agreement, self), required=False)
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

    async def _load(self, conn: Connection, principal: Principal, agreement_id: UUID) -> Agreement:
        agreement = await repository.get(conn, agreement_id, lock=True)
        if agreement is None or not agreement.visible_to(principal):
            raise NotFound(f"no agreement {agreement_id}")
        return agreement

    async def _save(self, conn: Connection, agreement: Agreement) -> Agreement:
        await repository.update(conn, agreement)
        await publish(conn, self.settings, agreement)
        return agreement


def preconditioned(
    if_match: str | None, loaded: int, command: Callable[[], T], *, required: bool
) -> T:
    """Run the aggregate's ``command``, then check ``If-Match`` against the ``loaded`` version.

    The command checks who may act first, so its 403 comes before any 428/412. A caller who may
    act but read a stale version gets 412 even when the command also refused the state (409) or
    the terms (422): what it saw is out of date, and that is what it must learn first. The
    command only changes the aggregate in memory; the caller saves nothing when this raises, and
    its transaction rolls back, so a refused command writes no row, history or outbox entry."""
    try:
        result = command()
    except Forbidden:
        raise
    except Problem:
        check_version(if_match, loaded, required=required)
        raise
    check_version(if_match, loaded, required=required)
    return result


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

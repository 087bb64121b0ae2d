"""The registry's use cases, one method each: load the brand, call it, save it.

Each runs in the unit of work its caller opened (one per request: see
:meth:`laborcoop.common.idempotency.CommandRequest.execute`), which sends the brand's row, its
events and any report row as one statement. A command answers 404 (no such brand), then 403 (the
caller may not act), then 428/412 (its ``If-Match``; see
:func:`~laborcoop.common.versioning.precondition`).
"""

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any
from uuid import UUID

from laborcoop.common.auth import Principal
from laborcoop.common.clock import Clock, utc_now
from laborcoop.common.db import Connection
from laborcoop.common.settings import ServiceSettings
from laborcoop.common.store import AggregateStore
from laborcoop.common.unit_of_work import UnitOfWork
from laborcoop.common.versioning import precondition
from laborcoop.contracts.brands import IndicatorFigures
from laborcoop.contracts.codes import BrandLevel
from laborcoop.registry import repository
from laborcoop.registry.domain import Attributes, Brand, IndicatorReport


@dataclass(frozen=True)
class Registry:
    """The use cases, bound to the service's settings and clock."""

    settings: ServiceSettings
    clock: Clock = utc_now
    brands: AggregateStore[Brand] = repository.BRAND_STORE

    async def history_types(self, conn: Connection, principal: Principal, brand_id: UUID) -> None:
        """For ``GET /{id}/history``: 404 for an unknown brand; every brand's whole history is
        public (``None``: every event type)."""
        await self.brands.require(conn, brand_id)

    async def register(
        self, uow: UnitOfWork, principal: Principal, province: str, attributes: Attributes
    ) -> Brand:
        brand = Brand.register(
            principal, province=province, attributes=attributes, now=self.clock()
        )
        self.brands.add(uow, brand)
        return brand

    async def update(
        self,
        uow: UnitOfWork,
        principal: Principal,
        brand_id: UUID,
        if_match: str | None,
        changes: Mapping[str, Any],
    ) -> Brand:
        """Change the attributes named in ``changes``; the others stay as they are."""
        brand = await self.brands.load(uow, brand_id)
        with precondition(if_match, brand.version, required=True):
            brand.update(principal, replace(brand.attributes, **changes), self.clock())
        self.brands.save(uow, brand)
        return brand

    async def recognise(
        self,
        uow: UnitOfWork,
        principal: Principal,
        brand_id: UUID,
        if_match: str | None,
        level: BrandLevel,
    ) -> Brand:
        brand = await self.brands.load(uow, brand_id)
        with precondition(if_match, brand.version):
            brand.recognise(principal, level, self.clock())
        self.brands.save(uow, brand)
        return brand

    async def suspend(
        self,
        uow: UnitOfWork,
        principal: Principal,
        brand_id: UUID,
        if_match: str | None,
        reason: str,
    ) -> Brand:
        brand = await self.brands.load(uow, brand_id)
        with precondition(if_match, brand.version):
            brand.suspend(principal, reason, self.clock())
        self.brands.save(uow, brand)
        return brand

    async def reinstate(
        self, uow: UnitOfWork, principal: Principal, brand_id: UUID, if_match: str | None
    ) -> Brand:
        brand = await self.brands.load(uow, brand_id)
        with precondition(if_match, brand.version):
            brand.reinstate(principal, self.clock())
        self.brands.save(uow, brand)
        return brand

    async def retire(
        self,
        uow: UnitOfWork,
        principal: Principal,
        brand_id: UUID,
        if_match: str | None,
        reason: str,
    ) -> Brand:
        brand = await self.brands.load(uow, brand_id)
        with precondition(if_match, brand.version):
            brand.retire(principal, reason, self.clock())
        self.brands.save(uow, brand)
        return brand

    async def report_indicators(
        self,
        uow: UnitOfWork,
        principal: Principal,
        brand_id: UUID,
        period: str,
        figures: IndicatorFigures,
        source: str | None,
        if_match: str | None = None,
    ) -> tuple[IndicatorReport, bool]:
        """The period's current report, and whether this call created it (an identical report
        changes nothing). With ``If-Match`` a correction based on a stale read is refused."""
        brand = await self.brands.load(uow, brand_id)
        current = await repository.current_report(uow, brand_id, period)
        with precondition(if_match, brand.version):
            report = brand.report_indicators(
                principal,
                period=period,
                figures=figures,
                source=source,
                current=current,
                now=self.clock(),
            )
        if report is None:
            assert current is not None, "only a repeat of the current report changes nothing"
            return current, False
        repository.add_report(uow, brand_id, report)
        self.brands.save(uow, brand)
        return report, True

"""Registry use cases. Each runs inside the one transaction its caller opened, loads the brand
(locked), calls the aggregate, checks ``If-Match``, saves the brand, and hands its events to the
history and the outbox.

A command answers 404 (no such brand), then 403 (the caller may not act), then 428/412 (the
caller's ``If-Match``): a province acting on another's brand learns that it may not, whatever
version it read. The aggregate checks who may act before anything else, so the version is checked
after its command and before anything is written (see :func:`preconditioned`)."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar
from uuid import UUID

from laborcoop.common.aggregates import publish
from laborcoop.common.auth import Principal
from laborcoop.common.clock import Clock, utc_now
from laborcoop.common.db import Connection
from laborcoop.common.errors import Conflict, Forbidden, NotFound, Problem
from laborcoop.common.settings import ServiceSettings
from laborcoop.common.versioning import check_version
from laborcoop.contracts.brands import IndicatorFigures
from laborcoop.registry import repository
from laborcoop.registry.domain import Attributes, Brand, IndicatorReport

T = TypeVar("T")


@dataclass(frozen=True)
class Registry:
    """The use cases, bound to the service's settings and clock."""

    settings: ServiceSettings
    clock: Clock = utc_now

    async def register(
        self, conn: Connection, principal: Principal, province: str, attributes: Attributes
    ) -> Brand:
        brand = Brand.register(
            principal, province=province, attributes=attributes, now=self.clock()
        )
        try:
            await repository.insert(conn, brand)
        except repository.DuplicateName as exc:
            raise _duplicate(attributes.name, province) from exc
        await publish(conn, self.settings, brand)
        return brand

    async def update(
        self,
        conn: Connection,
        principal: Principal,
        brand_id: UUID,
        if_match: str | None,
        change: Callable[[Attributes], Attributes],
    ) -> Brand:
        brand = await self._load(conn, brand_id)
        changed = preconditioned(
            if_match,
            brand.version,
            lambda: brand.update(principal, change(brand.attributes), self.clock()),
            required=True,
        )
        if changed:
            await self._save(conn, brand)
        return brand

    async def transition(
        self,
        conn: Connection,
        brand_id: UUID,
        if_match: str | None,
        act: Callable[[Brand, datetime], None],
    ) -> Brand:
        """Apply one lifecycle command (recognise, suspend, reinstate, retire)."""
        brand = await self._load(conn, brand_id)
        preconditioned(if_match, brand.version, lambda: act(brand, self.clock()), required=False)
        await self._save(conn, brand)
        return brand

    async def report_indicators(
        self,
        conn: Connection,
        principal: Principal,
        brand_id: UUID,
        period: str,
        figures: IndicatorFigures,
        source: str | None,
        if_match: str | None = None,
    ) -> tuple[IndicatorReport, bool]:
        """The period's current report, and whether this call created it. With ``If-Match``
        (the brand's ETag) a correction based on a stale read is refused."""
        brand = await self._load(conn, brand_id)
        current = await repository.current_report(conn, brand_id, period)
        report = preconditioned(
            if_match,
            brand.version,
            lambda: brand.report_indicators(
                principal,
                period=period,
                figures=figures,
                source=source,
                current=current,
                now=self.clock(),
            ),
            required=False,
        )
        if report is None:
            assert current is not None
            return current, False
        await repository.insert_report(conn, brand_id, report)
        await self._save(conn, brand)
        return report, True

    async def _load(self, conn: Connection, brand_id: UUID) -> Brand:
        brand = await repository.get_for_update(conn, brand_id)
        if brand is None:
            raise NotFound(f"no brand {brand_id}")
        return brand

    async def _save(self, conn: Connection, brand: Brand) -> None:
        try:
            await repository.update(conn, brand)
        except repository.DuplicateName as exc:
            raise _duplicate(brand.attributes.name, brand.province) from exc
        await publish(conn, self.settings, brand)


def preconditioned(
    if_match: str | None, loaded: int, command: Callable[[], T], *, required: bool
) -> T:
    """Run the aggregate's ``command``, then check ``If-Match`` against the ``loaded`` version.

    The command checks who may act first, so its 403 comes before any 428/412. A caller who may
    act but read a stale version gets 412 even when the command also refused the state (409) or
    the input (422): what it saw is out of date, and that is what it must learn first. The
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


def _duplicate(name: str, province: str) -> Conflict:
    return Conflict(f"a brand named {name!r} already exists in {province}", field="name")

"""The demands' use cases: post, close, and the scheduler's expiry."""

from dataclasses import dataclass
from datetime import date
from uuid import UUID
from zoneinfo import ZoneInfo

from laborcoop.common.clock import Clock, utc_now
from laborcoop.common.db import Connection
from laborcoop.common.principal import Principal
from laborcoop.common.store import AggregateStore, Lock
from laborcoop.common.unit_of_work import UnitOfWork
from laborcoop.common.versioning import precondition
from laborcoop.placements.demands import repository
from laborcoop.placements.demands.domain import Demand, Posting


@dataclass(frozen=True)
class Demands:
    timezone: ZoneInfo
    clock: Clock = utc_now
    demands: AggregateStore[Demand] = repository.DEMAND_STORE

    def today(self) -> date:
        return self.clock().astimezone(self.timezone).date()

    async def history_types(self, conn: Connection, principal: Principal, demand_id: UUID) -> None:
        """Every demand and its whole history are public (no personal data)."""
        await self.demands.require(conn, demand_id)

    async def post(
        self, uow: UnitOfWork, principal: Principal, posting: Posting, open_until: date | None
    ) -> Demand:
        demand = Demand.post(
            principal, posting, open_until=open_until, today=self.today(), now=self.clock()
        )
        self.demands.add(uow, demand)
        return demand

    async def close(
        self,
        uow: UnitOfWork,
        principal: Principal,
        demand_id: UUID,
        if_match: str | None,
        reason: str,
    ) -> Demand:
        demand = await self.demands.load(uow, demand_id)
        with precondition(if_match, demand.version):
            demand.close(principal, reason, self.clock())
        self.demands.save(uow, demand)
        return demand

    async def expire(self, uow: UnitOfWork, demand_id: UUID) -> bool:
        """Expire one due demand, unless another replica holds it (the scheduler)."""
        demand = await self.demands.find(uow, demand_id, lock=Lock.SKIP_LOCKED)
        if demand is None or not demand.expire(self.today(), self.clock()):
            return False
        self.demands.save(uow, demand)
        return True

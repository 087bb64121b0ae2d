"""The demands' storage: the table described once and the list query."""

from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from laborcoop.common.db import Connection
from laborcoop.common.store import AggregateStore, Where
from laborcoop.common.table import Table
from laborcoop.placements.demands.domain import Demand, Posting

DEMANDS = Table(Demand, "demands", flatten={"posting": Posting})
DEMAND_STORE = AggregateStore(DEMANDS, noun="demand")


@dataclass(frozen=True)
class DemandFilter:
    province: str | None = None
    occupation: str | None = None
    status: str | None = None
    brand: UUID | None = None


def search_query(where: DemandFilter, *, after: UUID | None, limit: int) -> tuple[str, list[Any]]:
    """Demands are visible to every province (they are offers of work, with no personal data).
    Indexes in cursor order serve ``province``, ``status`` and ``occupation``; ``brand`` is
    containment, served by the GIN index and a top-N sort."""
    conditions = (
        Where()
        .add("province = {}", where.province)
        .add("occupation = {}", where.occupation)
        .add("status = {}", where.status)
        .add("preferred_brands @> ARRAY[{}::uuid]", where.brand)
    )
    return DEMAND_STORE.page_query(conditions, after=after, limit=limit)


async def search(
    conn: Connection, where: DemandFilter, *, after: UUID | None, limit: int
) -> list[Demand]:
    sql, args = search_query(where, after=after, limit=limit)
    return [DEMANDS.load(r) for r in await conn.fetch(sql, *args)]


async def due(conn: Connection, today: date, limit: int) -> list[UUID]:
    """Open demands past their ``open_until`` (demands_due); the scheduler re-checks each."""
    rows = await conn.fetch(
        "SELECT id FROM demands WHERE status = 'open' AND open_until < $1 LIMIT $2", today, limit
    )
    return [r["id"] for r in rows]

"""The placements' storage: the table described once, the list query, and the count of a
corridor's placements that a target is compared with."""

from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from laborcoop.common.db import Connection, Reader
from laborcoop.common.problems import Conflict
from laborcoop.common.store import AggregateStore, Where
from laborcoop.common.table import Table
from laborcoop.contracts.codes import Period
from laborcoop.placements.placements.domain import Match, Placement

PLACEMENTS = Table(Placement, "placements", flatten={"match": Match})


def _worker_taken(placement: Placement) -> Conflict:
    return Conflict("the worker already has a live placement", field="worker_id")


PLACEMENT_STORE = AggregateStore(
    PLACEMENTS,
    noun="placement",
    conflicts={"placements_one_live_per_worker": _worker_taken},
)


@dataclass(frozen=True)
class PlacementFilter:
    province: str
    """The caller's province: it sees the placements it is the origin or destination of."""
    origin: str | None = None
    destination: str | None = None
    status: str | None = None
    brand: UUID | None = None
    agreement: UUID | None = None
    period: tuple[date, date] | None = None


def period_days(period: str) -> tuple[date, date]:
    """The first and last day of a period ``YYYY``, ``YYYY-Qn`` or ``YYYY-MM``."""
    year = int(period[:4])
    if len(period) == 4:
        return date(year, 1, 1), date(year, 12, 31)
    if period[5] == "Q":
        first_month = (int(period[6]) - 1) * 3 + 1
        return date(year, first_month, 1), _last_day(year, first_month + 2)
    month = int(period[5:7])
    return date(year, month, 1), _last_day(year, month)


def _last_day(year: int, month: int) -> date:
    following = date(year + month // 12, month % 12 + 1, 1)
    return date.fromordinal(following.toordinal() - 1)


def search_query(
    where: PlacementFilter, *, after: UUID | None, limit: int
) -> tuple[str, list[Any]]:
    """The caller's province sees the placements it is a side of: a corridor that names it needs
    no further condition (``placements_corridor`` serves it in cursor order); one end given
    that is another province fixes the other end to the caller's; otherwise either side."""
    origin, destination, province = where.origin, where.destination, where.province
    if province not in (origin, destination):
        if origin is not None and destination is None:
            destination = province
        elif destination is not None and origin is None:
            origin = province
    conditions = Where()
    if province not in (origin, destination):
        conditions.always("(origin = {} OR destination = {})", province, province)
    period = where.period or (None, None)
    conditions = (
        conditions.add("origin = {}", origin)
        .add("destination = {}", destination)
        .add("status = {}", where.status)
        .add("brand_id = {}", where.brand)
        .add("agreement_id = {}", where.agreement)
        .add("proposed_on BETWEEN {} AND {}", *period)
    )
    return PLACEMENT_STORE.page_query(conditions, after=after, limit=limit)


async def search(
    conn: Connection, where: PlacementFilter, *, after: UUID | None, limit: int
) -> list[Placement]:
    sql, args = search_query(where, after=after, limit=limit)
    return [PLACEMENTS.load(r) for r in await conn.fetch(sql, *args)]


async def counted_against(
    conn: Reader, agreement_id: UUID, origin: str, destination: str, period: Period
) -> int:
    """Placements of a corridor that count against the agreement's target for ``period``:
    every one proposed in the period and not declined."""
    first, last = period_days(period)
    found = await conn.fetchval(
        """SELECT count(*) FROM placements
           WHERE agreement_id = $1 AND proposed_on BETWEEN $2 AND $3
             AND origin = $4 AND destination = $5 AND status <> 'declined'""",
        agreement_id,
        first,
        last,
        origin,
        destination,
    )
    return int(found)

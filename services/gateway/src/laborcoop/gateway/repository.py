"""All SQL of the gateway's read models."""

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg

from laborcoop.common.db import Connection
from laborcoop.common.store import Where


@dataclass(frozen=True)
class BrandFilter:
    """The filters of the gateway's brand list: the columns of ``brand_view`` it can serve."""

    province: str | None = None
    category: str | None = None
    status: str | None = None
    level: str | None = None


async def brands(
    conn: Connection, where: BrandFilter, *, after: UUID | None, limit: int
) -> list[asyncpg.Record]:
    sql, args = brands_query(where, after=after, limit=limit)
    return await conn.fetch(sql, *args)


def brands_query(where: BrandFilter, *, after: UUID | None, limit: int) -> tuple[str, list[Any]]:
    """The SQL of :func:`brands` and its arguments, with a condition only for each filter given
    (:class:`~laborcoop.common.store.Where`: a generic ``($1 IS NULL OR …)`` would hide the
    filter from a cached plan). Each filter has an index in cursor order, ``(column,
    brand_id)``: ``brand_view_province`` (migration 0001), ``brand_view_category``,
    ``brand_view_status`` and ``brand_view_level`` (migration 0002)."""
    conditions = (
        Where()
        .add("province = {}", where.province)
        .add("category = {}", where.category)
        .add("status = {}", where.status)
        .add("level = {}", where.level)
        .add("brand_id > {}", after)
    )
    size = conditions.placeholder(limit)
    return (
        "SELECT brand_id AS id, name, province, category, status, level, version"
        f" FROM brand_view {conditions.sql} ORDER BY brand_id LIMIT {size}",
        conditions.args,
    )

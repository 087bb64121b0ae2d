"""All SQL of the gateway's read models."""

from typing import Any
from uuid import UUID

import asyncpg

from laborcoop.common.db import Connection


async def brands(
    conn: Connection, *, province: str | None, after: UUID | None, limit: int
) -> list[asyncpg.Record]:
    sql, args = brands_query(province=province, after=after, limit=limit)
    return await conn.fetch(sql, *args)


def brands_query(*, province: str | None, after: UUID | None, limit: int) -> tuple[str, list[Any]]:
    """The SQL of :func:`brands` and its arguments, with a condition only for what is given.

    A generic ``($1 IS NULL OR province = $1)`` hides the filter from the planner, so a cached
    generic plan never uses ``brand_view_province (province, brand_id)``, which serves the
    filter in cursor order. Values only ever reach the SQL as placeholders."""
    conditions: list[str] = []
    args: list[Any] = []
    if province is not None:
        args.append(province)
        conditions.append(f"province = ${len(args)}")
    if after is not None:
        args.append(after)
        conditions.append(f"brand_id > ${len(args)}")
    args.append(limit)
    clause = f"WHERE {' AND '.join(conditions)} " if conditions else ""
    return (
        "SELECT brand_id AS id, name, province, category, status, level, version"
        f" FROM brand_view {clause}ORDER BY brand_id LIMIT ${len(args)}",
        args,
    )

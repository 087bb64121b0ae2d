"""All SQL of the gateway's read models."""

from uuid import UUID

import asyncpg

from laborcoop.common.db import Connection


async def brands(
    conn: Connection, *, province: str | None, after: UUID | None, limit: int
) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT brand_id AS id, name, province, category, status, level, version
           FROM brand_view
           WHERE ($1::text IS NULL OR province = $1) AND ($2::uuid IS NULL OR brand_id > $2)
           ORDER BY brand_id LIMIT $3""",
        province,
        after,
        limit,
    )

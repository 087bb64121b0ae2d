"""All SQL of the registry. Functions take the caller's connection; none commits."""

from uuid import UUID

import asyncpg

from laborcoop.common.db import Connection
from laborcoop.registry.domain import Brand

_COLUMNS = "id, name, province, category, version, created_at, updated_at"


class DuplicateName(Exception):
    pass


async def insert(conn: Connection, brand: Brand) -> None:
    try:
        await conn.execute(
            f"INSERT INTO brands ({_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            brand.id,
            brand.name,
            brand.province,
            brand.category,
            brand.version,
            brand.created_at,
            brand.updated_at,
        )
    except asyncpg.UniqueViolationError as exc:
        raise DuplicateName(brand.name) from exc


async def get(conn: Connection, brand_id: UUID) -> Brand | None:
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM brands WHERE id = $1", brand_id)
    return Brand(**dict(row)) if row else None

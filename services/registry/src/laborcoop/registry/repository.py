"""All SQL of the registry. Functions take the caller's connection; none commits."""

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg

from laborcoop.common.auth import Role
from laborcoop.common.db import Connection
from laborcoop.contracts.brands import IndicatorFigures
from laborcoop.contracts.codes import (
    BrandCategory,
    BrandLevel,
    BrandOwnership,
    BrandStatus,
    DevelopmentStage,
    Industry,
)
from laborcoop.registry.domain import Attributes, Brand, IndicatorReport

_COLUMNS = (
    "id, province, name, city_code, category, ownership, occupations, industry_section,"
    " industry_division, description, operator, development_stage, status, level, suspended_by,"
    " version, created_at, updated_at"
)


class DuplicateName(Exception):
    pass


def _row(brand: Brand) -> tuple[Any, ...]:
    a = brand.attributes
    return (
        brand.id,
        brand.province,
        a.name,
        a.city_code,
        a.category,
        a.ownership,
        list(a.occupations),
        a.industry.section if a.industry else None,
        a.industry.division if a.industry else None,
        a.description,
        a.operator,
        a.development_stage,
        brand.status,
        brand.level,
        brand.suspended_by,
        brand.version,
        brand.created_at,
        brand.updated_at,
    )


def _brand(row: asyncpg.Record) -> Brand:
    industry = (
        Industry(section=row["industry_section"], division=row["industry_division"])
        if row["industry_section"]
        else None
    )
    attributes = Attributes(
        name=row["name"],
        category=BrandCategory(row["category"]),
        city_code=row["city_code"],
        ownership=_opt(BrandOwnership, row["ownership"]),
        occupations=tuple(row["occupations"]),
        industry=industry,
        description=row["description"],
        operator=row["operator"],
        development_stage=_opt(DevelopmentStage, row["development_stage"]),
    )
    return Brand(
        id=row["id"],
        province=row["province"],
        attributes=attributes,
        status=BrandStatus(row["status"]),
        level=_opt(BrandLevel, row["level"]),
        suspended_by=_opt(Role, row["suspended_by"]),
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _opt(kind: Any, value: str | None) -> Any:
    return kind(value) if value is not None else None


async def insert(conn: Connection, brand: Brand) -> None:
    placeholders = ", ".join(f"${i}" for i in range(1, 19))
    try:
        await conn.execute(f"INSERT INTO brands ({_COLUMNS}) VALUES ({placeholders})", *_row(brand))
    except asyncpg.UniqueViolationError as exc:
        raise DuplicateName(brand.attributes.name) from exc


async def update(conn: Connection, brand: Brand) -> None:
    """Write the brand's new state (the caller holds the row lock from :func:`get_for_update`)."""
    assignments = ", ".join(f"{c.strip()} = ${i}" for i, c in enumerate(_COLUMNS.split(","), 1))
    try:
        await conn.execute(f"UPDATE brands SET {assignments} WHERE id = $1", *_row(brand))
    except asyncpg.UniqueViolationError as exc:
        raise DuplicateName(brand.attributes.name) from exc


async def get(conn: Connection, brand_id: UUID) -> Brand | None:
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM brands WHERE id = $1", brand_id)
    return _brand(row) if row else None


async def get_for_update(conn: Connection, brand_id: UUID) -> Brand | None:
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM brands WHERE id = $1 FOR UPDATE", brand_id)
    return _brand(row) if row else None


async def find_by_name(conn: Connection, province: str, name: str) -> Brand | None:
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM brands WHERE province = $1 AND name = $2", province, name
    )
    return _brand(row) if row else None


@dataclass(frozen=True)
class BrandFilter:
    province: str | None = None
    category: str | None = None
    level: str | None = None
    status: str | None = None
    occupation: str | None = None
    name_contains: str | None = None


async def search(
    conn: Connection, where: BrandFilter, *, after: UUID | None, limit: int
) -> list[Brand]:
    sql, args = search_query(where, after=after, limit=limit)
    return [_brand(r) for r in await conn.fetch(sql, *args)]


_CONDITIONS = {
    "province": "province = {}",
    "category": "category = {}",
    "level": "level = {}",
    "status": "status = {}",
    "occupation": "occupations @> ARRAY[{}::text]",
}
"""The SQL of each equality or containment filter; ``{}`` becomes the value's placeholder."""


def search_query(where: BrandFilter, *, after: UUID | None, limit: int) -> tuple[str, list[Any]]:
    """The SQL of :func:`search` and its arguments, with a condition only for each filter given.

    A generic ``($1 IS NULL OR province = $1)`` hides from the planner which filters apply, so
    a cached generic plan never uses their indexes. Each filter here has an index in cursor
    order, ``(column, id)``, except two: ``occupation`` is containment in an array, served by
    its GIN index (which cannot return rows in id order, so a top-N sort of the matches
    follows), and ``q`` is a substring, served by no index: trigrams (pg_trgm) extract nothing
    from Chinese names on a database without a locale, so the scan walks the primary key in id
    order and stops at ``limit`` matches. Values only ever reach the SQL as placeholders."""
    conditions: list[str] = []
    args: list[Any] = []

    def bind(template: str, value: Any) -> None:
        args.append(value)
        conditions.append(template.format(f"${len(args)}"))

    for name, template in _CONDITIONS.items():
        value = getattr(where, name)
        if value is not None:
            bind(template, str(value))
    if where.name_contains is not None:
        bind("name ILIKE {} ESCAPE '\\'", _like_pattern(where.name_contains))
    if after is not None:
        bind("id > {}", after)
    args.append(limit)
    clause = f"WHERE {' AND '.join(conditions)} " if conditions else ""
    return f"SELECT {_COLUMNS} FROM brands {clause}ORDER BY id LIMIT ${len(args)}", args


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _report(row: asyncpg.Record) -> IndicatorReport:
    return IndicatorReport(
        period=row["period"],
        figures=IndicatorFigures.model_validate(row["figures"]),
        revision=row["revision"],
        source=row["source"],
        reported_at=row["reported_at"],
    )


async def current_report(conn: Connection, brand_id: UUID, period: str) -> IndicatorReport | None:
    row = await conn.fetchrow(
        """SELECT period, revision, figures, source, reported_at FROM brand_indicators
           WHERE brand_id = $1 AND period = $2 ORDER BY revision DESC LIMIT 1""",
        brand_id,
        period,
    )
    return _report(row) if row else None


async def current_reports(conn: Connection, brand_id: UUID) -> list[IndicatorReport]:
    rows = await conn.fetch(
        """SELECT DISTINCT ON (period) period, revision, figures, source, reported_at
           FROM brand_indicators WHERE brand_id = $1 ORDER BY period, revision DESC""",
        brand_id,
    )
    return [_report(r) for r in rows]


async def revisions(conn: Connection, brand_id: UUID, period: str) -> list[IndicatorReport]:
    rows = await conn.fetch(
        """SELECT period, revision, figures, source, reported_at FROM brand_indicators
           WHERE brand_id = $1 AND period = $2 ORDER BY revision""",
        brand_id,
        period,
    )
    return [_report(r) for r in rows]


async def insert_report(conn: Connection, brand_id: UUID, report: IndicatorReport) -> None:
    await conn.execute(
        """INSERT INTO brand_indicators (brand_id, period, revision, figures, source, reported_at)
           VALUES ($1, $2, $3, $4, $5, $6)""",
        brand_id,
        report.period,
        report.revision,
        report.figures.model_dump(mode="json", exclude_none=True),
        report.source,
        report.reported_at,
    )

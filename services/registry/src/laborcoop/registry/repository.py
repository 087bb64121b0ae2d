"""The registry's storage: the brand table described once, its list query, and the indicator
reports. Reads take a connection; writes are staged in the caller's unit of work."""

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg

from laborcoop.common.db import Connection
from laborcoop.common.errors import Conflict
from laborcoop.common.store import AggregateStore, Where
from laborcoop.common.table import Codec, Table
from laborcoop.common.unit_of_work import UnitOfWork
from laborcoop.contracts.brands import IndicatorFigures
from laborcoop.contracts.codes import Industry
from laborcoop.registry.domain import Attributes, Brand, IndicatorReport

INDUSTRY = Codec(
    ("industry_section", "industry_division"),
    dump=lambda i: (i.section, i.division) if i is not None else (None, None),
    load=lambda section, division: (
        Industry(section=section, division=division) if section is not None else None
    ),
)
"""A brand's industry is two columns: the GB/T 4754 section letter and the division."""

BRANDS = Table(Brand, "brands", flatten={"attributes": Attributes}, codecs={"industry": INDUSTRY})


def _duplicate(brand: Brand) -> Conflict:
    name, province = brand.attributes.name, brand.province
    return Conflict(f"a brand named {name!r} already exists in {province}", field="name")


BRAND_STORE = AggregateStore(
    BRANDS, noun="brand", conflicts={"brands_name_unique_in_province": _duplicate}
)


async def find_by_name(conn: Connection, province: str, name: str) -> Brand | None:
    row = await conn.fetchrow(
        f"{BRAND_STORE.select} WHERE province = $1 AND name = $2", province, name
    )
    return BRANDS.load(row) if row else None


@dataclass(frozen=True)
class BrandFilter:
    province: str | None = None
    category: str | None = None
    level: str | None = None
    status: str | None = None
    occupation: str | None = None
    name_contains: str | None = None


def search_query(where: BrandFilter, *, after: UUID | None, limit: int) -> tuple[str, list[Any]]:
    """The SQL of :func:`search` and its arguments, with a condition only for each filter given.

    Each filter has an index in cursor order, ``(column, id)`` (migrations 0001 and 0002),
    except two: ``occupation`` is containment in an array, served by its GIN index (which cannot
    return rows in id order, so a top-N sort of the matches follows), and ``q`` is a substring,
    served by no index: trigrams (pg_trgm) extract nothing from Chinese names on a database
    without a locale, so the scan walks the primary key in id order and stops at ``limit``
    matches."""
    conditions = (
        Where()
        .add("province = {}", where.province)
        .add("category = {}", where.category)
        .add("level = {}", where.level)
        .add("status = {}", where.status)
        .add("occupations @> ARRAY[{}::text]", where.occupation)
        .add("name ILIKE {} ESCAPE '\\'", _like_pattern(where.name_contains))
    )
    return BRAND_STORE.page_query(conditions, after=after, limit=limit)


async def search(
    conn: Connection, where: BrandFilter, *, after: UUID | None, limit: int
) -> list[Brand]:
    sql, args = search_query(where, after=after, limit=limit)
    return [BRANDS.load(r) for r in await conn.fetch(sql, *args)]


def _like_pattern(text: str | None) -> str | None:
    if text is None:
        return None
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


_REPORT_COLUMNS = "period, revision, figures, source, reported_at"


async def current_report(uow: UnitOfWork, brand_id: UUID, period: str) -> IndicatorReport | None:
    row = await uow.fetchrow(
        f"""SELECT {_REPORT_COLUMNS} FROM brand_indicators
            WHERE brand_id = $1 AND period = $2 ORDER BY revision DESC LIMIT 1""",
        brand_id,
        period,
    )
    return _report(row) if row else None


async def current_reports(conn: Connection, brand_id: UUID) -> list[IndicatorReport]:
    rows = await conn.fetch(
        f"""SELECT DISTINCT ON (period) {_REPORT_COLUMNS}
            FROM brand_indicators WHERE brand_id = $1 ORDER BY period, revision DESC""",
        brand_id,
    )
    return [_report(r) for r in rows]


async def revisions(conn: Connection, brand_id: UUID, period: str) -> list[IndicatorReport]:
    rows = await conn.fetch(
        f"""SELECT {_REPORT_COLUMNS} FROM brand_indicators
            WHERE brand_id = $1 AND period = $2 ORDER BY revision""",
        brand_id,
        period,
    )
    return [_report(r) for r in rows]


def add_report(uow: UnitOfWork, brand_id: UUID, report: IndicatorReport) -> None:
    uow.write(
        """INSERT INTO brand_indicators (brand_id, period, revision, figures, source, reported_at)
           VALUES ($1, $2, $3, $4, $5, $6)""",
        brand_id,
        report.period,
        report.revision,
        report.figures.model_dump(mode="json", exclude_none=True),
        report.source,
        report.reported_at,
    )

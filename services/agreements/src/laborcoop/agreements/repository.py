"""All SQL of the agreements service. Functions take the caller's connection; none commits."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

import asyncpg

from laborcoop.agreements.domain import Agreement
from laborcoop.common.auth import Principal, Role
from laborcoop.common.db import Connection
from laborcoop.contracts.agreements import Terms
from laborcoop.contracts.codes import AgreementStatus

_COLUMNS = (
    "id, status, revision, terms, amendment, signatures, amendment_signatures, ever_proposed,"
    " initiator, kind,"
    " parties, areas, linked_brands, corridors, effective_from, effective_to, version,"
    " created_at, updated_at"
)
_PUBLIC = [AgreementStatus.ACTIVE, AgreementStatus.EXPIRED, AgreementStatus.TERMINATED]


def corridor(origin: str, destination: str) -> str:
    return f"{origin}>{destination}"


def corridor_pattern(origin: str | None, destination: str | None) -> str | None:
    """A LIKE pattern over corridors: both ends, or either end alone."""
    if origin is None and destination is None:
        return None
    return corridor(origin or "%", destination or "%")


def _row(a: Agreement) -> tuple[Any, ...]:
    t = a.terms
    return (
        a.id,
        a.status,
        a.revision,
        t.model_dump(mode="json"),
        a.amendment.model_dump(mode="json") if a.amendment else None,
        _stamps(a.signatures),
        _stamps(a.amendment_signatures),
        a.ever_proposed,
        t.initiator,
        t.kind,
        a.parties,
        list(t.areas),
        list(t.linked_brands),
        sorted({corridor(x.origin, x.destination) for x in t.targets}),
        t.effective_from,
        t.effective_to,
        a.version,
        a.created_at,
        a.updated_at,
    )


def _stamps(signatures: dict[str, datetime]) -> dict[str, str]:
    return {province: at.isoformat() for province, at in signatures.items()}


def _times(stamps: dict[str, str]) -> dict[str, datetime]:
    return {province: datetime.fromisoformat(at) for province, at in stamps.items()}


def _agreement(row: asyncpg.Record) -> Agreement:
    return Agreement(
        id=row["id"],
        status=AgreementStatus(row["status"]),
        revision=row["revision"],
        terms=Terms.model_validate(row["terms"]),
        amendment=Terms.model_validate(row["amendment"]) if row["amendment"] else None,
        signatures=_times(row["signatures"]),
        amendment_signatures=_times(row["amendment_signatures"]),
        ever_proposed=row["ever_proposed"],
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


async def insert(conn: Connection, agreement: Agreement) -> None:
    placeholders = ", ".join(f"${i}" for i in range(1, _COLUMNS.count(",") + 2))
    await conn.execute(
        f"INSERT INTO agreements ({_COLUMNS}) VALUES ({placeholders})", *_row(agreement)
    )


async def update(conn: Connection, agreement: Agreement) -> None:
    assignments = ", ".join(
        f"{column.strip()} = ${i}" for i, column in enumerate(_COLUMNS.split(","), 1)
    )
    await conn.execute(f"UPDATE agreements SET {assignments} WHERE id = $1", *_row(agreement))


async def get(conn: Connection, agreement_id: UUID, *, lock: bool = False) -> Agreement | None:
    suffix = " FOR UPDATE" if lock else ""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM agreements WHERE id = $1{suffix}", agreement_id
    )
    return _agreement(row) if row else None


async def lock_if_free(conn: Connection, agreement_id: UUID) -> Agreement | None:
    """The agreement, locked, unless another transaction holds it (the scheduler skips it)."""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM agreements WHERE id = $1 FOR UPDATE SKIP LOCKED", agreement_id
    )
    return _agreement(row) if row else None


async def due(conn: Connection, today: date, limit: int) -> list[UUID]:
    rows = await conn.fetch(
        """SELECT id FROM agreements
           WHERE (status = 'signed' AND effective_from <= $1)
              OR (status = 'active' AND effective_to < $1)
           ORDER BY id LIMIT $2""",
        today,
        limit,
    )
    return [r["id"] for r in rows]


@dataclass(frozen=True)
class AgreementFilter:
    party: str | None = None
    kind: str | None = None
    status: str | None = None
    area: str | None = None
    brand: UUID | None = None
    corridor: str | None = None
    active_on: date | None = None
    timezone: str = "Asia/Shanghai"


async def search(
    conn: Connection,
    viewer: Principal,
    where: AgreementFilter,
    *,
    after: UUID | None,
    limit: int,
) -> list[Agreement]:
    """Agreements ``viewer`` may see: public ones, drafts it initiated, proposals it is party to."""
    rows = await conn.fetch(
        f"""SELECT {_COLUMNS} FROM agreements
            WHERE (status = ANY($1::text[])
                   OR (status = 'draft' AND initiator = $2)
                   OR (status <> 'draft' AND $2 = ANY(parties)))
              AND ($3::text IS NULL OR $3 = ANY(parties))
              AND ($4::text IS NULL OR kind = $4) AND ($5::text IS NULL OR status = $5)
              AND ($6::text IS NULL OR $6 = ANY(areas))
              AND ($7::uuid IS NULL OR $7 = ANY(linked_brands))
              AND ($8::text IS NULL OR EXISTS (SELECT 1 FROM unnest(corridors) c WHERE c LIKE $8))
              AND ($9::date IS NULL OR (
                    status IN ('active', 'expired', 'terminated')
                    AND effective_from <= $9 AND (effective_to IS NULL OR effective_to >= $9)
                    AND (status <> 'terminated' OR (updated_at AT TIME ZONE $12)::date > $9)))
              AND ($10::uuid IS NULL OR id > $10)
            ORDER BY id LIMIT $11""",
        [str(s) for s in _PUBLIC],
        viewer.province if viewer.has(Role.PROVINCE) and viewer.province else "",
        where.party,
        where.kind,
        where.status,
        where.area,
        where.brand,
        where.corridor,
        where.active_on,
        after,
        limit,
        where.timezone,
    )
    return [_agreement(r) for r in rows]


async def brand_statuses(conn: Connection, brand_ids: Sequence[UUID]) -> dict[UUID, str]:
    rows = await conn.fetch(
        "SELECT brand_id, status FROM brand_copy WHERE brand_id = ANY($1::uuid[])", brand_ids
    )
    return {r["brand_id"]: r["status"] for r in rows}

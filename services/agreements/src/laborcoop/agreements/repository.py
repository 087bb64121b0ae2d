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


@dataclass(frozen=True)
class Corridor:
    """A filter on the corridors of the targets: both ends, or either end alone."""

    origin: str | None
    destination: str | None


def corridor_pattern(origin: str | None, destination: str | None) -> Corridor | None:
    """The corridor filter of a list query, or None when it names neither end."""
    if origin is None and destination is None:
        return None
    return Corridor(origin, destination)


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
    corridor: Corridor | None = None
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
    sql, args = search_query(viewer, where, after=after, limit=limit)
    return [_agreement(r) for r in await conn.fetch(sql, *args)]


_CONDITIONS = {
    "party": "parties @> ARRAY[{}::text]",
    "kind": "kind = {}",
    "status": "status = {}",
    "area": "areas @> ARRAY[{}::text]",
    "brand": "linked_brands @> ARRAY[{}::uuid]",
}
"""The SQL of each equality or containment filter; ``{}`` becomes the value's placeholder.
Containment is written ``@>``, which the GIN indexes of the arrays serve (``= ANY`` is not)."""

_IN_FORCE = (
    "status IN ('active', 'expired', 'terminated')"
    " AND daterange(effective_from, effective_to, '[]') @> {0}::date"
    " AND (status <> 'terminated' OR (updated_at AT TIME ZONE {1})::date > {0})"
)
"""In force on a day (also if it has ended since): ``agreements_in_force`` serves the range."""


class _Conditions:
    """A WHERE clause built from constant templates; values only ever become placeholders."""

    def __init__(self) -> None:
        self.sql: list[str] = []
        self.args: list[Any] = []

    def add(self, template: str, *values: Any) -> None:
        placeholders = []
        for value in values:
            self.args.append(value)
            placeholders.append(f"${len(self.args)}")
        self.sql.append(template.format(*placeholders))


def search_query(
    viewer: Principal, where: AgreementFilter, *, after: UUID | None, limit: int
) -> tuple[str, list[Any]]:
    """The SQL of :func:`search` and its arguments, with a condition only for each filter given.

    A generic ``($3 IS NULL OR kind = $3)`` hides from the planner which filters apply, so a
    cached generic plan never uses their indexes. ``kind`` and ``status`` have indexes in cursor
    order, ``(column, id)``. The others are containment or ranges, served by GIN and GiST
    indexes that cannot return rows in id order: a top-N sort of the matches follows them."""
    own = viewer.province if viewer.has(Role.PROVINCE) and viewer.province else ""
    where_ = _Conditions()
    where_.add(
        "(status = ANY({}::text[]) OR (status = 'draft' AND initiator = {})"
        " OR (status <> 'draft' AND parties @> ARRAY[{}::text]))",
        [str(s) for s in _PUBLIC],
        own,
        own,
    )
    for name, template in _CONDITIONS.items():
        value = getattr(where, name)
        if value is not None:
            where_.add(template, value if isinstance(value, UUID) else str(value))
    _corridor(where_, where.corridor)
    if where.active_on is not None:
        where_.add(_IN_FORCE, where.active_on, where.timezone)
    if after is not None:
        where_.add("id > {}", after)
    where_.args.append(limit)
    return (
        f"SELECT {_COLUMNS} FROM agreements WHERE {' AND '.join(where_.sql)}"
        f" ORDER BY id LIMIT ${len(where_.args)}",
        where_.args,
    )


def _corridor(where: _Conditions, wanted: Corridor | None) -> None:
    """Both ends: the corridor itself (``agreements_corridors``); one end: the origins or the
    destinations of the corridors (the expression indexes of migration 0002)."""
    if wanted is None:
        return
    if wanted.origin is not None and wanted.destination is not None:
        where.add("corridors @> ARRAY[{}::text]", corridor(wanted.origin, wanted.destination))
    elif wanted.origin is not None:
        where.add("corridor_origins(corridors) @> ARRAY[{}::text]", wanted.origin)
    elif wanted.destination is not None:
        where.add("corridor_destinations(corridors) @> ARRAY[{}::text]", wanted.destination)


async def brand_statuses(conn: Connection, brand_ids: Sequence[UUID]) -> dict[UUID, str]:
    rows = await conn.fetch(
        "SELECT brand_id, status FROM brand_copy WHERE brand_id = ANY($1::uuid[])", brand_ids
    )
    return {r["brand_id"]: r["status"] for r in rows}

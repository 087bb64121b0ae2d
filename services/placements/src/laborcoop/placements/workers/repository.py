"""The workers' storage: the table described once, the list query, the audit of reads in the
clear, and the key canaries. Reads take a connection; writes are staged in a unit of work."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from laborcoop.common.db import Connection, Reader
from laborcoop.common.problems import Conflict
from laborcoop.common.store import AggregateStore, Where
from laborcoop.common.table import Table
from laborcoop.placements.protection import key_id_of
from laborcoop.placements.workers.domain import Profile, Sealed, Worker

WORKERS = Table(
    Worker,
    "workers",
    flatten={"sealed": Sealed, "profile": Profile},
    # rotate-keys finds the rows not under the current key by it (workers_sealed_with).
    derived={"sealed_with": lambda w: key_id_of(w.sealed.name)},
)


def _duplicate(worker: Worker) -> Conflict:
    # Says nothing of the other record (not even its province): the caller may not see it.
    return Conflict("a worker with this ID number is already registered", field="resident_id")


WORKER_STORE = AggregateStore(
    WORKERS, noun="worker", conflicts={"workers_one_record_per_person": _duplicate}
)


@dataclass(frozen=True)
class WorkerFilter:
    origin: str
    brand: UUID | None = None
    occupation: str | None = None
    availability: str | None = None


def search_query(where: WorkerFilter, *, after: UUID | None, limit: int) -> tuple[str, list[Any]]:
    """A province's own workers: ``(origin, …, id)`` indexes serve each filter in cursor order;
    ``occupation`` is containment, served by the GIN index and a top-N sort."""
    conditions = (
        Where()
        .always("origin = {}", where.origin)
        .add("brand_id = {}", where.brand)
        .add("availability = {}", where.availability)
        .add("occupations @> ARRAY[{}::text]", where.occupation)
    )
    return WORKER_STORE.page_query(conditions, after=after, limit=limit)


async def search(
    conn: Connection, where: WorkerFilter, *, after: UUID | None, limit: int
) -> list[Worker]:
    sql, args = search_query(where, after=after, limit=limit)
    return [WORKERS.load(r) for r in await conn.fetch(sql, *args)]


@dataclass(frozen=True)
class Read:
    """One read of personal data in the clear."""

    id: int
    worker_id: UUID
    client_id: str
    province: str | None
    fields: tuple[str, ...]
    purpose: str
    read_at: datetime


async def log_read(conn: Connection, worker: Worker, read: Read) -> None:
    await conn.execute(
        """INSERT INTO personal_data_reads
               (worker_id, origin, client_id, province, fields, purpose, read_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        worker.id,
        worker.origin,
        read.client_id,
        read.province,
        list(read.fields),
        read.purpose,
        read.read_at,
    )


def _read(row: asyncpg.Record) -> Read:
    return Read(
        id=row["id"],
        worker_id=row["worker_id"],
        client_id=row["client_id"],
        province=row["province"],
        fields=tuple(row["fields"]),
        purpose=row["purpose"],
        read_at=row["read_at"],
    )


async def reads(conn: Connection, worker_id: UUID, *, after: int | None, limit: int) -> list[Read]:
    rows = await conn.fetch(
        """SELECT id, worker_id, client_id, province, fields, purpose, read_at
           FROM personal_data_reads WHERE worker_id = $1 AND id > $2 ORDER BY id LIMIT $3""",
        worker_id,
        after or 0,
        limit,
    )
    return [_read(r) for r in rows]


async def brand_of_province(conn: Reader, brand_id: UUID) -> tuple[str, str] | None:
    """The (province, status) of a brand in this service's copy of the register."""
    row = await conn.fetchrow(
        "SELECT province, status FROM brand_copy WHERE brand_id = $1", brand_id
    )
    return (row["province"], row["status"]) if row else None


async def placed_with(conn: Connection, worker_id: UUID, province: str) -> bool:
    """Whether ``province`` is the destination of any placement of the worker."""
    found = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM placements WHERE worker_id = $1 AND destination = $2)",
        worker_id,
        province,
    )
    return bool(found)

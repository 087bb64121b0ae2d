"""The ``clients`` table (migration 0003) and its queries."""

from uuid import UUID

from laborcoop.common.db import Connection
from laborcoop.common.store import AggregateStore, Where
from laborcoop.common.table import Table
from laborcoop.gateway.identity.domain import Client

CLIENTS = Table(Client, "clients")
CLIENT_STORE = AggregateStore(CLIENTS, noun="client")


async def page(conn: Connection, *, after: UUID | None, limit: int) -> list[Client]:
    """Up to ``limit`` clients in id order after ``after`` (``clients list``)."""
    return await CLIENT_STORE.page(conn, Where(), after=after, limit=limit)


async def disabled_ids(conn: Connection) -> list[str]:
    """The ids of every disabled client (the gateway refuses their tokens: ``disabled``)."""
    rows = await conn.fetch("SELECT id FROM clients WHERE disabled_at IS NOT NULL")
    return [str(row["id"]) for row in rows]

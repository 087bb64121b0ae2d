"""The asyncpg pool. One request or one message is one transaction, opened at the boundary."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias

import asyncpg
import asyncpg.pool

if TYPE_CHECKING:
    Pool: TypeAlias = asyncpg.Pool[asyncpg.Record]
    Connection: TypeAlias = (
        asyncpg.Connection[asyncpg.Record] | asyncpg.pool.PoolConnectionProxy[asyncpg.Record]
    )
else:  # asyncpg's classes are generic only in its stubs
    Pool = asyncpg.Pool
    Connection = asyncpg.Connection | asyncpg.pool.PoolConnectionProxy


class Reader(Protocol):
    """What a read needs: a connection, or a unit of work (which reads in its transaction)."""

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]: ...

    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None: ...

    async def fetchval(self, sql: str, *args: Any) -> Any: ...


async def _init_connection(conn: asyncpg.Connection[asyncpg.Record]) -> None:
    for json_type in ("json", "jsonb"):
        await conn.set_type_codec(
            json_type, encoder=_dumps, decoder=json.loads, schema="pg_catalog"
        )


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


async def _keep_session(conn: asyncpg.Connection[asyncpg.Record]) -> None:
    """Return a connection to the pool as it is, without asyncpg's reset query.

    asyncpg rolls back an open transaction and drops listeners before calling this either way;
    its default reset would then send ``RESET ALL; UNLISTEN *; CLOSE ALL;
    pg_advisory_unlock_all()``, one more round trip on every request. Nothing here leaves
    session state on a pooled connection: settings are ``SET LOCAL``, locks
    ``pg_advisory_xact_lock``, cursors live in transactions, and what needs a session (the
    relay's leader lock, ``LISTEN``, a rebuild's settings) holds a connection of its own from
    :func:`connect`. Code that sets session state on a pooled connection breaks this rule.
    """


async def create_pool(dsn: str, *, min_size: int = 2, max_size: int = 10) -> Pool:
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        reset=_keep_session,
        server_settings={"application_name": "laborcoop", "timezone": "UTC"},
    )
    assert pool is not None
    return pool


async def connect(dsn: str) -> asyncpg.Connection[asyncpg.Record]:
    """A single connection (for a relay leader's lock or a CLI), with the same codecs."""
    conn: asyncpg.Connection[asyncpg.Record] = await asyncpg.connect(
        dsn, server_settings={"application_name": "laborcoop", "timezone": "UTC"}
    )
    await _init_connection(conn)
    return conn

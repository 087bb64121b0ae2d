"""The pool returns connections without asyncpg's reset query, yet never with a transaction open."""

from laborcoop.common.db import create_pool
from laborcoop.testing.databases import Databases


async def test_a_connection_released_inside_a_transaction_comes_back_outside_it(
    databases: Databases,
) -> None:
    pool = await create_pool(await databases.fresh(), min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            await conn.execute("CREATE TABLE things (id int PRIMARY KEY)")
        conn = await pool.acquire()
        await conn.execute("BEGIN")
        await conn.execute("INSERT INTO things VALUES (1)")
        await pool.release(conn)  # a handler that left without committing
        async with pool.acquire() as again:
            assert not again.is_in_transaction()
            assert await again.fetchval("SELECT count(*) FROM things") == 0
    finally:
        await pool.close()


async def test_a_released_connection_keeps_its_session_and_costs_no_round_trip(
    databases: Databases,
) -> None:
    """Session state survives a release (so none may be set on a pooled connection: see
    ``laborcoop.common.db``), because releasing sends no reset query."""
    pool = await create_pool(await databases.fresh(), min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            await conn.execute("SET application_name = 'left behind'")
        async with pool.acquire() as again:
            assert await again.fetchval("SHOW application_name") == "left behind"
    finally:
        await pool.close()

"""The start-up check of the personal-data keys: a keyless or wrong-key process never serves.

Each key id ever used has a canary in ``personal_data_keys``: a known value sealed with that
key. At start-up every configured key must open its canary (a key written first gets one), and
every key id that sealed a stored value must be configured; otherwise the process stops with a
message naming the key, before it serves a request or runs a worker.

The blind-index key has a canary too (row ``#blind-index``: the index of a fixed value, hex):
a different index key would find no duplicate and register one person twice.
"""

from datetime import datetime
from typing import Final

from laborcoop.common.db import Connection
from laborcoop.common.spec import ServiceContext
from laborcoop.placements.exchange import LabourExchange
from laborcoop.placements.protection import KeyProblem, Keyring
from laborcoop.placements.settings import PlacementsSettings


async def check_keys(context: ServiceContext[PlacementsSettings], use: LabourExchange) -> None:
    async with context.pool.acquire() as conn:
        await verify(conn, use.workers.ring, context.clock())


INDEX_CANARY_ID: Final = "#blind-index"
"""Not a possible key id (``#`` is not allowed in one)."""
_INDEX_CANARY_VALUE: Final = "laborcoop blind-index canary"


async def verify(conn: Connection, ring: Keyring, now: datetime) -> None:
    async with conn.transaction():
        await conn.execute("LOCK TABLE personal_data_keys IN SHARE ROW EXCLUSIVE MODE")
        rows = await conn.fetch("SELECT key_id, canary FROM personal_data_keys")
        canaries: dict[str, str] = {r["key_id"]: r["canary"] for r in rows}
        for key_id in ring.keys:
            if key_id in canaries:
                ring.check_canary(key_id, canaries[key_id])
            else:
                await _add_canary(conn, key_id, ring.canary(key_id), now)
        index_canary = ring.blind_index(_INDEX_CANARY_VALUE).hex()
        if INDEX_CANARY_ID not in canaries:
            await _add_canary(conn, INDEX_CANARY_ID, index_canary, now)
        elif canaries[INDEX_CANARY_ID] != index_canary:
            raise KeyProblem(
                "LABORCOOP_BLIND_INDEX_KEY is not the key the stored blind indexes were made "
                "with: with it a second registration of one person would not be found"
            )
    used = {r["sealed_with"] for r in await conn.fetch(_KEYS_IN_USE)}
    if missing := sorted(used - set(ring.keys)):
        raise KeyProblem(
            f"values sealed with key(s) {', '.join(missing)} are stored, but "
            "LABORCOOP_PERSONAL_DATA_KEYS does not list them"
        )


async def _add_canary(conn: Connection, key_id: str, canary: str, now: datetime) -> None:
    await conn.execute(
        "INSERT INTO personal_data_keys (key_id, canary, created_at) VALUES ($1, $2, $3)",
        key_id,
        canary,
        now,
    )


# A loose index scan of workers_sealed_with: one probe per distinct key id, not a table scan.
_KEYS_IN_USE = """
WITH RECURSIVE used AS (
    (SELECT sealed_with FROM workers ORDER BY sealed_with LIMIT 1)
    UNION ALL
    SELECT (SELECT sealed_with FROM workers WHERE sealed_with > used.sealed_with
            ORDER BY sealed_with LIMIT 1)
    FROM used WHERE used.sealed_with IS NOT NULL
)
SELECT sealed_with FROM used WHERE sealed_with IS NOT NULL
"""

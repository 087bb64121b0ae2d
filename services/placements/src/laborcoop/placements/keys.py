"""The start-up check of the personal-data keys: a keyless or wrong-key process never serves.

Each key id ever used has a canary in ``personal_data_keys``: a known value sealed with that
key. At start-up every configured key must open its canary (a key written first gets one), and
every key id that sealed a stored value must be configured; otherwise the process stops with a
message naming the key, before it serves a request or runs a worker.
"""

from laborcoop.common.db import Connection
from laborcoop.common.spec import ServiceContext
from laborcoop.placements.exchange import LabourExchange
from laborcoop.placements.protection import KeyProblem, Keyring
from laborcoop.placements.settings import PlacementsSettings


async def check_keys(context: ServiceContext[PlacementsSettings], use: LabourExchange) -> None:
    async with context.pool.acquire() as conn:
        await verify(conn, use.workers.ring, context.clock())


async def verify(conn: Connection, ring: Keyring, now: object) -> None:
    async with conn.transaction():
        await conn.execute("LOCK TABLE personal_data_keys IN SHARE ROW EXCLUSIVE MODE")
        rows = await conn.fetch("SELECT key_id, canary FROM personal_data_keys")
        canaries: dict[str, str] = {r["key_id"]: r["canary"] for r in rows}
        for key_id in ring.keys:
            if key_id in canaries:
                ring.check_canary(key_id, canaries[key_id])
            else:
                await conn.execute(
                    "INSERT INTO personal_data_keys (key_id, canary, created_at) "
                    "VALUES ($1, $2, $3)",
                    key_id,
                    ring.canary(key_id),
                    now,
                )
    used = {r["sealed_with"] for r in await conn.fetch(_KEYS_IN_USE)}
    if missing := sorted(used - set(ring.keys)):
        raise KeyProblem(
            f"values sealed with key(s) {', '.join(missing)} are stored, but "
            "LABORCOOP_PERSONAL_DATA_KEYS does not list them"
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

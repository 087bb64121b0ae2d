"""Key rotation: every worker's sealed values moved under the keyring's current key, while the
service keeps serving (``rotate-keys``).

The keyring lists the new key (current) and the old ones; the service, restarted with it, opens
values under any of them and seals new ones under the current key. :func:`rotate` then takes the
rows still under an old key a batch at a time, each batch one transaction:
``SELECT … FOR UPDATE SKIP LOCKED`` (a row a command holds is left for a later batch, and the
command is never kept waiting), :func:`~laborcoop.placements.workers.service.reseal` (open with
the old key, seal with the current one, same row and field as associated data), and one
``UPDATE`` of the batch. A reader sees a row under the old key or the new one, and opens both.

Re-sealing changes how a row is stored, not what it says: the version, ``updated_at`` and the
events are untouched (no ``ETag`` changes, nothing is published). The blind index is not a
sealed value and stays as it is. Once :func:`rotate` reports nothing left under the old keys,
the old keys can be removed from ``LABORCOOP_PERSONAL_DATA_KEYS``.
"""

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from laborcoop.common.db import Pool
from laborcoop.placements.protection import Keyring
from laborcoop.placements.workers.domain import Sealed
from laborcoop.placements.workers.service import reseal

_SEALED: Final = ("name", "resident_id", "phone", "poverty_alleviation", "id_index")
_LOCKED_RETRIES: Final = 50
_LOCKED_PAUSE_S: Final = 0.1

# Index-served: workers_sealed_with (sealed_with, id) under each old key id.
_TAKE: Final = """
SELECT id, name, resident_id, phone, poverty_alleviation, id_index FROM workers
WHERE sealed_with = ANY($1::text[]) LIMIT $2 FOR UPDATE SKIP LOCKED
"""
_UPDATE: Final = """
UPDATE workers AS w
SET name = u.name, resident_id = u.resident_id, phone = u.phone,
    poverty_alleviation = u.poverty_alleviation, sealed_with = $6
FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[])
    AS u(id, name, resident_id, phone, poverty_alleviation)
WHERE w.id = u.id
"""
_LEFT: Final = "SELECT count(*) FROM workers WHERE sealed_with <> $1"


@dataclass(frozen=True)
class Rotation:
    """What :func:`rotate` did: rows re-sealed under ``key_id``, and rows ``left`` under
    another key when it ended (0 unless a process still seals with an old key)."""

    key_id: str
    resealed: int
    left: int


async def left_under_old_keys(pool: Pool, ring: Keyring) -> int:
    """How many workers are sealed under a key other than the ring's current one."""
    left: int = await pool.fetchval(_LEFT, ring.current)
    return left


async def rotate(
    pool: Pool,
    ring: Keyring,
    *,
    batch: int,
    progress: Callable[[int, int], None] | None = None,
) -> Rotation:
    """Re-seal every worker not under ``ring.current``, ``batch`` rows a transaction;
    ``progress(done, total)`` after each batch. Rows sealed under a key the ring does not list
    stop it with :class:`~laborcoop.placements.protection.KeyProblem` (the service's start-up
    check refuses such a ring first)."""
    old = [key_id for key_id in ring.keys if key_id != ring.current]
    total = await left_under_old_keys(pool, ring)
    done = 0
    idle = 0
    while old and idle <= _LOCKED_RETRIES:
        count = await _reseal_batch(pool, ring, old, batch)
        if count:
            done, idle = done + count, 0
            if progress is not None:
                progress(done, max(total, done))
            continue
        if await left_under_old_keys(pool, ring) == 0:
            break
        idle += 1  # the rows left are held by commands: they are short, try again
        await asyncio.sleep(_LOCKED_PAUSE_S)
    return Rotation(ring.current, done, await left_under_old_keys(pool, ring))


async def _reseal_batch(pool: Pool, ring: Keyring, old: list[str], batch: int) -> int:
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(_TAKE, old, batch)
        if not rows:
            return 0
        resealed = [
            (row["id"], reseal(ring, row["id"], Sealed(**{k: row[k] for k in _SEALED})))
            for row in rows
        ]
        await conn.execute(
            _UPDATE,
            [worker_id for worker_id, _ in resealed],
            [s.name for _, s in resealed],
            [s.resident_id for _, s in resealed],
            [s.phone for _, s in resealed],
            [s.poverty_alleviation for _, s in resealed],
            ring.current,
        )
    return len(rows)

"""Activation and expiry on their own: a loop that advances every agreement that is due.

Safe with several replicas: each agreement is advanced in its own transaction under a row lock
taken with ``SKIP LOCKED``, and the aggregate re-checks that it is still due.
"""

import asyncio
import logging
from contextlib import suppress

import asyncpg

from laborcoop.agreements import repository
from laborcoop.agreements.service import Agreements
from laborcoop.common.db import Pool

log = logging.getLogger(__name__)

BATCH = 100


class Scheduler:
    def __init__(self, use: Agreements, pool: Pool, interval_s: float) -> None:
        self._use = use
        self._pool = pool
        self._interval_s = interval_s
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.run_once()
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("scheduler pass failed; retrying", extra={"error": repr(exc)})
            with suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._interval_s)

    async def run_once(self) -> int:
        """Advance what is due today; returns how many agreements changed."""
        changed = 0
        async with self._pool.acquire() as conn:
            due = await repository.due(conn, self._use.today(), BATCH)
        for agreement_id in due:
            async with self._pool.acquire() as conn, conn.transaction():
                changed += await self._use.advance(conn, agreement_id)
        if changed:
            log.info("agreements advanced", extra={"count": changed})
        return changed

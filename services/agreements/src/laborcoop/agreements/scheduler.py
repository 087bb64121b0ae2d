"""Activation and expiry on their own: every pass advances each agreement that is due.

Safe with several replicas: each agreement is advanced in its own unit of work (committed on its
own) under a row lock taken with ``SKIP LOCKED``, and the aggregate re-checks that it is still
due.
"""

import logging

from laborcoop.agreements import repository
from laborcoop.agreements.service import Agreements
from laborcoop.common.db import Pool
from laborcoop.common.periodic import Periodic
from laborcoop.common.unit_of_work import unit_of_work

log = logging.getLogger(__name__)

BATCH = 100


class Scheduler(Periodic):
    def __init__(self, use: Agreements, pool: Pool, interval_s: float) -> None:
        super().__init__(interval_s)
        self._use = use
        self._pool = pool

    async def run_once(self) -> int:
        """Advance what is due today; returns how many agreements changed."""
        changed = 0
        async with self._pool.acquire() as conn:
            due = await repository.due(conn, self._use.today(), BATCH)
        for agreement_id in due:
            try:
                async with unit_of_work(self._pool, self._use.settings) as uow:
                    changed += await self._use.advance(uow, agreement_id)
            except Exception:
                # One agreement that cannot be advanced must not hold up the others.
                log.exception("agreement not advanced", extra={"agreement_id": str(agreement_id)})
        return changed

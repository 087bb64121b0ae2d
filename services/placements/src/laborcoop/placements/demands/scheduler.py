"""Expiry on its own: every pass marks the open demands past their ``open_until`` expired.

Safe with several replicas, as the agreements' scheduler: each demand in its own unit of work
under a row lock taken with ``SKIP LOCKED``, and the aggregate re-checks that it is due.
"""

import logging

from laborcoop.common.db import Pool
from laborcoop.common.periodic import Periodic
from laborcoop.common.unit_of_work import unit_of_work
from laborcoop.placements.demands import repository
from laborcoop.placements.demands.service import Demands
from laborcoop.placements.settings import PlacementsSettings

log = logging.getLogger(__name__)

BATCH = 100


class Expiry(Periodic):
    def __init__(self, use: Demands, pool: Pool, settings: PlacementsSettings) -> None:
        super().__init__(settings.scheduler_interval_s)
        self._use = use
        self._pool = pool
        self._settings = settings

    async def run_once(self) -> int:
        changed = 0
        async with self._pool.acquire() as conn:
            due = await repository.due(conn, self._use.today(), BATCH)
        for demand_id in due:
            try:
                async with unit_of_work(self._pool, self._settings) as uow:
                    changed += await self._use.expire(uow, demand_id)
            except Exception:
                log.exception("demand not expired", extra={"demand_id": str(demand_id)})
        return changed

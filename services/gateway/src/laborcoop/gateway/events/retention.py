"""Keeps the event log within its retention (``LABORCOOP_EVENT_LOG_RETENTION_DAYS``)."""

from datetime import timedelta
from typing import Final

from laborcoop.common.clock import Clock
from laborcoop.common.db import Pool
from laborcoop.common.periodic import Periodic
from laborcoop.common.spec import ServiceContext
from laborcoop.gateway.events import log
from laborcoop.gateway.settings import GatewaySettings
from laborcoop.gateway.subscriptions import repository as deliveries

INTERVAL_S: Final = 3600.0


class LogPruner(Periodic):
    """Deletes events logged longer ago than the retention, and webhook deliveries done with
    that are as old, in batches, every hour. Replicas may prune at once: each batch deletes rows
    the other has not, or none."""

    def __init__(self, pool: Pool, retention: timedelta, clock: Clock) -> None:
        super().__init__(INTERVAL_S)
        self._pool = pool
        self._retention = retention
        self._clock = clock

    async def run_once(self) -> int:
        cutoff = self._clock() - self._retention
        pruned = 0
        for prune in (log.prune, deliveries.prune_finished):
            while True:
                async with self._pool.acquire() as conn:
                    deleted = await prune(conn, cutoff)
                pruned += deleted
                if deleted == 0:
                    break
        return pruned


def log_pruner(context: ServiceContext[GatewaySettings], use: object) -> LogPruner:
    """The gateway's worker keeping the event log within its retention."""
    return LogPruner(
        context.pool, timedelta(days=context.settings.event_log_retention_days), context.clock
    )

"""The background work of a service process, built one way for ``serve`` and the CLI.

:func:`build_workers` makes the set: the outbox relay (``relay``), and the consumers, the
housekeeping and the service's own workers (``consume``). ``serve`` builds both halves and runs
them as tasks beside the API (:meth:`Workers.start`, :meth:`Workers.stop`); the ``relay`` and
``consume`` commands build one half each and run it in the foreground (:meth:`Workers.run`).
"""

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Final, TypeVar

from laborcoop.common.consumer import ConsumerRunner
from laborcoop.common.db import Pool
from laborcoop.common.idempotency import purge_expired
from laborcoop.common.outbox import OutboxRelay
from laborcoop.common.periodic import Periodic
from laborcoop.common.settings import ServiceSettings
from laborcoop.common.spec import ServiceContext, ServiceSpec, Worker

S = TypeVar("S", bound=ServiceSettings)
U = TypeVar("U")

log = logging.getLogger(__name__)

STOP_WAIT_S: Final = 15.0


class Housekeeping(Periodic):
    """Clean-up that is safe on every replica at once (expired idempotency keys)."""

    def __init__(self, settings: ServiceSettings, pool: Pool) -> None:
        super().__init__(settings.housekeeping_interval_s)
        self._settings = settings
        self._pool = pool

    async def run_once(self) -> int:
        return await purge_expired(self._pool, self._settings.idempotency_ttl_hours)


@dataclass
class Workers:
    """The background work of one process: relay, consumers, housekeeping, the service's own."""

    relay: OutboxRelay | None = None
    consumers: list[ConsumerRunner] = field(default_factory=list)
    housekeeping: Housekeeping | None = None
    others: list[Worker] = field(default_factory=list)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    halted_at: float | None = None
    """``time.monotonic()`` of the first :meth:`halt`: the start of the shutdown period."""

    def named(self) -> list[tuple[str, Worker]]:
        relay = [("outbox-relay", self.relay)] if self.relay else []
        housekeeping = [("housekeeping", self.housekeeping)] if self.housekeeping else []
        consumers: list[tuple[str, Worker]] = [("consumer", c) for c in self.consumers]
        others = [("worker", w) for w in self.others]
        return [*relay, *consumers, *housekeeping, *others]

    def start(self) -> None:
        """Run every worker as a task of the current loop (``serve``)."""
        self.tasks = [asyncio.create_task(w.run(), name=name) for name, w in self.named()]

    def halt(self) -> None:
        """Ask every worker to finish (each ends after the work in hand: the relay its batch,
        a consumer its batch and offset commit)."""
        if self.halted_at is None:
            self.halted_at = time.monotonic()
        for _, worker in self.named():
            worker.stop()

    async def stop(self, within_s: float = STOP_WAIT_S) -> None:
        """Halt, wait for the tasks until ``within_s`` after the first halt (``serve`` halts
        them when its shutdown begins: ``laborcoop.common.serving``), then cancel what is left."""
        self.halt()
        assert self.halted_at is not None
        remaining = max(0.0, self.halted_at + within_s - time.monotonic())
        if not self.tasks:
            return
        _, late = await asyncio.wait(self.tasks, timeout=remaining)
        if late:
            log.warning(
                "workers still running at the end of the shutdown period; cancelled",
                extra={"workers": sorted(t.get_name() for t in late), "within_s": within_s},
            )
        for task in late:
            task.cancel()
        if late:  # let them unwind (a task that swallows the cancellation is left behind)
            await asyncio.wait(late, timeout=1.0)

    async def run(self) -> None:
        """Run every worker in the foreground until all have ended (the CLI; a signal halts)."""
        await asyncio.gather(*(w.run() for _, w in self.named()))


def build_workers(
    spec: ServiceSpec[S, U],
    context: ServiceContext[S],
    use_cases: U,
    *,
    relay: bool = True,
    consume: bool = True,
) -> Workers:
    """The one builder of a process's background work (see the module docstring)."""
    settings, pool = context.settings, context.pool
    if not consume:
        return Workers(relay=OutboxRelay(settings, pool) if relay else None)
    return Workers(
        relay=OutboxRelay(settings, pool) if relay else None,
        consumers=[ConsumerRunner(settings, pool, s) for s in spec.subscriptions],
        housekeeping=Housekeeping(settings, pool),
        others=[make(context, use_cases) for make in spec.workers],
    )

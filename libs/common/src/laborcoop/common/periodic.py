"""A loop that does one pass of work every interval until stopped (schedulers, clean-ups)."""

import asyncio
import logging
from abc import ABC, abstractmethod
from contextlib import suppress

import asyncpg

log = logging.getLogger(__name__)


class Periodic(ABC):
    """Runs :meth:`run_once` every ``interval_s``; a database failure is logged and retried."""

    def __init__(self, interval_s: float) -> None:
        self._interval_s = interval_s
        self._stopping = asyncio.Event()

    @abstractmethod
    async def run_once(self) -> int:
        """One pass; returns how many things it changed."""

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                changed = await self.run_once()
                if changed:
                    log.info(
                        "periodic pass", extra={"worker": type(self).__name__, "changed": changed}
                    )
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning(
                    "periodic pass failed; retrying",
                    extra={"worker": type(self).__name__, "error": repr(exc)},
                )
            with suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._interval_s)

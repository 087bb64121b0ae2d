"""A loop that does one pass of work every interval until stopped (schedulers, clean-ups)."""

import asyncio
import logging
from abc import ABC, abstractmethod
from contextlib import suppress

log = logging.getLogger(__name__)


class Periodic(ABC):
    """Runs :meth:`run_once` every ``interval_s``; a failed pass is logged and retried."""

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
            except Exception:
                # A failed pass is retried at the next interval: an error never ends the loop.
                log.exception(
                    "periodic pass failed; retrying", extra={"worker": type(self).__name__}
                )
            with suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._interval_s)

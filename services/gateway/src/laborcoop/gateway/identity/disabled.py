"""The clients this replica refuses at once: the disabled ones, read from the clients table.

A disabled client gets no new token (``Identity.issue``), and the tokens it already holds are
refused too: the gateway keeps the ids of the disabled clients in memory and refuses a request
whose token names one of them with a 401 (``laborcoop.gateway.admission``). The set is read once
at start-up (``ServiceSpec.check``: a gateway that cannot read it does not serve) and again in
the background once it is ``refresh_s`` old, when a request asks — so ``clients disable`` takes
effect on every replica within ``LABORCOOP_DISABLED_CLIENTS_REFRESH_S``, and a request never
waits for the database. A refresh that fails keeps the last set (logged) and is tried again an
interval later: a database outage does not stop the gateway from serving.

The other services verify tokens without asking anyone, so the refusal holds only for requests
that come through the gateway, which is the only public entry.
"""

import asyncio
import logging
import time
from collections.abc import Callable
from contextlib import suppress

from laborcoop.common.db import Pool
from laborcoop.gateway.identity.repository import disabled_ids

log = logging.getLogger(__name__)


class DisabledClients:
    """The ids of the disabled clients as last read; ``client_id in disabled`` asks."""

    def __init__(
        self, pool: Pool, refresh_s: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._pool = pool
        self._refresh_s = refresh_s
        self._clock = clock
        self._ids: frozenset[str] = frozenset()
        self._read_at = -float("inf")
        self._refreshing: asyncio.Task[None] | None = None

    async def load(self) -> None:
        """Read the set now (at start-up; an error stops the start)."""
        async with self._pool.acquire() as conn:
            ids = await disabled_ids(conn)
        self._ids = frozenset(ids)
        self._read_at = self._clock()

    def __contains__(self, client_id: object) -> bool:
        """Whether ``client_id`` was disabled when the set was last read; starts a refresh in
        the background when the set is older than the interval (none while one runs)."""
        if self._refreshing is None and self._clock() - self._read_at >= self._refresh_s:
            self._refreshing = asyncio.get_running_loop().create_task(self._refresh())
        return client_id in self._ids

    async def _refresh(self) -> None:
        try:
            await self.load()
        except Exception:  # any failure: keep serving with the last set, retry an interval on
            self._read_at = self._clock()
            log.warning("could not read the disabled clients; keeping the last set", exc_info=True)
        finally:
            self._refreshing = None

    async def aclose(self) -> None:
        """Stop a refresh under way (at shutdown, before the pool closes)."""
        task = self._refreshing
        if task is not None:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task

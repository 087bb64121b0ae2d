"""Wake readers of the event log when it grows, from one LISTEN connection per process.

Every stream and every delivery worker of a process waits on one :class:`LogWakeup` instead of
holding a connection each: a single asyncpg connection listens on the log's channel and wakes
all waiters on each notification. A notification is only a hint: waiters re-read the log after
it, and :meth:`LogWakeup.wait` returns after ``timeout_s`` anyway, so a lost connection (it is
re-opened on the next wait) or a missed notification delays a reader by at most that long.
"""

import asyncio
import logging
from contextlib import suppress
from typing import Final

import asyncpg

from laborcoop.common.db import connect
from laborcoop.gateway.events.log import CHANNEL

log = logging.getLogger(__name__)

RECONNECT_S: Final = 1.0


class LogWakeup:
    """``await wait(timeout_s)`` returns when the log grew (or after ``timeout_s``)."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._grew = asyncio.Event()
        self._conn: asyncpg.Connection[asyncpg.Record] | None = None
        self._connecting = asyncio.Lock()
        self._failed_at = float("-inf")

    async def wait(self, timeout_s: float) -> bool:
        """True when a notification arrived since the last one handed out, False on timeout."""
        await self._listening()
        grew = self._grew
        with suppress(TimeoutError):
            await asyncio.wait_for(grew.wait(), timeout_s)
            return True
        return False

    async def aclose(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await _close_quietly(conn)

    async def _listening(self) -> None:
        """Open the listening connection if it is not open (not more than once a second after a
        failure: a database that is down is not hammered by every waiter)."""
        if self._conn is not None and not self._conn.is_closed():
            return
        loop = asyncio.get_running_loop()
        async with self._connecting:
            if self._conn is not None and not self._conn.is_closed():
                return
            if loop.time() - self._failed_at < RECONNECT_S:
                return
            try:
                conn = await connect(self._dsn)
            except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
                self._unavailable(loop.time(), exc)
                return
            try:
                await conn.add_listener(CHANNEL, self._on_notify)
            except BaseException as exc:  # failed or cancelled: the connection is not kept
                await _close_quietly(conn)
                if not isinstance(exc, Exception):
                    raise
                self._unavailable(loop.time(), exc)
                return
            conn.add_termination_listener(self._on_lost)
            self._conn = conn

    def _unavailable(self, now: float, error: Exception) -> None:
        self._failed_at = now
        log.warning("event log listener unavailable", extra={"error": repr(error)})

    def _on_notify(self, *_: object) -> None:
        """Wake everyone waiting now; later waiters wait for the next notification."""
        grew, self._grew = self._grew, asyncio.Event()
        grew.set()

    def _on_lost(self, *_: object) -> None:
        self._conn = None
        self._on_notify()  # waiters re-read the log, then wait on the re-opened connection


async def _close_quietly(conn: "asyncpg.Connection[asyncpg.Record]") -> None:
    with suppress(Exception):
        await conn.close()

"""One stream's events as server-sent-event frames: read the log in batches, wait for it to grow.

The loop holds no pooled connection between reads: each batch is read with a connection taken
from the pool and given back before the frames are sent, and the wait for more is on the
process's one listener (:class:`~laborcoop.gateway.events.wakeup.LogWakeup`). It ends when

- its lifetime is over (``max_lifetime_s``: the client reconnects with ``Last-Event-ID``),
- it must end now (:attr:`Held.ended`: the process shuts down),
- its client was disabled (its tokens are refused from then on; so is its stream), or
- the log cannot be read (the database is unavailable): the stream ends rather than fail
  mid-response, logged as a warning; the client reconnects with ``Last-Event-ID``.

A client that leaves ends it too: the server cancels the response.

Between events a ``: heartbeat`` comment goes out whenever nothing was sent for
``heartbeat_s``, so an idle stream is not cut by a proxy, and a client that left is noticed.
"""

import asyncio
import logging
import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, Final

import asyncpg

from laborcoop.common.db import Pool
from laborcoop.gateway import metrics
from laborcoop.gateway.events import log as event_log
from laborcoop.gateway.events.log import LoggedEvent
from laborcoop.gateway.events.wakeup import LogWakeup
from laborcoop.gateway.stream.query import Selection
from laborcoop.gateway.stream.streams import Held

BATCH: Final = 500
"""Events read per query; a full batch is followed by the next at once, without waiting."""
HEARTBEAT: Final = b": heartbeat\n\n"
_LINE_BREAK: Final = re.compile(r"\r\n|\r|\n")

UNREADABLE: Final = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError)
"""What reading the log raises while the database is unavailable."""

logger = logging.getLogger(__name__)


def retry_frame(retry_s: float) -> bytes:
    """The reconnection delay the client should wait (``retry:``, in milliseconds)."""
    return f"retry: {round(retry_s * 1000)}\n\n".encode()


def event_frame(event: LoggedEvent) -> bytes:
    """``id:`` the CloudEvent id, ``data:`` the CloudEvent as the log holds it (one line of
    compact JSON; a line break, which compact JSON never has, would start a further ``data:``
    line, which the client joins back with a line feed)."""
    data = "".join(f"data: {line}\n" for line in _LINE_BREAK.split(event.envelope))
    return f"id: {event.event_id}\n{data}\n".encode()


@dataclass(frozen=True)
class Timing:
    heartbeat_s: float
    max_lifetime_s: float


@dataclass
class Feed:
    """The frames of one stream, from the position ``after`` on."""

    pool: Pool
    wakeup: LogWakeup
    selection: Selection
    held: Held
    timing: Timing
    disabled: Callable[[], bool]
    """True once the stream's client is disabled."""

    async def frames(self, after: int, retry_s: float) -> AsyncIterator[bytes]:
        ended = asyncio.ensure_future(self.held.ended.wait())
        try:
            yield retry_frame(retry_s)
            async for frame in self._follow(after, ended):
                yield frame
        finally:
            ended.cancel()

    async def _follow(self, cursor: int, ended: asyncio.Future[Any]) -> AsyncIterator[bytes]:
        clock = time.monotonic
        end_at = clock() + self.timing.max_lifetime_s
        sent_at = clock()
        while not self._must_end(ended):
            now = clock()
            if now >= end_at:
                return
            if now - sent_at >= self.timing.heartbeat_s:
                yield HEARTBEAT
                sent_at = now
            # Listen before reading: a notification of a commit after the read's snapshot is
            # then heard, where one between the read and a later wait would be missed.
            timeout_s = min(sent_at + self.timing.heartbeat_s, end_at) - now
            grew = asyncio.ensure_future(self.wakeup.wait(timeout_s))
            try:
                try:
                    batch, cursor, more = await self._read(cursor)
                except UNREADABLE as exc:
                    logger.warning(
                        "event stream ended: the log could not be read", extra={"error": repr(exc)}
                    )
                    return
                for event in batch:
                    yield event_frame(event)
                    metrics.STREAM_EVENTS.inc()
                if batch:
                    sent_at = clock()
                if not more:
                    either: set[asyncio.Future[Any]] = {grew, ended}
                    await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
            finally:
                await _cancelled(grew)

    def _must_end(self, ended: asyncio.Future[Any]) -> bool:
        return ended.done() or self.disabled()

    async def _read(self, cursor: int) -> tuple[list[LoggedEvent], int, bool]:
        """The next batch the stream carries, the position read up to (past the events it
        narrowed away, so they are not read again), and whether more may follow at once."""
        selection = self.selection
        async with self.pool.acquire() as conn:
            rows = await event_log.read_after(
                conn, cursor, selection.audience, patterns=selection.types, limit=BATCH
            )
        if rows:
            cursor = rows[-1].position
        carried = [row for row in rows if selection.narrows_to(row.provinces)]
        return carried, cursor, len(rows) == BATCH


async def _cancelled(task: "asyncio.Future[Any]") -> None:
    if not task.done():
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task

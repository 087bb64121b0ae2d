"""The event streams open in this process: how many each client holds, and their end at shutdown.

A client may hold ``per_client`` streams at once in one process (the replica's memory, like the
rate limit: N replicas allow N times as many); :meth:`OpenStreams.open` refuses the next one.
Each open stream is a :class:`Held` slot whose :attr:`Held.ended` is set when the process shuts
down (:meth:`OpenStreams.stop`); a client that leaves ends its stream through the server (the
response is cancelled), which gives the slot back as well.

``OpenStreams`` is also a worker of the gateway (``ServiceSpec.workers``), because ``serve``
halts the workers as soon as its shutdown begins: uvicorn waits for the responses in flight for
up to ``LABORCOOP_SHUTDOWN_GRACE_S``, and a stream, which never finishes by itself, must end
then rather than hold the shutdown for the whole period.
"""

import asyncio
from collections import Counter
from dataclasses import dataclass, field

from laborcoop.gateway import metrics


@dataclass(eq=False)
class Held:
    """One open stream of ``client_id``."""

    client_id: str
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    """Set when the stream must end now: the process shuts down."""


class StreamsExhausted(Exception):
    """The client already holds as many streams as it may."""


class Draining(Exception):
    """The process is shutting down: it opens no stream."""


class OpenStreams:
    """The streams of one process, at most ``per_client`` per client."""

    def __init__(self, per_client: int) -> None:
        self._per_client = per_client
        self._held: set[Held] = set()
        self._counts: Counter[str] = Counter()
        self._draining = asyncio.Event()

    def open(self, client_id: str) -> Held:
        """A slot for a new stream of ``client_id``; :meth:`close` it when the stream ends."""
        if self._draining.is_set():
            raise Draining
        if self._counts[client_id] >= self._per_client:
            raise StreamsExhausted
        held = Held(client_id)
        self._held.add(held)
        self._counts[client_id] += 1
        metrics.STREAMS_OPEN.inc()
        return held

    def close(self, held: Held) -> None:
        if held in self._held:
            self._held.remove(held)
            metrics.STREAMS_OPEN.dec()
            self._counts[held.client_id] -= 1
            if not self._counts[held.client_id]:
                del self._counts[held.client_id]

    def held_by(self, client_id: str) -> int:
        return self._counts[client_id]

    async def run(self) -> None:
        """As a worker: nothing to do but wait for the shutdown."""
        await self._draining.wait()

    def stop(self) -> None:
        """The shutdown began: every open stream ends now, and no new one opens."""
        self._draining.set()
        for held in self._held:
            held.ended.set()

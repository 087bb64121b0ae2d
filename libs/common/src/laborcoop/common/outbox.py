"""The transactional outbox and its relay (docs/design.md §5).

A command's events reach the outbox in the statement that writes the command's rows
(:func:`laborcoop.common.unit_of_work.event_writes`); nothing reaches Kafka before commit.
:class:`OutboxRelay` publishes committed rows in id order: one replica at a time holds an advisory
lock and relays; it wakes on ``NOTIFY`` and polls as a fallback; it deletes rows only after the
broker acknowledged them, so a broker outage delays events and never loses or fails a write.
"""

import asyncio
import logging
import zlib
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, Final

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError, KafkaError
from opentelemetry import trace

from laborcoop.common import metrics
from laborcoop.common.db import Pool, connect
from laborcoop.common.kafka import ensure_topics, new_producer
from laborcoop.common.logging import (
    BROKER_ERROR,
    broker_reachable,
    on_broker_failure,
)
from laborcoop.common.settings import ServiceSettings
from laborcoop.common.telemetry import (
    context_from_traceparent,
    current_traceparent,
    traceparent_of,
    tracer,
)
from laborcoop.contracts.envelope import CONTENT_TYPE, CloudEvent
from laborcoop.contracts.events import all_specs, spec_for

log = logging.getLogger(__name__)

CHANNEL: Final = "laborcoop_outbox"  # notified by the outbox_notify trigger
CONTENT_TYPE_HEADER: Final = "content-type"
CONTENT_TYPE_VALUE: Final = CONTENT_TYPE.encode()


@dataclass(frozen=True)
class OutboxColumns:
    """The outbox columns of a set of events, one array per column (for ``unnest``)."""

    event_ids: list[str]
    topics: list[str]
    keys: list[str]
    types: list[str]
    values: list[bytes]
    traceparents: list[str | None]


def outbox_columns(settings: ServiceSettings, events: Sequence[CloudEvent]) -> OutboxColumns:
    """The rows for ``events``: physical topic, key = subject, the envelope carrying the current
    trace context."""
    traceparent = current_traceparent()
    columns = OutboxColumns([], [], [], [], [], [])
    for event in events:
        spec = spec_for(event.type)
        if spec is None:
            raise ValueError(f"unregistered event type {event.type}")
        if event.traceparent is None and traceparent is not None:
            event = event.model_copy(update={"traceparent": traceparent})  # noqa: PLW2901
        columns.event_ids.append(event.id)
        columns.topics.append(settings.topic(spec.topic))
        columns.keys.append(event.subject)
        columns.types.append(event.type)
        columns.values.append(event.to_json_bytes())
        columns.traceparents.append(event.traceparent)
    return columns


INSERT_OUTBOX = """INSERT INTO outbox (event_id, topic, key, event_type, value, traceparent)
    SELECT * FROM unnest({event_ids}::uuid[], {topics}::text[], {keys}::text[],
                         {types}::text[], {values}::bytea[], {traceparents}::text[])"""


class OutboxRelay:
    def __init__(self, settings: ServiceSettings, pool: Pool) -> None:
        self._settings = settings
        self._pool = pool
        self._service = settings.service_name
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._lock_lost = asyncio.Event()
        self._interrupted = asyncio.Event()  # stopping or lock lost: ends a pause
        self._broker_failed = asyncio.Event()
        self.is_leader = False
        self._lock_key = zlib.crc32(f"laborcoop.relay.{self._service}".encode())
        self._topics = sorted({s.topic for s in all_specs() if s.service == self._service})

    def stop(self) -> None:
        self._stopping.set()
        self._interrupted.set()
        self._wake.set()

    async def run(self) -> None:
        """Relay until stopped; while another replica leads, stand by and retry the lock on the
        same connection (a lost connection is opened again)."""
        while not self._stopping.is_set():
            try:
                await self._stand_by_then_lead()
            except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
                log.warning("relay interrupted; retrying", extra={"error": repr(exc)})
            metrics.RELAY_LEADER.labels(self._service).set(0)
            await self._sleep(self._settings.relay_poll_interval_s)

    async def _stand_by_then_lead(self) -> None:
        conn = await connect(self._settings.database_url.get_secret_value())
        try:
            while not self._stopping.is_set():
                if await conn.fetchval("SELECT pg_try_advisory_lock($1)", self._lock_key):
                    await self._lead(conn)
                    return
                await self._sleep(self._settings.relay_poll_interval_s)
        finally:
            with suppress(Exception):
                await conn.close()

    async def _lead(self, conn: "asyncpg.Connection[asyncpg.Record]") -> None:
        """Relay while this connection holds the lock. The lock dies with the connection, so
        losing it (a terminated backend, a network cut) ends the leadership at once."""
        metrics.RELAY_LEADER.labels(self._service).set(1)
        self.is_leader = True
        self._lock_lost.clear()
        if not self._stopping.is_set():
            self._interrupted.clear()
        conn.add_termination_listener(self._on_lock_lost)
        stop_listening = on_broker_failure(self._broker_failed.set)
        try:
            await conn.add_listener(CHANNEL, self._on_notify)
            await self._relay_while_leader()
        finally:
            stop_listening()
            self.is_leader = False

    def _on_lock_lost(self, *_: object) -> None:
        if self._stopping.is_set():  # the relay closed it itself, stopping: nothing was lost
            return
        log.warning("relay lost its lock connection; standing down")
        self._lock_lost.set()
        self._interrupted.set()
        self._wake.set()

    def _on_notify(self, *_: object) -> None:
        self._wake.set()

    async def _relay_while_leader(self) -> None:
        producer: AIOKafkaProducer | None = None
        try:
            while not self._stopping.is_set() and not self._lock_lost.is_set():
                if producer is None:
                    producer = await self._start_producer()
                    if producer is None:
                        continue
                try:
                    relayed = await self.drain(producer)
                except Exception as exc:
                    log.warning(
                        "publishing failed; rows kept",
                        extra={"error": repr(exc), BROKER_ERROR: isinstance(exc, KafkaError)},
                    )
                    await _abandon(producer)
                    producer = None
                    await self._pause(self._settings.relay_poll_interval_s)
                    continue
                if relayed:
                    broker_reachable()  # the broker acknowledged: an outage, if any, is over
                else:
                    await self._sleep(self._settings.relay_poll_interval_s)
        finally:
            if producer is not None:
                await _stop_quietly(producer)

    async def _start_producer(self) -> AIOKafkaProducer | None:
        producer = new_producer(self._settings, client_id=f"{self._service}-relay")
        try:
            await producer.start()
            if self._topics:
                await ensure_topics(self._settings, self._topics)
        except Exception as exc:
            log.warning(
                "kafka unavailable; outbox keeps events",
                extra={"error": repr(exc), BROKER_ERROR: True},
            )
            await _stop_quietly(producer)
            await self._pause(self._settings.relay_poll_interval_s)
            return None
        broker_reachable()  # the producer bootstrapped from the broker
        return producer

    async def _pause(self, seconds: float) -> None:
        """Wait after a broker failure: new rows do not cut it short (under load they would
        turn the retries into a tight loop), only stopping or losing the lock does."""
        with suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._interrupted.wait(), seconds)

    async def _sleep(self, seconds: float) -> None:
        self._wake.clear()
        with suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)

    async def drain(self, producer: AIOKafkaProducer) -> int:
        """Publish every pending row, batch by batch; returns how many were published.

        While the broker acknowledges one batch, the next is read; rows are deleted only after
        their batch was acknowledged, and if any send fails nothing of that batch is deleted.
        """
        total = 0
        deleting: asyncio.Task[None] | None = None
        rows = await self._fetch(after_id=0)
        try:
            while rows and not self._stopping.is_set() and not self._lock_lost.is_set():
                self._broker_failed.clear()
                acks = [await self._send(producer, row) for row in rows]
                fetching = asyncio.create_task(self._fetch(after_id=rows[-1]["id"]))
                try:
                    await self._acknowledged(acks)
                except BaseException:
                    fetching.cancel()
                    raise
                if deleting is not None:
                    await deleting
                deleting = asyncio.create_task(self._delete(rows))
                total += len(rows)
                rows = await fetching
        finally:
            if deleting is not None:
                await deleting
        await self.report_backlog()
        return total

    async def _acknowledged(self, acks: "list[asyncio.Future[object]]") -> None:
        """Wait until the broker acknowledged every send; give up (rows kept) as soon as the
        Kafka client reports a failure, rather than while it retries until the timeout."""
        every_ack: asyncio.Future[list[object]] = asyncio.gather(*acks)
        failure: asyncio.Future[object] = asyncio.ensure_future(self._broker_failed.wait())
        watched: set[asyncio.Future[Any]] = {every_ack, failure}
        try:
            await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
        finally:
            failure.cancel()
        if not every_ack.done():
            every_ack.cancel()
            with suppress(asyncio.CancelledError, KafkaError):
                await every_ack
            raise KafkaConnectionError("the kafka client reported a failure; batch given up")
        every_ack.result()

    async def _fetch(self, *, after_id: int) -> list[asyncpg.Record]:
        return await self._pool.fetch(
            "SELECT id, topic, key, event_type, event_id::text AS event_id, value, traceparent"
            " FROM outbox WHERE id > $1 ORDER BY id LIMIT $2",
            after_id,
            self._settings.relay_batch_size,
        )

    async def _delete(self, rows: Sequence[asyncpg.Record]) -> None:
        await self._pool.execute(
            "DELETE FROM outbox WHERE id = ANY($1::bigint[])", [r["id"] for r in rows]
        )
        metrics.OUTBOX_RELAYED.labels(self._service).inc(len(rows))

    async def _send(
        self, producer: AIOKafkaProducer, row: asyncpg.Record
    ) -> "asyncio.Future[object]":
        """Hand one row to the producer inside a PRODUCER span; returns its delivery future."""
        span = tracer().start_span(
            f"send {row['topic']}",
            context=context_from_traceparent(row["traceparent"]),
            kind=trace.SpanKind.PRODUCER,
            attributes={
                "messaging.system": "kafka",
                "messaging.destination.name": row["topic"],
                "messaging.message.id": row["event_id"],
            },
        )
        try:
            headers = [
                ("ce_type", row["event_type"].encode()),
                ("ce_id", row["event_id"].encode()),
                (CONTENT_TYPE_HEADER, CONTENT_TYPE_VALUE),
            ]
            traceparent = traceparent_of(span) or row["traceparent"]
            if traceparent:
                headers.append(("traceparent", traceparent.encode()))
            future: asyncio.Future[object] = await producer.send(
                row["topic"], value=row["value"], key=row["key"].encode(), headers=headers
            )
            return future
        finally:
            span.end()

    async def report_backlog(self) -> None:
        row = await self._pool.fetchrow(
            "SELECT count(*) AS n, coalesce(extract(epoch FROM now() - min(created_at)), 0) AS age"
            " FROM outbox"
        )
        assert row is not None
        metrics.OUTBOX_BACKLOG.labels(self._service).set(row["n"])
        metrics.OUTBOX_OLDEST_AGE.labels(self._service).set(float(row["age"]))


async def _stop_quietly(producer: AIOKafkaProducer) -> None:
    with suppress(Exception):
        await producer.stop()


async def _abandon(producer: AIOKafkaProducer) -> None:
    """Close a producer whose sends were given up, at once.

    ``stop()`` first flushes what is pending, and while the broker is down aiokafka's sender
    retries that flush in a tight loop until the request timeout (its own issue #496). The rows
    stay in the outbox, so the pending sends are worth nothing: failing them first lets the flush,
    and so ``stop()``, end at once. (A private attribute: without it this is a plain ``stop()``.)
    """
    accumulator = getattr(producer, "_message_accumulator", None)
    if accumulator is not None:
        accumulator.fail_all(KafkaConnectionError("the relay gave these sends up; rows kept"))
    await _stop_quietly(producer)

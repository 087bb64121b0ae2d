"""The consumer runner: exactly-once effect over at-least-once delivery (docs/design.md §5).

For each record: decode the CloudEvent; skip (and count) unknown types; in one database transaction
record the event id in ``inbox`` and apply the handler — a redelivered id changes nothing. Offsets
are committed only after the database commit. A record that cannot be decoded, or whose handler
still fails after ``consumer_max_attempts`` tries with backoff, goes to ``laborcoop.dlq.<group>``
with headers naming the error, the original topic, partition, offset and attempts; the consumer
moves on. Failures of the database itself (connection lost, serialization conflicts) are not the
event's fault: the runner holds the partition and retries until they pass.
:meth:`ConsumerRunner.stop` finishes the batch in hand, commits, and leaves the group.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field, replace
from typing import Final, TypeVar

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError
from opentelemetry import trace
from pydantic import ValidationError

from laborcoop.common import metrics
from laborcoop.common.db import Connection, Pool
from laborcoop.common.kafka import ensure_topics, new_producer
from laborcoop.common.logging import BROKER_ERROR, broker_reachable
from laborcoop.common.settings import ServiceSettings
from laborcoop.common.telemetry import context_from_headers, tracer
from laborcoop.contracts import topics
from laborcoop.contracts.envelope import CloudEvent
from laborcoop.contracts.events import EventPayload

log = logging.getLogger(__name__)

P = TypeVar("P", bound=EventPayload)

Handler = Callable[[Connection, CloudEvent, P], Awaitable[None]]
"""Applies one event, with its payload read as ``P``, inside the runner's transaction.

Raise to retry; never commit."""

Apply = Callable[[Connection], Awaitable[None]]
"""One event's handler with its event and payload bound: what the runner retries."""

Binder = Callable[[CloudEvent], Apply]
"""Reads an event's ``data`` into the payload class its handler takes (``ValidationError`` when it
does not match) and binds the handler to it. Made by :meth:`Subscription.handle`, which keeps the
payload class and the handler's parameter the same type, so no handler narrows its payload."""

DLQ_HEADERS: Final = ("dlq_error", "dlq_topic", "dlq_partition", "dlq_offset", "dlq_attempts")
TRANSIENT_RETRY_S: Final = 1.0
CLIENT_RETRY_BACKOFF_MS: Final = 500
TRANSIENT_ERRORS: Final = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.SerializationError,
    asyncpg.DeadlockDetectedError,
)
"""Failures of the infrastructure, retried without limit instead of dead-lettering the event."""


class UndecodableRecord(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Subscription:
    """What one consumer group reads and how it applies each event type.

    Handlers are added with :meth:`handle`, one payload class each; ``handlers`` maps each event
    type to its :data:`Binder`."""

    group: str
    topics: Sequence[str]
    handlers: Mapping[str, Binder] = field(default_factory=dict)

    def handle(self, kind: type[P], handler: Handler[P]) -> "Subscription":
        """This subscription, with events of ``kind`` applied by ``handler``.

        ``handler`` receives the payload as ``kind`` (or any base class it accepts), checked by the
        type checker rather than at run time."""

        def bind(event: CloudEvent) -> Apply:
            payload = kind.model_validate(event.data)
            return lambda conn: handler(conn, event, payload)

        return replace(self, handlers={**self.handlers, kind.event_type: bind})

    def handle_each(self, kinds: Iterable[type[P]], handler: Handler[P]) -> "Subscription":
        """This subscription, with events of every one of ``kinds`` applied by ``handler``."""
        subscription = self
        for kind in kinds:
            subscription = subscription.handle(kind, handler)
        return subscription


class ConsumerRunner:
    def __init__(self, settings: ServiceSettings, pool: Pool, subscription: Subscription) -> None:
        self._settings = settings
        self._pool = pool
        self._sub = subscription
        self._group = settings.topic(subscription.group)
        self._dlq_topic = settings.topic(topics.dead_letter(subscription.group))
        self._stopping = asyncio.Event()
        self.after_db_commit: Callable[[CloudEvent], Awaitable[None]] | None = None
        """Observer called after an event's transaction committed, before the offset commit."""

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        """Consume until stopped, reconnecting while Kafka is unavailable."""
        while not self._stopping.is_set():
            try:
                await self._consume_session()
            except Exception as exc:
                if self._stopping.is_set():
                    break
                log.warning(
                    "consumer interrupted; reconnecting",
                    extra={
                        "group": self._group,
                        "error": repr(exc),
                        BROKER_ERROR: isinstance(exc, KafkaError),
                    },
                )
                with suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), 1.0)

    async def _consume_session(self) -> None:
        await ensure_topics(
            self._settings, [*self._sub.topics, topics.dead_letter(self._sub.group)]
        )
        consumer = AIOKafkaConsumer(
            *(self._settings.topic(t) for t in self._sub.topics),
            bootstrap_servers=self._settings.kafka_bootstrap,
            group_id=self._group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            # While the broker is down the client retries fetches, coordinator look-ups and
            # metadata every retry_backoff; aiokafka's 100 ms makes that dozens of connection
            # attempts (and error records) a second per consumer.
            retry_backoff_ms=CLIENT_RETRY_BACKOFF_MS,
        )
        dlq = new_producer(self._settings, client_id=f"{self._group}-dlq")
        await consumer.start()
        committing: asyncio.Task[None] | None = None
        try:
            await dlq.start()
            broker_reachable()  # both clients bootstrapped from the broker
            while not self._stopping.is_set():
                batch = await consumer.getmany(timeout_ms=500, max_records=500)
                if not batch:
                    continue
                offsets = {}
                for partition, records in batch.items():
                    for record in records:
                        await self._process(dlq, record)
                    offsets[partition] = records[-1].offset + 1
                if committing is not None:
                    await committing  # one commit at a time, in order; its failure ends here
                committing = asyncio.create_task(_commit(consumer, offsets))
        finally:
            if committing is not None:
                with suppress(Exception):
                    await committing  # what was applied is committed before leaving the group
            await dlq.stop()
            await consumer.stop()

    async def _process(self, dlq: AIOKafkaProducer, record: ConsumerRecord[bytes, bytes]) -> None:
        headers = {k: v.decode(errors="replace") for k, v in record.headers}
        with tracer().start_as_current_span(
            f"process {record.topic}",
            context=context_from_headers(headers),
            kind=trace.SpanKind.CONSUMER,
            attributes={
                "messaging.system": "kafka",
                "messaging.destination.name": record.topic,
                "messaging.consumer.group.name": self._group,
                "messaging.kafka.offset": record.offset,
            },
        ):
            try:
                event = _decode(record)
                binder = self._sub.handlers.get(event.type)
                if binder is None:
                    metrics.CONSUMED.labels(self._group, "skipped_unknown").inc()
                    return
                apply = _bind(binder, event)
            except UndecodableRecord as exc:
                await self._dead_letter(dlq, record, exc, attempts=1)
                return
            await self._apply_with_retries(dlq, record, event, apply)

    async def _apply_with_retries(
        self,
        dlq: AIOKafkaProducer,
        record: ConsumerRecord[bytes, bytes],
        event: CloudEvent,
        apply: Apply,
    ) -> None:
        attempts = self._settings.consumer_max_attempts
        attempt = 0
        while True:
            try:
                outcome = await self._apply_once(event, apply)
            except TRANSIENT_ERRORS as exc:
                await self._wait_for_infrastructure(exc)
                continue
            except Exception as exc:
                attempt += 1
                if attempt >= attempts:
                    log.exception("event failed; dead-lettered", extra={"event_id": event.id})
                    await self._dead_letter(dlq, record, exc, attempts=attempt)
                    return
                await asyncio.sleep(self._settings.consumer_backoff_s * 2 ** (attempt - 1))
                continue
            metrics.CONSUMED.labels(self._group, outcome).inc()
            if self.after_db_commit is not None:
                await self.after_db_commit(event)
            return

    async def _wait_for_infrastructure(self, error: BaseException) -> None:
        """The database, not the event, failed: hold the partition and retry until it is back.

        Dead-lettering here would divert good events during a short outage. On shutdown the
        error is re-raised, so nothing is committed for this record."""
        if self._stopping.is_set():
            raise error
        log.warning("database unavailable; retrying the event", extra={"error": repr(error)})
        with suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), TRANSIENT_RETRY_S)

    async def _apply_once(self, event: CloudEvent, apply: Apply) -> str:
        async with self._pool.acquire() as conn, conn.transaction():
            inserted = await conn.fetchval(
                """INSERT INTO inbox (consumer_group, event_id, event_type) VALUES ($1, $2, $3)
                   ON CONFLICT DO NOTHING RETURNING true""",
                self._sub.group,
                event.id,
                event.type,
            )
            if not inserted:
                return "duplicate"
            await apply(conn)
        return "applied"

    async def _dead_letter(
        self,
        dlq: AIOKafkaProducer,
        record: ConsumerRecord[bytes, bytes],
        error: BaseException,
        *,
        attempts: int,
    ) -> None:
        headers = [
            *record.headers,
            ("dlq_error", f"{type(error).__name__}: {error}"[:1000].encode()),
            ("dlq_topic", record.topic.encode()),
            ("dlq_partition", str(record.partition).encode()),
            ("dlq_offset", str(record.offset).encode()),
            ("dlq_attempts", str(attempts).encode()),
        ]
        await dlq.send_and_wait(
            self._dlq_topic, value=record.value, key=record.key, headers=headers
        )
        metrics.CONSUMED.labels(self._group, "dead_lettered").inc()


async def _commit(consumer: AIOKafkaConsumer, offsets: dict[TopicPartition, int]) -> None:
    """Commit the offsets past a batch whose every event is in the database.

    It runs while the next batch is fetched and applied rather than before: the next events do
    not wait for the broker's answer (bench/write_to_view). A commit that fails is reported when
    the next one is due, which ends the session; the events since the last commit are then
    delivered again and the inbox drops those already applied."""
    await consumer.commit(offsets)
    broker_reachable()  # the broker took the commit: an outage, if any, is over


def _decode(record: ConsumerRecord[bytes, bytes]) -> CloudEvent:
    if record.value is None:
        raise UndecodableRecord("empty record value")
    try:
        event = CloudEvent.from_json_bytes(record.value)
    except ValidationError as exc:
        raise UndecodableRecord(f"not a CloudEvent: {_first_error(exc)}") from exc
    return event


def _bind(binder: Binder, event: CloudEvent) -> Apply:
    try:
        return binder(event)
    except ValidationError as exc:
        raise UndecodableRecord(f"data does not match {event.type}: {_first_error(exc)}") from exc


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    return f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}"

"""The consumer runner against the real broker and database: dedup, crash, dead letters."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from uuid import uuid4

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from laborcoop.common import dlq
from laborcoop.common.consumer import ConsumerRunner, Subscription
from laborcoop.common.db import Connection, Pool, create_pool
from laborcoop.common.kafka import ensure_topics
from laborcoop.common.settings import ServiceSettings
from laborcoop.contracts import topics
from laborcoop.contracts.brands import BrandRegistered
from laborcoop.contracts.codes import BrandCategory
from laborcoop.contracts.envelope import CloudEvent
from laborcoop.contracts.events import new_event
from laborcoop.testing import Stack, consumed, eventually, read_topic, settings_for
from laborcoop.testing.databases import Databases

GROUP = "test.effects"
FAILING_NAME = "always fails"


class Killed(BaseException):
    """Stands for the process dying: nothing after it runs, not even the offset commit."""


async def count_effect(conn: Connection, event: CloudEvent, payload: BrandRegistered) -> None:
    if payload.name == FAILING_NAME:
        raise RuntimeError("handler refuses this event")
    await conn.execute(
        """INSERT INTO effects (subject, applied) VALUES ($1, 1)
           ON CONFLICT (subject) DO UPDATE SET applied = effects.applied + 1""",
        event.subject,
    )


SUBSCRIPTION = Subscription(group=GROUP, topics=[topics.BRANDS]).handle(
    BrandRegistered, count_effect
)


@dataclass
class Harness:
    settings: ServiceSettings
    pool: Pool
    producer: AIOKafkaProducer

    @property
    def group(self) -> str:
        return self.settings.topic(GROUP)

    async def publish(self, value: bytes, key: bytes = b"k") -> None:
        await self.producer.send_and_wait(self.settings.topic(topics.BRANDS), value, key=key)

    async def applied(self, subject: str) -> int | None:
        value: int | None = await self.pool.fetchval(
            "SELECT applied FROM effects WHERE subject = $1", subject
        )
        return value

    def start(self) -> tuple[ConsumerRunner, "asyncio.Task[None]"]:
        runner = ConsumerRunner(self.settings, self.pool, SUBSCRIPTION)
        return runner, asyncio.create_task(runner.run())


@pytest.fixture
async def harness(stack: Stack, databases: Databases, topic_prefix: str) -> AsyncIterator[Harness]:
    dsn = await databases.fresh()
    settings = settings_for(ServiceSettings, stack, database_url=dsn, topic_prefix=topic_prefix)
    pool = await create_pool(dsn, min_size=1, max_size=3)
    await pool.execute("CREATE TABLE effects (subject text PRIMARY KEY, applied int NOT NULL)")
    await ensure_topics(settings, [topics.BRANDS])  # as a relay does before it publishes
    producer = AIOKafkaProducer(bootstrap_servers=stack.kafka_bootstrap)
    await producer.start()
    try:
        yield Harness(settings, pool, producer)
    finally:
        await producer.stop()
        await pool.close()


def brand_event(name: str = "潜江龙虾工") -> CloudEvent:
    payload = BrandRegistered(
        brand_id=uuid4(), name=name, province="420000", category=BrandCategory.SKILLED_TRADES
    )
    return new_event(payload, subject=str(payload.brand_id), version=1, provinces=["420000"])


async def stop(runner: ConsumerRunner, task: "asyncio.Task[None]") -> None:
    runner.stop()
    await asyncio.wait_for(task, 30)


async def test_the_same_event_delivered_twice_is_applied_once(harness: Harness) -> None:
    event = brand_event()
    await harness.publish(event.to_json_bytes())
    await harness.publish(event.to_json_bytes())
    runner, task = harness.start()
    try:
        await eventually(lambda: _at_least(consumed(harness.group, "duplicate"), 1))
        assert await harness.applied(event.subject) == 1
        assert consumed(harness.group, "applied") == 1
    finally:
        await stop(runner, task)


async def test_killed_between_database_commit_and_offset_commit(harness: Harness) -> None:
    event = brand_event()
    await harness.publish(event.to_json_bytes())

    async def die(_: CloudEvent) -> None:
        raise Killed

    runner, task = harness.start()
    runner.after_db_commit = die
    with pytest.raises(Killed):
        await asyncio.wait_for(task, 60)
    assert await harness.applied(event.subject) == 1

    runner, task = harness.start()
    try:
        await eventually(lambda: _at_least(consumed(harness.group, "duplicate"), 1))
        assert await harness.applied(event.subject) == 1
    finally:
        await stop(runner, task)


async def test_bad_records_go_to_the_dead_letter_topic_and_consumption_goes_on(
    harness: Harness,
) -> None:
    failing, good = brand_event(FAILING_NAME), brand_event()
    await harness.publish(b"this is not a cloud event", key=b"same")
    await harness.publish(failing.to_json_bytes(), key=b"same")
    await harness.publish(good.to_json_bytes(), key=b"same")
    runner, task = harness.start()
    try:
        assert await eventually(lambda: harness.applied(good.subject)) == 1
    finally:
        await stop(runner, task)

    dlq = harness.settings.topic(topics.dead_letter(GROUP))
    records = await read_topic(harness.settings.kafka_bootstrap, dlq, expect=2)
    assert [r.value for r in records] == [b"this is not a cloud event", failing.to_json_bytes()]
    undecodable, exhausted = (dict(r.headers) for r in records)
    origin = harness.settings.topic(topics.BRANDS).encode()
    assert undecodable["dlq_error"].startswith(b"UndecodableRecord")
    assert undecodable["dlq_topic"] == exhausted["dlq_topic"] == origin
    assert undecodable["dlq_attempts"] == b"1"
    assert exhausted["dlq_error"] == b"RuntimeError: handler refuses this event"
    assert exhausted["dlq_attempts"] == str(harness.settings.consumer_max_attempts).encode()
    assert int(exhausted["dlq_offset"]) == int(undecodable["dlq_offset"]) + 1
    assert undecodable["dlq_partition"] == exhausted["dlq_partition"]
    assert await harness.applied(failing.subject) is None


async def test_unknown_event_types_are_skipped_and_counted(harness: Harness) -> None:
    unknown = brand_event().model_copy(update={"type": "cn.laborcoop.registry.brand.renamed.v9"})
    good = brand_event()
    await harness.publish(unknown.to_json_bytes())
    await harness.publish(good.to_json_bytes())
    runner, task = harness.start()
    try:
        assert await eventually(lambda: harness.applied(good.subject)) == 1
        assert consumed(harness.group, "skipped_unknown") == 1
        assert consumed(harness.group, "dead_lettered") == 0
    finally:
        await stop(runner, task)


async def _at_least(value: float, minimum: float) -> bool:
    return value >= minimum


async def test_database_failures_are_retried_not_dead_lettered(harness: Harness) -> None:
    failures = iter([ConnectionResetError("database went away")] * 3)

    async def flaky(conn: Connection, event: CloudEvent, payload: BrandRegistered) -> None:
        failure = next(failures, None)
        if failure is not None:
            raise failure
        await count_effect(conn, event, payload)

    subscription = Subscription(group=GROUP, topics=[topics.BRANDS]).handle(BrandRegistered, flaky)
    event = brand_event()
    await harness.publish(event.to_json_bytes())
    runner = ConsumerRunner(harness.settings, harness.pool, subscription)
    task = asyncio.create_task(runner.run())
    try:
        assert await eventually(lambda: harness.applied(event.subject), timeout=30) == 1
        assert consumed(harness.group, "dead_lettered") == 0
    finally:
        await stop(runner, task)


async def test_dead_letters_are_listed_and_redriven_once_the_cause_is_fixed(
    harness: Harness,
) -> None:
    broken = {"yes": True}

    async def until_fixed(conn: Connection, event: CloudEvent, payload: BrandRegistered) -> None:
        if broken["yes"]:
            raise RuntimeError("projection bug")
        await count_effect(conn, event, payload)

    subscription = Subscription(group=GROUP, topics=[topics.BRANDS]).handle(
        BrandRegistered, until_fixed
    )
    event = brand_event()
    await harness.publish(event.to_json_bytes(), key=event.subject.encode())
    runner = ConsumerRunner(harness.settings, harness.pool, subscription)
    task = asyncio.create_task(runner.run())
    try:
        await eventually(lambda: _at_least(consumed(harness.group, "dead_lettered"), 1))
        [letter] = await dlq.dead_letters(harness.settings, GROUP)
        summary = letter.summary()
        assert (summary["event_id"], summary["error"]) == (event.id, "RuntimeError: projection bug")
        assert summary["topic"] == harness.settings.topic(topics.BRANDS)

        broken["yes"] = False
        assert await dlq.redrive(harness.settings, GROUP, dry_run=True) == 1
        assert await dlq.redrive(harness.settings, GROUP) == 1
        assert await eventually(lambda: harness.applied(event.subject)) == 1
        assert await dlq.redrive(harness.settings, GROUP) == 0
    finally:
        await stop(runner, task)


async def test_shutdown_commits_what_was_applied(harness: Harness) -> None:
    events = [brand_event() for _ in range(3)]
    for event in events:
        await harness.publish(event.to_json_bytes(), key=b"one-partition")
    runner, task = harness.start()
    for event in events:
        await eventually(lambda e=event: harness.applied(e.subject))  # type: ignore[misc]
    await stop(runner, task)

    probe = AIOKafkaConsumer(
        bootstrap_servers=harness.settings.kafka_bootstrap,
        group_id=harness.group,
        enable_auto_commit=False,
    )
    await probe.start()
    try:
        topic = harness.settings.topic(topics.BRANDS)
        committed = [
            await probe.committed(TopicPartition(topic, p))
            for p in range(harness.settings.topic_partitions)
        ]
    finally:
        await probe.stop()
    assert sum(offset or 0 for offset in committed) == 3

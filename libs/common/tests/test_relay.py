"""The outbox relay against the real broker: one leader, nothing lost, takeover on failure."""

import asyncio
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from uuid import uuid4

import pytest

from laborcoop.common.db import Pool, create_pool
from laborcoop.common.outbox import OutboxRelay
from laborcoop.common.settings import ServiceSettings
from laborcoop.common.unit_of_work import unit_of_work
from laborcoop.contracts import topics
from laborcoop.contracts.brands import BrandRegistered
from laborcoop.contracts.codes import BrandCategory
from laborcoop.contracts.envelope import CloudEvent
from laborcoop.contracts.events import new_event
from laborcoop.testing import Stack, eventually, read_topic, settings_for
from laborcoop.testing.databases import Databases


@pytest.fixture
async def outbox(
    stack: Stack, databases: Databases, topic_prefix: str
) -> AsyncIterator[tuple[ServiceSettings, Pool]]:
    dsn = await databases.fresh()
    settings = settings_for(
        ServiceSettings,
        stack,
        database_url=dsn,
        topic_prefix=topic_prefix,
        service_name="registry",
    )
    pool = await create_pool(dsn, min_size=1, max_size=4)
    try:
        yield settings, pool
    finally:
        await pool.close()


def events(count: int) -> list[CloudEvent]:
    made = []
    for _ in range(count):
        payload = BrandRegistered(
            brand_id=uuid4(),
            name="宜章光电制造工",
            province="430000",
            category=BrandCategory.EMERGING_INDUSTRIES,
        )
        made.append(
            new_event(payload, subject=str(payload.brand_id), version=1, provinces=["430000"])
        )
    return made


async def write(settings: ServiceSettings, pool: Pool, batch: list[CloudEvent]) -> None:
    async with unit_of_work(pool, settings) as uow:
        uow.publish(list(batch))


async def drained(pool: Pool) -> bool:
    backlog: int = await pool.fetchval("SELECT count(*) FROM outbox")
    return backlog == 0


async def leaders(pool: Pool, service: str) -> int:
    key = zlib.crc32(f"laborcoop.relay.{service}".encode())
    value: int = await pool.fetchval(
        """SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND granted
           AND database = (SELECT oid FROM pg_database WHERE datname = current_database())""",
        key,
    )
    return value


@asynccontextmanager
async def relays(settings: ServiceSettings, pool: Pool) -> AsyncIterator[list[OutboxRelay]]:
    """Two relays of one service running side by side, as two replicas would."""
    running = [OutboxRelay(settings, pool), OutboxRelay(settings, pool)]
    tasks = [asyncio.create_task(relay.run()) for relay in running]
    try:
        yield running
    finally:
        for relay in running:
            relay.stop()
        await asyncio.gather(*tasks)


async def test_one_relay_leads_and_another_takes_over(
    outbox: tuple[ServiceSettings, Pool],
) -> None:
    settings, pool = outbox
    async with relays(settings, pool) as (first, second):
        batch = events(30)
        await write(settings, pool, batch)
        await eventually(lambda: drained(pool))
        assert await leaders(pool, "registry") == 1

        leader = first if first.is_leader else second
        leader.stop()
        later = events(5)
        await write(settings, pool, later)
        await eventually(lambda: drained(pool), timeout=30)
        assert not leader.is_leader

    topic = settings.topic(topics.BRANDS)
    records = await read_topic(settings.kafka_bootstrap, topic, expect=35)
    sent = [e.id.encode() for e in batch + later]
    received = [dict(r.headers)["ce_id"] for r in records]
    assert sorted(received) == sorted(sent)
    assert all(dict(r.headers)["content-type"] == b"application/cloudevents+json" for r in records)


async def test_rows_written_while_no_relay_runs_are_published_in_id_order(
    outbox: tuple[ServiceSettings, Pool],
) -> None:
    settings, pool = outbox
    same_brand = events(1)[0]
    versions = [
        same_brand.model_copy(update={"id": str(uuid4()), "sequence": f"{v:020d}"})
        for v in range(1, 6)
    ]
    for event in versions:
        await write(settings, pool, [event])
    relay = OutboxRelay(settings, pool)
    task = asyncio.create_task(relay.run())
    try:
        await eventually(lambda: drained(pool))
    finally:
        relay.stop()
        await task
    records = await read_topic(settings.kafka_bootstrap, settings.topic(topics.BRANDS), expect=5)
    sequences = [CloudEvent.from_json_bytes(r.value).version for r in records if r.value]
    assert sequences == [1, 2, 3, 4, 5]
    assert {r.partition for r in records} == {records[0].partition}


async def test_a_leader_whose_lock_connection_dies_stands_down(
    outbox: tuple[ServiceSettings, Pool],
) -> None:
    settings, pool = outbox
    async with relays(settings, pool) as (first, second):
        await eventually(lambda: _one_leads(first, second))
        killed = await pool.fetchval(
            """SELECT pg_terminate_backend(pid) FROM pg_locks
               WHERE locktype = 'advisory' AND objid = $1 AND granted""",
            zlib.crc32(b"laborcoop.relay.registry"),
        )
        assert killed is True
        await eventually(lambda: _settled(pool, first, second))
        batch = events(10)
        await write(settings, pool, batch)
        await eventually(lambda: drained(pool))
    records = await read_topic(settings.kafka_bootstrap, settings.topic(topics.BRANDS), expect=10)
    assert sorted(dict(r.headers)["ce_id"] for r in records) == sorted(e.id.encode() for e in batch)


async def _one_leads(*relays: OutboxRelay) -> bool:
    return sum(relay.is_leader for relay in relays) == 1


async def _settled(pool: Pool, *relays: OutboxRelay) -> bool:
    """One relay believes it leads, and the database agrees that one lock is held."""
    return await _one_leads(*relays) and await leaders(pool, "registry") == 1

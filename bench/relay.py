"""bench/relay: the outbox relay's drain rate against the raw aiokafka producer, same run.

Pre-fills N outbox rows holding skeleton-sized events (``brand.registered``), drains them with
:class:`OutboxRelay`, then sends the same N records (value, key, headers) with a bare producer of
the same settings. Goal: relay >= 0.5 x raw.
"""

import os
from uuid import UUID, uuid4

from aiokafka import AIOKafkaProducer
from pydantic import SecretStr

from bench.common import Rate, report, scratch_database, timed
from laborcoop.common.db import Pool, create_pool
from laborcoop.common.kafka import ensure_topics, new_producer
from laborcoop.common.outbox import OutboxRelay
from laborcoop.common.settings import ServiceSettings
from laborcoop.contracts import topics
from laborcoop.contracts.brands import BrandRegistered
from laborcoop.contracts.codes import BrandCategory
from laborcoop.contracts.envelope import CONTENT_TYPE
from laborcoop.contracts.events import new_event
from laborcoop.testing import Stack

N = int(os.environ.get("BENCH_RELAY_EVENTS", "50000"))


def _records(count: int) -> list[tuple[UUID, str, bytes]]:
    records = []
    for _ in range(count):
        brand = uuid4()
        payload = BrandRegistered(
            brand_id=brand,
            name="安化黑茶茶艺师",
            province="430000",
            category=BrandCategory.SKILLED_TRADES,
        )
        event = new_event(payload, subject=str(brand), version=1, provinces=["430000"])
        records.append((UUID(event.id), event.subject, event.to_json_bytes()))
    return records


async def _fill(pool: Pool, topic: str, records: list[tuple[UUID, str, bytes]]) -> None:
    await pool.copy_records_to_table(
        "outbox",
        columns=["event_id", "topic", "key", "event_type", "value"],
        records=[(i, topic, key, BrandRegistered.event_type, value) for i, key, value in records],
    )


async def _raw(
    producer: AIOKafkaProducer, topic: str, records: list[tuple[UUID, str, bytes]]
) -> None:
    futures = []
    for event_id, key, value in records:
        headers = [
            ("ce_type", BrandRegistered.event_type.encode()),
            ("ce_id", str(event_id).encode()),
            ("content-type", CONTENT_TYPE.encode()),
        ]
        futures.append(await producer.send(topic, value=value, key=key.encode(), headers=headers))
    for future in futures:
        await future


async def run(stack: Stack) -> bool:
    async with scratch_database(stack) as dsn:
        settings = ServiceSettings(
            service_name="bench",
            environment="test",
            database_url=SecretStr(dsn),
            kafka_bootstrap=stack.kafka_bootstrap,
            topic_prefix=f"bench{uuid4().hex[:8]}.",
        )
        topic = settings.topic(topics.BRANDS)
        await ensure_topics(settings, [topics.BRANDS])
        records = _records(N)
        pool = await create_pool(dsn, min_size=1, max_size=4)
        producer = new_producer(settings, client_id="bench")
        await producer.start()
        try:
            await _fill(pool, topic, records)
            relay = OutboxRelay(settings, pool)
            relayed = await timed("relay (outbox -> kafka)", N, lambda: relay.drain(producer))
            raw = await timed("raw aiokafka producer", N, lambda: _raw(producer, topic, records))
            left = await pool.fetchval("SELECT count(*) FROM outbox")
        finally:
            await producer.stop()
            await pool.close()
    assert left == 0, f"{left} rows left in the outbox"
    return report(f"bench/relay: {N} events of {len(records[0][2])} bytes", relayed, raw, 0.5)


__all__ = ["Rate", "run"]

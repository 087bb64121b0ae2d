"""Dead letters: list what a consumer group set aside, and send it back once the cause is fixed.

``laborcoop-<service> dlq list --group G`` prints one JSON line per record of
``laborcoop.dlq.<G>``; ``dlq redrive --group G`` publishes each record again to the topic it came
from (its ``dlq_topic`` header), with its key and original headers. Re-driving is safe: the
consumers' inbox ignores an event already applied. Progress is kept as the offsets of the
consumer group ``laborcoop.dlq-redrive.<G>``, so a record is re-driven once.
"""

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from laborcoop.common.consumer import DLQ_HEADERS
from laborcoop.common.kafka import new_producer
from laborcoop.common.settings import ServiceSettings
from laborcoop.contracts import topics


@dataclass(frozen=True)
class DeadLetter:
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: dict[str, bytes]

    @property
    def origin(self) -> str:
        return self.headers["dlq_topic"].decode()

    def original_headers(self) -> list[tuple[str, bytes]]:
        return [(k, v) for k, v in self.headers.items() if k not in DLQ_HEADERS]

    def summary(self) -> dict[str, Any]:
        text = {k: v.decode(errors="replace") for k, v in self.headers.items()}
        envelope = self._envelope()
        return {
            "partition": self.partition,
            "offset": self.offset,
            "key": self.key.decode(errors="replace") if self.key else None,
            "type": text.get("ce_type") or envelope.get("type"),
            "event_id": text.get("ce_id") or envelope.get("id"),
            "error": text.get("dlq_error"),
            "topic": text.get("dlq_topic"),
            "source_partition": int(text.get("dlq_partition", -1)),
            "source_offset": int(text.get("dlq_offset", -1)),
            "attempts": int(text.get("dlq_attempts", 0)),
            "bytes": len(self.value or b""),
        }

    def _envelope(self) -> dict[str, Any]:
        """The value's top-level attributes, when it is JSON at all."""
        try:
            parsed = json.loads(self.value or b"")
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}


def _letter(record: ConsumerRecord[bytes, bytes]) -> DeadLetter:
    return DeadLetter(
        record.partition, record.offset, record.key, record.value, dict(record.headers)
    )


async def _drain(consumer: AIOKafkaConsumer) -> AsyncIterator[ConsumerRecord[bytes, bytes]]:
    """Every record up to the end offsets as they were when reading began."""
    partitions = list(consumer.assignment())
    ends = await consumer.end_offsets(partitions)
    pending = {tp for tp in partitions if await consumer.position(tp) < ends[tp]}
    while pending:
        batch = await consumer.getmany(*pending, timeout_ms=1000)
        for tp, records in batch.items():
            for record in records:
                if record.offset < ends[tp]:
                    yield record
            if await consumer.position(tp) >= ends[tp]:
                pending.discard(tp)


async def _assigned(settings: ServiceSettings, topic: str, group: str | None) -> AIOKafkaConsumer:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    partitions = [TopicPartition(topic, p) for p in await _partitions(settings, topic)]
    consumer.assign(partitions)
    if group is None:
        await consumer.seek_to_beginning(*partitions)
    else:
        for tp in partitions:
            committed = await consumer.committed(tp)
            if committed is None:
                await consumer.seek_to_beginning(tp)
            else:
                consumer.seek(tp, committed)
    return consumer


async def _partitions(settings: ServiceSettings, topic: str) -> list[int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        [described] = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return sorted(p["partition"] for p in described["partitions"])


async def dead_letters(settings: ServiceSettings, group: str) -> list[DeadLetter]:
    """Every record of the group's dead-letter topic, oldest first per partition."""
    topic = settings.topic(topics.dead_letter(group))
    consumer = await _assigned(settings, topic, group=None)
    try:
        return [_letter(record) async for record in _drain(consumer)]
    finally:
        await consumer.stop()


async def redrive(settings: ServiceSettings, group: str, *, dry_run: bool = False) -> int:
    """Publish the not yet re-driven dead letters to their original topics; returns how many."""
    topic = settings.topic(topics.dead_letter(group))
    consumer = await _assigned(
        settings, topic, group=settings.topic(f"laborcoop.dlq-redrive.{group}")
    )
    producer = new_producer(settings, client_id=f"{group}-redrive")
    await producer.start()
    sent = 0
    try:
        async for record in _drain(consumer):
            letter = _letter(record)
            if not dry_run:
                await producer.send_and_wait(
                    letter.origin,
                    value=letter.value,
                    key=letter.key,
                    headers=letter.original_headers(),
                )
                await consumer.commit({TopicPartition(topic, record.partition): record.offset + 1})
            sent += 1
    finally:
        await producer.stop()
        await consumer.stop()
    return sent


def print_letters(letters: list[DeadLetter]) -> None:
    for letter in letters:
        print(json.dumps(letter.summary(), ensure_ascii=False))

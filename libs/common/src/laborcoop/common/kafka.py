"""Kafka clients built one way for every service: idempotent producer, topic creation."""

import logging
from collections.abc import Iterable

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from laborcoop.common.settings import ServiceSettings

log = logging.getLogger(__name__)


def new_producer(settings: ServiceSettings, *, client_id: str) -> AIOKafkaProducer:
    """An idempotent producer with ``acks=all``: no loss, no duplicate from its own retries."""
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        linger_ms=settings.kafka_linger_ms,
        max_batch_size=256 * 1024,
        compression_type=None,
        request_timeout_ms=15_000,
    )


async def ensure_topics(settings: ServiceSettings, names: Iterable[str]) -> None:
    """Create the (prefixed) topics that do not exist yet, with the configured partitions."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=15_000
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = sorted({settings.topic(n) for n in names} - existing)
        if not missing:
            return
        new = [NewTopic(n, settings.topic_partitions, settings.topic_replication) for n in missing]
        try:
            await admin.create_topics(new)
        except TopicAlreadyExistsError:
            log.debug("topics created concurrently", extra={"topics": missing})
    finally:
        await admin.close()

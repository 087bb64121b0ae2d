"""How far each view's consumer group is behind its topic, measured in the background.

A view answers its lag from the table ``view_lag`` rather than asking Kafka on each request (a
request would then wait on the broker, and fail with it). :class:`LagProbe` runs in every gateway
process that runs workers, every ``LABORCOOP_VIEW_LAG_INTERVAL_S``: for each consumer group of
the views and each partition of its topic, the end offset minus the group's committed offset
(the partition's first offset when the group has committed none), summed over the partitions.
It is the group's lag as Kafka's own tools report it: the records published that the group has
not yet applied and committed (a group commits after each partition's batch, so a lag of a few
records can be records already applied). Replicas measure the same group and write the same
figure; the one measured last is kept, with its time. While Kafka is unreachable the pass fails
(logged, retried at the next interval) and the views keep answering the last figure and its
``measured_at``.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import OffsetAndMetadata

from laborcoop.common.clock import Clock
from laborcoop.common.consumer import Subscription
from laborcoop.common.db import Pool
from laborcoop.common.periodic import Periodic
from laborcoop.common.settings import ServiceSettings
from laborcoop.common.spec import ServiceContext
from laborcoop.gateway.settings import GatewaySettings
from laborcoop.gateway.views import repository
from laborcoop.gateway.views.projections import SUBSCRIPTIONS

REQUEST_TIMEOUT_MS: Final = 10_000


@dataclass(frozen=True)
class Lag:
    topic: str
    group: str
    records: int


def _position(committed: OffsetAndMetadata | None, start: int) -> int:
    """Where the group resumes a partition: its committed offset, else the first record."""
    return committed.offset if committed is not None and committed.offset >= 0 else start


async def measure(settings: ServiceSettings, subscriptions: Sequence[Subscription]) -> list[Lag]:
    """The lag of each group of ``subscriptions`` on each of its topics that exists."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=REQUEST_TIMEOUT_MS
    )
    offsets = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=None,
        enable_auto_commit=False,
        request_timeout_ms=REQUEST_TIMEOUT_MS,
    )
    try:  # both closed even when a start fails (the broker is down): no client left open
        await admin.start()
        await offsets.start()
        partitions = await _partitions(admin, settings, subscriptions)
        measured = []
        for subscription in subscriptions:
            committed = await admin.list_consumer_group_offsets(settings.topic(subscription.group))
            for topic in subscription.topics:
                held = partitions.get(settings.topic(topic))
                if not held:
                    continue  # not created yet
                ends = await offsets.end_offsets(held)
                starts = await offsets.beginning_offsets(held)
                positions = {p: _position(committed.get(p), starts[p]) for p in held}
                behind = sum(max(0, ends[p] - positions[p]) for p in held)
                measured.append(Lag(topic, subscription.group, behind))
        return measured
    finally:
        await offsets.stop()
        await admin.close()


async def _partitions(
    admin: AIOKafkaAdminClient, settings: ServiceSettings, subscriptions: Sequence[Subscription]
) -> dict[str, list[TopicPartition]]:
    """The partitions of each (physical) topic of ``subscriptions`` that exists."""
    names = sorted({settings.topic(t) for s in subscriptions for t in s.topics})
    described = await admin.describe_topics(names)
    return {
        d["topic"]: [TopicPartition(d["topic"], p["partition"]) for p in d["partitions"]]
        for d in described
        if d["error_code"] == 0
    }


class LagProbe(Periodic):
    """Measures the views' lag every ``interval_s`` into ``view_lag``."""

    def __init__(
        self,
        settings: ServiceSettings,
        pool: Pool,
        subscriptions: Sequence[Subscription],
        *,
        interval_s: float,
        clock: Clock,
    ) -> None:
        super().__init__(interval_s)
        self._settings = settings
        self._pool = pool
        self._subscriptions = subscriptions
        self._clock = clock

    async def run_once(self) -> int:
        measured = await measure(self._settings, self._subscriptions)
        now = self._clock()
        async with self._pool.acquire() as conn:
            for lag in measured:
                await repository.record_lag(conn, lag.topic, lag.group, lag.records, now)
        return 0  # nothing changed that a log line should report at every pass


def lag_probe(context: ServiceContext[GatewaySettings], use: object) -> LagProbe:
    """The gateway's worker measuring the lag of its views' groups (``ServiceSpec.workers``)."""
    settings = context.settings
    return LagProbe(
        settings,
        context.pool,
        SUBSCRIPTIONS,
        interval_s=settings.view_lag_interval_s,
        clock=context.clock,
    )

"""The gateway's own Prometheus metrics: webhook deliveries, subscriptions and event streams.

Counters and the histogram are per process (sum them over replicas); the gauges of
:func:`set_gauges` are read from the database on each scrape (``ServiceSpec.gauges``), so every
replica reports the same values (aggregate them with ``max``). The owner of a subscription is
its province, or ``ministry`` for a subscription to every event: a label of at most 32 values,
never a subscription id or a URL.
"""

from typing import Final

from prometheus_client import Counter, Gauge, Histogram

from laborcoop.common.db import Pool
from laborcoop.gateway.subscriptions import repository

MINISTRY: Final = "ministry"

WEBHOOK_ATTEMPTS = Counter(
    "laborcoop_webhook_attempts_total",
    "Webhook delivery attempts, by verdict (delivered, retry, give_up, gone)",
    ["verdict"],
)
WEBHOOK_ATTEMPT_SECONDS = Histogram(
    "laborcoop_webhook_attempt_seconds",
    "Time from sending a webhook to the receiver's answer (or the attempt's end)",
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
SUBSCRIPTIONS_DISABLED = Counter(
    "laborcoop_webhook_subscriptions_disabled_total",
    "Subscriptions disabled by the gateway, by reason (gone, failing)",
    ["reason"],
)
WEBHOOK_BACKLOG = Gauge(
    "laborcoop_webhook_backlog",
    "Deliveries waiting for active subscriptions, by the subscriptions' owner",
    ["owner"],
)
WEBHOOK_OLDEST_AGE = Gauge(
    "laborcoop_webhook_oldest_pending_age_seconds",
    "Age of the oldest delivery waiting for an active subscription, by owner",
    ["owner"],
)
SUBSCRIPTIONS = Gauge("laborcoop_webhook_subscriptions", "Subscriptions, by status", ["status"])
STREAMS_OPEN = Gauge("laborcoop_event_streams_open", "Event streams open in this process")
STREAM_EVENTS = Counter(
    "laborcoop_event_stream_events_total", "Events sent on the event streams of this process"
)


async def set_gauges(pool: Pool) -> None:
    """The webhook backlog per owner and the subscriptions per status, as the database holds
    them now."""
    async with pool.acquire() as conn:
        backlog = await repository.backlog_by_owner(conn, MINISTRY)
        counts = await repository.count_by_status(conn)
    # an owner whose backlog emptied disappears from the query: its series go back to absent,
    # all at once (nothing else runs between the clear and the sets)
    WEBHOOK_BACKLOG.clear()
    WEBHOOK_OLDEST_AGE.clear()
    for row in backlog:
        WEBHOOK_BACKLOG.labels(row["owner"]).set(row["pending"])
        WEBHOOK_OLDEST_AGE.labels(row["owner"]).set(max(0.0, float(row["age"])))
    for status in repository.STATUSES:
        SUBSCRIPTIONS.labels(status).set(counts.get(status, 0))

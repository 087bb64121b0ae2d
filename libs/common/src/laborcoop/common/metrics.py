"""Prometheus metrics of the shared mechanisms (one registry per process)."""

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Counter(
    "laborcoop_http_requests_total",
    "HTTP requests answered",
    ["service", "method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "laborcoop_http_request_seconds", "HTTP request duration", ["service", "method", "route"]
)
OUTBOX_BACKLOG = Gauge("laborcoop_outbox_backlog", "Outbox rows not yet relayed", ["service"])
OUTBOX_OLDEST_AGE = Gauge(
    "laborcoop_outbox_oldest_age_seconds", "Age of the oldest unrelayed outbox row", ["service"]
)
OUTBOX_RELAYED = Counter("laborcoop_outbox_relayed_total", "Events published", ["service"])
RELAY_LEADER = Gauge("laborcoop_relay_leader", "1 while this process relays", ["service"])
CONSUMED = Counter(
    "laborcoop_events_consumed_total",
    "Events consumed, by outcome (applied, duplicate, skipped_unknown, dead_lettered)",
    ["group", "outcome"],
)

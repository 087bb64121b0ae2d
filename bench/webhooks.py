"""bench/webhooks: webhook delivery from the gateway's event log against a bare httpx loop.

N events (10,000) are appended to a scratch gateway database's event log, in transactions of
200 as the log's consumer appends them, while the gateway's delivery worker
(:class:`~laborcoop.gateway.subscriptions.delivery.WebhookWorker`: fan-out, claim with ``FOR
UPDATE SKIP LOCKED``, signed POST, recorded outcome) delivers them to 20 receivers, real HTTP
servers on 127.0.0.1, one subscription each (20 provinces; each event concerns one province, so
N deliveries). Measured: deliveries per second from the first append to the last receipt, and
the p99 from an event's commit to the log (``logged_at``) to its receipt. The baseline, in the
same run and process, is a bare ``httpx.AsyncClient`` posting the same bodies to the same
receivers with the same concurrency (``webhook_max_in_flight``), nothing else: no database, no
signature. Goal: delivery >= 0.5 x bare.
"""

import asyncio
import os
import time
from datetime import datetime
from uuid import uuid4

import httpx
from pydantic import SecretStr

from bench.common import Rate, scratch_database
from laborcoop.common.db import Pool, create_pool
from laborcoop.common.principal import Principal, Role
from laborcoop.common.unit_of_work import unit_of_work
from laborcoop.contracts.envelope import CloudEvent
from laborcoop.contracts.events import new_event
from laborcoop.contracts.provinces import PROVINCES
from laborcoop.gateway.events.wakeup import LogWakeup
from laborcoop.gateway.settings import GatewaySettings
from laborcoop.gateway.subscriptions.delivery import WebhookWorker
from laborcoop.gateway.subscriptions.schemas import SubscriptionIn
from laborcoop.gateway.subscriptions.service import Webhooks
from laborcoop.testing import Stack
from services.gateway.tests.story import demand
from services.gateway.tests.webhook_receiver import Receiver

N = int(os.environ.get("BENCH_WEBHOOK_EVENTS", "10000"))
RECEIVERS = 20
IN_FLIGHT = int(os.environ.get("BENCH_WEBHOOK_IN_FLIGHT", "64"))
APPEND_BATCH = 200
GOAL = 0.5


def _events(provinces: list[str]) -> list[CloudEvent]:
    events = []
    for n in range(N):
        demand_id = uuid4()
        province = provinces[n % len(provinces)]
        posted = demand(demand_id, province, "430102")
        events.append(new_event(posted, subject=str(demand_id), version=1, provinces=[province]))
    return events


async def _append(pool: Pool, events: list[CloudEvent]) -> None:
    """The events into the log as its consumer writes them: positions under the writers' lock,
    a notification at each commit."""
    for start in range(0, len(events), APPEND_BATCH):
        part = events[start : start + APPEND_BATCH]
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", 0x6C61_626F_7265_766C)
            await conn.execute(
                """INSERT INTO event_log (position, event_id, type, subject, provinces, time,
                                          envelope, logged_at)
                   SELECT nextval('event_log_position'), e.id, e.type, e.subject,
                          ARRAY[e.province], e.time, e.envelope, clock_timestamp()
                   FROM unnest($1::text[], $2::text[], $3::text[], $4::text[],
                               $5::timestamptz[], $6::text[])
                        AS e(id, type, subject, province, time, envelope)""",
                [e.id for e in part],
                [e.type for e in part],
                [e.subject for e in part],
                [e.provinces for e in part],
                [e.time for e in part],
                [e.to_json_bytes().decode() for e in part],
            )
            await conn.execute("SELECT pg_notify('event_log', '0')")


async def _all_received(receivers: list[Receiver], count: int) -> None:
    while sum(r.accepted_count for r in receivers) < count:
        waits = [asyncio.ensure_future(r.got.wait()) for r in receivers]
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for wait in waits:
            wait.cancel()
        for receiver in receivers:
            receiver.got.clear()


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


async def _delivered(
    settings: GatewaySettings, pool: Pool, receivers: list[Receiver], events: list[CloudEvent]
) -> tuple[Rate, float]:
    webhooks = Webhooks(settings, datetime.now().astimezone)
    provinces = sorted({e.provinces for e in events})
    for province, receiver in zip(provinces, receivers, strict=True):
        principal = Principal(f"bench-{province}", province, frozenset({Role.PROVINCE}))
        async with unit_of_work(pool, settings) as uow:
            await webhooks.create(uow, principal, SubscriptionIn(url=receiver.url))
    wakeup = LogWakeup(settings.database_url.get_secret_value())
    worker = WebhookWorker(settings, pool, webhooks, wakeup)
    running = asyncio.create_task(worker.run())
    started = time.perf_counter()
    await _append(pool, events)
    await _all_received(receivers, len(events))
    seconds = time.perf_counter() - started
    worker.stop()
    await running
    await wakeup.aclose()
    await webhooks.aclose()
    logged = {
        row["event_id"]: row["logged_at"].timestamp()
        for row in await pool.fetch("SELECT event_id, logged_at FROM event_log")
    }
    latencies = [
        r.at - logged[r.headers["webhook-id"]] for receiver in receivers for r in receiver.accepted
    ]
    return Rate("webhook delivery (log -> receipt)", len(events), seconds), _p99(latencies)


async def _bare(receivers: list[Receiver], events: list[CloudEvent]) -> tuple[Rate, float]:
    by_province = {
        p: r for p, r in zip(sorted({e.provinces for e in events}), receivers, strict=True)
    }
    work = [(by_province[e.provinces].url, e.to_json_bytes()) for e in events]
    latencies: list[float] = []
    pooled = 2 * IN_FLIGHT  # as the delivery client pools
    limits = httpx.Limits(max_connections=pooled, max_keepalive_connections=pooled)
    async with httpx.AsyncClient(limits=limits) as client:
        queue = iter(work)

        async def post_all() -> None:
            for url, body in queue:
                sent = time.time()
                answer = await client.post(
                    url, content=body, headers={"content-type": "application/cloudevents+json"}
                )
                answer.raise_for_status()
                latencies.append(time.time() - sent)

        started = time.perf_counter()
        await asyncio.gather(*(post_all() for _ in range(IN_FLIGHT)))
        seconds = time.perf_counter() - started
    return Rate("bare httpx loop, same bodies", len(events), seconds), _p99(latencies)


async def run(stack: Stack) -> bool:
    provinces = sorted(PROVINCES)[:RECEIVERS]
    events = _events(provinces)
    receivers = [await Receiver().start() for _ in range(RECEIVERS)]
    try:
        bare, bare_p99 = await _bare(receivers, events)
        for receiver in receivers:
            receiver.requests.clear()
            receiver.accepted_count = 0
        async with scratch_database(stack, "laborcoop.gateway.migrations") as dsn:
            settings = GatewaySettings(
                environment="test",
                database_url=SecretStr(dsn),
                kafka_bootstrap=stack.kafka_bootstrap,
                topic_prefix=f"bench{uuid4().hex[:8]}.",
                webhook_http_hosts=["127.0.0.1"],
                webhook_max_in_flight=IN_FLIGHT,
                webhook_poll_interval_s=0.2,
            )
            pool = await create_pool(dsn, min_size=2, max_size=8)
            try:
                delivered, p99 = await _delivered(settings, pool, receivers, events)
            finally:
                await pool.close()
    finally:
        for receiver in receivers:
            await receiver.stop()
    ratio = delivered.per_second / bare.per_second
    verdict = "meets" if ratio >= GOAL else "MISSES"
    print(f"bench/webhooks: {N} events to {RECEIVERS} receivers, {IN_FLIGHT} in flight")
    print(f"{delivered.line()}   p99 commit->receipt {p99 * 1000:7.0f} ms")
    print(f"{bare.line()}   p99 request          {bare_p99 * 1000:7.0f} ms")
    print(f"  ratio {ratio:.2f} (goal >= {GOAL}) {verdict} the goal")
    return ratio >= GOAL

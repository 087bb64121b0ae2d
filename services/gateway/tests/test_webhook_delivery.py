"""Webhook delivery end to end on the real stack: events published to Kafka, logged by the
gateway, fanned out and POSTed by its workers to real HTTP servers on 127.0.0.1. Signatures are
checked with the ``standardwebhooks`` library. Receivers go down, answer 500, 429 and 410; the
gateway restarts in the middle of a backlog; nothing is missing, nothing reaches a province it
does not concern, and events of one subject arrive in order."""

import asyncio
import json
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from standardwebhooks import Webhook

from laborcoop.common.kafka import ensure_topics, new_producer
from laborcoop.contracts import topics
from laborcoop.contracts.envelope import CloudEvent
from laborcoop.contracts.events import new_event
from laborcoop.gateway.app import SPEC, create_app
from laborcoop.gateway.settings import GatewaySettings
from laborcoop.testing import FreshApps, Tokens, eventually, publish
from services.gateway.tests.story import GUANGDONG, HUNAN, demand, story
from services.gateway.tests.webhook_receiver import Receiver

BASE = "/v1/subscriptions"
DISABLED = "cn.laborcoop.gateway.subscription.disabled.v1"
QUICK = {
    "run_workers": True,
    "webhook_http_hosts": ["127.0.0.1"],
    "webhook_retry_schedule_s": [0.2, 0.4, 0.8, 1, 1, 1, 1, 1, 1, 1, 1, 1],
    "webhook_retry_jitter": 0.1,
    "webhook_retry_after_max_s": 2,
    "webhook_poll_interval_s": 0.2,
    "webhook_timeout_s": 5,
}


@dataclass
class Stage:
    settings: GatewaySettings
    tokens: Tokens
    producer: AIOKafkaProducer
    fresh_apps: FreshApps
    client: httpx.AsyncClient | None = None

    @asynccontextmanager
    async def gateway(self) -> AsyncIterator[httpx.AsyncClient]:
        """A gateway process on the stage's database, its workers running."""
        async with self.fresh_apps.running(create_app, self.settings) as (_, client):
            self.client = client
            yield client

    async def publish(self, events: Iterable[CloudEvent]) -> None:
        await publish(self.producer, self.settings, events)

    async def subscribe(self, who: dict[str, str], url: str, **body: Any) -> dict[str, Any]:
        assert self.client is not None
        answer = await self.client.post(BASE, json={"url": url, **body}, headers=who)
        assert answer.status_code == 201, answer.text
        made: dict[str, Any] = answer.json()
        return made


StageWith = Callable[..., AbstractAsyncContextManager[Stage]]
Receivers = Callable[..., Awaitable[Receiver]]


@pytest.fixture
async def receivers() -> AsyncIterator[Receivers]:
    """Starts receivers (``Receiver`` fields as keywords); all are stopped after the test."""
    made: list[Receiver] = []

    async def start(**fields: Any) -> Receiver:
        receiver = await Receiver(**fields).start()
        made.append(receiver)
        return receiver

    yield start
    for receiver in made:
        await receiver.stop()


@pytest.fixture
def stage_with(fresh_apps: FreshApps, tokens: Tokens) -> StageWith:
    @asynccontextmanager
    async def make(**overrides: Any) -> AsyncIterator[Stage]:
        settings = await fresh_apps.settings(
            GatewaySettings, SPEC.migration_package, **{**QUICK, **overrides}
        )
        await ensure_topics(settings, topics.ALL)
        producer = new_producer(settings, client_id="webhook-story")
        await producer.start()
        try:
            yield Stage(settings, tokens, producer, fresh_apps)
        finally:
            await producer.stop()

    return make


def ids(received: Iterable[Any]) -> set[str]:
    return {r.headers["webhook-id"] for r in received}


def verified(receiver: Receiver, secret: str) -> list[dict[str, Any]]:
    """Every accepted body, each checked by the standardwebhooks library; its id is the
    ``webhook-id``."""
    events = []
    for request in receiver.accepted:
        event = Webhook(secret).verify(request.body, request.headers)
        assert event["id"] == request.headers["webhook-id"]
        assert request.headers["content-type"] == "application/cloudevents+json"
        events.append(event)
    return events


def in_order_per_subject(events: list[dict[str, Any]]) -> None:
    """The first receipt of each event, per subject, follows the events' sequence."""
    seen: dict[str, list[str]] = defaultdict(list)
    first: set[str] = set()
    for event in events:
        if event["id"] not in first:
            first.add(event["id"])
            seen[event["subject"]].append(event["sequence"])
    for subject, sequences in seen.items():
        assert sequences == sorted(sequences), subject


async def test_every_event_arrives_signed_in_order_through_outages_and_nothing_else(
    stage_with: StageWith, receivers: Receivers
) -> None:
    told = story().events
    for_hunan = {e.id for e in told if HUNAN in e.province_codes}
    for_guangdong = {e.id for e in told if GUANGDONG in e.province_codes}
    hunan_only = {e.id for e in told if e.province_codes == (HUNAN,)}
    assert hunan_only  # private events on both sides
    assert for_guangdong - for_hunan

    def flaky(n: int) -> tuple[int, dict[str, str]]:
        """500 three times, then 429 with Retry-After twice, then accepts."""
        if n <= 3:
            return 500, {}
        if n <= 5:
            return 429, {"retry-after": "1"}
        return 204, {}

    hunan_rx = await receivers(answer=flaky)
    guangdong_rx = await receivers()
    async with stage_with() as stage, stage.gateway() as client:
        hunan = await stage.subscribe(stage.tokens.province(HUNAN), hunan_rx.url)
        guangdong = await stage.subscribe(stage.tokens.province(GUANGDONG), guangdong_rx.url)
        await hunan_rx.stop()  # down: connections refused
        await stage.publish(told)
        await asyncio.sleep(1.5)
        await hunan_rx.start()  # back on the same port, answering 500, 429, then 204

        async def all_arrived() -> bool:
            return ids(hunan_rx.accepted) >= for_hunan and ids(guangdong_rx.accepted) >= (
                for_guangdong
            )

        await eventually(all_arrived, timeout=60)
        assert ids(hunan_rx.accepted) == for_hunan  # nothing it is not concerned by
        assert ids(guangdong_rx.accepted) == for_guangdong
        assert not ids(guangdong_rx.requests) & hunan_only
        statuses = [r.status for r in hunan_rx.requests]
        assert statuses[:5] == [500, 500, 500, 429, 429]
        hunan_events = verified(hunan_rx, hunan["secret"])
        in_order_per_subject(hunan_events)
        in_order_per_subject(verified(guangdong_rx, guangdong["secret"]))
        assert all(HUNAN in e["provinces"].split(",") for e in hunan_events)
        # the body is the CloudEvent as published
        published = {e.id: e for e in told}
        for event in hunan_events:
            assert CloudEvent.model_validate(event) == published[event["id"]]

        # the delivery log shows the retries (once the outcomes are recorded, just after)
        async def logged() -> list[dict[str, Any]] | None:
            log = await client.get(
                f"{BASE}/{hunan['id']}/deliveries",
                params={"limit": 200},
                headers=stage.tokens.province(HUNAN),
            )
            assert log.status_code == 200
            items: list[dict[str, Any]] = log.json()["items"]
            return items if all(e["state"] == "delivered" for e in items) else None

        hunan_token = stage.tokens.province(HUNAN)
        entries = await eventually(logged)
        assert {e["event_id"] for e in entries} == for_hunan
        assert all(e["last_status"] == 204 for e in entries)
        assert max(e["attempts"] for e in entries) > 1
        assert all(e["next_attempt_at"] is None for e in entries)

        # each attempt of the most tried delivery, in order: failures, then the 204
        most_tried = max(entries, key=lambda e: e["attempts"])
        history = await client.get(
            f"{BASE}/{hunan['id']}/deliveries/{most_tried['id']}/attempts", headers=hunan_token
        )
        assert history.status_code == 200, history.text
        attempts = history.json()
        assert [a["attempt"] for a in attempts] == list(range(1, most_tried["attempts"] + 1))
        assert attempts[-1]["status"] == 204
        for failed in attempts[:-1]:  # refused while the receiver was down, then 500s, 429s
            assert failed["status"] in {500, 429} or (failed["status"] is None and failed["error"])
        guangdong_log = await client.get(
            f"{BASE}/{guangdong['id']}/deliveries", headers=stage.tokens.province(GUANGDONG)
        )
        theirs = guangdong_log.json()["items"][0]["id"]
        not_this_ones = await client.get(
            f"{BASE}/{hunan['id']}/deliveries/{theirs}/attempts", headers=hunan_token
        )
        assert not_this_ones.status_code == 404

        # a replay after the first event logged delivers the rest again, same webhook-ids
        first = entries[-1]["event_id"]  # the log is newest first; rows follow the log
        before = len(hunan_rx.accepted)
        replayed = await client.post(
            f"{BASE}/{hunan['id']}/replays",
            json={"after_event_id": first},
            headers=stage.tokens.province(HUNAN),
        )
        assert replayed.status_code == 202, replayed.text
        assert replayed.json()["deliveries"] == len(for_hunan) - 1

        async def replay_arrived() -> bool:
            return len(hunan_rx.accepted) >= before + len(for_hunan) - 1

        await eventually(replay_arrived)
        again = hunan_rx.accepted[before:]
        assert ids(again) == for_hunan - {first}
        in_order_per_subject(verified(hunan_rx, hunan["secret"])[before:])


def _backlog(count: int) -> list[CloudEvent]:
    events = []
    for n in range(count):
        demand_id = uuid4()
        posted = demand(demand_id, HUNAN, "430102")
        events.append(
            new_event(posted, subject=str(demand_id), version=1 + n % 1, provinces=[HUNAN])
        )
    return events


async def test_a_restart_in_the_middle_of_a_backlog_loses_nothing(
    stage_with: StageWith, receivers: Receivers
) -> None:
    backlog = _backlog(300)
    expected = {e.id for e in backlog}
    receiver = await receivers(delay_s=0.01)
    async with stage_with(webhook_max_in_flight=4, webhook_claim_batch=4) as stage:
        async with stage.gateway():
            made = await stage.subscribe(stage.tokens.province(HUNAN), receiver.url)
            await stage.publish(backlog)

            async def some_arrived() -> bool:
                return len(receiver.accepted) >= 40

            await eventually(some_arrived, timeout=60)
        cut = len(receiver.accepted)
        assert cut < len(expected)  # stopped with a backlog left
        async with stage.gateway():

            async def all_arrived() -> bool:
                return ids(receiver.accepted) >= expected

            await eventually(all_arrived, timeout=90)
    assert ids(receiver.accepted) == expected
    for event in verified(receiver, made["secret"]):  # duplicates carry their event's id
        assert event["id"] in expected


def _disabled(reason: str) -> float:
    return (
        REGISTRY.get_sample_value(
            "laborcoop_webhook_subscriptions_disabled_total", {"reason": reason}
        )
        or 0.0
    )


async def test_gone_or_failing_for_too_long_disables_and_an_event_says_so(
    stage_with: StageWith, receivers: Receivers
) -> None:
    disabled_before = {reason: _disabled(reason) for reason in ("gone", "failing")}
    gone_rx = await receivers(answer=lambda _: (410, {}))
    failing_rx = await receivers(answer=lambda _: (500, {}))
    listening_rx = await receivers()
    async with stage_with(webhook_disable_after_s=1.5) as stage, stage.gateway() as client:
        hunan = stage.tokens.province(HUNAN)
        gone = await stage.subscribe(hunan, gone_rx.url, types=["cn.laborcoop.placements.*"])
        failing = await stage.subscribe(hunan, failing_rx.url, types=["cn.laborcoop.placements.*"])
        listening = await stage.subscribe(hunan, listening_rx.url, types=["cn.laborcoop.gateway.*"])
        guangdong_rx = await receivers()
        await stage.subscribe(
            stage.tokens.province(GUANGDONG), guangdong_rx.url, types=["cn.laborcoop.gateway.*"]
        )
        posted = _backlog(1)
        await stage.publish(posted)

        async def both_disabled() -> list[dict[str, Any]] | None:
            states = [
                (await client.get(f"{BASE}/{s['id']}", headers=hunan)).json()
                for s in (gone, failing)
            ]
            return states if all(s["status"] == "disabled" for s in states) else None

        gone_now, failing_now = await eventually(both_disabled, timeout=30)
        assert gone_now["disabled_reason"] == "gone"
        assert len(gone_rx.requests) == 1  # 410: not retried
        assert failing_now["disabled_reason"] == "failing"
        assert len(failing_rx.requests) >= 2
        assert {r: _disabled(r) - n for r, n in disabled_before.items()} == {
            "gone": 1,
            "failing": 1,
        }

        async def heard() -> list[dict[str, Any]] | None:
            events = verified(listening_rx, listening["secret"])
            return events if len(events) >= 2 else None

        events = await eventually(heard, timeout=30)
        assert {e["type"] for e in events} == {DISABLED}
        assert {e["data"]["subscription_id"] for e in events} == {gone["id"], failing["id"]}
        assert {e["data"]["reason"] for e in events} == {"gone", "failing"}
        assert all(e["provinces"] == HUNAN for e in events)
        assert guangdong_rx.requests == []  # another province's subscriptions: not its business

        # resumed, the failing one is attempted again once its receiver is back
        failing_rx.answer = lambda _: (204, {})
        resumed = await client.post(f"{BASE}/{failing['id']}/resume", headers=hunan)
        assert resumed.json()["status"] == "active"

        async def redelivered() -> bool:
            return ids(failing_rx.accepted) == {posted[0].id}

        await eventually(redelivered, timeout=30)
    assert json.loads(listening_rx.accepted[0].body)["source"] == "/laborcoop/gateway"


async def test_a_paused_subscription_collects_and_delivers_on_resume(
    stage_with: StageWith, receivers: Receivers
) -> None:
    receiver = await receivers()
    async with stage_with() as stage, stage.gateway() as client:
        hunan = stage.tokens.province(HUNAN)
        made = await stage.subscribe(hunan, receiver.url)
        paused = await client.post(f"{BASE}/{made['id']}/pause", headers=hunan)
        assert paused.json()["status"] == "paused"
        backlog = _backlog(5)
        await stage.publish(backlog)

        async def collected() -> bool:
            answer = await client.get(
                f"{BASE}/{made['id']}/deliveries", params={"state": "pending"}, headers=hunan
            )
            return len(answer.json()["items"]) == 5

        await eventually(collected)
        assert receiver.requests == []
        await client.post(f"{BASE}/{made['id']}/resume", headers=hunan)

        async def delivered() -> bool:
            return ids(receiver.accepted) == {e.id for e in backlog}

        await eventually(delivered)


def scraped(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The samples of a ``/metrics`` answer, by name and labels."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_metrics_show_the_backlog_while_a_receiver_is_down_and_the_attempts(
    stage_with: StageWith, receivers: Receivers
) -> None:
    """The gauges come from this test's database; the counters are the process's, so their
    growth is compared."""
    backlog_key = ("laborcoop_webhook_backlog", (("owner", HUNAN),))
    age_key = ("laborcoop_webhook_oldest_pending_age_seconds", (("owner", HUNAN),))
    delivered_key = ("laborcoop_webhook_attempts_total", (("verdict", "delivered"),))
    retried_key = ("laborcoop_webhook_attempts_total", (("verdict", "retry"),))
    timed_key = ("laborcoop_webhook_attempt_seconds_count", ())
    receiver = await receivers()
    async with stage_with() as stage, stage.gateway() as client:

        async def metrics() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
            answer = await client.get("/metrics")
            assert answer.status_code == 200
            return scraped(answer.text)

        before = await metrics()
        await stage.subscribe(stage.tokens.province(HUNAN), receiver.url)
        await stage.subscribe(stage.tokens.province(GUANGDONG), receiver.url)
        await receiver.stop()  # down: connections refused, every attempt retried
        await stage.publish(_backlog(5))

        async def backlogged() -> dict[tuple[str, tuple[tuple[str, str], ...]], float] | None:
            now = await metrics()
            tried = now.get(retried_key, 0) > before.get(retried_key, 0)
            return now if now.get(backlog_key) == 5 and now.get(age_key, 0) > 0 and tried else None

        during = await eventually(backlogged)
        assert ("laborcoop_webhook_backlog", (("owner", GUANGDONG),)) not in during
        assert during[("laborcoop_webhook_subscriptions", (("status", "active"),))] == 2
        await receiver.start()

        async def drained() -> dict[tuple[str, tuple[tuple[str, str], ...]], float] | None:
            now = await metrics()
            return now if backlog_key not in now and len(receiver.accepted) == 5 else None

        after = await eventually(drained, timeout=60)
        assert after[delivered_key] - before.get(delivered_key, 0) >= 5
        assert after[timed_key] - before.get(timed_key, 0) >= 6


def most_at_once(received: list[Any], answer_s: float) -> int:
    """The most requests a receiver that takes ``answer_s`` to answer had under way at once."""
    edges = sorted(
        [(r.at - answer_s, 1) for r in received] + [(r.at, -1) for r in received],
        key=lambda edge: (edge[0], edge[1]),
    )
    under_way = most = 0
    for _, change in edges:
        under_way += change
        most = max(most, under_way)
    return most


async def test_a_slow_receiver_has_its_share_of_attempts_and_the_others_go_on(
    stage_with: StageWith, receivers: Receivers
) -> None:
    slow = await receivers(delay_s=0.5)
    fast = await receivers()
    backlog = _backlog(12)  # twelve subjects: each could be attempted at once
    shares = {"webhook_max_in_flight": 6, "webhook_max_in_flight_per_subscription": 2}
    async with stage_with(**shares) as stage, stage.gateway():
        await stage.subscribe(stage.tokens.province(HUNAN), slow.url)
        await stage.subscribe(stage.tokens.province(HUNAN), fast.url)
        await stage.publish(backlog)

        async def fast_done() -> bool:
            return len(fast.accepted) == len(backlog)

        await eventually(fast_done, timeout=30)
        assert len(slow.requests) < len(backlog)  # still working through its share

        async def slow_done() -> bool:
            return len(slow.accepted) == len(backlog)

        await eventually(slow_done, timeout=30)
    assert most_at_once(slow.requests, 0.5) <= 2

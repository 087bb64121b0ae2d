"""Every change of the labour exchange is one event on its topic, naming the provinces it
concerns, decodable by the contracts, and never carrying personal data."""

from collections.abc import AsyncIterator

import httpx
import pytest

from laborcoop.common.clock import ManualClock
from laborcoop.contracts import decode, topics
from laborcoop.contracts.envelope import CloudEvent
from laborcoop.placements.app import create_app
from laborcoop.placements.settings import PlacementsSettings
from laborcoop.testing import FreshApps, Stack, Tokens, read_topic
from services.placements.tests.steps import HUNAN, SHANGHAI, Exchange, worker_body


@pytest.fixture
async def publishing(
    fresh_apps: FreshApps, settings: PlacementsSettings, clock: ManualClock
) -> AsyncIterator[httpx.AsyncClient]:
    publishing = settings.model_copy(update={"run_workers": True})
    async with fresh_apps.running(create_app, publishing, clock=clock) as (_, client):
        yield client


async def events_of(
    stack: Stack, settings: PlacementsSettings, topic: str, expect: int
) -> list[CloudEvent]:
    records = await read_topic(stack.kafka_bootstrap, settings.topic(topic), expect=expect)
    return [CloudEvent.from_json_bytes(r.value) for r in records if r.value is not None]


async def test_each_change_is_one_event_without_personal_data(
    publishing: httpx.AsyncClient,
    tokens: Tokens,
    stack: Stack,
    settings: PlacementsSettings,
    clock: ManualClock,
) -> None:
    exchange = Exchange(publishing, tokens)
    body = worker_body(41)
    worker_id = await exchange.worker(41)  # registered + identity consent for Shanghai
    demand_id = await exchange.demand(headcount=1)
    placement_id = await exchange.placement(worker_id, demand_id)
    await exchange.ok(await exchange.act(placement_id, "acceptance"))
    await exchange.ok(await exchange.act(placement_id, "onboarding", {"on": "2025-03-01"}))
    clock.advance(days=120)
    await exchange.ok(
        await exchange.act(placement_id, "milestones", {"months": 3, "on": "2025-06-01"})
    )
    await exchange.ok(await exchange.act(placement_id, "termination", {"reason": "家中有事"}))

    worker_events = await events_of(stack, settings, topics.WORKERS, expect=4)
    assert [e.type.split(".")[-2] for e in worker_events] == [
        "registered",
        "consent_changed",
        "updated",
        "updated",
    ]
    placement_events = await events_of(stack, settings, topics.PLACEMENTS, expect=5)
    assert [e.type.split(".")[-2] for e in placement_events] == [
        "proposed",
        "accepted",
        "onboarded",
        "milestone_reached",
        "terminated",
    ]
    demand_events = await events_of(stack, settings, topics.DEMANDS, expect=2)
    assert [e.type.split(".")[-2] for e in demand_events] == ["posted", "filled"]

    for event in placement_events:
        assert sorted(event.province_codes) == [SHANGHAI, HUNAN]
        decode(event)
    assert worker_events[0].province_codes == (HUNAN,)
    assert sorted(worker_events[1].province_codes) == [SHANGHAI, HUNAN]
    everything = " ".join(e.model_dump_json() for e in worker_events + placement_events)
    for personal in (body["name"], body["resident_id"], body["phone"], "poverty"):
        assert personal not in everything

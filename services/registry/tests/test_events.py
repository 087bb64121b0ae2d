"""Each change gives exactly one event on the topic, in order per brand, decodable by contracts."""

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from laborcoop.common.deps import state_of
from laborcoop.contracts import decode, topics
from laborcoop.contracts.brands import (
    BrandIndicatorsReported,
    BrandRecognised,
    BrandRegistered,
    BrandReinstated,
    BrandRetired,
    BrandSuspended,
    BrandUpdated,
)
from laborcoop.contracts.envelope import CloudEvent
from laborcoop.registry.app import SPEC, create_app
from laborcoop.registry.settings import RegistrySettings
from laborcoop.testing import FreshApps, Tokens, eventually, read_topic

HUNAN = "430000"


@pytest.fixture
async def publishing(fresh_apps: FreshApps) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    settings = await fresh_apps.settings(RegistrySettings, SPEC.migration_package)
    async with fresh_apps.running(create_app, settings) as publishing:
        yield publishing


async def test_every_change_is_one_event_in_order(
    publishing: tuple[FastAPI, httpx.AsyncClient], tokens: Tokens
) -> None:
    app, client = publishing
    hunan, ministry = tokens.province(HUNAN), tokens.ministry()
    brand = (
        await client.post(
            "/v1/brands",
            headers=hunan,
            json={"name": "沙坪湘绣工", "province": HUNAN, "category": "intangible_heritage"},
        )
    ).json()
    url = f"/v1/brands/{brand['id']}"
    other = await client.post(
        "/v1/brands",
        headers=hunan,
        json={"name": "电力湘军", "province": HUNAN, "category": "skilled_trades"},
    )
    steps = [
        client.patch(url, json={"description": "湘绣"}, headers={**hunan, "If-Match": '"1"'}),
        client.post(f"{url}/recognition", json={"level": "province"}, headers=hunan),
        client.put(f"{url}/indicators/2024", json={"practitioners": 1200}, headers=hunan),
        client.post(f"{url}/suspension", json={"reason": "核查"}, headers=ministry),
        client.post(f"{url}/suspension", json={"reason": "重复"}, headers=ministry),  # 409
        client.post(f"{url}/reinstatement", headers=ministry),
        client.post(f"{url}/retirement", json={"reason": "注销"}, headers=hunan),
    ]
    statuses = [(await step).status_code for step in steps]
    assert statuses == [200, 200, 201, 200, 409, 200, 200]
    assert other.status_code == 201

    async def relayed() -> bool:
        backlog: int = await state_of(app).pool.fetchval("SELECT count(*) FROM outbox")
        return backlog == 0

    await eventually(relayed)
    topic = state_of(app).settings.topic(topics.BRANDS)
    records = await read_topic(state_of(app).settings.kafka_bootstrap, topic, expect=8)
    events = [CloudEvent.from_json_bytes(r.value) for r in records if r.value is not None]
    mine = [e for e in events if e.subject == brand["id"]]
    assert [type(decode(e)) for e in mine] == [
        BrandRegistered,
        BrandUpdated,
        BrandRecognised,
        BrandIndicatorsReported,
        BrandSuspended,
        BrandReinstated,
        BrandRetired,
    ]
    assert [e.version for e in mine] == list(range(1, 8))
    assert len({r.partition for r in records if r.key == brand["id"].encode()}) == 1
    assert all(e.provinces == HUNAN for e in events)
    assert len(events) == 8
    assert len({e.id for e in events}) == 8

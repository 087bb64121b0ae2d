"""A brand registered through the gateway reaches its province's webhook: registry → outbox →
Kafka → the gateway's event log → a signed POST to a real HTTP server on 127.0.0.1, verified with
the ``standardwebhooks`` library. Another province's subscriber hears nothing of it; the
ministry's hears everything."""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook

from laborcoop.gateway.app import create_app as create_gateway
from laborcoop.gateway.settings import GatewaySettings
from laborcoop.registry.app import create_app as create_registry
from laborcoop.registry.settings import RegistrySettings
from laborcoop.testing import Stack, Tokens, eventually, running, settings_for
from laborcoop.testing.databases import Databases
from services.gateway.tests.webhook_receiver import Receiver

HUNAN, GUANGDONG = "430000", "440000"


@pytest.fixture
async def gateway(
    stack: Stack, databases: Databases, topic_prefix: str, tokens: Tokens
) -> AsyncIterator[httpx.AsyncClient]:
    """The registry and the gateway, their workers on; the gateway delivers to 127.0.0.1."""
    registry_settings = settings_for(
        RegistrySettings,
        stack,
        topic_prefix=topic_prefix,
        database_url=await databases.fresh("laborcoop.registry.migrations"),
    )
    gateway_settings = settings_for(
        GatewaySettings,
        stack,
        topic_prefix=topic_prefix,
        database_url=await databases.fresh("laborcoop.gateway.migrations"),
        webhook_http_hosts=["127.0.0.1"],
        webhook_poll_interval_s=0.2,
    )
    registry_app = create_registry(registry_settings, keys=tokens.keyset())
    gateway_app = create_gateway(
        gateway_settings,
        keys=tokens.keyset(),
        transports={"registry": httpx.ASGITransport(app=registry_app)},
    )
    async with running(registry_app), running(gateway_app) as client:
        yield client


async def test_a_brand_registered_reaches_its_provinces_webhook_signed(
    gateway: httpx.AsyncClient, tokens: Tokens
) -> None:
    receivers = {who: await Receiver().start() for who in (HUNAN, GUANGDONG, "ministry")}
    try:
        secrets: dict[str, str] = {}
        for who, receiver in receivers.items():
            bearer = tokens.ministry() if who == "ministry" else tokens.province(who)
            made = await gateway.post(
                "/v1/subscriptions",
                json={"url": receiver.url, "types": ["cn.laborcoop.registry.*"]},
                headers=bearer,
            )
            assert made.status_code == 201, made.text
            secrets[who] = made.json()["secret"]
        created = await gateway.post(
            "/v1/brands",
            json={"name": "安化黑茶茶艺师", "province": HUNAN, "category": "skilled_trades"},
            headers=tokens.province(HUNAN),
        )
        assert created.status_code == 201, created.text
        brand_id = created.json()["id"]

        async def delivered() -> list[dict[str, Any]] | None:
            hunan, ministry = receivers[HUNAN], receivers["ministry"]
            if not (hunan.accepted and ministry.accepted):
                return None
            return [
                Webhook(secrets[who]).verify(r.body, r.headers)
                for who in (HUNAN, "ministry")
                for r in receivers[who].accepted
            ]

        events = await eventually(delivered)
        assert {e["type"] for e in events} == {"cn.laborcoop.registry.brand.registered.v1"}
        assert {e["subject"] for e in events} == {brand_id}
        assert all(e["provinces"] == HUNAN for e in events)
        assert receivers[GUANGDONG].requests == []
    finally:
        for receiver in receivers.values():
            await receiver.stop()

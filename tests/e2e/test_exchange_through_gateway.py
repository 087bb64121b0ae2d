"""The labour exchange through the gateway: every workers, demands and placements route reaches
the placements service with the caller's token and comes back unchanged (personal data masked by
the service, never opened by the gateway)."""

from collections.abc import AsyncIterator

import httpx
import pytest

from laborcoop.common.clock import ManualClock
from laborcoop.gateway.app import create_app as create_gateway
from laborcoop.gateway.settings import GatewaySettings
from laborcoop.placements.app import create_app as create_placements
from laborcoop.placements.protection import Keyring
from laborcoop.placements.settings import PlacementsSettings
from laborcoop.testing import FreshApps, Stack, Tokens, running, settings_for
from laborcoop.testing.databases import Databases
from services.placements.tests.conftest import START, key_settings
from services.placements.tests.steps import HUNAN, SHANGHAI, Exchange


@pytest.fixture
async def gateway(
    stack: Stack, databases: Databases, fresh_apps: FreshApps, topic_prefix: str, tokens: Tokens
) -> AsyncIterator[httpx.AsyncClient]:
    placements_settings = await fresh_apps.settings(
        PlacementsSettings,
        "laborcoop.placements.migrations",
        run_workers=False,
        **key_settings(Keyring.generate()),
    )
    gateway_settings = settings_for(
        GatewaySettings,
        stack,
        topic_prefix=topic_prefix,
        database_url=await databases.fresh("laborcoop.gateway.migrations"),
        run_workers=False,
    )
    placements_app = create_placements(
        placements_settings, keys=tokens.keyset(), clock=ManualClock(START)
    )
    gateway_app = create_gateway(
        gateway_settings,
        keys=tokens.keyset(),
        transports={"placements": httpx.ASGITransport(app=placements_app)},
    )
    async with running(placements_app), running(gateway_app) as client:
        yield client


async def test_a_placement_made_through_the_gateway(
    gateway: httpx.AsyncClient, tokens: Tokens
) -> None:
    exchange = Exchange(gateway, tokens)
    worker_id = await exchange.worker(71)
    demand_id = await exchange.demand(headcount=2)
    placement_id = await exchange.placement(worker_id, demand_id)
    accepted = await exchange.ok(
        await gateway.post(
            f"/v1/placements/{placement_id}/acceptance",
            json={},
            headers={**exchange.hunan, "If-Match": '"1"', "Idempotency-Key": "accept-71"},
        )
    )
    assert accepted["status"] == "accepted"
    seen = await exchange.ok(
        await gateway.get(f"/v1/workers/{worker_id}", headers=tokens.province(SHANGHAI))
    )
    assert seen["clear"] == ["name", "resident_id", "phone"]  # identity consent: audited
    # One placement is read from its owner; lists come from the gateway's own projection
    # (services/gateway/tests/test_views.py, tests/e2e/test_views_scenario.py).
    one = await exchange.ok(
        await gateway.get(f"/v1/placements/{placement_id}", headers=exchange.shanghai)
    )
    assert (one["id"], one["origin"]) == (placement_id, HUNAN)
    unknown = await gateway.get("/v1/workers", params={"colour": "red"}, headers=exchange.hunan)
    assert unknown.status_code == 422  # the owner checks the query it was sent unchanged
    ministry = await gateway.get(f"/v1/placements/{placement_id}", headers=tokens.ministry())
    assert ministry.status_code == 403

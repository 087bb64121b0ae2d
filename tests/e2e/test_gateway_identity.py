"""Identity across services, as deployed: a provincial system gets a token from the gateway's
``POST /v1/oauth/token``; the registry, which loaded its keys from the gateway's
``/.well-known/jwks.json`` at start-up (``LABORCOOP_JWKS_URL``), accepts it on a command the
gateway forwards; the gateway itself verifies it with its own signing keys. No key set is given
to either app as a seam."""

from dataclasses import dataclass, field

import httpx
from fastapi import FastAPI

from laborcoop.common.deps import state_of
from laborcoop.common.unit_of_work import unit_of_work
from laborcoop.gateway.app import create_app as create_gateway
from laborcoop.gateway.identity.domain import parse_roles
from laborcoop.gateway.identity.keys import new_key_entry
from laborcoop.gateway.settings import GatewaySettings
from laborcoop.gateway.uses import GatewayUses
from laborcoop.registry.app import create_app as create_registry
from laborcoop.registry.settings import RegistrySettings
from laborcoop.testing import Stack, running, settings_for
from laborcoop.testing.databases import Databases
from tests.conftest import served

HUNAN = "430000"


@dataclass
class StartedLater(httpx.AsyncBaseTransport):
    """An in-process transport to an app created after the gateway (the registry needs the
    gateway's key set URL, known once the gateway listens)."""

    app: FastAPI | None = field(default=None)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert self.app is not None
        return await httpx.ASGITransport(app=self.app).handle_async_request(request)


async def test_a_token_of_the_gateway_opens_every_service(
    stack: Stack, databases: Databases, topic_prefix: str
) -> None:
    registry_transport = StartedLater()
    gateway_settings = settings_for(
        GatewaySettings,
        stack,
        topic_prefix=topic_prefix,
        database_url=await databases.fresh("laborcoop.gateway.migrations"),
        run_workers=False,
        token_signing_keys=new_key_entry("2026-01"),
    )
    gateway = create_gateway(gateway_settings, transports={"registry": registry_transport})
    async with running(gateway) as gateway_client, served(gateway) as gateway_url:
        registry_settings = settings_for(
            RegistrySettings,
            stack,
            topic_prefix=topic_prefix,
            database_url=await databases.fresh("laborcoop.registry.migrations"),
            run_workers=False,
            jwks_url=f"{gateway_url}/.well-known/jwks.json",
        )
        registry = create_registry(registry_settings)
        registry_transport.app = registry
        async with running(registry):
            uses = state_of(gateway).use_cases
            assert isinstance(uses, GatewayUses)
            async with unit_of_work(state_of(gateway).pool, gateway_settings) as uow:
                made = uses.identity.create(
                    uow, name="湖南省人社厅", province=HUNAN, roles=parse_roles(["province"])
                )
            answer = await gateway_client.post(
                "/v1/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=(str(made.client.id), made.secret),
            )
            assert answer.status_code == 200, answer.text
            bearer = {"Authorization": f"Bearer {answer.json()['access_token']}"}

            created = await gateway_client.post(
                "/v1/brands",
                json={"name": "湘西苗绣", "province": HUNAN, "category": "skilled_trades"},
                headers=bearer,
            )
            assert created.status_code == 201, created.text  # verified by the registry
            listed = await gateway_client.get("/v1/brands", headers=bearer)
            assert listed.status_code == 200, listed.text  # verified by the gateway
            forged = await gateway_client.get(
                "/v1/brands", headers={"Authorization": "Bearer " + "e30.e30.e30"}
            )
            assert forged.status_code == 401

"""The gateway on a fresh database with signing keys of its own, a manual clock, and helpers to
make clients and ask for tokens."""

import base64
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote_plus
from uuid import UUID

import httpx
import pytest
from fastapi import FastAPI

from laborcoop.common.clock import ManualClock
from laborcoop.common.db import Pool
from laborcoop.common.deps import state_of
from laborcoop.common.unit_of_work import unit_of_work
from laborcoop.gateway.app import SPEC, create_app
from laborcoop.gateway.identity.domain import parse_roles
from laborcoop.gateway.identity.keys import new_key_entry
from laborcoop.gateway.identity.service import Identity
from laborcoop.gateway.settings import GatewaySettings
from laborcoop.gateway.uses import GatewayUses
from laborcoop.testing import FreshApps, settings_for

HUNAN = "430000"
GUANGDONG = "440000"
TOKEN = "/v1/oauth/token"
FAILURE_WINDOW_S = 60.0
CLIENT_CREDENTIALS = {"grant_type": "client_credentials"}


def basic(client_id: str, secret: str) -> str:
    """HTTP Basic credentials as RFC 6749 §2.3.1 has them: each part form-urlencoded first."""
    pair = f"{quote_plus(client_id)}:{quote_plus(secret)}"
    return "Basic " + base64.b64encode(pair.encode()).decode()


@dataclass
class Gateway:
    app: FastAPI
    client: httpx.AsyncClient
    settings: GatewaySettings
    clock: ManualClock

    @property
    def pool(self) -> Pool:
        return state_of(self.app).pool

    @property
    def identity(self) -> Identity:
        uses = state_of(self.app).use_cases
        assert isinstance(uses, GatewayUses)
        return uses.identity

    async def new_client(
        self, *roles: str, province: str | None = HUNAN, name: str = "湖南省人社厅就业系统"
    ) -> tuple[str, str]:
        """A client made as ``clients create`` makes it: its id and its secret."""
        async with unit_of_work(self.pool, self.settings) as uow:
            made = self.identity.create(
                uow, name=name, province=province, roles=parse_roles(list(roles or ["province"]))
            )
        return str(made.client.id), made.secret

    async def disable(self, client_id: str) -> None:
        async with unit_of_work(self.pool, self.settings) as uow:
            await self.identity.disable(uow, UUID(client_id))

    async def rotate(self, client_id: str, grace: timedelta) -> str:
        """The new secret of ``client_id`` (``clients rotate-secret``)."""
        async with unit_of_work(self.pool, self.settings) as uow:
            made = await self.identity.rotate_secret(uow, UUID(client_id), grace)
        return made.secret

    async def token(
        self,
        form: dict[str, str] | None = None,
        *,
        auth: tuple[str, str] | None = None,
        client: httpx.AsyncClient | None = None,
        **headers: str,
    ) -> httpx.Response:
        """``POST /v1/oauth/token`` with ``form`` (the client-credentials grant by default),
        authenticated by HTTP Basic when ``auth`` is given."""
        sent = {name.replace("_", "-"): value for name, value in headers.items()}
        if auth is not None:
            sent["Authorization"] = basic(*auth)
        data = CLIENT_CREDENTIALS if form is None else form
        return await (client or self.client).post(TOKEN, data=data, headers=sent)


def signing_settings(*kids: str, current: str | None = None) -> dict[str, Any]:
    """Settings fields for new keys ``kids`` (the last one signs unless ``current`` says)."""
    return {
        "token_signing_keys": ",".join(new_key_entry(kid) for kid in kids),
        "token_signing_key_id": current or kids[-1],
    }


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime.now(UTC))


GatewayWith = Callable[..., AbstractAsyncContextManager[Gateway]]


@pytest.fixture
def gateway_with(fresh_apps: FreshApps, clock: ManualClock) -> GatewayWith:
    """A gateway (no background work) with ``overrides`` of its settings, on a fresh database
    unless they name one; by default one signing key, ``k1``, and a failure limit no test
    reaches by accident."""

    @asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[Gateway]:
        database_url = overrides.pop("database_url", None)
        settings = settings_for(
            GatewaySettings,
            fresh_apps.stack,
            topic_prefix=fresh_apps.topic_prefix,
            database_url=database_url or await fresh_apps.databases.fresh(SPEC.migration_package),
            **{
                "run_workers": False,
                "token_failure_limit": 1000,
                "token_failure_window_s": FAILURE_WINDOW_S,
                **signing_settings("k1"),
                **overrides,
            },
        )
        async with fresh_apps.running(create_app, settings, clock=clock) as (app, client):
            yield Gateway(app, client, settings, clock)

    return start


@pytest.fixture
async def gateway(gateway_with: GatewayWith) -> AsyncIterator[Gateway]:
    async with gateway_with() as gateway:
        yield gateway

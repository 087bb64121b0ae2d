"""A token of the gateway through its life, on the gateway's own routes (no key set given as a
seam: the gateway verifies with its signing keys): a key rotation keeps the old key's tokens
working until they expire while new tokens use the new key, and dropping the old key refuses them;
a disabled client's tokens are refused at once, not when they expire."""

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

import httpx
import jwt
import pytest
from fastapi import FastAPI

from laborcoop.common.clock import ManualClock
from laborcoop.common.deps import state_of
from laborcoop.common.unit_of_work import unit_of_work
from laborcoop.gateway.app import create_app
from laborcoop.gateway.identity.domain import parse_roles
from laborcoop.gateway.identity.keys import new_key_entry
from laborcoop.gateway.settings import GatewaySettings
from laborcoop.gateway.uses import GatewayUses
from laborcoop.testing import FreshApps, eventually, running, settings_for
from services.gateway.tests.conftest import CLIENT_CREDENTIALS, HUNAN, basic

VIEW = "/v1/national/overview"  # open to every province token
TTL_S = 60
REFRESH_S = 0.05
NOWHERE = "http://127.0.0.1:9"  # no owner listens: a forwarded request would be a 503


@dataclass
class Started:
    app: FastAPI
    client: httpx.AsyncClient

    @property
    def uses(self) -> GatewayUses:
        uses = state_of(self.app).use_cases
        assert isinstance(uses, GatewayUses)
        return uses

    async def new_client(self) -> tuple[str, str]:
        """A 湖南 client, made as ``clients create`` makes it: its id and secret."""
        settings = state_of(self.app).settings
        async with unit_of_work(state_of(self.app).pool, settings) as uow:
            made = self.uses.identity.create(
                uow, name="湖南省人社厅", province=HUNAN, roles=parse_roles(["province"])
            )
        return str(made.client.id), made.secret

    async def disable(self, client_id: str) -> None:
        """As ``clients disable`` does (through the use case, in its own transaction)."""
        settings = state_of(self.app).settings
        async with unit_of_work(state_of(self.app).pool, settings) as uow:
            await self.uses.identity.disable(uow, UUID(client_id))

    async def token(self, client: tuple[str, str]) -> str:
        answer = await self.client.post(
            "/v1/oauth/token", data=CLIENT_CREDENTIALS, headers={"Authorization": basic(*client)}
        )
        assert answer.status_code == 200, answer.text
        token: str = answer.json()["access_token"]
        return token

    async def status_with(self, token: str) -> int:
        answer = await self.client.get(VIEW, headers={"Authorization": f"Bearer {token}"})
        return answer.status_code


Start = Callable[..., AbstractAsyncContextManager[Started]]


@pytest.fixture
def clock() -> ManualClock:
    """Two token lifetimes ago: a token issued at once has expired by the time it is used."""
    return ManualClock(datetime.now(UTC) - timedelta(seconds=2 * TTL_S))


@pytest.fixture
async def start(fresh_apps: FreshApps, clock: ManualClock) -> Start:
    """Start (and stop) the gateway on one database with the signing keys given: a restart
    with other settings is another ``start``."""
    database_url = await fresh_apps.databases.fresh("laborcoop.gateway.migrations")

    @asynccontextmanager
    async def started(keys: str, current: str) -> AsyncIterator[Started]:
        settings = settings_for(
            GatewaySettings,
            fresh_apps.stack,
            topic_prefix=fresh_apps.topic_prefix,
            database_url=database_url,
            run_workers=False,
            token_ttl_s=TTL_S,
            token_signing_keys=keys,
            token_signing_key_id=current,
            disabled_clients_refresh_s=REFRESH_S,
            **dict.fromkeys(("registry_url", "agreements_url", "placements_url"), NOWHERE),
        )
        app = create_app(settings, clock=clock)  # no `keys=`: its own signing keys verify
        async with running(app) as client:
            yield Started(app, client)

    return started


async def test_a_key_rotation_keeps_old_tokens_until_they_expire_and_dropping_the_key_refuses_them(
    start: Start, clock: ManualClock
) -> None:
    k1, k2 = new_key_entry("k1"), new_key_entry("k2")
    async with start(k1, "k1") as first:
        client = await first.new_client()
        expired = await first.token(client)  # issued two lifetimes ago: its `exp` has passed
        clock.advance(seconds=2 * TTL_S)
        old = await first.token(client)
        assert await first.status_with(old) == 200
        assert await first.status_with(expired) == 401

    # k2 published and current: new tokens are signed by k2, the old one still opens the routes
    async with start(f"{k1},{k2}", "k2") as rotated:
        new = await rotated.token(client)
        assert jwt.get_unverified_header(new)["kid"] == "k2"
        assert jwt.get_unverified_header(old)["kid"] == "k1"
        assert await rotated.status_with(old) == 200
        assert await rotated.status_with(new) == 200
        refused = await rotated.client.get(VIEW, headers={"Authorization": f"Bearer {expired}"})
        assert refused.status_code == 401  # k1 still verifies it, but it has expired
        assert "expired" in refused.json()["detail"]

    # k1 dropped once its tokens have expired: a token it signed is refused
    async with start(k2, "k2") as dropped:
        assert await dropped.status_with(new) == 200
        refused = await dropped.client.get(VIEW, headers={"Authorization": f"Bearer {old}"})
        assert refused.status_code == 401
        assert "unknown key" in refused.json()["detail"]


async def test_a_disabled_clients_tokens_are_refused_at_once(
    start: Start, clock: ManualClock
) -> None:
    clock.advance(seconds=2 * TTL_S)
    async with start(new_key_entry("k1"), "k1") as gateway:
        client = await gateway.new_client()
        other = await gateway.new_client()
        token, others = await gateway.token(client), await gateway.token(other)
        assert await gateway.status_with(token) == 200

        await gateway.disable(client[0])

        async def refused() -> httpx.Response | None:
            answer = await gateway.client.get(VIEW, headers={"Authorization": f"Bearer {token}"})
            return answer if answer.status_code == 401 else None

        answer = await eventually(refused, timeout=5 * REFRESH_S + 2, interval=REFRESH_S / 5)
        assert answer.headers["content-type"] == "application/problem+json"
        assert 'error="invalid_token"' in answer.headers["www-authenticate"]
        assert answer.headers["www-authenticate"].startswith("Bearer ")
        assert "disabled" in answer.json()["detail"]
        # on a forwarded route too, before anything is sent (no owner listens here)
        forwarded = await gateway.client.post(
            "/v1/brands", json={}, headers={"Authorization": f"Bearer {token}"}
        )
        assert forwarded.status_code == 401, forwarded.text
        assert await gateway.status_with(others) == 200  # another client is unaffected
        again = await gateway.client.post(
            "/v1/oauth/token", data=CLIENT_CREDENTIALS, headers={"Authorization": basic(*client)}
        )
        assert again.json()["error"] == "unauthorized_client"


async def test_the_disabled_set_is_read_before_the_first_request(
    start: Start, clock: ManualClock
) -> None:
    clock.advance(seconds=2 * TTL_S)
    entry = new_key_entry("k1")
    async with start(entry, "k1") as gateway:
        client = await gateway.new_client()
        token = await gateway.token(client)
        await gateway.disable(client[0])
    async with start(entry, "k1") as restarted:
        first = await restarted.client.get(VIEW, headers={"Authorization": f"Bearer {token}"})
        assert first.status_code == 401, first.text
        assert 'error="invalid_token"' in first.headers["www-authenticate"]

"""Bodies too large, through the gateway: a forwarded body is streamed to its owner, whose limit
(``LABORCOOP_MAX_BODY_BYTES``) answers 413 problem+json — with a declared length or chunked —
and the gateway relays it; the NDJSON import, bounded by its lines rather than its bytes, takes a
body larger than that limit; the gateway's own routes have the same limit."""

import json
from collections.abc import AsyncIterator
from datetime import date

import httpx
import pytest

from laborcoop.contracts.identifiers import make_resident_id
from laborcoop.gateway.app import create_app as create_gateway
from laborcoop.gateway.settings import GatewaySettings
from laborcoop.placements.app import create_app as create_placements
from laborcoop.placements.protection import Keyring
from laborcoop.placements.settings import PlacementsSettings
from laborcoop.registry.app import create_app as create_registry
from laborcoop.registry.settings import RegistrySettings
from laborcoop.testing import FreshApps, Tokens, running
from laborcoop.testing.leaks import WATCH
from services.placements.tests.conftest import key_settings

HUNAN = "430000"
LIMIT = 2048


@pytest.fixture
async def gateway(fresh_apps: FreshApps) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway before the registry and the placements service, all with a 2 KiB limit."""
    small = {"max_body_bytes": LIMIT, "run_workers": False}
    registry = fresh_apps.app(
        create_registry,
        await fresh_apps.settings(RegistrySettings, "laborcoop.registry.migrations", **small),
    )
    placements = fresh_apps.app(
        create_placements,
        await fresh_apps.settings(
            PlacementsSettings,
            "laborcoop.placements.migrations",
            **small,
            **key_settings(Keyring.generate()),
        ),
    )
    gateway = create_gateway(
        await fresh_apps.settings(GatewaySettings, "laborcoop.gateway.migrations", **small),
        keys=fresh_apps.tokens.keyset(),
        transports={
            "registry": httpx.ASGITransport(app=registry),
            "placements": httpx.ASGITransport(app=placements),
        },
    )
    async with running(registry), running(placements), running(gateway) as client:
        yield client


def assert_too_large(answer: httpx.Response) -> None:
    assert answer.status_code == 413, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["type"] == "https://laborcoop.cn/problems/payload-too-large"


async def test_a_forwarded_body_over_the_owners_limit_is_413(
    gateway: httpx.AsyncClient, tokens: Tokens
) -> None:
    body = {"name": "湘绣绣工", "province": HUNAN, "category": "skilled_trades"}
    oversized = json.dumps({**body, "description": "湘" * LIMIT}).encode()
    headers = {**tokens.province(HUNAN), "Content-Type": "application/json"}
    assert_too_large(await gateway.post("/v1/brands", content=oversized, headers=headers))

    async def chunked() -> AsyncIterator[bytes]:  # no Content-Length: read up to the limit
        for start in range(0, len(oversized), 512):
            yield oversized[start : start + 512]

    assert_too_large(await gateway.post("/v1/brands", content=chunked(), headers=headers))
    fits = await gateway.post("/v1/brands", json=body, headers=tokens.province(HUNAN))
    assert fits.status_code == 201, fits.text


async def test_the_import_takes_a_body_larger_than_the_limit(
    gateway: httpx.AsyncClient, tokens: Tokens
) -> None:
    lines = []
    for n in range(1, 21):
        name, resident_id, phone = (
            "李湘茶",
            make_resident_id("430923", date(1990, 1, 1), n),
            f"139{n:08d}",
        )
        WATCH.remember(HUNAN, name, resident_id, phone)
        worker = {
            "name": name,
            "resident_id": resident_id,
            "phone": phone,
            "education": "vocational",
            "occupations": ["4-03-02-09"],
        }
        lines.append(json.dumps(worker, ensure_ascii=False))
    ndjson = ("\n".join(lines) + "\n").encode()
    assert len(ndjson) > LIMIT
    answer = await gateway.post(
        "/v1/workers:import",
        content=ndjson,
        headers={**tokens.province(HUNAN), "Content-Type": "application/x-ndjson"},
    )
    assert answer.status_code == 200, answer.text
    assert (answer.json()["lines"], answer.json()["accepted"]) == (20, 20)


async def test_the_gateways_own_routes_have_the_limit_too(gateway: httpx.AsyncClient) -> None:
    form = {"grant_type": "client_credentials", "scope": "x" * LIMIT}
    assert_too_large(await gateway.post("/v1/oauth/token", data=form))

"""An owning service stopped and started again, as an operator or a crash does it: while the
registry is down its commands through the gateway get 503 with ``Retry-After`` at once (nothing
was sent), the gateway's views keep answering from their projection; once it is back — a new
process on the same database and port — the same command, retried with its Idempotency-Key,
goes through, and the views converge on everything that happened."""

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from laborcoop.gateway.app import create_app as create_gateway
from laborcoop.gateway.settings import GatewaySettings
from laborcoop.registry.app import create_app as create_registry
from laborcoop.registry.settings import RegistrySettings
from laborcoop.testing import FreshApps, Tokens, eventually, running

HUNAN = "430000"
UPSTREAM_TIMEOUT_S = 2.0

pytestmark = pytest.mark.timeout(120)


@asynccontextmanager
async def listening(app: FastAPI, port: int) -> AsyncIterator[None]:
    """``app`` (its lifespan run by ``running``) served on ``port`` of 127.0.0.1 until the
    block ends; the port can be bound again at once afterwards."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning"))
    task = asyncio.create_task(server.serve(sockets=[listener]))

    async def started() -> bool:
        return server.started

    try:
        await eventually(started)
        yield
    finally:
        server.should_exit = True
        await task
        listener.close()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def listed_names(gateway: httpx.AsyncClient, tokens: Tokens) -> set[str] | None:
    answer = await gateway.get("/v1/brands", headers=tokens.observer())
    assert answer.status_code == 200, answer.text
    return {brand["name"] for brand in answer.json()["items"]}


async def test_a_stopped_owner_is_503_at_once_views_keep_answering_and_all_converges_after(
    fresh_apps: FreshApps, tokens: Tokens
) -> None:
    port = free_port()
    registry_settings = await fresh_apps.settings(RegistrySettings, "laborcoop.registry.migrations")
    gateway_settings = await fresh_apps.settings(
        GatewaySettings,
        "laborcoop.gateway.migrations",
        registry_url=f"http://127.0.0.1:{port}",
        upstream_timeout_s=UPSTREAM_TIMEOUT_S,
    )
    hunan = tokens.province(HUNAN)

    def registration(name: str, key: str) -> dict[str, Any]:
        body = {"name": name, "province": HUNAN, "category": "skilled_trades"}
        return {"json": body, "headers": {**hunan, "Idempotency-Key": key}}

    async with running(create_gateway(gateway_settings, keys=tokens.keyset())) as gateway:
        registry = fresh_apps.app(create_registry, registry_settings)
        async with running(registry), listening(registry, port):
            before = await gateway.post("/v1/brands", **registration("湘绣绣工", "outage-0001"))
            assert before.status_code == 201, before.text

            async def projected() -> set[str] | None:
                names = await listed_names(gateway, tokens)
                return names if names == {"湘绣绣工"} else None

            await eventually(projected)

        # the registry is down: its process stopped, nothing listens on its port
        loop = asyncio.get_running_loop()
        started = loop.time()
        refused = await gateway.post("/v1/brands", **registration("醴陵陶瓷工", "outage-0002"))
        assert refused.status_code == 503, refused.text
        assert loop.time() - started < UPSTREAM_TIMEOUT_S  # at once, not after the timeout
        assert refused.headers["retry-after"].isdigit()
        assert refused.headers["content-type"] == "application/problem+json"
        read = await gateway.get(f"/v1/brands/{before.json()['id']}", headers=hunan)
        assert read.status_code == 503, read.text
        assert await listed_names(gateway, tokens) == {"湘绣绣工"}  # the view still answers
        overview = await gateway.get("/v1/national/overview", headers=tokens.ministry())
        assert overview.status_code == 200, overview.text

        # started again, a new process on the same database and port
        restarted = fresh_apps.app(create_registry, registry_settings)
        async with running(restarted), listening(restarted, port):
            retried = await gateway.post("/v1/brands", **registration("醴陵陶瓷工", "outage-0002"))
            assert retried.status_code == 201, retried.text
            read = await gateway.get(f"/v1/brands/{before.json()['id']}", headers=hunan)
            assert read.status_code == 200, read.text

            async def converged() -> set[str] | None:
                names = await listed_names(gateway, tokens)
                return names if names == {"湘绣绣工", "醴陵陶瓷工"} else None

            await eventually(converged)

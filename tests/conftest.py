"""Cross-service fixtures: the registry and the gateway running in-process against the real stack.

The gateway forwards commands to the registry app through an in-process transport, so a test
drives the same path a provincial system does: gateway → registry → outbox → Kafka → projection.
"""

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from laborcoop.common.db import Pool
from laborcoop.common.deps import state_of
from laborcoop.gateway.app import create_app as create_gateway
from laborcoop.gateway.settings import GatewaySettings
from laborcoop.registry.app import create_app as create_registry
from laborcoop.registry.settings import RegistrySettings
from laborcoop.testing import Stack, Tokens, eventually, running, settings_for
from laborcoop.testing.databases import Databases


@dataclass
class Running:
    app: FastAPI
    client: httpx.AsyncClient
    settings: RegistrySettings | GatewaySettings

    @property
    def pool(self) -> Pool:
        return state_of(self.app).pool


@dataclass
class System:
    registry: Running
    gateway: Running


@pytest.fixture
async def system(
    stack: Stack, databases: Databases, topic_prefix: str, tokens: Tokens
) -> AsyncIterator[System]:
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
    )
    registry_app = create_registry(registry_settings, keys=tokens.keyset())
    gateway_app = create_gateway(
        gateway_settings,
        keys=tokens.keyset(),
        transports={"registry": httpx.ASGITransport(app=registry_app)},
    )
    async with (
        running(registry_app) as registry_client,
        running(gateway_app) as gateway_client,
    ):
        yield System(
            registry=Running(registry_app, registry_client, registry_settings),
            gateway=Running(gateway_app, gateway_client, gateway_settings),
        )


@asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[str]:
    """``app`` (its lifespan already run by ``running``) on a real socket of 127.0.0.1; yields
    its base URL. Timeouts and dropped connections exist only over a real socket: the in-process
    transport ignores the client's timeouts."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning"))
    task = asyncio.create_task(server.serve(sockets=[listener]))

    async def started() -> bool:
        return server.started

    try:
        await eventually(started)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        listener.close()

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from laborcoop.registry.app import create_app
from laborcoop.registry.settings import RegistrySettings
from laborcoop.testing import Stack, Tokens, running, settings_for
from laborcoop.testing.databases import Databases


@pytest.fixture
async def registry_app(stack: Stack, databases: Databases, topic_prefix: str) -> FastAPI:
    settings = settings_for(
        RegistrySettings,
        stack,
        topic_prefix=topic_prefix,
        database_url=await databases.fresh("laborcoop.registry.migrations"),
        run_workers=False,
    )
    return create_app(settings)


@pytest.fixture
async def client(registry_app: FastAPI, tokens: Tokens) -> AsyncIterator[httpx.AsyncClient]:
    async with running(registry_app, tokens.keyset()) as client:
        yield client

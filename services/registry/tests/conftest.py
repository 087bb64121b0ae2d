from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from laborcoop.registry.app import create_app
from laborcoop.registry.settings import RegistrySettings
from laborcoop.testing import Stack, Tokens, running, settings_for
from laborcoop.testing.databases import Databases


@pytest.fixture
async def registry_settings(
    stack: Stack, databases: Databases, topic_prefix: str
) -> RegistrySettings:
    return settings_for(
        RegistrySettings,
        stack,
        topic_prefix=topic_prefix,
        database_url=await databases.fresh("laborcoop.registry.migrations"),
        run_workers=False,
    )


@pytest.fixture
def registry_app(registry_settings: RegistrySettings, tokens: Tokens) -> FastAPI:
    """The registry with the tests' key set (workers off)."""
    return create_app(registry_settings, keys=tokens.keyset())


@pytest.fixture
async def client(registry_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with running(registry_app) as client:
        yield client

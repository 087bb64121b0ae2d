from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from laborcoop.registry.app import SPEC, create_app
from laborcoop.registry.settings import RegistrySettings
from laborcoop.testing import FreshApps, running


@pytest.fixture
async def registry_settings(fresh_apps: FreshApps) -> RegistrySettings:
    return await fresh_apps.settings(RegistrySettings, SPEC.migration_package, run_workers=False)


@pytest.fixture
def registry_app(registry_settings: RegistrySettings, fresh_apps: FreshApps) -> FastAPI:
    """The registry with the tests' key set (workers off)."""
    return fresh_apps.app(create_app, registry_settings)


@pytest.fixture
async def client(registry_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with running(registry_app) as client:
        yield client

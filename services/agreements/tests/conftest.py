from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI

from laborcoop.agreements.app import SPEC, create_app
from laborcoop.agreements.settings import AgreementsSettings
from laborcoop.common.clock import ManualClock
from laborcoop.testing import FreshApps, running

# 2025-03-01 10:00 in Beijing: the agreements' calendar day is 2025-03-01.
START = datetime(2025, 3, 1, 2, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def agreements_app(fresh_apps: FreshApps, clock: ManualClock) -> FastAPI:
    """The agreements service on the tests' clock and key set (workers off)."""
    settings = await fresh_apps.settings(
        AgreementsSettings, SPEC.migration_package, run_workers=False
    )
    return fresh_apps.app(create_app, settings, clock=clock)


@pytest.fixture
async def client(agreements_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with running(agreements_app) as client:
        yield client

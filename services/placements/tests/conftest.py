from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from laborcoop.common.clock import ManualClock
from laborcoop.placements.app import SPEC, create_app
from laborcoop.placements.protection import Keyring
from laborcoop.placements.settings import PlacementsSettings
from laborcoop.testing import FreshApps, running

# 2025-03-01 10:00 in Beijing.
START = datetime(2025, 3, 1, 2, 0, tzinfo=UTC)


def key_settings(ring: Keyring) -> dict[str, Any]:
    """The settings' fields (not the environment's names) that describe ``ring``."""
    return {
        name.removeprefix("LABORCOOP_").lower(): value
        for name, value in ring.render_settings().items()
    }


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def ring() -> Keyring:
    return Keyring.generate("k1")


@pytest.fixture
async def settings(fresh_apps: FreshApps, ring: Keyring) -> PlacementsSettings:
    return await fresh_apps.settings(
        PlacementsSettings, SPEC.migration_package, run_workers=False, **key_settings(ring)
    )


@pytest.fixture
async def placements_app(
    fresh_apps: FreshApps, settings: PlacementsSettings, clock: ManualClock
) -> FastAPI:
    """The placements service on the tests' clock and key set (workers off)."""
    return fresh_apps.app(create_app, settings, clock=clock)


@pytest.fixture
async def client(placements_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with running(placements_app) as client:
        yield client

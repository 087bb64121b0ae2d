from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI

from laborcoop.agreements.app import create_app
from laborcoop.agreements.settings import AgreementsSettings
from laborcoop.common.clock import ManualClock
from laborcoop.testing import Stack, Tokens, running, settings_for
from laborcoop.testing.databases import Databases

# 2025-03-01 10:00 in Beijing: the agreements' calendar day is 2025-03-01.
START = datetime(2025, 3, 1, 2, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def agreements_app(
    stack: Stack, databases: Databases, topic_prefix: str, clock: ManualClock, tokens: Tokens
) -> FastAPI:
    settings = settings_for(
        AgreementsSettings,
        stack,
        topic_prefix=topic_prefix,
        database_url=await databases.fresh("laborcoop.agreements.migrations"),
        run_workers=False,
    )
    return create_app(settings, keys=tokens.keyset(), clock=clock)


@pytest.fixture
async def client(agreements_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with running(agreements_app) as client:
        yield client

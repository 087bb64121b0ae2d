"""Agreements check linked brands against their own copy of the register, kept from events."""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from laborcoop.agreements.app import create_app as create_agreements
from laborcoop.agreements.settings import AgreementsSettings
from laborcoop.common.deps import state_of
from laborcoop.registry.app import create_app as create_registry
from laborcoop.registry.settings import RegistrySettings
from laborcoop.testing import Stack, Tokens, eventually, running, settings_for
from laborcoop.testing.databases import Databases

HUNAN, JIANGSU = "430000", "320000"


@pytest.fixture
async def services(
    stack: Stack, databases: Databases, topic_prefix: str, tokens: Tokens
) -> AsyncIterator[tuple[httpx.AsyncClient, FastAPI, httpx.AsyncClient]]:
    registry = create_registry(
        settings_for(
            RegistrySettings,
            stack,
            topic_prefix=topic_prefix,
            database_url=await databases.fresh("laborcoop.registry.migrations"),
        ),
        keys=tokens.keyset(),
    )
    agreements = create_agreements(
        settings_for(
            AgreementsSettings,
            stack,
            topic_prefix=topic_prefix,
            database_url=await databases.fresh("laborcoop.agreements.migrations"),
        ),
        keys=tokens.keyset(),
    )
    async with (
        running(registry) as registry_client,
        running(agreements) as agreements_client,
    ):
        yield registry_client, agreements, agreements_client


def terms(*brands: str) -> dict[str, Any]:
    return {
        "title": "湘苏劳务品牌共建",
        "kind": "bilateral",
        "areas": ["joint_brand_building"],
        "parties": [
            {"province": HUNAN, "role": "sending"},
            {"province": JIANGSU, "role": "receiving"},
        ],
        "linked_brands": list(brands),
        "effective_from": "2025-01-01",
    }


async def test_a_retired_brand_cannot_be_linked_once_its_event_arrived(
    services: tuple[httpx.AsyncClient, FastAPI, httpx.AsyncClient], tokens: Tokens
) -> None:
    registry, agreements_app, agreements = services
    hunan = tokens.province(HUNAN)
    brand = (
        await registry.post(
            "/v1/brands",
            headers=hunan,
            json={"name": "电力湘军", "province": HUNAN, "category": "skilled_trades"},
        )
    ).json()

    async def copy_status() -> str | None:
        status: str | None = await state_of(agreements_app).pool.fetchval(
            "SELECT status FROM brand_copy WHERE brand_id = $1", brand["id"]
        )
        return status

    assert await eventually(copy_status) == "registered"
    linked = await agreements.post("/v1/agreements", json=terms(brand["id"]), headers=hunan)
    assert linked.status_code == 201, linked.text

    retired = await registry.post(
        f"/v1/brands/{brand['id']}/retirement", headers=hunan, json={"reason": "品牌整合"}
    )
    assert retired.status_code == 200

    async def copy_retired() -> bool:
        return await copy_status() == "retired"

    await eventually(copy_retired)
    refused = await agreements.post("/v1/agreements", json=terms(brand["id"]), headers=hunan)
    assert refused.status_code == 422
    [error] = refused.json()["errors"]
    assert (error["field"], error["code"]) == ("linked_brands.0", "retired_brand")
    assert brand["id"] in error["message"]

"""The 2024 conference demo data: every brand, only the article's figures, idempotent; a seed
never overwrites nor fails on what the provinces changed since."""

import httpx
from fastapi import FastAPI

from laborcoop.common.db import Pool
from laborcoop.common.deps import state_of
from laborcoop.registry.seed import DEMO_BRANDS, seed
from laborcoop.registry.service import Registry
from laborcoop.testing import Tokens, row_counts

HUNAN = "430000"


async def test_seed_loads_the_conference_brands_once(registry_app: FastAPI, client: object) -> None:
    pool = state_of(registry_app).pool
    registry = Registry(state_of(registry_app).settings)
    assert await seed(pool, registry) == (14, 7)
    assert await seed(pool, registry) == (0, 0)
    assert await pool.fetchval("SELECT count(*) FROM brands") == len(DEMO_BRANDS) == 14
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 14 + 7
    hebei = await pool.fetchrow(
        """SELECT i.figures FROM brand_indicators i JOIN brands b ON b.id = i.brand_id
           WHERE b.name = '河北福嫂' AND i.period = '2024'"""
    )
    assert hebei is not None
    assert hebei["figures"] == {"people_trained": 40000, "labour_income_yuan": 975000000}
    no_figures = await pool.fetchval(
        """SELECT count(*) FROM brands b WHERE NOT EXISTS
           (SELECT 1 FROM brand_indicators i WHERE i.brand_id = b.id)"""
    )
    assert no_figures == 7


async def _counts(pool: Pool) -> tuple[int, ...]:
    return await row_counts(pool, "brand_indicators", "event_history", "outbox")


async def _brand_id(pool: Pool, name: str) -> str:
    return str(await pool.fetchval("SELECT id FROM brands WHERE name = $1", name))


async def test_seed_leaves_a_corrected_report_alone(
    registry_app: FastAPI, client: httpx.AsyncClient, tokens: Tokens
) -> None:
    pool, registry = state_of(registry_app).pool, Registry(state_of(registry_app).settings)
    await seed(pool, registry)
    brand_id = await _brand_id(pool, "安化黑茶茶艺师")
    corrected = {"practitioners": 15_800, "labour_income_yuan": 1_700_000_000}
    answer = await client.put(
        f"/v1/brands/{brand_id}/indicators/2024", json=corrected, headers=tokens.province(HUNAN)
    )
    assert answer.status_code == 201, answer.text
    before = await _counts(pool)

    assert await seed(pool, registry) == (0, 0)

    assert await _counts(pool) == before
    current = await client.get(f"/v1/brands/{brand_id}/indicators", headers=tokens.observer())
    reports = [
        (r["revision"], {k: v for k, v in r["figures"].items() if v is not None})
        for r in current.json()
    ]
    assert reports == [(2, corrected)]


async def test_seed_after_a_demo_brand_with_figures_was_retired_changes_nothing(
    registry_app: FastAPI, client: httpx.AsyncClient, tokens: Tokens
) -> None:
    pool, registry = state_of(registry_app).pool, Registry(state_of(registry_app).settings)
    await seed(pool, registry)
    brand_id = await _brand_id(pool, "蕲春艾灸师")
    answer = await client.post(
        f"/v1/brands/{brand_id}/retirement",
        json={"reason": "运营主体注销"},
        headers=tokens.province("420000"),
    )
    assert answer.status_code == 200, answer.text
    before = await _counts(pool)

    assert await seed(pool, registry) == (0, 0)

    assert await _counts(pool) == before
    brand = await client.get(f"/v1/brands/{brand_id}", headers=tokens.observer())
    assert brand.json()["status"] == "retired"

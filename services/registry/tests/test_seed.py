"""The 2024 conference demo data: every brand, only the article's figures, idempotent."""

from fastapi import FastAPI

from laborcoop.registry.seed import DEMO_BRANDS, seed
from laborcoop.registry.service import Registry


async def test_seed_loads_the_conference_brands_once(registry_app: FastAPI, client: object) -> None:
    pool = registry_app.state.pool
    registry = Registry(registry_app.state.settings)
    assert await seed(pool, registry) == (14, 7)
    assert await seed(pool, registry) == (0, 0)
    assert await pool.fetchval("SELECT count(*) FROM brands") == len(DEMO_BRANDS) == 14
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 14 + 7
    hebei = await pool.fetchrow(
        """SELECT i.figures FROM brand_indicators i JOIN brands b ON b.id = i.brand_id
           WHERE b.name = '河北福嫂' AND i.period = '2024'"""
    )
    assert hebei["figures"] == {"people_trained": 40000, "labour_income_yuan": 975000000}
    no_figures = await pool.fetchval(
        """SELECT count(*) FROM brands b WHERE NOT EXISTS
           (SELECT 1 FROM brand_indicators i WHERE i.brand_id = b.id)"""
    )
    assert no_figures == 7

"""The 2024 conference agreements: a seed adds what is missing and never changes what exists,
whatever the parties did with a demo agreement since."""

import httpx
from fastapi import FastAPI

from laborcoop.agreements.seed import seed
from laborcoop.agreements.service import Agreements
from laborcoop.common.db import Pool
from laborcoop.common.deps import state_of
from laborcoop.testing import Tokens, row_counts

SH = "310000"


async def _counts(pool: Pool) -> tuple[int, ...]:
    return await row_counts(pool, "agreements", "event_history", "outbox")


async def test_seed_after_a_demo_agreement_was_terminated_leaves_it_terminated(
    agreements_app: FastAPI, client: httpx.AsyncClient, tokens: Tokens
) -> None:
    pool, use = state_of(agreements_app).pool, state_of(agreements_app).use_cases
    assert isinstance(use, Agreements)
    assert await seed(pool, use) == 4
    agreement_id = await pool.fetchval(
        "SELECT id FROM agreements WHERE terms->>'title' = '深化沪滇劳务协作'"
    )
    ended = await client.post(
        f"/v1/agreements/{agreement_id}/termination",
        json={"reason": "协作方式调整"},
        headers=tokens.province(SH),
    )
    assert ended.status_code == 200, ended.text
    before = await _counts(pool)

    assert await seed(pool, use) == 0

    assert await _counts(pool) == before
    read = await client.get(f"/v1/agreements/{agreement_id}", headers=tokens.province(SH))
    assert read.json()["status"] == "terminated"

"""Bad requests get problem+json naming the field, and nothing is written."""

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from laborcoop.common.deps import state_of
from laborcoop.testing import Tokens

VALID = {"name": "南康木工", "province": "360000", "category": "skilled_trades"}


async def nothing_written(app: FastAPI) -> bool:
    pool = state_of(app).pool
    brands = await pool.fetchval("SELECT count(*) FROM brands")
    events = await pool.fetchval("SELECT count(*) FROM outbox")
    return bool(brands == 0 and events == 0)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({k: v for k, v in VALID.items() if k != "name"}, "name"),
        ({**VALID, "colour": "red"}, "colour"),
        ({**VALID, "province": "990000"}, "province"),
        ({**VALID, "province": 360000}, "province"),
        ({**VALID, "name": ["南康木工"]}, "name"),
        ({**VALID, "name": "x" * 65}, "name"),
        ({**VALID, "name": " "}, "name"),
        ({**VALID, "city_code": "43092"}, "city_code"),
        ({**VALID, "city_code": "420100"}, "city_code"),
        ({**VALID, "category": "tea"}, "category"),
        ({k: v for k, v in VALID.items() if k != "category"}, "category"),
        ({**VALID, "ownership": "state"}, "ownership"),
        ({**VALID, "occupations": ["4-10-01"]}, "occupations.0"),
        ({**VALID, "occupations": ["4-10-01-01", "4-10-01-01"]}, "occupations"),
        ({**VALID, "occupations": [f"4-10-01-{n:02d}" for n in range(21)]}, "occupations"),
        ({**VALID, "occupations": "4-10-01-01"}, "occupations"),
        ({**VALID, "industry": {"section": "Z", "division": "01"}}, "industry.section"),
        ({**VALID, "industry": {"section": "A", "division": "13"}}, "industry"),
        ({**VALID, "industry": {"section": "A"}}, "industry.division"),
        ({**VALID, "description": "长" * 2001}, "description"),
        ({**VALID, "operator": "x"}, "operator"),
        ({**VALID, "development_stage": "mature"}, "development_stage"),
    ],
    ids=[
        "missing",
        "unknown",
        "bad-province",
        "wrong-type-province",
        "wrong-type-name",
        "long",
        "blank-name",
        "short-city",
        "city-elsewhere",
        "bad-category",
        "no-category",
        "bad-ownership",
        "bad-occupation",
        "repeated-occupation",
        "too-many-occupations",
        "occupations-not-a-list",
        "bad-section",
        "division-outside-section",
        "no-division",
        "long-description",
        "short-operator",
        "bad-stage",
    ],
)
async def test_invalid_body_is_a_422_naming_the_field(
    client: httpx.AsyncClient,
    registry_app: FastAPI,
    tokens: Tokens,
    body: dict[str, Any],
    field: str,
) -> None:
    answer = await client.post("/v1/brands", json=body, headers=tokens.province("360000"))
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["status"] == 422
    assert field in [e["field"] for e in problem["errors"]]
    assert problem["trace_id"]
    assert await nothing_written(registry_app)


async def test_malformed_json_is_a_422(
    client: httpx.AsyncClient, registry_app: FastAPI, tokens: Tokens
) -> None:
    answer = await client.post(
        "/v1/brands",
        content=b'{"name": ',
        headers={**tokens.province("360000"), "content-type": "application/json"},
    )
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["code"] == "json_invalid"
    assert await nothing_written(registry_app)


async def test_oversized_body_is_a_413(
    client: httpx.AsyncClient, registry_app: FastAPI, tokens: Tokens
) -> None:
    body = {**VALID, "description": "长" * 600_000}
    answer = await client.post("/v1/brands", json=body, headers=tokens.province("360000"))
    assert answer.status_code == 413
    assert answer.headers["content-type"] == "application/problem+json"
    assert await nothing_written(registry_app)


async def test_streamed_oversized_body_is_a_413(
    client: httpx.AsyncClient, registry_app: FastAPI, tokens: Tokens
) -> None:
    async def chunks() -> Any:
        for _ in range(40):
            yield b" " * 65536

    answer = await client.post(
        "/v1/brands",
        content=chunks(),
        headers={**tokens.province("360000"), "content-type": "application/json"},
    )
    assert answer.status_code == 413
    assert await nothing_written(registry_app)

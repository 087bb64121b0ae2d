"""The registry's own routes get the app factory's edges: idempotent replays stay with their
principal, strict JSON bodies (415, repeated keys, depth), bounded cursors, RFC 9110 If-Match
and a complete ``Allow`` on 405."""

import base64
import json
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from laborcoop.common.deps import state_of
from laborcoop.testing import Tokens

HUNAN, GUANGDONG = "430000", "440000"
SHARED_SUBJECT = "dev-provincial-system"


def brand_body(province: str = HUNAN) -> dict[str, Any]:
    return {"name": "湘西苗绣", "province": province, "category": "intangible_heritage"}


async def count(app: FastAPI, table: str) -> int:
    value: int = await state_of(app).pool.fetchval(f"SELECT count(*) FROM {table}")
    return value


async def test_a_replay_is_only_for_the_principal_that_stored_it(
    client: httpx.AsyncClient, tokens: Tokens, registry_app: FastAPI
) -> None:
    key = {"Idempotency-Key": "shared-subject-key-0001"}
    hunan = tokens.province(HUNAN, client=SHARED_SUBJECT)
    guangdong = tokens.province(GUANGDONG, client=SHARED_SUBJECT)

    first = await client.post("/v1/brands", json=brand_body(), headers={**hunan, **key})
    assert first.status_code == 201

    crossed = await client.post("/v1/brands", json=brand_body(), headers={**guangdong, **key})
    assert crossed.status_code == 403, crossed.text
    assert "idempotent-replayed" not in crossed.headers
    assert crossed.headers["content-type"] == "application/problem+json"

    again = await client.post("/v1/brands", json=brand_body(), headers={**hunan, **key})
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert await count(registry_app, "brands") == 1


async def test_the_same_key_for_another_principal_runs_its_own_command(
    client: httpx.AsyncClient, tokens: Tokens, registry_app: FastAPI
) -> None:
    key = {"Idempotency-Key": "shared-subject-key-0002"}
    for code in (HUNAN, GUANGDONG):
        headers = {**tokens.province(code, client=SHARED_SUBJECT), **key}
        answer = await client.post("/v1/brands", json=brand_body(code), headers=headers)
        assert answer.status_code == 201, answer.text
        assert answer.json()["province"] == code
    assert await count(registry_app, "brands") == 2


async def test_a_body_that_is_not_json_is_a_415(
    client: httpx.AsyncClient, tokens: Tokens, registry_app: FastAPI
) -> None:
    answer = await client.post(
        "/v1/brands",
        content=json.dumps(brand_body()).encode(),
        headers={**tokens.province(HUNAN), "Content-Type": "text/plain"},
    )
    assert answer.status_code == 415
    assert answer.headers["content-type"] == "application/problem+json"
    assert await count(registry_app, "brands") == 0


async def test_a_repeated_key_is_a_422_naming_it(
    client: httpx.AsyncClient, tokens: Tokens, registry_app: FastAPI
) -> None:
    body = b'{"name": "a", "province": "430000", "category": "intangible_heritage", "name": "b"}'
    answer = await client.post(
        "/v1/brands",
        content=body,
        headers={**tokens.province(HUNAN), "Content-Type": "application/json"},
    )
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "name"
    assert await count(registry_app, "brands") == 0


async def test_a_deep_body_with_an_idempotency_key_is_a_422(
    client: httpx.AsyncClient, tokens: Tokens
) -> None:
    deep = "[" * 1000 + "]" * 1000
    answer = await client.post(
        "/v1/brands",
        content=('{"name": "a", "province": "430000", "description": ' + deep + "}").encode(),
        headers={
            **tokens.province(HUNAN),
            "Content-Type": "application/json",
            "Idempotency-Key": "deep-body-key-0001",
        },
    )
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "body"


async def test_a_deep_cursor_is_a_422(client: httpx.AsyncClient, tokens: Tokens) -> None:
    cursor = base64.urlsafe_b64encode(b"[" * 1000 + b"]" * 1000).decode().rstrip("=")
    answer = await client.get("/v1/brands", params={"cursor": cursor}, headers=tokens.observer())
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "cursor"


@pytest.mark.parametrize(("if_match", "status"), [('W/"1"', 412), ("*", 200), ('"5", "1"', 200)])
async def test_if_match_is_strong_and_takes_any_and_lists(
    client: httpx.AsyncClient, tokens: Tokens, if_match: str, status: int
) -> None:
    created = await client.post("/v1/brands", json=brand_body(), headers=tokens.province(HUNAN))
    answer = await client.patch(
        created.headers["location"],
        json={"development_stage": "growth"},
        headers={**tokens.province(HUNAN), "If-Match": if_match},
    )
    assert answer.status_code == status, answer.text


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/v1/brands", {"GET", "POST"}),
        ("DELETE", "/v1/brands/01a225db-f099-7212-82b2-d9089b9c5ad3", {"GET", "PATCH"}),
    ],
)
async def test_a_405_lists_every_method_of_the_path(
    client: httpx.AsyncClient, tokens: Tokens, method: str, path: str, allowed: set[str]
) -> None:
    answer = await client.request(method, path, headers=tokens.province(HUNAN))
    assert answer.status_code == 405
    assert {m.strip() for m in answer.headers["allow"].split(",")} == allowed

"""The walking skeleton: a brand registered through the gateway is listed by the gateway."""

from typing import Any

from laborcoop.testing import Tokens, eventually
from tests.conftest import System

HUNAN = "430000"


async def test_registered_brand_reaches_the_gateway_projection(
    system: System, tokens: Tokens
) -> None:
    hunan = tokens.province(HUNAN)
    created = await system.gateway.client.post(
        "/v1/brands",
        json={"name": "安化黑茶茶艺师", "province": HUNAN, "category": "skilled_trades"},
        headers=hunan,
    )
    assert created.status_code == 201, created.text
    brand = created.json()
    assert created.headers["location"] == f"/v1/brands/{brand['id']}"

    async def listed() -> list[dict[str, Any]] | None:
        page = await system.gateway.client.get("/v1/brands", headers=hunan)
        items: list[dict[str, Any]] = page.json()["items"]
        return items or None

    items = await eventually(listed)
    assert items == [
        {
            "id": brand["id"],
            "name": "安化黑茶茶艺师",
            "province": HUNAN,
            "category": "skilled_trades",
            "status": "registered",
            "level": None,
            "version": 1,
        }
    ]


async def test_gateway_reads_need_a_token(system: System) -> None:
    answer = await system.gateway.client.get("/v1/brands")
    assert answer.status_code == 401
    assert answer.headers["content-type"] == "application/problem+json"


async def test_the_gateway_forwards_brand_commands_with_their_headers(
    system: System, tokens: Tokens
) -> None:
    hunan = {**tokens.province(HUNAN), "Idempotency-Key": "gateway-forward-01"}
    body = {"name": "张家界导游", "province": HUNAN, "category": "culture_tourism"}
    first = await system.gateway.client.post("/v1/brands", json=body, headers=hunan)
    again = await system.gateway.client.post("/v1/brands", json=body, headers=hunan)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers["idempotent-replayed"] == "true"
    url = first.headers["location"]
    read = await system.gateway.client.get(url, headers=tokens.observer())
    assert (read.status_code, read.headers["etag"]) == (200, '"1"')
    stale = await system.gateway.client.patch(
        url, json={"description": "导游"}, headers={**tokens.province(HUNAN), "If-Match": '"9"'}
    )
    assert stale.status_code == 412
    assert stale.headers["content-type"] == "application/problem+json"
    unknown = await system.gateway.client.get("/v1/brands/not-a-uuid", headers=tokens.observer())
    assert unknown.status_code == 422


async def test_forwarded_paths_cannot_leave_their_prefix(system: System, tokens: Tokens) -> None:
    for path in ("/v1/brands/..%2F..%2Fmetrics", "/v1/brands/%2E%2E/%2E%2E/readyz"):
        answer = await system.gateway.client.get(path, headers=tokens.observer())
        assert answer.status_code in {404, 422}, (path, answer.status_code)
        assert answer.headers["content-type"] == "application/problem+json"
        assert "laborcoop_outbox_backlog" not in answer.text

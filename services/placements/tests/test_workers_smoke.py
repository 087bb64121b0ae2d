import httpx

from laborcoop.testing import Tokens
from services.placements.tests.steps import HUNAN, SHANGHAI, worker_body


async def test_register_and_read(client: httpx.AsyncClient, tokens: Tokens) -> None:
    created = await client.post("/v1/workers", json=worker_body(), headers=tokens.province(HUNAN))
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["name"] == "张**"
    assert body["phone"] == "138****5678"
    got = await client.get(f"/v1/workers/{body['id']}", headers=tokens.province(HUNAN))
    assert got.status_code == 200, got.text
    assert got.json()["name"] == "张三丰"
    other = await client.get(f"/v1/workers/{body['id']}", headers=tokens.province(SHANGHAI))
    assert other.status_code == 404
    again = await client.post("/v1/workers", json=worker_body(), headers=tokens.province(HUNAN))
    assert again.status_code == 409, again.text

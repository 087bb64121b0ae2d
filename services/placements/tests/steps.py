"""Steps of the labour exchange through its API, shared by the placements tests."""

from datetime import date
from typing import Any

import httpx

from laborcoop.contracts.identifiers import make_resident_id
from laborcoop.testing import Tokens
from laborcoop.testing.leaks import WATCH

HUNAN = "430000"
SHANGHAI = "310000"
GUANGDONG = "440000"


def worker_body(sequence: int = 1, **overrides: object) -> dict[str, Any]:
    """A worker of Hunan; its personal values are remembered by the leak watch."""
    body = {
        "name": "张三丰",
        "resident_id": make_resident_id("430524", date(1990, 5, 17), sequence),
        "phone": "13812345678",
        "poverty_alleviation": True,
        "education": "junior_secondary",
        "occupations": ["4-10-01-01"],
        **overrides,
    }
    WATCH.remember(HUNAN, *(str(body[f]) for f in ("name", "resident_id", "phone")))
    return body


def demand_body(**overrides: object) -> dict[str, Any]:
    return {
        "employer_name": "上海某物业服务有限公司",
        "employer_credit_code": "91350100M000100Y43",
        "occupation": "4-10-01-01",
        "headcount": 5,
        "wage_min": 6000,
        "wage_max": 9000,
        "city_code": "310115",
        "start_date": "2025-04-01",
        **overrides,
    }


class Exchange:
    """A client acting for Hunan (origin) and Shanghai (destination)."""

    def __init__(self, client: httpx.AsyncClient, tokens: Tokens) -> None:
        self.client = client
        self.tokens = tokens
        self.hunan = tokens.province(HUNAN)
        self.shanghai = tokens.province(SHANGHAI)

    async def ok(self, response: httpx.Response, status: int = 200) -> dict[str, Any]:
        assert response.status_code == status, response.text
        body: dict[str, Any] = response.json()
        return body

    async def worker(self, sequence: int = 1, *, consent: bool = True, **fields: object) -> str:
        created = await self.ok(
            await self.client.post(
                "/v1/workers", json=worker_body(sequence, **fields), headers=self.hunan
            ),
            201,
        )
        if consent:
            await self.ok(
                await self.client.post(
                    f"/v1/workers/{created['id']}/consents",
                    json={"province": SHANGHAI, "scope": "identity"},
                    headers=self.hunan,
                )
            )
        worker_id: str = created["id"]
        return worker_id

    async def demand(self, **fields: object) -> str:
        created = await self.ok(
            await self.client.post(
                "/v1/demands", json=demand_body(**fields), headers=self.shanghai
            ),
            201,
        )
        demand_id: str = created["id"]
        return demand_id

    async def propose(self, worker_id: str, demand_id: str) -> httpx.Response:
        return await self.client.post(
            "/v1/placements",
            json={"worker_id": worker_id, "demand_id": demand_id, "outside_agreement": True},
            headers=self.shanghai,
        )

    async def placement(self, worker_id: str, demand_id: str) -> str:
        placement_id: str = (await self.ok(await self.propose(worker_id, demand_id), 201))["id"]
        return placement_id

    async def act(
        self, placement_id: str, verb: str, body: dict[str, Any] | None = None, *, as_: str = HUNAN
    ) -> httpx.Response:
        return await self.client.post(
            f"/v1/placements/{placement_id}/{verb}",
            json=body or {},
            headers=self.tokens.province(as_),
        )

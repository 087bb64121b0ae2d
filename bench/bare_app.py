"""The baselines of bench/registry_write: FastAPI + asyncpg with no layers of ours.

``insert``: the brand's INSERT and nothing else (no authentication, idempotency, history or
outbox): the least a brand registration costs. ``transaction``: the registry's whole write done
by hand (a transaction with the brand row, its history row and its outbox row), so that the
registry's rate against it is the cost of our framework alone.
Run as ``python -m bench.bare_app PORT DSN [insert|transaction]``.
"""

import json
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import asyncpg
import uvicorn
from fastapi import FastAPI, Request
from pydantic import BaseModel


class NewBrand(BaseModel):
    name: str
    province: str
    category: str


_BRAND = """INSERT INTO brands (id, province, name, category, status, version, created_at,
                                updated_at)
             VALUES ($1, $2, $3, $4, 'registered', 1, $5, $5)"""
_HISTORY = """INSERT INTO event_history (subject, version, event_id, type, time, data)
               VALUES ($1, 1, $2, 'cn.laborcoop.registry.brand.registered.v1', $3, $4)"""
_OUTBOX = """INSERT INTO outbox (event_id, topic, key, event_type, value, traceparent)
             VALUES ($1, 'laborcoop.registry.brands', $2,
                     'cn.laborcoop.registry.brand.registered.v1', $3, NULL)"""


def create_app(dsn: str, mode: str = "insert") -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.pool = await asyncpg.create_pool(dsn, min_size=2, max_size=10)
        yield
        await app.state.pool.close()

    app = FastAPI(lifespan=lifespan)

    @app.post("/v1/brands", status_code=201)
    async def register(body: NewBrand, request: Request) -> dict[str, str]:
        brand_id, now = uuid.uuid4(), datetime.now(UTC)
        if mode == "transaction":
            await _whole_write(request.app.state.pool, brand_id, body, now)
            return {"id": str(brand_id)}
        await request.app.state.pool.execute(
            _BRAND, brand_id, body.province, body.name, body.category, now
        )
        return {"id": str(brand_id)}

    return app


async def _whole_write(
    pool: "asyncpg.Pool[asyncpg.Record]", brand_id: uuid.UUID, body: NewBrand, now: datetime
) -> None:
    event_id = uuid.uuid4()
    data = {"brand_id": str(brand_id), **body.model_dump()}
    event = {"id": str(event_id), "subject": str(brand_id), "time": now.isoformat(), "data": data}
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(_BRAND, brand_id, body.province, body.name, body.category, now)
        await conn.execute(_HISTORY, brand_id, event_id, now, json.dumps(data))
        await conn.execute(_OUTBOX, event_id, str(brand_id), json.dumps(event).encode())


if __name__ == "__main__":
    uvicorn.run(
        create_app(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "insert"),
        host="127.0.0.1",
        port=int(sys.argv[1]),
        log_level="warning",
        access_log=False,
    )

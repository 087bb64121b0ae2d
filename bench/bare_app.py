"""The baseline of bench/registry_write: FastAPI + asyncpg doing the same INSERT, nothing else.

No authentication, no idempotency, no history, no outbox: the least a brand registration costs.
Run as ``python -m bench.bare_app PORT DSN``.
"""

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


def create_app(dsn: str) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.pool = await asyncpg.create_pool(dsn, min_size=2, max_size=10)
        yield
        await app.state.pool.close()

    app = FastAPI(lifespan=lifespan)

    @app.post("/v1/brands", status_code=201)
    async def register(body: NewBrand, request: Request) -> dict[str, str]:
        brand_id, now = uuid.uuid4(), datetime.now(UTC)
        await request.app.state.pool.execute(
            """INSERT INTO brands (id, province, name, category, status, version, created_at,
                                   updated_at)
               VALUES ($1, $2, $3, $4, 'registered', 1, $5, $5)""",
            brand_id,
            body.province,
            body.name,
            body.category,
            now,
        )
        return {"id": str(brand_id)}

    return app


if __name__ == "__main__":
    uvicorn.run(
        create_app(sys.argv[2]),
        host="127.0.0.1",
        port=int(sys.argv[1]),
        log_level="warning",
        access_log=False,
    )

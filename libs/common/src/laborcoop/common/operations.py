"""The operations endpoints of every service: ``/healthz``, ``/readyz`` and ``/metrics``.

Readiness depends on the database and the migrations only, never on Kafka (ADR 0003): the
outbox keeps events while the broker is away, so the API stays useful.
"""

import asyncio
import logging
from typing import Final

import asyncpg
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from laborcoop.common import migrations
from laborcoop.common.deps import state_of
from laborcoop.common.errors import problem_response
from laborcoop.common.spec import Gauges

log = logging.getLogger(__name__)

GAUGES_TIMEOUT_S: Final = 2.0
"""How long a scrape waits for the gauges read from the database before answering without them."""


def operations_router(migration_package: str, gauges: Gauges | None = None) -> APIRouter:
    """The operations routes; ``gauges`` (``ServiceSpec.gauges``) sets the service's own gauges
    before each scrape."""
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="The process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get(
        "/readyz",
        summary="Database reachable and migrations at head",
        responses={503: {"description": "Not ready"}},
    )
    async def readyz(request: Request) -> Response:
        checks = await _readiness(request.app, migration_package)
        ready = checks["database"] == "ok" and checks["migrations"] == "ok"
        if ready:
            return JSONResponse({"status": "ready", "checks": checks})
        return problem_response(503, slug="not-ready", detail="not ready", checks=checks)

    @router.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def prometheus_metrics(request: Request) -> Response:
        await _set_gauges(request.app, gauges)
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


async def _set_gauges(app: FastAPI, gauges: Gauges | None) -> None:
    """The gauges read from the database, refreshed; when it cannot answer in time, the scrape
    goes on with their last values (the HTTP and process metrics matter most then)."""
    state = state_of(app)
    try:
        async with asyncio.timeout(GAUGES_TIMEOUT_S):
            if state.workers.relay is not None:
                await state.workers.relay.report_backlog()
            if gauges is not None:
                await gauges(state.pool)
    except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
        log.warning("metrics read from the database not refreshed", extra={"error": repr(error)})


async def _readiness(app: FastAPI, migration_package: str) -> dict[str, str]:
    pool = state_of(app).pool
    checks = {"database": "ok", "migrations": "ok"}
    try:
        async with pool.acquire(timeout=2) as conn:
            missing = await migrations.pending(conn, migration_package)
        if missing:
            checks["migrations"] = f"{len(missing)} pending"
    except Exception as exc:
        checks["database"] = f"unreachable: {type(exc).__name__}"
        checks["migrations"] = "unknown"
    return checks

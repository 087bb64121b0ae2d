"""The operations endpoints of every service: ``/healthz``, ``/readyz`` and ``/metrics``.

Readiness depends on the database and the migrations only, never on Kafka (ADR 0003): the
outbox keeps events while the broker is away, so the API stays useful.
"""

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from laborcoop.common import migrations
from laborcoop.common.deps import state_of
from laborcoop.common.errors import problem_response


def operations_router(migration_package: str) -> APIRouter:
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
        relay = state_of(request.app).workers.relay
        if relay is not None:
            await relay.report_backlog()
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


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

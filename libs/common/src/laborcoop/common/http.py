"""The FastAPI application every service is built from: lifespan, middleware, health, metrics.

``create_service_app`` wires, once at start-up, the database pool (migrations checked), the key set
that verifies bearer tokens, the outbox relay and the service's consumers; everything is held in
``app.state`` and handed to routes through the ``Annotated`` dependencies below.
"""

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any, Protocol

from fastapi import APIRouter, FastAPI, Request, Response
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from laborcoop.common import metrics, migrations
from laborcoop.common.api import use_json_routes
from laborcoop.common.auth import KeySet
from laborcoop.common.clock import Clock, utc_now
from laborcoop.common.consumer import ConsumerRunner, Subscription
from laborcoop.common.db import Pool, create_pool
from laborcoop.common.errors import PayloadTooLarge, install_problem_handlers, problem_response
from laborcoop.common.idempotency import purge_expired
from laborcoop.common.logging import configure_logging
from laborcoop.common.outbox import OutboxRelay
from laborcoop.common.periodic import Periodic
from laborcoop.common.settings import ServiceSettings
from laborcoop.common.telemetry import TraceContextMiddleware, configure_tracing, recording

log = logging.getLogger(__name__)

StartHook = Callable[[FastAPI], Awaitable[None]]


class Worker(Protocol):
    """Background work a service runs beside its consumers (a scheduler, say)."""

    async def run(self) -> None: ...

    def stop(self) -> None: ...


@dataclass(frozen=True)
class WorkerContext:
    settings: ServiceSettings
    pool: Pool
    clock: Clock


WorkerFactory = Callable[[WorkerContext], Worker]


@dataclass
class ServiceSpec:
    """What makes one service: its routers, migrations, consumers and extra start-up work."""

    title: str
    version: str
    description: str
    routers: Sequence[APIRouter]
    migration_package: str
    subscriptions: Sequence[Subscription] = ()
    on_startup: Sequence[StartHook] = ()
    on_shutdown: Sequence[StartHook] = ()
    workers: Sequence[WorkerFactory] = ()
    openapi_tags: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Workers:
    """The background work of one process: relay, consumers, housekeeping."""

    relay: OutboxRelay
    consumers: list[ConsumerRunner]
    housekeeping: "Housekeeping"
    others: list[Worker] = field(default_factory=list)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def start(self) -> None:
        self.tasks = [asyncio.create_task(self.relay.run(), name="outbox-relay")]
        self.tasks += [asyncio.create_task(c.run(), name="consumer") for c in self.consumers]
        self.tasks.append(asyncio.create_task(self.housekeeping.run(), name="housekeeping"))
        self.tasks += [asyncio.create_task(w.run(), name="worker") for w in self.others]

    async def stop(self) -> None:
        self.housekeeping.stop()
        self.relay.stop()
        for worker in [*self.consumers, *self.others]:
            worker.stop()
        with suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.gather(*self.tasks, return_exceptions=True), 15)
        for task in self.tasks:
            task.cancel()


class Housekeeping(Periodic):
    """Clean-up that is safe on every replica at once (expired idempotency keys)."""

    def __init__(self, settings: ServiceSettings, pool: Pool) -> None:
        super().__init__(settings.housekeeping_interval_s)
        self._settings = settings
        self._pool = pool

    async def run_once(self) -> int:
        return await purge_expired(self._pool, self._settings.idempotency_ttl_hours)


async def load_keys(settings: ServiceSettings) -> KeySet | None:
    if settings.jwks_file is not None:
        return KeySet.from_file(
            settings.jwks_file, issuer=settings.jwt_issuer, audience=settings.jwt_audience
        )
    if settings.jwks_url is not None:
        return await KeySet.from_url(
            settings.jwks_url, issuer=settings.jwt_issuer, audience=settings.jwt_audience
        )
    return None


def _workers(app: FastAPI, spec: ServiceSpec, settings: ServiceSettings, pool: Pool) -> Workers:
    context = WorkerContext(settings, pool, clock=app.state.clock)
    return Workers(
        relay=OutboxRelay(settings, pool),
        consumers=[ConsumerRunner(settings, pool, s) for s in spec.subscriptions],
        housekeeping=Housekeeping(settings, pool),
        others=[make(context) for make in spec.workers],
    )


def _lifespan(
    spec: ServiceSpec, settings: ServiceSettings
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Start-up builds the pool, the key set and the workers once; shutdown stops them."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await create_pool(
            settings.database_url.get_secret_value(),
            min_size=settings.db_pool_min,
            max_size=settings.db_pool_max,
        )
        app.state.pool = pool
        app.state.keys = app.state.keys or await load_keys(settings)
        if app.state.keys is None:
            raise RuntimeError("no token key set: set LABORCOOP_JWKS_FILE or LABORCOOP_JWKS_URL")
        app.state.workers = workers = _workers(app, spec, settings, pool)
        for hook in spec.on_startup:
            await hook(app)
        if settings.run_workers:
            workers.start()
        try:
            yield
        finally:
            await workers.stop()
            for hook in spec.on_shutdown:
                await hook(app)
            await pool.close()

    return lifespan


def _add_middleware(app: FastAPI, settings: ServiceSettings) -> None:
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(MetricsMiddleware, service=settings.service_name)  # outer: counts 413s
    if recording():
        FastAPIInstrumentor.instrument_app(
            app, excluded_urls="healthz,readyz,metrics", exclude_spans=["receive", "send"]
        )
    else:
        app.add_middleware(TraceContextMiddleware)


def create_service_app(spec: ServiceSpec, settings: ServiceSettings) -> FastAPI:
    configure_logging(settings.log_level)
    configure_tracing(
        settings.service_name, settings.otlp_endpoint, sample_ratio=settings.trace_sample_ratio
    )
    app = FastAPI(
        title=spec.title,
        version=spec.version,
        description=spec.description,
        lifespan=_lifespan(spec, settings),
        openapi_tags=spec.openapi_tags,
        # Traces and metrics are ours (TraceContextMiddleware or the OpenTelemetry instrumentor,
        # and MetricsMiddleware): FastAPI's own would record every request a second time.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    app.state.keys = None
    app.state.clock = utc_now
    install_problem_handlers(app)
    for router in [_operations_router(spec), *spec.routers]:
        use_json_routes(router)  # strict JSON bodies: 415, and 422 for deep or ambiguous JSON
        app.include_router(router)
    _add_middleware(app, settings)
    return app


def _operations_router(spec: ServiceSpec) -> APIRouter:
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
        checks = await _readiness(request.app, spec.migration_package)
        ready = checks["database"] == "ok" and checks["migrations"] == "ok"
        if ready:
            return _json({"status": "ready", "checks": checks})
        return problem_response(503, slug="not-ready", detail="not ready", checks=checks)

    @router.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def prometheus_metrics(request: Request) -> Response:
        await request.app.state.workers.relay.report_backlog()
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


async def _readiness(app: FastAPI, migration_package: str) -> dict[str, str]:
    pool: Pool = app.state.pool
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


def _json(body: dict[str, Any]) -> Response:
    from fastapi.responses import JSONResponse  # noqa: PLC0415

    return JSONResponse(body)


class BodyLimitMiddleware:
    """Answers 413 problem+json for a body over ``max_bytes``: a declared length is checked
    before reading; a body of unknown length (chunked) is read up to the limit."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit():
            # The HTTP server delivers exactly the declared length, so no need to count it.
            if int(declared) > self.max_bytes:
                await self._reject(scope, receive, send)
            else:
                await self.app(scope, receive, send)
            return
        messages, too_large = await self._buffer(receive)
        if too_large:
            await self._reject(scope, receive, send)
            return
        replay = iter(messages)

        async def replaying_receive() -> Message:
            return next(replay, None) or await receive()

        await self.app(scope, replaying_receive, send)

    async def _buffer(self, receive: Receive) -> tuple[list[Message], bool]:
        """Read a body of unknown length, stopping as soon as it passes the limit."""
        messages: list[Message] = []
        received = 0
        while True:
            message = await receive()
            messages.append(message)
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                return messages, True
            if message["type"] != "http.request" or not message.get("more_body", False):
                return messages, False

    async def _reject(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(
            413,
            slug=PayloadTooLarge.slug,
            detail=f"body exceeds {self.max_bytes} bytes",
            instance=scope["path"],
        )
        await response(scope, receive, send)


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, *, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            method = scope["method"]
            metrics.HTTP_REQUESTS.labels(self.service, method, route, str(status)).inc()
            metrics.HTTP_LATENCY.labels(self.service, method, route).observe(
                time.perf_counter() - started
            )

"""The FastAPI application every service is built from, and its lifespan.

``create_service_app(spec, settings, *, clock, keys, transports)`` takes the seams a test or a
deployment may choose as arguments; the lifespan builds everything else once (pool, use cases,
key set, background work) into one :class:`~laborcoop.common.deps.ServiceState`, which routes
read through typed dependencies. Nothing is set on the app from outside.
"""

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol, TypedDict, TypeVar, Unpack

import httpx
from fastapi import FastAPI

from laborcoop.common.auth import KeySet
from laborcoop.common.clock import Clock, utc_now
from laborcoop.common.deps import ServiceState
from laborcoop.common.errors import install_problem_handlers
from laborcoop.common.inputs import use_json_routes
from laborcoop.common.logging import configure_logging
from laborcoop.common.middleware import install_middleware
from laborcoop.common.operations import operations_router
from laborcoop.common.settings import ServiceSettings
from laborcoop.common.spec import ServiceSpec, opened
from laborcoop.common.telemetry import configure_tracing
from laborcoop.common.workers import build_workers

S = TypeVar("S", bound=ServiceSettings)
S_contra = TypeVar("S_contra", bound=ServiceSettings, contravariant=True)
U = TypeVar("U")


class Seams(TypedDict, total=False):
    """The keyword arguments a service's ``create_app`` passes through to the factory."""

    clock: Clock
    keys: KeySet | None
    transports: Mapping[str, httpx.AsyncBaseTransport] | None


@dataclass(frozen=True)
class _Seams:
    clock: Clock = utc_now
    keys: KeySet | None = None
    transports: Mapping[str, httpx.AsyncBaseTransport] = field(default_factory=dict)


async def load_keys(settings: ServiceSettings) -> KeySet | None:
    """The key set named by the settings (a JWKS file or URL), or ``None`` when neither is."""
    if settings.jwks_file is not None:
        return KeySet.from_file(
            settings.jwks_file, issuer=settings.jwt_issuer, audience=settings.jwt_audience
        )
    if settings.jwks_url is not None:
        return await KeySet.from_url(
            settings.jwks_url, issuer=settings.jwt_issuer, audience=settings.jwt_audience
        )
    return None


async def _keys(spec: ServiceSpec[S, U], settings: S, given: KeySet | None) -> KeySet:
    """The seam's key set, else the service's own (``ServiceSpec.own_keys``), else the
    settings' JWKS file or URL."""
    own = spec.own_keys(settings) if spec.own_keys is not None else None
    keys = given or own or await load_keys(settings)
    if keys is None:
        raise RuntimeError("no token key set: set LABORCOOP_JWKS_FILE or LABORCOOP_JWKS_URL")
    return keys


def _lifespan(
    spec: ServiceSpec[S, U], settings: S, seams: _Seams
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Start-up opens the pool and the use cases, loads the key set and builds the background
    work, once; shutdown stops the work, then closes the use cases' resources and the pool."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        resources = opened(spec, settings, clock=seams.clock, transports=seams.transports)
        async with resources as (context, use):
            keys = await _keys(spec, settings, seams.keys)
            workers = build_workers(spec, context, use)
            state = ServiceState(settings, context.pool, context.clock, keys, use, workers)
            app.state.service = state
            if settings.run_workers:
                workers.start()
            try:
                yield
            finally:
                await workers.stop(settings.shutdown_grace_s)

    return lifespan


def create_service_app(
    spec: ServiceSpec[S, U],
    settings: S,
    *,
    clock: Clock = utc_now,
    keys: KeySet | None = None,
    transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
) -> FastAPI:
    """The app of ``spec``. ``clock`` is the time its use cases and workers read; ``keys``, when
    given, verify tokens instead of the settings' JWKS file or URL; ``transports`` carry the
    named HTTP clients the use cases open (the gateway's upstreams) instead of the network."""
    configure_logging(settings.log_level)
    configure_tracing(
        settings.service_name, settings.otlp_endpoint, sample_ratio=settings.trace_sample_ratio
    )
    seams = _Seams(clock, keys, transports or {})
    app = FastAPI(
        title=spec.title,
        version=spec.version,
        description=spec.description,
        lifespan=_lifespan(spec, settings, seams),
        openapi_tags=list(spec.openapi_tags),
        # Traces and metrics are ours (TraceContextMiddleware or the OpenTelemetry instrumentor,
        # and MetricsMiddleware): FastAPI's own would record every request a second time.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    install_problem_handlers(app)
    for router in [operations_router(spec.migration_package, spec.gauges), *spec.routers]:
        use_json_routes(router)  # strict JSON bodies: 415, and 422 for deep or ambiguous JSON
        app.include_router(router)
    install_middleware(app, settings, admission=spec.admission)
    if spec.openapi is not None:
        _document_with(app, spec.openapi)
    return app


def _document_with(
    app: FastAPI, refine: Callable[[FastAPI, dict[str, Any]], dict[str, Any]]
) -> None:
    """``app.openapi()`` (``/openapi.json``, ``/docs``) answers ``refine`` of FastAPI's
    document, made once and kept as FastAPI keeps its own."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = refine(app, generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


class AppFactory(Protocol[S_contra]):
    """A service's ``create_app``: its settings (read from the environment when not given) and
    the seams a test or a deployment chooses."""

    def __call__(self, settings: S_contra | None = None, /, **seams: Unpack[Seams]) -> FastAPI: ...


def app_factory(spec: ServiceSpec[S, Any], default_settings: Callable[[], S]) -> AppFactory[S]:
    """The ``create_app`` of ``spec``: every service's is the same, so it is made here once."""

    def create_app(settings: S | None = None, /, **seams: Unpack[Seams]) -> FastAPI:
        return create_service_app(spec, settings or default_settings(), **seams)

    return create_app

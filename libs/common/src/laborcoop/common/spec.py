"""What makes one service (``ServiceSpec``), and what its use cases are built from (``opened``).

A service declares itself once: its name, routers, migrations, subscriptions, workers, and a
``build`` hook that makes its use-case object (``Registry``, ``Agreements``, the gateway's upstream
clients) from a typed :class:`ServiceContext`. ``opened`` is the one place a service process
creates its database pool and builds its use cases, for the HTTP app and the CLI alike.
"""

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import httpx
from fastapi import APIRouter, FastAPI
from starlette.types import ASGIApp

from laborcoop.common.auth import KeySet
from laborcoop.common.clock import Clock, utc_now
from laborcoop.common.consumer import Subscription
from laborcoop.common.db import Pool, create_pool
from laborcoop.common.settings import ServiceSettings

S = TypeVar("S", bound=ServiceSettings)
U = TypeVar("U")


class Worker(Protocol):
    """Background work a service runs beside its consumers (a scheduler, say)."""

    async def run(self) -> None: ...

    def stop(self) -> None: ...


Gauges = Callable[[Pool], Awaitable[None]]
"""Sets gauges from the database before a scrape of ``/metrics`` (``ServiceSpec.gauges``)."""


@dataclass(frozen=True)
class ServiceContext(Generic[S]):
    """What a service's use cases and workers are made from, built once per process.

    ``transports`` replaces the network under named HTTP clients (tests pass an in-process
    transport to another app); ``closing`` takes what the use cases open, closed at shutdown
    after the workers stopped and before the pool."""

    settings: S
    pool: Pool
    clock: Clock
    transports: Mapping[str, httpx.AsyncBaseTransport]
    closing: AsyncExitStack


@dataclass(frozen=True)
class ServiceSpec(Generic[S, U]):
    """One service: its routers, migrations, consumers, workers and how its use cases are built.

    ``name`` is the service's own name (``laborcoop-<name>`` on the command line), never derived
    from the title. ``build`` runs once per process; its result reaches routes through
    ``laborcoop.common.deps.use_cases`` and is handed to each worker factory."""

    name: str
    title: str
    version: str
    description: str
    routers: Sequence[APIRouter]
    migration_package: str
    build: Callable[[ServiceContext[S]], U]
    subscriptions: Sequence[Subscription] = ()
    workers: Sequence[Callable[[ServiceContext[S], U], Worker]] = ()
    openapi_tags: Sequence[dict[str, Any]] = ()
    check: Callable[[ServiceContext[S], U], Awaitable[None]] | None = None
    """Run once after ``build``, before anything serves or works: an exception stops the
    process (placements: its personal-data keys must open what the database holds)."""
    own_keys: Callable[[S], KeySet | None] | None = None
    """The key set of a service that issues the tokens itself (the gateway: the public halves of
    its signing keys). When it gives one, the service verifies bearer tokens with it rather than
    with a JWKS file or URL, so the issuer never waits for, or disagrees with, a copy of its own
    keys; when it gives None, with the settings' file or URL like every other service."""
    admission: Callable[[ASGIApp], ASGIApp] | None = None
    """An ASGI layer of the service's own that admits or refuses every request before the body
    limit and the routes see it, inside the metrics and the trace context (its refusals are
    counted and traced): the gateway's rate limit and disabled clients. It finds what it needs in
    the app's state (``scope["app"]``), which the lifespan has built."""
    gauges: Gauges | None = None
    """Sets the service's own gauges from its database before ``/metrics`` answers (the
    gateway: webhook backlog and subscriptions), as the outbox gauges are set; every replica
    reports the same values."""
    openapi: Callable[[FastAPI, dict[str, Any]], dict[str, Any]] | None = None
    """The app's OpenAPI document made from the one FastAPI generates from its routes, when it
    says more than they do (the gateway: also every route it forwards). Called once, when the
    document is first asked for; None: FastAPI's document as it is."""


def no_use_cases(context: ServiceContext[Any]) -> None:
    """The ``build`` of a service without use cases of its own (placements, for now)."""
    return None


@asynccontextmanager
async def opened(
    spec: ServiceSpec[S, U],
    settings: S,
    *,
    clock: Clock = utc_now,
    transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
) -> AsyncIterator[tuple[ServiceContext[S], U]]:
    """The pool (sized by the settings) and the use cases built from it; everything is closed on
    exit, the use cases' resources first. The only place a service process creates its pool."""
    pool = await create_pool(
        settings.database_url.get_secret_value(),
        min_size=settings.db_pool_min,
        max_size=settings.db_pool_max,
    )
    try:
        async with AsyncExitStack() as closing:
            context = ServiceContext(settings, pool, clock, transports or {}, closing)
            use = spec.build(context)
            if spec.check is not None:
                await spec.check(context, use)
            yield context, use
    finally:
        await pool.close()

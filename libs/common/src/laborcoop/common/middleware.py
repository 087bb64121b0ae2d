"""The ASGI layers every service app has: direct routes, body limit, metrics, trace context.

Installed by :func:`install_middleware` in this order, outermost last: the dispatch of
:class:`DirectRoute` requests (only in an app that has such routes), the body limit, the
service's own admission layer (``ServiceSpec.admission``: the gateway's rate limit), then
``MetricsMiddleware`` that counts every answer, the 413s and refusals included; trace context (or
the OpenTelemetry instrumentor when traces are recorded) wraps them all.
"""

import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from prometheus_client.metrics import Counter, Histogram
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from laborcoop.common import metrics
from laborcoop.common.errors import PayloadTooLarge, Problem, problem_answer, problem_response
from laborcoop.common.inputs import streamed_routes
from laborcoop.common.settings import ServiceSettings
from laborcoop.common.telemetry import TraceContextMiddleware, recording


def install_middleware(
    app: FastAPI,
    settings: ServiceSettings,
    *,
    admission: Callable[[ASGIApp], ASGIApp] | None = None,
) -> None:
    """Called once the app's routers are included (the body limit spares the routes that
    stream their body, :func:`~laborcoop.common.inputs.streams_its_body`; the direct routes
    are found among them). ``admission``, the service's own layer (``ServiceSpec.admission``),
    goes outside the body limit and inside the metrics."""
    routes = list(routes_in_order(app.router.routes))
    if any(isinstance(route, DirectRoute) for route in routes):
        app.add_middleware(DirectRoutesMiddleware, routes=routes)
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        unlimited=streamed_routes(app.router.routes),
    )
    if admission is not None:
        app.add_middleware(admission)
    app.add_middleware(MetricsMiddleware, service=settings.service_name)  # outer: counts 413s
    if recording():
        FastAPIInstrumentor.instrument_app(
            app, excluded_urls="healthz,readyz,metrics", exclude_spans=["receive", "send"]
        )
    else:
        app.add_middleware(TraceContextMiddleware)


class BodyLimitMiddleware:
    """Answers 413 problem+json for a body over ``max_bytes``: a declared length is checked
    before reading; a body of unknown length (chunked) is read up to the limit. The
    ``unlimited`` routes (those that stream their body and bound it themselves) are passed
    through untouched: neither refused for their length nor buffered."""

    def __init__(
        self, app: ASGIApp, *, max_bytes: int, unlimited: Sequence[BaseRoute] = ()
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.unlimited = tuple(unlimited)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit():
            # The HTTP server delivers exactly the declared length, so no need to count it.
            if int(declared) > self.max_bytes and not self._streams(scope):
                await self._reject(scope, receive, send)
            else:
                await self.app(scope, receive, send)
            return
        if self._streams(scope):
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

    def _streams(self, scope: Scope) -> bool:
        """Whether the request goes to a route that streams its body (matched as the router
        will match it: path and method)."""
        return any(route.matches(scope)[0] is Match.FULL for route in self.unlimited)

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
    """Counts each request and its latency by method, route template and status (each series'
    child looked up once: ``labels()`` takes a lock and checks its arguments every time)."""

    def __init__(self, app: ASGIApp, *, service: str) -> None:
        self.app = app
        self.service = service
        self._series: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

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
            count, latency = self._of(scope["method"], route, status)
            count.inc()
            latency.observe(time.perf_counter() - started)

    def _of(self, method: str, route: str, status: int) -> tuple[Counter, Histogram]:
        key = (method, route, status)
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = (
                metrics.HTTP_REQUESTS.labels(self.service, method, route, str(status)),
                metrics.HTTP_LATENCY.labels(self.service, method, route),
            )
        return series


class DirectRoute(APIRoute):
    """A route whose work is plain ASGI that needs none of FastAPI's per-request machinery
    (request object, dependency solving, response model), such as the gateway's forwarding.
    It is declared and documented like any route — its endpoint, dependencies and
    ``responses`` make its OpenAPI operation — and :class:`DirectRoutesMiddleware` calls its
    :meth:`serve` as soon as a request's path and method select it, instead of FastAPI's
    router, whose matching and wrapping cost more than such work itself.

    A subclass implements :meth:`serve`. What it raises reaches the client as the app would
    render it: a :class:`~laborcoop.common.problems.Problem` as problem+json, anything else
    as a 500 (``ServerErrorMiddleware``)."""

    async def serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError(f"{type(self).__name__} serves its requests itself")

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Reached through FastAPI's router only when no route took the method (the router
        tries a route that matched the path alone): its 405, else :meth:`serve`."""
        if self.methods and scope["method"] not in self.methods:
            raise HTTPException(405, headers={"Allow": ", ".join(sorted(self.methods))})
        await self.serve(scope, receive, send)


class DirectRoutesMiddleware:
    """The innermost layer of an app with :class:`DirectRoute` routes: a request whose first
    matching route, in the app's order, is a direct route goes to it here; every other
    request goes on to FastAPI's router, so precedence is the router's (the first route whose
    path and method match wins; a route matching the path only is passed over, as the router
    passes it over).

    Inside trace context, metrics and the body limit, outside FastAPI's exception handling:
    a problem a direct route raises is rendered here, as the app's handler renders it."""

    def __init__(self, app: ASGIApp, *, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        direct = [i for i, route in enumerate(routes) if isinstance(route, DirectRoute)]
        # the routes up to the last direct one are all that may select a request for it
        self.routes = tuple(routes[: direct[-1] + 1]) if direct else ()
        self.prefixes = tuple(
            route.path_format.partition("{")[0].rstrip("/") or "/"
            for route in self.routes
            if isinstance(route, DirectRoute)
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(self.prefixes):
            route = self._select(scope)
            if route is not None:
                try:
                    await route.serve(scope, receive, send)
                except Problem as problem:
                    await problem_answer(problem, scope["path"])(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _select(self, scope: Scope) -> DirectRoute | None:
        """The direct route selected by the request (its path parameters set in ``scope``),
        or None when the first route matching path and method is another, or none is."""
        path, method = scope["path"], scope["method"]
        for route in self.routes:
            if not isinstance(route, Route):  # a mount or the like: its own notion of a match
                if route.matches(scope)[0] is Match.FULL:
                    return None
                continue
            found = route.path_regex.match(path)
            if found is None or (route.methods and method not in route.methods):
                continue
            if not isinstance(route, DirectRoute):
                return None
            convert = route.param_convertors
            params: dict[str, Any] = {
                k: convert[k].convert(v) for k, v in found.groupdict().items()
            }
            scope["path_params"] = {**scope.get("path_params", {}), **params}
            scope["endpoint"] = route.endpoint
            scope["route"] = route
            return route
        return None


def routes_in_order(routes: Sequence[BaseRoute]) -> Iterator[BaseRoute]:
    """``routes`` in the order the router tries them, included routers' routes in their place."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if isinstance(included, APIRouter):
            yield from routes_in_order(included.routes)
        else:
            yield route

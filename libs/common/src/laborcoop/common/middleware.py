"""The ASGI layers every service app has: body limit, metrics, trace context.

Installed by :func:`install_middleware` in this order, outermost last: ``MetricsMiddleware``
counts every answer, the body limit's 413 included; trace context (or the OpenTelemetry
instrumentor when traces are recorded) wraps them all.
"""

import time
from collections.abc import Sequence

from fastapi import FastAPI
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from laborcoop.common import metrics
from laborcoop.common.errors import PayloadTooLarge, problem_response
from laborcoop.common.inputs import streamed_routes
from laborcoop.common.settings import ServiceSettings
from laborcoop.common.telemetry import TraceContextMiddleware, recording


def install_middleware(app: FastAPI, settings: ServiceSettings) -> None:
    """Called once the app's routers are included (the body limit spares the routes that
    stream their body, :func:`~laborcoop.common.inputs.streams_its_body`)."""
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        unlimited=streamed_routes(app.router.routes),
    )
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
    """Counts each request and its latency by method, route template and status."""

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

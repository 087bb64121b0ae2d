"""The HTTP server of every service: uvicorn with bounded waits on slow or vanished clients.

uvicorn alone waits as long as a client likes for a request head (a fresh connection has no
keep-alive timer) and for a body shorter than its ``Content-Length``, and a client that leaves
mid-body surfaces as an exception inside the application, logged as an unhandled error. Here:

- a connection whose request head is not complete within ``http_header_timeout_s`` is closed
  (the HTTP protocol classes below, for httptools and h11);
- a request body whose next chunk does not arrive within ``http_body_timeout_s`` is answered
  ``408`` problem+json and the connection closed (:class:`RequestGuard`);
- a client that disconnects before its body is complete ends the request quietly, logged at
  INFO: it is the client's doing, not the service's;
- at most ``http_max_connections`` connections per process are served; a request beyond gets
  uvicorn's ``503`` (``limit_concurrency``).

On SIGTERM (or SIGINT) :class:`GracefulServer` stops accepting connections, tells the caller at
once (``serve``'s ``on_shutdown``: halt the relay and consumers, which finish their batch and
commit meanwhile), answers the requests in flight (idle keep-alive connections are closed), and
gives up on those still running after ``shutdown_grace_s``; then the app's lifespan ends.
"""

import asyncio
import gc
import logging
import socket
from collections.abc import Callable
from typing import Final

import h11
import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from laborcoop.common.errors import problem_response
from laborcoop.common.settings import ServiceSettings

log = logging.getLogger(__name__)

REQUEST_TIMEOUT_SLUG: Final = "request-timeout"


class _HeadDeadline:
    """Closes a connection whose request head is not complete ``seconds`` after it began."""

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        self._timer: asyncio.TimerHandle | None = None

    def arm(self, loop: asyncio.AbstractEventLoop, transport: asyncio.Transport) -> None:
        if self._timer is None and not transport.is_closing():
            self._timer = loop.call_later(self._seconds, self._expire, transport)

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expire(self, transport: asyncio.Transport) -> None:
        self._timer = None
        if not transport.is_closing():
            log.info("request head incomplete; connection closed", extra={"after_s": self._seconds})
            transport.close()


def http_protocol(head_timeout_s: float) -> type[asyncio.Protocol]:
    """uvicorn's own choice of protocol (httptools when installed, else h11), with the head
    deadline: armed when a connection opens and when a request begins, cancelled when the head
    is complete. Waiting between requests stays uvicorn's keep-alive timeout."""
    try:
        import httptools  # noqa: F401, PLC0415
    except ImportError:  # pragma: no cover - httptools is a dependency of uvicorn[standard]
        return _h11_protocol(head_timeout_s)
    return _httptools_protocol(head_timeout_s)


def _httptools_protocol(head_timeout_s: float) -> type[HttpToolsProtocol]:
    class Protocol(HttpToolsProtocol):
        _deadline: _HeadDeadline

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            self._deadline = _HeadDeadline(head_timeout_s)
            super().connection_made(transport)
            self._deadline.arm(self.loop, transport)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._deadline.arm(self.loop, self.transport)

        def on_headers_complete(self) -> None:
            self._deadline.cancel()
            super().on_headers_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._deadline.cancel()
            super().connection_lost(exc)

    return Protocol


def _h11_protocol(head_timeout_s: float) -> type[H11Protocol]:
    class Protocol(H11Protocol):
        _deadline: _HeadDeadline

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            self._deadline = _HeadDeadline(head_timeout_s)
            super().connection_made(transport)
            self._deadline.arm(self.loop, transport)

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.conn.their_state is h11.IDLE:  # bytes of a head, not the whole head yet
                self._deadline.arm(self.loop, self.transport)
            else:
                self._deadline.cancel()

        def connection_lost(self, exc: Exception | None) -> None:
            self._deadline.cancel()
            super().connection_lost(exc)

    return Protocol


class RequestAbandoned(BaseException):
    """Ends the application's handling of a request whose body will not come.

    A ``BaseException`` on purpose: the application's ``except Exception`` handlers (the
    problem+json handler that logs "unhandled error", FastAPI's body parsing) must not turn it
    into an error response or an ERROR log; :class:`RequestGuard` catches it."""


class _Exchange:
    """One request's receive and send, watched for a stalled or abandoned body."""

    def __init__(self, scope: Scope, receive: Receive, send: Send, body_timeout_s: float) -> None:
        self._scope = scope
        self._receive = receive
        self._send = send
        self._timeout = body_timeout_s
        self._body_complete = False
        self._response_started = False
        self._answered = False

    async def receive(self) -> Message:
        if self._body_complete:  # only a disconnect can come now: wait as long as it takes
            return await self._receive()
        try:
            async with asyncio.timeout(self._timeout):  # a timer only: wait_for makes a task
                message = await self._receive()
        except TimeoutError:
            await self._answer_timeout()
            raise RequestAbandoned(f"no request body for {self._timeout} s; answered 408") from None
        if message["type"] == "http.disconnect":
            raise RequestAbandoned("client disconnected before its request body was complete")
        if not message.get("more_body", False):
            self._body_complete = True
        return message

    async def send(self, message: Message) -> None:
        if self._answered:
            return
        if message["type"] == "http.response.start":
            self._response_started = True
        await self._send(message)

    async def _answer_timeout(self) -> None:
        if self._response_started:
            return
        self._answered = True
        response = problem_response(
            408,
            slug=REQUEST_TIMEOUT_SLUG,
            detail=f"the request body did not arrive within {self._timeout:g} s",
            instance=self._scope.get("path"),
            headers={"Connection": "close"},
        )
        await response(self._scope, self._receive, self._send)


class RequestGuard:
    """The outermost ASGI layer: bounds the wait for each chunk of a request body and ends a
    request quietly when its client left (see the module docstring)."""

    def __init__(self, app: ASGIApp, *, body_timeout_s: float) -> None:
        self.app = app
        self.body_timeout_s = body_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        exchange = _Exchange(scope, receive, send, self.body_timeout_s)
        try:
            await self.app(scope, exchange.receive, exchange.send)
        except RequestAbandoned as abandoned:
            log.info(str(abandoned), extra={"method": scope["method"], "path": scope["path"]})


def server_config(
    app: ASGIApp, settings: ServiceSettings, *, host: str, port: int
) -> uvicorn.Config:
    """The uvicorn configuration of ``serve`` (tests start a server from it as well)."""
    return uvicorn.Config(
        RequestGuard(app, body_timeout_s=settings.http_body_timeout_s),
        host=host,
        port=port,
        http=http_protocol(settings.http_header_timeout_s),
        limit_concurrency=settings.http_max_connections,
        timeout_graceful_shutdown=settings.shutdown_grace_s,
        log_config=None,
        access_log=False,
    )


class GracefulServer(uvicorn.Server):
    """uvicorn's server, calling ``on_shutdown`` as its shutdown begins (in the event loop, right
    after the listening sockets closed), so the background work stops while requests finish."""

    def __init__(self, config: uvicorn.Config, on_shutdown: Callable[[], None] | None) -> None:
        super().__init__(config)
        self._on_shutdown = on_shutdown

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        log.info("shutting down", extra={"grace_s": self.config.timeout_graceful_shutdown})
        if self._on_shutdown is not None:
            self._on_shutdown()
        await super().shutdown(sockets)


def serve(
    app: ASGIApp,
    settings: ServiceSettings,
    *,
    host: str,
    port: int,
    on_shutdown: Callable[[], None] | None = None,
) -> None:
    """Serve ``app`` until SIGINT or SIGTERM, then shut down gracefully (module docstring).

    What exists by now (modules, the app, its routes and models) lives as long as the process,
    so it is frozen out of garbage collection: a full collection would otherwise walk it all
    again and again, pausing every request for tens of milliseconds (ADR 0013)."""
    gc.freeze()
    GracefulServer(server_config(app, settings, host=host, port=port), on_shutdown).run()

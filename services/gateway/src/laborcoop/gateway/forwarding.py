"""Forwarding a request to the service that owns it, and what the gateway answers when it cannot.

The cost of a proxy (ADR 0013): the request's bytes go on as they came — method, the path
rebuilt under its prefix, the query string byte for byte, a fixed list of headers, the body
streamed part by part as the client sends it, never parsed or held whole — over a pooled,
kept-alive connection (:mod:`laborcoop.gateway.upstream`); the owner's status, a fixed list of
its headers and its body come back the same way, unchanged. The gateway verifies the bearer
token before anything is sent (a 401 never reaches an owner; verified tokens are cached, so a
client's requests after its first cost a lookup); everything else about the request — its body,
its parameters, who may do what — is the owner's to check.

Headers: only visible ASCII can be sent on (HTTP field values are bytes; an owner behind another
proxy or client may refuse anything else), so a forwarded header with other bytes is a 422
naming the header, before anything is sent. ``traceparent`` is the gateway's own span (which
continues the caller's valid ``traceparent``, or starts a trace): one trace id from the client
through the gateway to the owner; an invalid ``traceparent`` from the client is thus dropped,
as W3C Trace Context asks of a receiver.

Failures: a request that never left the gateway (no connection) is a 503 — nothing happened,
retry later. Once the request was sent, a read timeout or a lost connection says nothing about
the outcome: the owner may still commit the change. That is a 504 whose detail says so and that
a retry with the same ``Idempotency-Key`` is safe (the owner answers it with the first answer).
An answer that breaks off after its head was relayed cannot change its status any more: the
client's connection is closed, so it sees a truncated answer, never a complete-looking one.
"""

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, TypeVar
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request, Response
from opentelemetry import trace
from starlette.background import BackgroundTask
from starlette.types import Receive, Scope, Send

from laborcoop.common.auth import current_principal
from laborcoop.common.deps import state_of
from laborcoop.common.errors import (
    GatewayTimeout,
    InvalidInput,
    NotFound,
    Problem,
    ServiceUnavailable,
)
from laborcoop.common.inputs import forwards_its_query, streams_its_body
from laborcoop.common.middleware import DirectRoute
from laborcoop.common.telemetry import recording, tracer
from laborcoop.gateway.upstream import NoAnswer, NotSent, Owner, OwnerAnswer, ReadChunk

RETRY_AFTER_S: Final = 2
"""``Retry-After`` of the gateway's 503 and 504 answers."""

FORWARDED_HEADERS: Final = ("Authorization", "Content-Type", "Idempotency-Key", "If-Match")
"""Sent on unchanged (after the ASCII check), each as the client first sent it; with them the
body's framing (``Content-Length``, or chunked) and the gateway's ``traceparent``."""
RETURNED_HEADERS: Final = (
    "content-type",
    "location",
    "etag",
    "idempotent-replayed",
    "allow",
    "www-authenticate",
    "retry-after",
    "accept-post",
    "accept-patch",
)
"""The owner's answer headers relayed unchanged: what the client reads to act on the answer
(the new resource, its version, a replay) and what a refusal tells it to do next — the methods a
405 allows, the scheme a 401 wants, when to retry a 429 or 503, the media types a 415 takes.
With them the body's ``Content-Length`` when the owner gave one."""

WHOLE_BYTES: Final = 65_536
"""An answer body up to this size (by its ``Content-Length``) is read whole and relayed in one
piece; a larger or chunked one is relayed part by part as it arrives."""

_SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})
_FIELD_VALUE: Final = re.compile(rb"[\t\x20-\x7e]*")
_FORWARDED: Final = {name.lower().encode(): name for name in FORWARDED_HEADERS}
_RETURNED: Final = frozenset(name.encode() for name in RETURNED_HEADERS)
_CONTENT_LENGTH: Final = b"content-length"


class UpstreamUnavailable(ServiceUnavailable):
    """The owning service could not be reached; the request was not sent."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.headers["Retry-After"] = str(RETRY_AFTER_S)


class UpstreamTimeout(GatewayTimeout):
    """The request reached the owning service, whose answer did not come back (504)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.headers["Retry-After"] = str(RETRY_AFTER_S)


GATEWAY_TIMEOUT_DESCRIPTION: Final = (
    "The owning service received the request but its answer did not arrive in time: the outcome "
    "is unknown and the change may have been made. Retrying with the same Idempotency-Key is "
    "safe: the owner answers a retry with the first request's answer."
)


def upstream_path(prefix: str, rest: str = "") -> str:
    """``prefix`` and the caller's remaining path, each segment re-quoted; dot segments are
    refused so that no request reaches anything outside ``prefix`` upstream."""
    segments = rest.split("/") if rest else []
    if any(segment in {".", ".."} for segment in segments):
        raise NotFound("no such resource")
    return "/".join([prefix, *(quote(s, safe="") for s in segments)])


def upstream_target(scope: Scope, prefix: str, rest: str = "") -> bytes:
    """The owner's request target: :func:`upstream_path` and the caller's query string byte for
    byte. The owner declares the parameters and refuses unknown ones; re-encoding them from a
    mapping would keep only the last of a repeated parameter."""
    path = upstream_path(prefix, rest).encode("ascii")
    query: bytes = scope.get("query_string", b"")
    return path + b"?" + query if query else path


@dataclass(frozen=True, slots=True)
class OutgoingRequest:
    """What goes to the owner besides method and target: headers, and the body's framing
    (``length`` None: chunked; ``has_body`` False: none)."""

    headers: list[tuple[bytes, bytes]]
    length: int | None
    has_body: bool


def outgoing_request(scope: Scope) -> OutgoingRequest:
    """The client's headers sent on (see :data:`FORWARDED_HEADERS`) and the body's framing; a
    422 naming a forwarded header that is not visible ASCII."""
    headers: list[tuple[bytes, bytes]] = []
    seen: set[bytes] = set()
    length: int | None = None
    chunked = False
    for name, value in scope["headers"]:
        if name in _FORWARDED:
            if name in seen:
                continue
            if not _FIELD_VALUE.fullmatch(value):
                raise InvalidInput.field(
                    _FORWARDED[name],
                    "only visible ASCII characters can be sent in this header",
                    "not_ascii",
                )
            seen.add(name)
            headers.append((name, value))
        elif name == _CONTENT_LENGTH:
            length = int(value)  # the HTTP server delivers exactly this many bytes
        elif name == b"transfer-encoding":
            chunked = True
    if length is not None:
        return OutgoingRequest(headers, length, length > 0)
    return OutgoingRequest(headers, None, chunked)


def _traceparent() -> bytes | None:
    """The current span's ``traceparent`` (the gateway's span of this request)."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return b"00-%032x-%016x-%02x" % (context.trace_id, context.span_id, context.trace_flags)


def _reader(receive: Receive) -> ReadChunk:
    """The request body part by part, from the ASGI ``receive`` of the client's request."""

    async def read() -> tuple[bytes, bool]:
        message = await receive()
        return message.get("body", b""), message.get("more_body", False)

    return read


def _failure(service: str, method: str, exc: NotSent | NoAnswer) -> Problem:
    """The problem answering a call to ``service`` that ended with ``exc``."""
    if isinstance(exc, NotSent):
        return UpstreamUnavailable(f"{service} cannot be reached ({exc.reason}); nothing was sent")
    if method in _SAFE_METHODS:
        return UpstreamTimeout(f"{service} did not answer ({exc.reason}): the request timed out")
    return UpstreamTimeout(
        f"{service} did not answer ({exc.reason}) after receiving the request: the outcome is "
        "unknown and the change may have been made. Retrying with the same Idempotency-Key is "
        "safe; without one, read the resource before retrying."
    )


@dataclass(frozen=True)
class Upstreams:
    """The gateway's use cases: where each owning service is reached (a connection pool)."""

    owners: Mapping[str, Owner]


class Relayed(Response):
    """The owner's answer, relayed: its status, the :data:`RETURNED_HEADERS` it has, its body
    in one piece when ``body`` holds it, else streamed as it arrives (with its
    ``Content-Length`` when it gave one)."""

    def __init__(self, answer: OwnerAnswer, body: bytes | None) -> None:
        # Response.__init__ renders a body; here there is none to render, only one to relay.
        self.status_code = answer.status
        self.background: BackgroundTask | None = None
        self.answer = answer
        self.body = body if body is not None else b""
        self._whole = body is not None
        headers = [(name, value) for name, value in answer.headers if name in _RETURNED]
        if answer.length is not None:
            headers.append((_CONTENT_LENGTH, b"%d" % answer.length))
        self.raw_headers = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        answer = self.answer
        try:
            start = {"type": "http.response.start", "status": self.status_code}
            await send({**start, "headers": self.raw_headers})
            if self._whole:
                await send({"type": "http.response.body", "body": self.body})
                return
            async for part in answer.chunks():
                await send({"type": "http.response.body", "body": part, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        finally:
            await answer.aclose()


def _owners(request: Request) -> Upstreams:
    upstreams = getattr(state_of(request.app).use_cases, "upstreams", None)
    if not isinstance(upstreams, Upstreams):
        raise TypeError("the gateway's use cases hold its Upstreams")
    return upstreams


async def forward(request: Request, service: str, prefix: str, rest: str = "") -> Response:
    """Send the request (token included) to the owning service and relay its answer."""
    scope = request.scope
    owner = _owners(request).owners[service]
    method: str = scope["method"]
    target = upstream_target(scope, prefix, rest)
    outgoing = outgoing_request(scope)
    read = _reader(request.receive) if outgoing.has_body else None
    try:
        if recording():  # a CLIENT span, as an instrumented HTTP client would record
            with tracer().start_as_current_span(method, kind=trace.SpanKind.CLIENT):
                answer = await _send(owner, method, target, outgoing, read)
        else:
            answer = await _send(owner, method, target, outgoing, read)
    except (NotSent, NoAnswer) as exc:
        raise _failure(service, method, exc) from exc
    try:
        body = await answer.whole(WHOLE_BYTES)
    except NoAnswer as exc:  # cut off before anything was relayed: still a 504
        await answer.aclose()
        raise _failure(service, method, exc) from exc
    except BaseException:
        await answer.aclose()
        raise
    return Relayed(answer, body)


async def _send(
    owner: Owner, method: str, target: bytes, outgoing: OutgoingRequest, read: ReadChunk | None
) -> OwnerAnswer:
    headers = outgoing.headers
    traceparent = _traceparent()
    if traceparent is not None:
        headers = [*headers, (b"traceparent", traceparent)]
    return await owner.send(method, target, headers, length=outgoing.length, read=read)


# -- the routes that forward -----------------------------------------------------------------

METHODS: Final = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]
"""Every method goes to the owner, which alone knows what its resource allows (its 405 names
them in ``Allow``, which the gateway relays)."""

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


class ForwardingRoute(DirectRoute):
    """A route whose endpoint forwards the request to its owner.

    Documented like any route (its endpoint, dependencies and ``responses`` make its OpenAPI
    operation), and handled as a proxy, directly (:class:`~laborcoop.common.middleware.
    DirectRoute`): :meth:`serve` verifies the bearer token with the ``CurrentPrincipal``
    dependency's own function (a 401 before anything is sent) and calls the endpoint with the
    request, the principal and the path parameters — without FastAPI's per-request work, which
    costs more than forwarding itself (ADR 0013). Its endpoint therefore declares exactly
    ``request``, ``principal`` and the path's parameters, and returns :func:`forward`'s
    answer."""

    async def serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        principal = await current_principal(request)
        path_params: dict[str, Any] = scope.get("path_params", {})
        response = await self.endpoint(request=request, principal=principal, **path_params)
        await response(scope, receive, send)


def forwarded(
    router: APIRouter, path: str, *, methods: list[str] = METHODS, **documentation: Any
) -> Callable[[Endpoint], Endpoint]:
    """Declare ``path`` of ``router`` a :class:`ForwardingRoute`: its query string and body go
    to the owner unchanged (:func:`~laborcoop.common.inputs.forwards_its_query`), the body
    streamed, so that the gateway's JSON rule and body limit do not apply — the owner's do
    (:func:`~laborcoop.common.inputs.streams_its_body`). Undocumented unless ``documentation``
    says ``include_in_schema=True`` (the owners' OpenAPI documents describe these routes)."""

    def declare(endpoint: Endpoint) -> Endpoint:
        router.add_api_route(
            path,
            endpoint,
            methods=methods,
            route_class_override=ForwardingRoute,
            dependencies=[Depends(forwards_its_query), Depends(streams_its_body)],
            **{"include_in_schema": False, **documentation},
        )
        return endpoint

    return declare

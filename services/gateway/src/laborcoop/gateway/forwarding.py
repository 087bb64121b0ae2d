"""Forwarding a request to the service that owns it, and what the gateway answers when it cannot.

Headers: only visible ASCII can be sent on (HTTP field values are bytes; the HTTP client refuses
anything else), so a forwarded header with other bytes is a 422 naming the header, before
anything is sent. ``traceparent`` is the exception: W3C Trace Context says a receiver ignores a
``traceparent`` it cannot parse, so an invalid one is dropped and the owner starts a new trace.

Failures: a request that never left the gateway (no connection) is a 503 — nothing happened,
retry later. Once the request was sent, a read timeout or a lost connection says nothing about
the outcome: the owner may still commit the change. That is a 504 whose detail says so and that
a retry with the same ``Idempotency-Key`` is safe (the owner answers it with the first answer).
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final
from urllib.parse import quote

import httpx
from fastapi import Request, Response
from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from laborcoop.common.deps import state_of
from laborcoop.common.errors import (
    GatewayTimeout,
    InvalidInput,
    NotFound,
    Problem,
    ServiceUnavailable,
)

RETRY_AFTER_S: Final = 2
"""``Retry-After`` of the gateway's 503 and 504 answers."""

FORWARDED_HEADERS: Final = ("Authorization", "Content-Type", "Idempotency-Key", "If-Match")
"""Sent on unchanged (after the ASCII check); ``traceparent`` is sent on when valid."""
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
405 allows, the scheme a 401 wants, when to retry a 429 or 503, the media types a 415 takes."""

_SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})
_NOT_SENT: Final = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
"""Failures before the request left the gateway: the owner saw nothing."""
_FIELD_VALUE: Final = re.compile(r"[\t\x20-\x7e]*")
_TRACE_CONTEXT: Final = TraceContextTextMapPropagator()


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


def upstream_url(request: Request, prefix: str, rest: str = "") -> httpx.URL:
    """The owner's URL for the request: :func:`upstream_path` and the caller's query string
    byte for byte. The owner declares the parameters and refuses unknown ones; re-encoding them
    from a mapping would keep only the last of a repeated parameter."""
    path = upstream_path(prefix, rest)
    query: bytes = request.scope.get("query_string", b"")
    return httpx.URL(path, query=query) if query else httpx.URL(path)


def forwarded_headers(request: Request) -> dict[str, str]:
    """The headers sent on to the owner; 422 naming a header that is not visible ASCII."""
    headers: dict[str, str] = {}
    for name in FORWARDED_HEADERS:
        value = request.headers.get(name)
        if value is None:
            continue
        if not _FIELD_VALUE.fullmatch(value):
            raise InvalidInput.field(
                name, "only visible ASCII characters can be sent in this header", "not_ascii"
            )
        headers[name] = value
    traceparent = request.headers.get("traceparent")
    if traceparent is not None and _valid_traceparent(traceparent):
        headers["traceparent"] = traceparent
    return headers


def _valid_traceparent(value: str) -> bool:
    if not _FIELD_VALUE.fullmatch(value):
        return False
    context = _TRACE_CONTEXT.extract({"traceparent": value})
    return trace.get_current_span(context).get_span_context().is_valid


def _failure(service: str, method: str, exc: httpx.HTTPError) -> Problem:
    """The problem answering a call to ``service`` that ended with ``exc``."""
    reason = type(exc).__name__
    if isinstance(exc, _NOT_SENT):
        return UpstreamUnavailable(f"{service} cannot be reached ({reason}); nothing was sent")
    if method in _SAFE_METHODS:
        return UpstreamTimeout(f"{service} did not answer ({reason}): the request timed out")
    return UpstreamTimeout(
        f"{service} did not answer ({reason}) after receiving the request: the outcome is "
        "unknown and the change may have been made. Retrying with the same Idempotency-Key is "
        "safe; without one, read the resource before retrying."
    )


@dataclass(frozen=True)
class Upstreams:
    """The gateway's use cases: one pooled HTTP client per owning service."""

    clients: Mapping[str, httpx.AsyncClient]


async def forward(request: Request, service: str, prefix: str, rest: str = "") -> Response:
    """Send the request (token included) to the owning service and relay its answer."""
    upstreams = getattr(state_of(request.app).use_cases, "upstreams", None)
    if not isinstance(upstreams, Upstreams):
        raise TypeError("the gateway's use cases hold its Upstreams")
    upstream = upstreams.clients[service]
    url = upstream_url(request, prefix, rest)
    headers = forwarded_headers(request)
    try:
        answer = await upstream.request(
            request.method,
            url,
            content=await request.body(),
            headers=headers,
        )
    except httpx.HTTPError as exc:
        raise _failure(service, request.method, exc) from exc
    kept = {h: v for h in RETURNED_HEADERS if (v := answer.headers.get(h)) is not None}
    return Response(answer.content, status_code=answer.status_code, headers=kept)

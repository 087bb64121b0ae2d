"""``GET /v1/events/stream``: the events a caller may receive, as server-sent events.

The wire format (``text/event-stream``): ``retry: <ms>`` once at the start; then per event
``id: <CloudEvent id>`` and ``data: <the CloudEvent, one line of JSON>`` followed by a blank
line; ``: heartbeat`` comment lines while nothing else is sent. Which events, from where, and
the refusals are :mod:`laborcoop.gateway.stream.query`; the reading loop is
:mod:`laborcoop.gateway.stream.feed`; the limit per client and the end at shutdown
:mod:`laborcoop.gateway.stream.streams`.
"""

import math
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from laborcoop.common.auth import CurrentPrincipal
from laborcoop.common.deps import DbPool, state_of, use_cases
from laborcoop.common.errors import (
    PROBLEM_JSON,
    Forbidden,
    Problem,
    ServiceUnavailable,
    TooManyRequests,
    problem_responses,
)
from laborcoop.gateway.settings import GatewaySettings
from laborcoop.gateway.stream import query
from laborcoop.gateway.stream.feed import Feed, Timing
from laborcoop.gateway.stream.query import LAST_EVENT_ID, Rfc3339Time
from laborcoop.gateway.stream.streams import Draining, Held, StreamsExhausted
from laborcoop.gateway.uses import GatewayUses

router = APIRouter(prefix="/v1", tags=["events"])

EVENT_STREAM: Final = "text/event-stream"
HEADERS: Final = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
"""Nothing may keep or hold back the stream: no cache, and no buffering by nginx."""

FORMAT: Final = (
    "Server-sent events. Once at the start `retry: <milliseconds>` (the reconnection delay to "
    "use). Each event is two lines and a blank one:\n\n"
    "```\n"
    "id: 0f8e…                 ← the CloudEvent's id\n"
    'data: {"specversion":"1.0","id":"0f8e…","type":"cn.laborcoop.placements.demand.posted.v1",…}\n'
    "\n"
    "```\n\n"
    "`data` is the CloudEvent exactly as published (the envelope of `docs/events/`), on one "
    "line. While no event comes, a comment line `: heartbeat` is sent every "
    "`LABORCOOP_STREAM_HEARTBEAT_S` (15 s). The stream ends cleanly after "
    "`LABORCOOP_STREAM_MAX_LIFETIME_S` (15 min) and when the gateway shuts down: reconnect "
    "with `Last-Event-ID` set to the last id received, and the stream goes on right after it, "
    "nothing missed and nothing twice."
)


class EventStreamResponse(StreamingResponse):
    """A stream that gives its slot back however it ends (finished, client gone, cancelled)."""

    media_type = EVENT_STREAM

    def __init__(self, frames: AsyncIterator[bytes], release: Callable[[], None]) -> None:
        super().__init__(frames, headers=HEADERS)
        self._frames = frames
        self._release = release

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._release()
            aclose = getattr(self._frames, "aclose", None)
            if aclose is not None:  # a generator left at a yield: run its clean-up now
                await aclose()


def _problems(*kinds: type[Problem]) -> dict[int | str, dict[str, Any]]:
    """:func:`problem_responses` with the problem's schema under ``application/problem+json``:
    FastAPI would put a response's model under the route's own media type, here
    ``text/event-stream``, which no problem is sent as (the gateway's other routes name
    ``ProblemDocument`` as their model, so the schema is among the components)."""
    documented = problem_responses(*kinds)
    schema = {"$ref": "#/components/schemas/ProblemDocument"}
    return {
        status: {
            "description": answer["description"],
            "content": {PROBLEM_JSON: {"schema": schema}},
        }
        for status, answer in documented.items()
    }


async def _settings(request: Request) -> GatewaySettings:
    settings = state_of(request.app).settings
    if not isinstance(settings, GatewaySettings):
        raise TypeError("the event stream runs in the gateway, on its settings")
    return settings


Settings = Annotated[GatewaySettings, Depends(_settings)]
Uses = Annotated[GatewayUses, use_cases(GatewayUses)]

TYPES_DOC: Final = (
    "Event types to receive: exact (`cn.laborcoop.placements.demand.posted.v1`) or a prefix "
    "ending in `*` (`cn.laborcoop.placements.*`); repeated or comma-separated. None: every "
    "type. An unknown type or a malformed pattern is a 422."
)
PROVINCES_DOC: Final = (
    "Only events concerning one of these provinces (their `provinces` attribute). The ministry "
    "may name any; a province only itself (another: 403). None: every event you may receive."
)
SINCE_DOC: Final = (
    "RFC 3339 instant: start with the events logged from that time on (a few slightly older "
    "ones may come first: the log is in arrival order). Without it and without "
    "`Last-Event-ID`: only new events."
)
LAST_EVENT_ID_DOC: Final = (
    "The id of the last event received: the stream resumes right after it (wins over "
    "`since`). An id the gateway's log does not hold, or of an event you could not have "
    "received, is a 422 naming `Last-Event-ID`."
)


def _open(uses: GatewayUses, settings: GatewaySettings, client_id: str) -> Held:
    """A slot for one more stream of ``client_id``: past its limit a 429, during a shutdown a
    503, both with the reconnection delay as ``Retry-After``."""
    retry_after = math.ceil(settings.stream_retry_s)
    try:
        return uses.streams.open(client_id)
    except StreamsExhausted:
        refusal = TooManyRequests(retry_after)
        refusal.detail = (
            f"{settings.stream_max_per_client} event streams of this client are open here "
            f"already; close one, or retry after {retry_after} s"
        )
        raise refusal from None
    except Draining:
        unavailable = ServiceUnavailable("the gateway is shutting down; reconnect")
        unavailable.headers["Retry-After"] = str(retry_after)
        raise unavailable from None


@router.get(
    "/events/stream",
    summary="Receive the events that concern you as they happen (server-sent events)",
    description="The events whose `provinces` include your province (the ministry: every "
    "event), live, resumable with `Last-Event-ID`, optionally from a time (`since`) and of "
    "some types. For a province's own system or the ministry; observers and others get 403. "
    "A client may hold `LABORCOOP_STREAM_MAX_PER_CLIENT` streams (4) at once per gateway "
    "replica; the next is a 429 with `Retry-After`, as is every request past the rate limit. "
    "During a shutdown new streams are refused with 503.\n\n" + FORMAT,
    response_class=EventStreamResponse,
    status_code=200,
    responses={
        200: {
            "description": "The event stream (see the description for its format).",
            "content": {EVENT_STREAM: {"schema": {"type": "string"}}},
        },
        **_problems(Forbidden, TooManyRequests, ServiceUnavailable),
    },
)
async def stream_events(
    principal: CurrentPrincipal,
    pool: DbPool,
    uses: Uses,
    settings: Settings,
    types: Annotated[list[str] | None, Query(description=TYPES_DOC)] = None,
    provinces: Annotated[list[str] | None, Query(description=PROVINCES_DOC)] = None,
    since: Annotated[Rfc3339Time | None, Query(description=SINCE_DOC)] = None,
    last_event_id: Annotated[
        str | None, Header(alias=LAST_EVENT_ID, description=LAST_EVENT_ID_DOC)
    ] = None,
) -> EventStreamResponse:
    selection = query.selection(principal, types, provinces)
    async with pool.acquire() as conn:
        after = await query.start_position(
            conn, selection.audience, last_event_id=last_event_id or None, since=since
        )
    # The process's listener opens here, at its first stream, and not inside a wait that the
    # stream cancels when it ends (a connection being opened then would be left unclosed).
    await uses.log_wakeup.wait(0)
    held = _open(uses, settings, principal.client_id)
    feed = Feed(
        pool,
        uses.log_wakeup,
        selection,
        held,
        Timing(settings.stream_heartbeat_s, settings.stream_max_lifetime_s),
        disabled=lambda: principal.client_id in uses.admission.disabled,
    )
    return EventStreamResponse(
        feed.frames(after, settings.stream_retry_s), lambda: uses.streams.close(held)
    )

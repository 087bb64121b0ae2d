"""Without span recording, each request still carries a trace id: continued or started."""

import httpx
from starlette.types import Message, Receive, Scope, Send

from laborcoop.common.telemetry import TraceContextMiddleware, current_trace_id, current_traceparent

INCOMING = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


async def echo_trace(scope: Scope, receive: Receive, send: Send) -> None:
    body = f"{current_trace_id()} {current_traceparent()}".encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


async def call(headers: dict[str, str]) -> tuple[str, str]:
    transport = httpx.ASGITransport(app=TraceContextMiddleware(echo_trace))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        trace_id, traceparent = (await client.get("/", headers=headers)).text.split()
    return trace_id, traceparent


async def test_an_incoming_traceparent_is_continued() -> None:
    trace_id, traceparent = await call({"traceparent": INCOMING})
    assert trace_id == "0af7651916cd43dd8448eb211c80319c"
    assert traceparent.startswith("00-0af7651916cd43dd8448eb211c80319c-")
    assert traceparent.split("-")[2] != "b7ad6b7169203331"


async def test_a_request_without_one_starts_a_trace() -> None:
    first, _ = await call({})
    second, _ = await call({})
    assert len(first) == 32
    assert first != second
    assert first != "0" * 32


async def test_a_traceparent_that_is_not_utf8_starts_a_new_trace() -> None:
    """Bytes that do not decode (an invalid traceparent) are ignored, never an error."""
    for raw in (b"\xe9\xff", b"\x80", "00-0af7651916cd43dd8448eb211c80319c-é-01".encode()):
        trace_id, _ = await call_raw(raw)
        assert len(trace_id) == 32
        assert trace_id != "0af7651916cd43dd8448eb211c80319c"


async def call_raw(traceparent: bytes) -> tuple[str, str]:
    scope: Scope = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "headers": [(b"traceparent", traceparent)],
    }
    sent: list[bytes] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.body":
            sent.append(message["body"])

    await TraceContextMiddleware(echo_trace)(scope, receive, send)
    trace_id, traceparent_out = b"".join(sent).decode().split()
    return trace_id, traceparent_out

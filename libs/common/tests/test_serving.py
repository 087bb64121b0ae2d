"""The HTTP server of ``serve`` against slow and vanishing clients: a real uvicorn on a free
port of 127.0.0.1, spoken to over raw sockets (the timeouts are short for the test)."""

import asyncio
import json
import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI, Request

from laborcoop.common.errors import install_problem_handlers
from laborcoop.common.serving import server_config
from laborcoop.common.settings import ServiceSettings

GUARD_S = 20  # only a guard against a hung test; nothing below waits this long when it passes
Connect = Callable[[], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]


def _app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)  # logs "unhandled error" at ERROR for any escaped exception

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, Any]:
        return {"length": len(await request.body())}

    return app


@pytest.fixture
async def connect() -> AsyncIterator[Connect]:
    """A server from ``server_config`` on a free port; yields a function opening a connection."""
    settings = ServiceSettings(http_header_timeout_s=0.2, http_body_timeout_s=0.2)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(server_config(_app(), settings, host="127.0.0.1", port=port))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        assert not task.done(), "the server did not start"
        await asyncio.sleep(0.01)
    writers: list[asyncio.StreamWriter] = []

    async def open_connection() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writers.append(writer)
        return reader, writer

    try:
        yield open_connection
    finally:
        for writer in writers:
            writer.close()
        server.should_exit = True
        await asyncio.wait_for(task, GUARD_S)
        sock.close()


def _post(body: bytes, *, length: int | None = None) -> bytes:
    declared = len(body) if length is None else length
    return (
        b"POST /echo HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {declared}\r\n\r\n".encode()
        + body
    )


async def _read_until_closed(reader: asyncio.StreamReader) -> bytes:
    return await asyncio.wait_for(reader.read(), GUARD_S)


async def test_a_complete_request_is_answered_and_the_connection_kept(connect: Connect) -> None:
    reader, writer = await connect()
    for _ in range(2):
        writer.write(_post(b'{"a": 1}'))
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), GUARD_S)
        assert head.startswith(b"HTTP/1.1 200 ")
        length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        body = await asyncio.wait_for(reader.readexactly(length), GUARD_S)
        assert json.loads(body) == {"length": 8}


async def test_a_request_head_never_finished_is_closed_by_the_server(connect: Connect) -> None:
    reader, writer = await connect()
    writer.write(b"POST /echo HTTP/1.1\r\nHost: test\r\n")  # no blank line: the head never ends
    assert await _read_until_closed(reader) == b""


async def test_a_connection_that_sends_nothing_is_closed_by_the_server(connect: Connect) -> None:
    reader, _ = await connect()
    assert await _read_until_closed(reader) == b""


async def test_a_body_shorter_than_its_length_is_answered_408_and_closed(
    connect: Connect,
) -> None:
    reader, writer = await connect()
    writer.write(_post(b'{"a": ', length=100))
    answer = await _read_until_closed(reader)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 ")
    assert b"content-type: application/problem+json" in head.lower()
    assert b"connection: close" in head.lower()
    problem = json.loads(body)
    assert (problem["status"], problem["type"].rsplit("/", 1)[-1]) == (408, "request-timeout")


class _Departure(logging.Handler):
    """Notices the record the server writes about a client that left (INFO, or an ERROR)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.seen = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if "client disconnected" in record.getMessage() or record.levelno >= logging.ERROR:
            self.seen.set()


async def test_a_client_leaving_mid_body_is_not_an_error(
    connect: Connect, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    departure = _Departure()
    logging.getLogger().addHandler(departure)
    try:
        _, writer = await connect()
        writer.write(_post(b'{"a": ', length=100))
        await writer.drain()
        writer.close()
        await writer.wait_closed()
        await asyncio.wait_for(departure.seen.wait(), GUARD_S)
    finally:
        logging.getLogger().removeHandler(departure)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []

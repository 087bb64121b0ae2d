"""A real HTTP server on a loopback address that plays a webhook receiver in tests and in
``bench/webhooks``: it records every request and answers as its ``answer`` says; it can go down
(stop listening: connections are refused) and come back on the same port."""

import asyncio
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Final

MAX_HEADER_LINES: Final = 100


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes
    path: str
    at: float
    """``time.time()`` when the body was read."""
    status: int
    """What the receiver answered."""


Answer = Callable[[int], tuple[int, dict[str, str]]]
"""The status and headers of the answer to the n-th request (from 1)."""


def accept(_: int) -> tuple[int, dict[str, str]]:
    return 204, {}


@dataclass
class Receiver:
    host: str = "127.0.0.1"
    answer: Answer = accept
    requests: list[Received] = field(default_factory=list)
    port: int = 0
    delay_s: float = 0.0
    """How long it takes to answer each request."""
    accepted_count: int = 0
    got: asyncio.Event = field(default_factory=asyncio.Event)
    """Set at each accepted request (whoever waits clears it)."""
    _server: asyncio.Server | None = None
    _connections: set[asyncio.StreamWriter] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/hook"

    @property
    def accepted(self) -> list[Received]:
        return [r for r in self.requests if 200 <= r.status < 300]

    async def start(self) -> "Receiver":
        self._server = await asyncio.start_server(
            self._serve, self.host, self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        """Stop listening and drop the open connections: the receiver is down."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
            for writer in list(self._connections):
                writer.close()
            with suppress(Exception):
                await server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._connections.add(writer)
        try:
            while await self._one(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._connections.discard(writer)
            writer.close()

    async def _one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        request_line = await reader.readline()
        if not request_line:
            return False
        path = request_line.decode("latin-1").split(" ")[1]
        headers: dict[str, str] = {}
        for _ in range(MAX_HEADER_LINES):
            line = (await reader.readline()).decode("latin-1").rstrip("\r\n")
            if not line:
                break
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        status, extra = self.answer(len(self.requests) + 1)
        self.requests.append(Received(headers, body, path, time.time(), status))
        if 200 <= status < 300:
            self.accepted_count += 1
            self.got.set()
        lines = [f"HTTP/1.1 {status} X", "content-length: 0"]
        lines += [f"{name}: {value}" for name, value in extra.items()]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        await writer.drain()
        return True

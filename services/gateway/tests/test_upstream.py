"""The gateway's HTTP/1.1 client to an owner (``laborcoop.gateway.upstream``) against scripted
owners on 127.0.0.1: kept-alive connections and the pool's bound, the body's framing and
streaming both ways, every way an answer ends, and the failures told apart (``NotSent`` before
anything left, ``NoAnswer`` after). Some run on uvloop too, which ``serve`` uses."""

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest
import uvloop

from laborcoop.gateway.upstream import (
    IDLE_S,
    NoAnswer,
    NotSent,
    OwnerAnswer,
    ReadChunk,
    UpstreamPool,
    parse_head,
)

TIMEOUT_S = 0.5
JSON_201 = b"HTTP/1.1 201 Created\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n"


@dataclass
class Seen:
    """A request as the owner read it, and the number of the connection it came on."""

    head: list[bytes]
    body: bytes
    connection: int

    @property
    def start(self) -> bytes:
        return self.head[0]

    def header(self, name: bytes) -> bytes | None:
        for line in self.head[1:]:
            key, _, value = line.partition(b":")
            if key.strip().lower() == name:
                return value.strip()
        return None


Script = Callable[[Seen, asyncio.StreamWriter], Awaitable[bool]]
"""How the owner answers a request; False: it closes the connection instead of reading more."""


async def ok(seen: Seen, writer: asyncio.StreamWriter) -> bool:
    writer.write(JSON_201 + b'{"ok":true}')
    return True


def answering(raw: bytes, *, then_close: bool = False) -> Script:
    async def script(seen: Seen, writer: asyncio.StreamWriter) -> bool:
        writer.write(raw)
        return not then_close

    return script


@dataclass
class Owner:
    """A scripted owner: reads each request whole (by its length, or chunked) and answers it
    with ``script``; what it read is in ``seen``."""

    script: Script = ok
    seen: list[Seen] = field(default_factory=list)
    connections: int = 0
    open_now: int = 0
    most_open: int = 0
    first_part: asyncio.Event = field(default_factory=asyncio.Event)

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open_now += 1
        self.most_open = max(self.most_open, self.open_now)
        number = self.connections
        try:
            while True:
                try:
                    raw = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:
                    return
                head = raw[:-4].split(b"\r\n")
                seen = Seen(head, b"", number)
                seen.body = await self._body(reader, seen)
                self.seen.append(seen)
                if not await self.script(seen, writer):
                    return
                await writer.drain()
        finally:
            self.open_now -= 1
            writer.close()

    async def _body(self, reader: asyncio.StreamReader, seen: Seen) -> bytes:
        length = seen.header(b"content-length")
        if length is not None:
            return await reader.readexactly(int(length))
        if seen.header(b"transfer-encoding") != b"chunked":
            return b""
        body = b""
        while size := int((await reader.readuntil(b"\r\n"))[:-2], 16):
            body += (await reader.readexactly(size + 2))[:-2]
            self.first_part.set()
        await reader.readuntil(b"\r\n")
        return body


@asynccontextmanager
async def owner_at(owner: Owner) -> AsyncIterator[str]:
    server = await asyncio.start_server(owner.serve, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()


@asynccontextmanager
async def pool_for(
    owner: Owner, *, size: int = 8, idle_s: float = IDLE_S
) -> AsyncIterator[UpstreamPool]:
    async with owner_at(owner) as url:
        pool = UpstreamPool(url, size=size, timeout_s=TIMEOUT_S, idle_s=idle_s)
        try:
            yield pool
        finally:
            await pool.aclose()


async def body_of(answer: OwnerAnswer) -> bytes:
    whole = await answer.whole(0)  # 0: stream every body that has one
    if whole is not None:
        return whole
    return b"".join([part async for part in answer.chunks()])


async def get(pool: UpstreamPool, target: bytes = b"/v1/brands") -> tuple[int, bytes]:
    answer = await pool.send("GET", target, [], length=None, read=None)
    try:
        return answer.status, await body_of(answer)
    finally:
        await answer.aclose()


def parts(*chunks: bytes, gate: Callable[[int], Awaitable[None]] | None = None) -> ReadChunk:
    """A request body read part by part (``gate(i)`` awaited before part ``i``)."""
    queue = list(chunks)
    index = 0

    async def read() -> tuple[bytes, bool]:
        nonlocal index
        if gate is not None:
            await gate(index)
        index += 1
        return queue.pop(0), bool(queue)

    return read


# -- connections -----------------------------------------------------------------------------


async def test_a_connection_is_kept_alive_and_reused() -> None:
    owner = Owner()
    async with pool_for(owner) as pool:
        for _ in range(3):
            assert await get(pool) == (201, b'{"ok":true}')
    assert owner.connections == 1
    assert [s.start for s in owner.seen] == [b"GET /v1/brands HTTP/1.1"] * 3
    assert owner.seen[0].header(b"host") == pool.origin.authority


async def test_concurrent_requests_share_at_most_the_pools_size_of_connections() -> None:
    async def slow(seen: Seen, writer: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(0.02)
        return await ok(seen, writer)

    owner = Owner(slow)
    async with pool_for(owner, size=2) as pool:
        answers = await asyncio.gather(*(get(pool) for _ in range(6)))
    assert answers == [(201, b'{"ok":true}')] * 6
    assert owner.most_open == 2
    assert owner.connections == 2


async def test_a_request_that_gets_no_connection_within_the_timeout_is_not_sent() -> None:
    owner = Owner(answering(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n"))  # no body yet
    async with pool_for(owner, size=1) as pool:
        held = await pool.send("GET", b"/v1/x", [], length=None, read=None)  # its body unread
        with pytest.raises(NotSent, match="no free connection"):
            await get(pool)
        await held.aclose()  # the connection is given up, and the next request opens one
        with pytest.raises(NoAnswer):
            await get(pool)
    assert len(owner.seen) == 2
    assert owner.connections == 2


@pytest.mark.parametrize("handed_over", [False, True])
async def test_a_request_cancelled_while_it_waits_for_a_connection_takes_none_with_it(
    handed_over: bool,
) -> None:
    """Cancelled while waiting, or after a connection was handed to it but before it ran: the
    pool's one connection is still there for the next request."""

    async def first_unfinished(seen: Seen, writer: asyncio.StreamWriter) -> bool:
        if len(owner.seen) == 1:
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n")  # no body yet
            return True
        return await ok(seen, writer)

    owner = Owner(first_unfinished)
    async with pool_for(owner, size=1) as pool:
        held = await pool.send("GET", b"/v1/x", [], length=None, read=None)
        waiting = asyncio.create_task(get(pool))
        await asyncio.sleep(0.05)
        if handed_over:
            await held.aclose()  # hands the right to a connection to the waiting request…
        waiting.cancel()  # …which is cancelled before it runs
        with pytest.raises(asyncio.CancelledError):
            await waiting
        await held.aclose()
        assert await get(pool) == (201, b'{"ok":true}')


@pytest.fixture
def refusing_url() -> Iterator[str]:
    """A port bound on 127.0.0.1 but not listening: every connection is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


async def test_a_refused_connection_is_not_sent(refusing_url: str) -> None:
    pool = UpstreamPool(refusing_url, size=2, timeout_s=TIMEOUT_S)
    for _ in range(3):  # and a refusal does not use up the pool
        with pytest.raises(NotSent, match="connection failed"):
            await get(pool)


async def test_no_answer_in_time_is_no_answer_and_that_connection_is_never_reused() -> None:
    async def late_once(seen: Seen, writer: asyncio.StreamWriter) -> bool:
        if seen.connection == 1:
            await asyncio.sleep(2 * TIMEOUT_S)  # answers, but too late
        return await ok(seen, writer)

    owner = Owner(late_once)
    async with pool_for(owner) as pool:
        with pytest.raises(NoAnswer, match="no answer within"):
            await get(pool)
        assert await get(pool) == (201, b'{"ok":true}')
    assert [s.connection for s in owner.seen] == [1, 2]


async def test_a_safe_request_that_timed_out_is_not_sent_again() -> None:
    async def slow_second(seen: Seen, writer: asyncio.StreamWriter) -> bool:
        if len(owner.seen) == 2:
            await asyncio.sleep(2 * TIMEOUT_S)
        return await ok(seen, writer)

    owner = Owner(slow_second)
    async with pool_for(owner) as pool:
        assert await get(pool) == (201, b'{"ok":true}')
        with pytest.raises(NoAnswer, match="within"):
            await get(pool)  # on the kept-alive connection, which the owner did not close
    assert len(owner.seen) == 2


async def test_an_idle_connection_the_owner_closed_is_not_reused() -> None:
    async def answer_and_close(seen: Seen, writer: asyncio.StreamWriter) -> bool:
        await ok(seen, writer)
        await writer.drain()
        return False  # the owner's keep-alive timeout, say

    owner = Owner(answer_and_close)
    async with pool_for(owner) as pool:
        assert await get(pool) == (201, b'{"ok":true}')
        await asyncio.sleep(0.05)
        assert await get(pool) == (201, b'{"ok":true}')
    assert owner.connections == 2


@pytest.mark.parametrize(("method", "sent_again"), [("GET", True), ("POST", False)])
async def test_a_kept_alive_connection_closed_as_it_is_reused_resends_only_a_safe_request(
    method: str, sent_again: bool
) -> None:
    """The owner closes its end just as the gateway sends the next request: a safe request
    without a body is sent once more on a new connection; anything else is ``NoAnswer``."""

    async def once_per_connection(seen: Seen, writer: asyncio.StreamWriter) -> bool:
        if len([s for s in owner.seen if s.connection == seen.connection]) > 1:
            return False  # closed without answering the second request on it
        return await ok(seen, writer)

    owner = Owner(once_per_connection)
    async with pool_for(owner) as pool:
        assert await get(pool) == (201, b'{"ok":true}')
        if sent_again:
            assert await get(pool) == (201, b'{"ok":true}')
        else:
            with pytest.raises(NoAnswer):
                await pool.send(method, b"/v1/brands", [], length=2, read=parts(b"{}"))
    assert owner.connections == (2 if sent_again else 1)


async def test_an_idle_connection_expires() -> None:
    owner = Owner()
    async with pool_for(owner, idle_s=0.05) as pool:
        await get(pool)
        await asyncio.sleep(0.1)
        await get(pool)
    assert owner.connections == 2


# -- the request's body ----------------------------------------------------------------------


async def test_a_body_of_known_length_goes_with_its_content_length() -> None:
    owner = Owner()
    async with pool_for(owner) as pool:
        headers = [(b"content-type", b"application/json"), (b"idempotency-key", b"k-1")]
        body = '{"name":"湘绣"}'.encode()
        answer = await pool.send(
            "POST", b"/v1/brands?x=1&x=2", headers, length=len(body), read=parts(body[:5], body[5:])
        )
        assert (answer.status, await body_of(answer)) == (201, b'{"ok":true}')
    [seen] = owner.seen
    assert seen.start == b"POST /v1/brands?x=1&x=2 HTTP/1.1"
    assert seen.header(b"content-length") == str(len(body)).encode()
    assert seen.header(b"idempotency-key") == b"k-1"
    assert seen.header(b"transfer-encoding") is None
    assert seen.body == body


async def test_a_body_of_unknown_length_goes_chunked_part_by_part_as_it_comes() -> None:
    """The second part is only given once the owner has read the first: a client that held
    the body whole before sending it would wait forever here."""
    owner = Owner()

    async def after_the_first_arrived(index: int) -> None:
        if index == 1:
            await asyncio.wait_for(owner.first_part.wait(), TIMEOUT_S)

    async with pool_for(owner) as pool:
        read = parts(b'{"a":1}\n', b'{"a":2}\n', b"", gate=after_the_first_arrived)
        answer = await pool.send("POST", b"/v1/workers:import", [], length=None, read=read)
        assert answer.status == 201
        await body_of(answer)
    [seen] = owner.seen
    assert seen.header(b"transfer-encoding") == b"chunked"
    assert seen.body == b'{"a":1}\n{"a":2}\n'


async def test_a_request_without_a_body_declares_none() -> None:
    owner = Owner()
    async with pool_for(owner) as pool:
        await get(pool, b"/v1/brands/1/history?limit=5&limit=6")
    [seen] = owner.seen
    assert seen.start == b"GET /v1/brands/1/history?limit=5&limit=6 HTTP/1.1"
    assert seen.header(b"content-length") is None
    assert seen.header(b"transfer-encoding") is None


# -- the answer ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "body", "reused"),
    [
        (JSON_201 + b'{"ok":true}', b'{"ok":true}', True),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"4\r\nWiki\r\n5;ext=1\r\npedia\r\n0\r\nTrailer: x\r\n\r\n",
            b"Wikipedia",
            True,
        ),
        (b"HTTP/1.1 200 OK\r\nConnection: close\r\ncontent-length: 2\r\n\r\n{}", b"{}", False),
        (b"HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\n{}", b"{}", False),
        (
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\n{}",
            b"{}",
            True,
        ),
    ],
    ids=["length", "chunked", "connection-close", "http-1.0", "interim-100"],
)
async def test_an_answer_is_read_by_its_framing_and_its_connection_kept_when_it_may_be(
    raw: bytes, body: bytes, reused: bool
) -> None:
    owner = Owner(answering(raw))
    async with pool_for(owner) as pool:
        assert (await get(pool))[1] == body
        assert (await get(pool))[1] == body
    assert owner.connections == (1 if reused else 2)


async def test_an_answer_that_runs_until_the_owner_closes() -> None:
    owner = Owner(answering(b"HTTP/1.1 200 OK\r\n\r\nall of it", then_close=True))
    async with pool_for(owner) as pool:
        answer = await pool.send("GET", b"/v1/x", [], length=None, read=None)
        assert answer.length is None
        assert await body_of(answer) == b"all of it"


@pytest.mark.parametrize(
    ("method", "raw", "length"),
    [
        ("HEAD", b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n", 10),
        ("GET", b"HTTP/1.1 204 No Content\r\n\r\n", None),
        ("GET", b"HTTP/1.1 304 Not Modified\r\ncontent-length: 10\r\n\r\n", None),
    ],
)
async def test_head_204_and_304_have_no_body(method: str, raw: bytes, length: int | None) -> None:
    owner = Owner(answering(raw))
    async with pool_for(owner) as pool:
        for _ in range(2):  # the next answer on the connection is read from the right byte
            answer = await pool.send(method, b"/v1/x", [], length=None, read=None)
            assert answer.length == length
            assert await answer.whole(0) == b""
    assert owner.connections == 1


@pytest.mark.parametrize(
    "raw",
    [
        b"SPDY/3 200 OK\r\n\r\n",
        b"HTTP/1.1 2xx OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\n{}",
        b"HTTP/1.1 200 OK\r\ncontent-length: -1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: gzip\r\n\r\n",
        b"HTTP/1.1 200 OK\r\n folded: header\r\n\r\n",
        b"HTTP/1.1 200 OK\r\n" + b"x-long: " + b"a" * 70_000 + b"\r\n\r\n",
    ],
    ids=["not-http", "status", "two-lengths", "negative", "coding", "folded", "overlong"],
)
async def test_an_answer_that_is_not_http_1_1_is_no_answer(raw: bytes) -> None:
    owner = Owner(answering(raw))
    async with pool_for(owner) as pool:
        with pytest.raises(NoAnswer):
            await get(pool)


async def test_a_body_cut_off_is_no_answer_and_its_connection_dropped() -> None:
    cut = b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n" + b"x" * 10
    owner = Owner(answering(cut, then_close=True))
    async with pool_for(owner) as pool:
        answer = await pool.send("GET", b"/v1/x", [], length=None, read=None)
        with pytest.raises(NoAnswer, match="closed"):
            await body_of(answer)
        await answer.aclose()


async def test_a_body_that_stalls_is_no_answer() -> None:
    async def stall(seen: Seen, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n" + b"x" * 10)
        await asyncio.sleep(3 * TIMEOUT_S)
        return False

    owner = Owner(stall)
    async with pool_for(owner) as pool:
        answer = await pool.send("GET", b"/v1/x", [], length=None, read=None)
        with pytest.raises(NoAnswer, match="within"):
            await answer.whole(1000)
        await answer.aclose()


async def test_a_large_body_is_streamed_in_parts() -> None:
    size = 3_000_000
    owner = Owner(answering(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % size + b"z" * size))
    async with pool_for(owner) as pool:
        answer = await pool.send("GET", b"/v1/x", [], length=None, read=None)
        assert await answer.whole(65_536) is None  # too large to be read whole
        received = [len(part) async for part in answer.chunks()]
        await answer.aclose()
    assert sum(received) == size
    assert len(received) > 1


def test_a_head_is_parsed_into_status_headers_and_framing() -> None:
    head = parse_head(
        b'HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nETag: "1"\r\n'
        b"Content-Length: 11\r\nConnection: keep-alive"
    )
    assert (head.status, head.length, head.chunked, head.keep_alive) == (201, 11, False, True)
    assert (b"etag", b'"1"') in head.headers


# -- on uvloop, as serve runs ----------------------------------------------------------------


def test_the_pool_works_on_uvloop() -> None:
    async def scenario() -> None:
        owner = Owner()
        async with pool_for(owner) as pool:
            for _ in range(3):
                assert await get(pool) == (201, b'{"ok":true}')
            body = b"x" * 200_000
            answer = await pool.send("POST", b"/v1/x", [], length=None, read=parts(body, b"!"))
            await body_of(answer)
        assert owner.connections == 1
        assert owner.seen[-1].body == body + b"!"

    uvloop.run(scenario())

"""The gateway's HTTP/1.1 client to an owning service: a pool of kept-alive connections.

Why its own (ADR 0013): the forwarding hop must cost what a proxy costs. A general client (httpx,
aiohttp) builds request, URL, header and cookie objects, runs its own locks and cancellation
scopes and checks each idle socket with a system call, for every request; here a request is one
``write`` of bytes the gateway already has, and an answer is parsed once from one buffer. It does
only what forwarding needs, on ``asyncio.Protocol`` directly:

- **Connections**: at most ``size`` per owner, opened on demand and kept alive; the most
  recently used idle connection is reused first. An idle connection is closed after
  ``idle_s`` (below the owners' keep-alive timeout, uvicorn's 5 s, so the owner never closes
  one the gateway is about to reuse), and whenever the owner closes it or answers
  ``Connection: close``. A connection whose exchange did not end cleanly (a timeout, a body
  not read to its end, a cancellation) is closed, never reused.
- **Framing**: the request body is sent with the caller's ``Content-Length``, or chunked when
  its length is unknown, chunk by chunk as the caller sends it (never held whole). The answer's
  body is read by its ``Content-Length``, chunked, or until the owner closes; interim ``1xx``
  answers are skipped; ``HEAD``, ``204`` and ``304`` have none.
- **Failures**, told apart as forwarding needs them: :class:`NotSent` (no connection within
  ``timeout_s``: refused, unreachable, or the pool full for that long) — the owner saw nothing;
  :class:`NoAnswer` (sent, or partly sent, and then no answer within ``timeout_s`` of waiting,
  the connection lost, or an answer that is not HTTP/1.1) — the outcome is unknown. Each wait
  (connect, pool, a write the owner does not take, the answer's head, each part of its body) is
  bounded by ``timeout_s``.
"""

import asyncio
import re
import ssl
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final, Protocol, cast
from urllib.parse import urlsplit

import httpx

MAX_HEAD_BYTES: Final = 65_536
"""The largest answer head accepted (status line and headers)."""
IDLE_S: Final = 4.0
"""How long an unused connection is kept: less than the owners' keep-alive timeout (5 s)."""
_READ_HIGH_WATER: Final = 262_144
"""Answer bytes buffered before the owner's socket is paused until the client takes them."""
_NO_BODY_STATUS: Final = frozenset({204, 304})
_SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_NOT_ASCII: Final = re.compile(rb"[\x80-\xff]")
_CRLF: Final = b"\r\n"


class UpstreamError(Exception):
    """The exchange with the owner failed; ``reason`` says how (for the problem's detail)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NotSent(UpstreamError):
    """No connection to the owner: nothing of the request was sent."""


class NoAnswer(UpstreamError):
    """The request was sent (or partly sent) and no complete answer came: outcome unknown."""


ReadChunk = Callable[[], Awaitable[tuple[bytes, bool]]]
"""The request body's next part and whether more follows (an ASGI ``receive``, adapted)."""


@dataclass(frozen=True, slots=True)
class Origin:
    """Where an owner listens, from its base URL (``http://registry:8080``)."""

    host: str
    port: int
    tls: bool
    authority: bytes
    base_path: bytes

    @classmethod
    def parse(cls, url: str) -> "Origin":
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError(f"an owner's URL is http(s)://host[:port][/path], not {url!r}")
        tls = parts.scheme == "https"
        port = parts.port or (443 if tls else 80)
        return cls(
            parts.hostname,
            port,
            tls,
            parts.netloc.rpartition("@")[2].encode("ascii"),
            parts.path.rstrip("/").encode("ascii"),
        )


class _Connection(asyncio.Protocol):
    """One kept-alive connection: bytes received wait in ``buffer`` until a reader takes them."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.closed = False
        self.idle_since = 0.0
        self._waiter: asyncio.Future[None] | None = None
        self._drained: asyncio.Future[None] | None = None
        self._reading_paused = False

    # -- asyncio.Protocol ----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) > _READ_HIGH_WATER and self.transport is not None:
            self.transport.pause_reading()
            self._reading_paused = True
        self._wake(self._waiter)

    def eof_received(self) -> bool:
        return False  # the transport closes itself; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._wake(self._waiter)
        self._wake(self._drained)

    def pause_writing(self) -> None:
        self._drained = self.loop.create_future()

    def resume_writing(self) -> None:
        self._wake(self._drained)
        self._drained = None

    @staticmethod
    def _wake(future: asyncio.Future[None] | None) -> None:
        if future is not None and not future.done():
            future.set_result(None)

    # -- what the exchange uses ----------------------------------------------------------------

    def write(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)

    async def drain(self, timeout_s: float) -> None:
        """Wait until the owner takes what was written, if its socket is full."""
        if self._drained is not None and not self.closed:
            await self._wait(self._drained, timeout_s, "the owner did not take the request")
        if self.closed:
            raise NoAnswer("connection lost while sending the request")

    async def more(self, timeout_s: float, what: str) -> None:
        """Wait for more bytes of the answer (or the connection's end)."""
        if self.closed:
            raise NoAnswer(f"connection closed before {what}")
        if self._reading_paused and self.transport is not None:
            self._reading_paused = False
            self.transport.resume_reading()
        self._waiter = self.loop.create_future()
        try:
            await self._wait(self._waiter, timeout_s, f"no {what} within {timeout_s:g} s")
        finally:
            self._waiter = None

    def take(self, size: int) -> bytes:
        """``size`` bytes from the start of the buffer (fewer if it holds fewer)."""
        taken = bytes(self.buffer[:size])
        del self.buffer[:size]
        return taken

    async def _wait(self, future: asyncio.Future[None], timeout_s: float, timed_out: str) -> None:
        timer = self.loop.call_later(timeout_s, _expire, future)
        try:
            await future
        except TimeoutError:
            raise NoAnswer(timed_out) from None
        finally:
            timer.cancel()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


def _expire(future: "asyncio.Future[Any]") -> None:
    if not future.done():
        future.set_exception(TimeoutError())


@dataclass(slots=True)
class Head:
    """An answer's status line and headers (names in lower case, values as sent)."""

    status: int
    headers: list[tuple[bytes, bytes]]
    length: int | None
    """``Content-Length``; None when the body is chunked or runs until the connection closes."""
    chunked: bool
    keep_alive: bool


def parse_head(raw: bytes) -> Head:
    """The head of an answer (without its final empty line); ``NoAnswer`` if it is not an
    HTTP/1.x answer with a consistent length."""
    lines = raw.split(_CRLF)
    version, _, rest = lines[0].partition(b" ")
    code = rest[:3]
    if version not in {b"HTTP/1.1", b"HTTP/1.0"} or not code.isdigit():
        raise NoAnswer("the owner's answer is not HTTP/1.1")
    headers: list[tuple[bytes, bytes]] = []
    length: int | None = None
    chunked = False
    keep_alive = version == b"HTTP/1.1"
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or not name or name != name.strip():
            raise NoAnswer("the owner's answer has a malformed header")
        name, value = name.lower(), value.strip()
        headers.append((name, value))
        if name == b"content-length":
            if not value.isdigit() or (length is not None and int(value) != length):
                raise NoAnswer("the owner's answer has an invalid Content-Length")
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = value.lower().split(b",")[-1].strip() == b"chunked"
            if not chunked:
                raise NoAnswer("the owner's answer has a transfer coding other than chunked")
        elif name == b"connection":
            tokens = {token.strip() for token in value.lower().split(b",")}
            keep_alive = b"close" not in tokens and (keep_alive or b"keep-alive" in tokens)
    if chunked:
        length = None
    return Head(int(code), headers, length, chunked, keep_alive)


class Answer:
    """The owner's answer: its head at once, its body read whole when small (:meth:`whole`) or
    part by part (:meth:`chunks`).

    ``length`` is the ``Content-Length`` to relay (None: chunked, until the connection closes,
    or a ``204``/``304`` without one); a ``HEAD`` answer keeps the one the owner declared. The
    connection goes back to the pool when the body was read to its end, and is closed by
    :meth:`aclose` otherwise (call it in a ``finally``)."""

    def __init__(
        self, pool: "UpstreamPool", conn: _Connection, head: Head, *, bodiless: bool
    ) -> None:
        self.status = head.status
        self.headers = head.headers
        self.length = None if bodiless and head.status in _NO_BODY_STATUS else head.length
        self._pool = pool
        self._conn: _Connection | None = conn
        self._head = head
        self._bodiless = bodiless

    async def whole(self, limit: int) -> bytes | None:
        """The whole body when it has no more than ``limit`` bytes by its ``Content-Length``
        (read to its end, each wait bounded by the pool's timeout), else None: stream it."""
        conn = self._conn
        if conn is None:
            return None
        if self._bodiless:
            self._done(conn)
            return b""
        length = self._head.length
        if length is None or length > limit:
            return None
        while len(conn.buffer) < length:
            await conn.more(self._pool.timeout_s, "the rest of the answer's body")
        body = conn.take(length)
        self._done(conn)
        return body

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body, part by part as it arrives (each wait bounded by the pool's timeout)."""
        conn = self._conn
        if conn is None:
            return
        head, timeout_s = self._head, self._pool.timeout_s
        if self._bodiless:
            parts = None
        elif head.chunked:
            parts = _chunked(conn, timeout_s)
        elif head.length is not None:
            parts = _sized(conn, head.length, timeout_s)
        else:
            parts = _until_closed(conn, timeout_s)
            head.keep_alive = False
        if parts is not None:
            async for part in parts:
                yield part
        self._done(conn)

    def _done(self, conn: _Connection) -> None:
        self._conn = None
        self._pool.release(conn, reusable=self._head.keep_alive and not conn.buffer)

    async def aclose(self) -> None:
        """Give the connection up if the body was not read to its end."""
        if self._conn is not None:
            self._pool.release(self._conn, reusable=False)
            self._conn = None


async def _sized(conn: _Connection, length: int, timeout_s: float) -> AsyncIterator[bytes]:
    """A body of ``length`` bytes."""
    left = length
    while left:
        if not conn.buffer:
            await conn.more(timeout_s, "more of the answer's body")
        part = conn.take(left)
        left -= len(part)
        yield part


async def _until_closed(conn: _Connection, timeout_s: float) -> AsyncIterator[bytes]:
    """A body that ends when the owner closes the connection (neither length nor chunks)."""
    while True:
        if conn.buffer:
            yield conn.take(len(conn.buffer))
        elif conn.closed:
            return
        else:
            try:
                await conn.more(timeout_s, "more of the answer's body")
            except NoAnswer:
                if not conn.closed:
                    raise


async def _chunked(conn: _Connection, timeout_s: float) -> AsyncIterator[bytes]:
    """The data of a chunked body (RFC 9112 §7.1); trailers are read and dropped."""
    while True:
        line = await _line(conn, timeout_s)
        size_text = line.split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise NoAnswer("the owner's answer has a malformed chunk") from None
        if size == 0:
            while await _line(conn, timeout_s):
                pass  # trailer fields, up to the empty line
            return
        left = size
        while left:
            if not conn.buffer:
                await conn.more(timeout_s, "more of the answer's body")
            part = conn.take(left)
            left -= len(part)
            yield part
        if await _line(conn, timeout_s):
            raise NoAnswer("the owner's answer has a malformed chunk")


async def _line(conn: _Connection, timeout_s: float) -> bytes:
    while (end := conn.buffer.find(_CRLF)) < 0:
        if len(conn.buffer) > MAX_HEAD_BYTES:
            raise NoAnswer("the owner's answer has an overlong line")
        await conn.more(timeout_s, "more of the answer's body")
    line = conn.take(end)
    del conn.buffer[:2]
    return line


class UpstreamPool:
    """Kept-alive HTTP/1.1 connections to one owner (see the module docstring)."""

    def __init__(
        self,
        url: str,
        *,
        size: int,
        timeout_s: float,
        idle_s: float = IDLE_S,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.origin = Origin.parse(url)
        self.size = size
        self.timeout_s = timeout_s
        self.idle_s = idle_s
        self._ssl = ssl_context or (ssl.create_default_context() if self.origin.tls else None)
        self._idle: deque[_Connection] = deque()
        self._open = 0
        self._waiting: deque[asyncio.Future[_Connection | None]] = deque()
        self._closed = False

    # -- connections ---------------------------------------------------------------------------

    async def _acquire(self) -> tuple[_Connection, bool]:
        """An idle connection (and True: it was used before) or a new one (False)."""
        now = time.monotonic()
        while self._idle:
            conn = self._idle.pop()
            if not conn.closed and now - conn.idle_since < self.idle_s:
                return conn, True
            self._discard(conn)
        if self._open < self.size:
            self._open += 1
            return await self._connect(), False
        return await self._wait_for_connection()

    async def _wait_for_connection(self) -> tuple[_Connection, bool]:
        """The next connection another request releases, or the right to open one when a
        connection is given up; ``NotSent`` after ``timeout_s``."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[_Connection | None] = loop.create_future()
        self._waiting.append(waiter)
        timer = loop.call_later(self.timeout_s, _expire, waiter)
        try:
            conn = await waiter
        except TimeoutError:
            raise NotSent(f"no free connection within {self.timeout_s:g} s") from None
        except BaseException:  # cancelled: what was handed over meanwhile goes back
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                handed = waiter.result()
                if handed is None:
                    self._given_up()
                else:
                    self.release(handed, reusable=True)
            raise
        finally:
            timer.cancel()
        if conn is None:  # counted in _open already by _given_up
            return await self._connect(), False
        return conn, True

    async def _connect(self) -> _Connection:
        """A new connection, already counted in ``_open`` (uncounted again if none is made)."""
        loop = asyncio.get_running_loop()
        origin = self.origin
        try:
            if self._closed:
                raise NotSent("the gateway is shutting down")
            async with asyncio.timeout(self.timeout_s):
                _, conn = await loop.create_connection(
                    lambda: _Connection(loop),
                    origin.host,
                    origin.port,
                    ssl=self._ssl,
                    server_hostname=origin.host if self._ssl is not None else None,
                )
        except TimeoutError:
            self._given_up()
            raise NotSent(f"no connection within {self.timeout_s:g} s") from None
        except OSError as exc:
            self._given_up()
            raise NotSent(f"connection failed: {exc.strerror or type(exc).__name__}") from None
        except BaseException:
            self._given_up()
            raise
        return conn

    def release(self, conn: _Connection, *, reusable: bool) -> None:
        """A connection whose exchange ended: to the next waiting request, to the idle ones, or
        closed."""
        if reusable and not conn.closed and not self._closed:
            while self._waiting:
                waiter = self._waiting.popleft()
                if not waiter.done():
                    waiter.set_result(conn)
                    return
            conn.idle_since = time.monotonic()
            self._idle.append(conn)
            return
        self._discard(conn)

    def _discard(self, conn: _Connection) -> None:
        conn.close()
        self._given_up()

    def _given_up(self) -> None:
        """One connection fewer: a waiting request may open one (counted for it here)."""
        self._open -= 1
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                self._open += 1
                waiter.set_result(None)
                return

    async def aclose(self) -> None:
        self._closed = True
        while self._idle:
            self._discard(self._idle.pop())

    # -- one exchange --------------------------------------------------------------------------

    async def send(
        self,
        method: str,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        *,
        length: int | None,
        read: ReadChunk | None,
    ) -> Answer:
        """Send a request and return the answer's head; its body is read from the
        :class:`Answer`. ``target`` is the path and query under the owner's base path;
        ``headers`` go as given, with ``Host`` and the body's framing added: ``length`` bytes
        (``Content-Length``), or chunked when ``length`` is None and ``read`` is given (each
        part as ``read`` returns it). No ``read``: no body.

        A safe request without a body that finds its kept-alive connection closed by the owner
        before any answer (the owner's keep-alive timeout, at the moment it was reused) is sent
        once more on a new connection (RFC 9112 §9.3.1); any other failure is raised."""
        chunked = length is None and read is not None
        head = _request_head(self.origin, method, target, headers, length, chunked)
        if read is None or length == 0:
            answer = await self._exchange(head, method)
            return answer
        first, more = await read()
        conn, _ = await self._acquire()
        try:
            conn.write(head + (_chunk(first, last=not more) if chunked else first))
            while more:
                await conn.drain(self.timeout_s)
                part, more = await read()
                conn.write(_chunk(part, last=not more) if chunked else part)
            return await self._answer(conn, bodiless=method == "HEAD")
        except BaseException:
            self.release(conn, reusable=False)
            raise

    async def _exchange(self, head: bytes, method: str) -> Answer:
        """A request without a body: ``head`` on a connection, and the answer's head."""
        conn, reused = await self._acquire()
        try:
            conn.write(head)
            return await self._answer(conn, bodiless=method == "HEAD")
        except NoAnswer:
            closed_unanswered = conn.closed and not conn.buffer  # by the owner, not a timeout
            self.release(conn, reusable=False)
            if not (reused and closed_unanswered and method in _SAFE_METHODS):
                raise
        except BaseException:
            self.release(conn, reusable=False)
            raise
        conn, _ = await self._acquire()
        try:
            conn.write(head)
            return await self._answer(conn, bodiless=method == "HEAD")
        except BaseException:
            self.release(conn, reusable=False)
            raise

    async def _answer(self, conn: _Connection, *, bodiless: bool) -> Answer:
        while True:
            while (end := conn.buffer.find(b"\r\n\r\n")) < 0:
                if len(conn.buffer) > MAX_HEAD_BYTES:
                    raise NoAnswer("the owner's answer head is too long")
                await conn.more(self.timeout_s, "answer")
            if end > MAX_HEAD_BYTES:
                raise NoAnswer("the owner's answer head is too long")
            head = parse_head(conn.take(end))
            del conn.buffer[:4]
            if head.status >= 200 or head.status == 101:
                break  # interim 1xx answers are skipped
        no_body = bodiless or head.status in _NO_BODY_STATUS or head.status < 200
        return Answer(self, conn, head, bodiless=no_body)


def _request_head(
    origin: Origin,
    method: str,
    target: bytes,
    headers: list[tuple[bytes, bytes]],
    length: int | None,
    chunked: bool,
) -> bytes:
    start = b"%s %s%s HTTP/1.1" % (method.encode("ascii"), origin.base_path, target)
    lines = [start, b"host: " + origin.authority]
    lines.extend(name + b": " + value for name, value in headers)
    if length is not None:
        lines.append(b"content-length: %d" % length)
    elif chunked:
        lines.append(b"transfer-encoding: chunked")
    lines.append(_CRLF)
    return _CRLF.join(lines)


def _chunk(data: bytes, *, last: bool) -> bytes:
    framed = b"%x\r\n%s\r\n" % (len(data), data) if data else b""
    return framed + b"0\r\n\r\n" if last else framed


class OwnerAnswer(Protocol):
    """An owner's answer as forwarding relays it: :class:`Answer`, or a test transport's."""

    status: int
    headers: list[tuple[bytes, bytes]]
    length: int | None

    async def whole(self, limit: int) -> bytes | None: ...

    def chunks(self) -> AsyncIterator[bytes]: ...

    async def aclose(self) -> None: ...


class Owner(Protocol):
    """Where forwarding sends a request: :class:`UpstreamPool`, or a test's transport."""

    async def send(
        self,
        method: str,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        *,
        length: int | None,
        read: ReadChunk | None,
    ) -> OwnerAnswer: ...

    async def aclose(self) -> None: ...


class TransportOwner:
    """An owner behind an ``httpx`` transport instead of the network: the seam through which
    tests put another app in process (``httpx.ASGITransport``) or a scripted answer
    (``httpx.MockTransport``) behind the gateway. Its failures are told apart as the pool's are:
    no connection is :class:`NotSent`, any other :class:`NoAnswer`."""

    def __init__(self, transport: httpx.AsyncBaseTransport, url: str) -> None:
        self.transport = transport
        self.origin = Origin.parse(url)

    async def send(
        self,
        method: str,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        *,
        length: int | None,
        read: ReadChunk | None,
    ) -> OwnerAnswer:
        origin = self.origin
        url = httpx.URL(
            scheme="https" if origin.tls else "http",
            host=origin.host,
            port=origin.port,
            # httpx takes an ASCII target only; the network path sends the bytes as they came
            raw_path=_NOT_ASCII.sub(lambda byte: b"%%%02X" % byte[0][0], origin.base_path + target),
        )
        framing = [(b"content-length", b"%d" % length)] if length is not None else []
        request = httpx.Request(
            method,
            url,
            headers=[(b"host", origin.authority), *headers, *framing],
            stream=_RequestStream(read) if read is not None and length != 0 else None,
        )
        try:
            response = await self.transport.handle_async_request(request)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise NotSent(type(exc).__name__) from exc
        except httpx.HTTPError as exc:
            raise NoAnswer(type(exc).__name__) from exc
        try:
            body = (
                response.content  # a scripted answer
                if response.is_stream_consumed
                else b"".join([part async for part in response.aiter_raw()])
            )
        except httpx.HTTPError as exc:
            raise NoAnswer(type(exc).__name__) from exc
        finally:
            await response.aclose()
        return _TransportAnswer(response, b"" if method == "HEAD" else body)

    async def aclose(self) -> None:
        await self.transport.aclose()


class _RequestStream(httpx.AsyncByteStream):
    def __init__(self, read: ReadChunk) -> None:
        self._read = read

    async def __aiter__(self) -> AsyncIterator[bytes]:
        more = True
        while more:
            part, more = await self._read()
            yield part


class _TransportAnswer:
    """A test transport's answer, read whole (the in-process transport holds it whole anyway)."""

    def __init__(self, response: httpx.Response, body: bytes) -> None:
        self.status = response.status_code
        self.headers = [(name.lower(), value) for name, value in response.headers.raw]
        declared = response.headers.get("content-length")
        self.length: int | None = int(declared) if declared is not None else len(body)
        self._body = body

    async def whole(self, limit: int) -> bytes | None:
        return self._body

    async def chunks(self) -> AsyncIterator[bytes]:
        yield self._body

    async def aclose(self) -> None:
        """Nothing is left open."""

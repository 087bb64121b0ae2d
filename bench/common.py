"""Shared pieces of the benchmarks: the stack, a scratch database, timing and reporting."""

import asyncio
import json
import os
import socket
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from statistics import quantiles
from uuid import uuid4

import httpx

from laborcoop.gateway.identity.keys import SigningKeys, new_key_entry
from laborcoop.testing import Stack
from laborcoop.testing.databases import Databases


@asynccontextmanager
async def scratch_database(stack: Stack, *packages: str) -> AsyncIterator[str]:
    """A migrated database that exists for one benchmark (the tests' own mechanism)."""
    databases = Databases(stack)
    try:
        yield await databases.fresh(*packages)
    finally:
        await databases.drop_all()


@dataclass(frozen=True)
class Rate:
    label: str
    count: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.count / self.seconds

    def line(self) -> str:
        rate = f"{self.per_second:9.0f}/s"
        return f"  {self.label:<34} {self.count:>7} in {self.seconds:6.2f} s = {rate}"


async def timed(label: str, count: int, work: Callable[[], Awaitable[object]]) -> Rate:
    started = time.perf_counter()
    await work()
    return Rate(label, count, time.perf_counter() - started)


def report(title: str, measured: Rate, baseline: Rate, goal: float) -> bool:
    ratio = measured.per_second / baseline.per_second
    verdict = "meets" if ratio >= goal else "MISSES"
    print(title)
    print(measured.line())
    print(baseline.line())
    print(f"  ratio {ratio:.2f} (goal >= {goal}) {verdict} the goal")
    return ratio >= goal


def report_ratio(measured: Rate, baseline: Rate, goal: float, against: str) -> bool:
    """A second baseline of the same benchmark: its line and the ratio against it."""
    ratio = measured.per_second / baseline.per_second
    verdict = "meets" if ratio >= goal else "MISSES"
    print(baseline.line())
    print(f"  ratio {ratio:.2f} {against} (goal >= {goal}) {verdict} the goal")
    return ratio >= goal


def free_port() -> int:
    """A port of 127.0.0.1 free right now (for a server started next)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@asynccontextmanager
async def served(command: list[str], env: dict[str, str], port: int) -> AsyncIterator[str]:
    """``command`` (a server on ``port``) running until the block ends; yields its base URL once
    it answers."""
    process = await asyncio.create_subprocess_exec(
        *command,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as client:
            for _ in range(100):
                try:
                    await client.get(f"{base}/docs")
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
        yield base
    finally:
        process.terminate()
        await process.wait()


# -- the lean HTTP/1.1 client: asyncio streams, kept-alive connections ---------------------------


def post_request(port: int, path: str, headers: dict[str, str], body: object) -> bytes:
    """The bytes of one ``POST`` of ``body`` as JSON (what the lean client sends)."""
    payload = json.dumps(body, ensure_ascii=False).encode()
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Content-Type: application/json",
        f"Content-Length: {len(payload)}",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


async def exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> int:
    """One request on a kept-alive connection; returns the status code (the body, of a declared
    length or chunked, is read and dropped)."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length, chunked = 0, False
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if not chunked:
        await reader.readexactly(length)
        return status
    while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
        await reader.readexactly(size + 2)
    await reader.readuntil(b"\r\n")  # the empty trailer
    return status


@dataclass
class Latencies:
    """Requests timed one by one: their count, the wall time of the load, p50 and p99."""

    label: str
    seconds: float = 0.0
    millis: list[float] = field(default_factory=list)

    @property
    def rate(self) -> Rate:
        return Rate(self.label, len(self.millis), self.seconds)

    @property
    def p50(self) -> float:
        return quantiles(self.millis, n=100)[49]

    @property
    def p99(self) -> float:
        return quantiles(self.millis, n=100)[98]

    def line(self) -> str:
        return f"{self.rate.line()}  p50 {self.p50:6.2f} ms  p99 {self.p99:6.2f} ms"


async def load(
    port: int, requests: Iterator[bytes], concurrency: int, *, expect: int, into: Latencies
) -> None:
    """Send every request of ``requests`` over ``concurrency`` kept-alive connections to
    127.0.0.1:``port`` (a lean client, so that the load generator is not what is measured);
    each answer must have the status ``expect``. Adds the wall time and each request's latency
    to ``into``."""

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for request in requests:
                sent = time.perf_counter()
                status = await exchange(reader, writer, request)
                into.millis.append((time.perf_counter() - sent) * 1000)
                if status != expect:
                    raise RuntimeError(f"{into.label}: answered {status}, not {expect}")
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    into.seconds += time.perf_counter() - started


@dataclass(frozen=True)
class RegistryBehindGateway:
    """A registry and a gateway forwarding to it, each its own ``serve`` process with its
    background work on, on scratch databases and a topic prefix of their own."""

    token: str
    """A 湖南 (430000) province token the gateway signed and the registry verifies."""
    prefix: str
    registry_port: int
    gateway_port: int
    gateway_dsn: str


@asynccontextmanager
async def registry_behind_gateway(stack: Stack) -> AsyncIterator[RegistryBehindGateway]:
    """The gateway signs tokens with a key of its own (``LABORCOOP_TOKEN_SIGNING_KEYS``), the
    registry verifies them with its public half (a JWKS file). The one client sending every
    request has a rate limit so high it is checked on each request and never hit."""
    entry = new_key_entry("bench-1")
    keys = SigningKeys.parse(entry, None, issuer="laborcoop", audience="laborcoop")
    token = keys.signer.sign("bench", province="430000", roles=["province"], ttl_s=3600)
    prefix = f"bench{uuid4().hex[:8]}."
    with tempfile.TemporaryDirectory() as folder:
        jwks = Path(folder) / "jwks.json"
        jwks.write_text(json.dumps(keys.jwks()))
        common = {
            "LABORCOOP_ENVIRONMENT": "test",
            "LABORCOOP_KAFKA_BOOTSTRAP": stack.kafka_bootstrap,
            "LABORCOOP_TOPIC_PREFIX": prefix,
            "LABORCOOP_RUN_WORKERS": "true",
            "LABORCOOP_LOG_LEVEL": "WARNING",
        }
        async with (
            scratch_database(stack, "laborcoop.registry.migrations") as registry_dsn,
            scratch_database(stack, "laborcoop.gateway.migrations") as gateway_dsn,
        ):
            registry_port, gateway_port = free_port(), free_port()
            registry_env = {
                **common,
                "LABORCOOP_REGISTRY_DATABASE_URL": registry_dsn,
                "LABORCOOP_JWKS_FILE": str(jwks),
            }
            gateway_env = {
                **common,
                "LABORCOOP_GATEWAY_DATABASE_URL": gateway_dsn,
                "LABORCOOP_REGISTRY_URL": f"http://127.0.0.1:{registry_port}",
                "LABORCOOP_TOKEN_SIGNING_KEYS": entry,
                "LABORCOOP_CLIENT_RATE_PER_S": "1000000",
                "LABORCOOP_CLIENT_RATE_BURST": "1000000",
            }
            async with (
                served(_serve("registry", registry_port), registry_env, registry_port),
                served(_serve("gateway", gateway_port), gateway_env, gateway_port),
            ):
                yield RegistryBehindGateway(token, prefix, registry_port, gateway_port, gateway_dsn)


def _serve(service: str, port: int) -> list[str]:
    return [f"laborcoop-{service}", "serve", "--port", str(port)]

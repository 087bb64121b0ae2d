"""Shared pieces of the benchmarks: the stack, a scratch database, timing and reporting."""

import asyncio
import os
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx

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

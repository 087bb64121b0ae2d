"""pytest fixtures over the real stack that `make test` starts (loaded by the root conftest)."""

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from uuid import uuid4

import asyncpg
import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from laborcoop.common import migrations
from laborcoop.common.auth import TokenSigner
from laborcoop.common.db import connect
from laborcoop.common.telemetry import configure_tracing
from laborcoop.testing import Stack, Tokens

SPANS = InMemorySpanExporter()
configure_tracing("laborcoop-tests", None, extra=SimpleSpanProcessor(SPANS))

REPO_ROOT = Path(__file__).resolve().parents[5]


class Databases:
    """Fresh databases per test, cloned from a migrated template per migration package."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.run_id = uuid4().hex[:8]
        self.templates: dict[tuple[str, ...], str] = {}
        self.created: list[str] = []

    async def _admin(self) -> "asyncpg.Connection[asyncpg.Record]":
        return await connect(self.stack.dsn("postgres"))

    async def _template(self, packages: tuple[str, ...]) -> str:
        if packages not in self.templates:
            name = f"tmpl_{self.run_id}_{len(self.templates)}"
            admin = await self._admin()
            try:
                await admin.execute(f'CREATE DATABASE "{name}"')
            finally:
                await admin.close()
            self.created.append(name)
            conn = await connect(self.stack.dsn(name))
            try:
                await migrations.migrate(conn, *packages)
            finally:
                await conn.close()
            self.templates[packages] = name
        return self.templates[packages]

    async def fresh(self, *packages: str) -> str:
        """The DSN of a new database migrated with the common tables and ``packages``."""
        template = await self._template(packages)
        name = f"t_{self.run_id}_{uuid4().hex[:10]}"
        admin = await self._admin()
        try:
            await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        finally:
            await admin.close()
        self.created.append(name)
        return self.stack.dsn(name)

    async def drop_all(self) -> None:
        admin = await self._admin()
        try:
            for name in reversed(self.created):
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@pytest.fixture(scope="session")
def stack() -> Stack:
    return Stack.from_env()


@pytest.fixture(scope="session")
async def databases(stack: Stack) -> AsyncIterator[Databases]:
    dbs = Databases(stack)
    yield dbs
    await dbs.drop_all()


@pytest.fixture(scope="session")
def tokens() -> Tokens:
    return Tokens(TokenSigner.generate(key_id="test-1"))


@pytest.fixture
def topic_prefix() -> str:
    """A per-test namespace for topics and consumer groups, so tests never see each other."""
    return f"t{uuid4().hex[:12]}."


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    SPANS.clear()
    yield SPANS
    SPANS.clear()


class KafkaControl:
    """Stops and starts the test broker (stack.sh kafka-stop / kafka-start)."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack

    async def _run(self, command: str) -> None:
        process = await asyncio.create_subprocess_exec(
            "bash",
            str(REPO_ROOT / "deploy/local/stack.sh"),
            command,
            env={**os.environ, **self.stack.environment()},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await asyncio.wait_for(process.communicate(), 120)
        if process.returncode != 0:
            raise RuntimeError(f"stack.sh {command} failed: {output.decode()}")

    async def stop(self) -> None:
        await self._run("kafka-stop")

    async def start(self) -> None:
        await self._run("kafka-start")


@pytest.fixture
async def kafka_control(stack: Stack) -> AsyncIterator[KafkaControl]:
    control = KafkaControl(stack)
    yield control
    await control.start()

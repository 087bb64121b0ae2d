"""pytest fixtures over the real stack that `make test` starts (loaded by the root conftest)."""

import asyncio
import logging
import os
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from uuid import uuid4

import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from laborcoop.common.auth import TokenSigner
from laborcoop.common.telemetry import configure_tracing
from laborcoop.testing import FreshApps, Stack, Tokens, network
from laborcoop.testing.databases import Databases
from laborcoop.testing.leaks import (
    WATCH,
    LogWatch,
    PersonalDataWatch,
    scan_topics,
    session_topics,
)

SPANS = InMemorySpanExporter()
configure_tracing("laborcoop-tests", None, extra=SimpleSpanProcessor(SPANS))

REPO_ROOT = Path(__file__).resolve().parents[5]


@pytest.fixture(scope="session", autouse=True)
def loopback_only() -> Iterator[None]:
    """No test reaches beyond this machine (``laborcoop.testing.network``)."""
    with network.loopback_only():
        yield


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
def fresh_apps(stack: Stack, databases: Databases, topic_prefix: str, tokens: Tokens) -> FreshApps:
    """Makes a service's app on a fresh database, in this test's topic namespace."""
    return FreshApps(stack, databases, topic_prefix, tokens)


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    SPANS.clear()
    yield SPANS
    SPANS.clear()


class KafkaControl:
    """Stops and starts the test broker (`laborcoop-devstack stack kafka-stop / kafka-start`)."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack

    async def _run(self, command: str) -> None:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "laborcoop.devstack",
            "stack",
            command,
            env={**os.environ, **self.stack.environment()},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await asyncio.wait_for(process.communicate(), 120)
        if process.returncode != 0:
            raise RuntimeError(f"devstack stack {command} failed: {output.decode()}")

    async def stop(self) -> None:
        await self._run("kafka-stop")

    async def start(self) -> None:
        await self._run("kafka-start")


@pytest.fixture
async def kafka_control(stack: Stack) -> AsyncIterator[KafkaControl]:
    control = KafkaControl(stack)
    yield control
    await control.start()


@pytest.fixture(scope="session", autouse=True)
async def personal_data_watch(stack: Stack) -> AsyncIterator[PersonalDataWatch]:
    """After the session: no personal data in any log record, in any answer to a province that
    may not see it, or in any placements or dead-letter topic (``laborcoop.testing.leaks``)."""
    handler = LogWatch(WATCH)
    logging.getLogger().addHandler(handler)
    yield WATCH
    logging.getLogger().removeHandler(handler)
    WATCH.scan_logs()
    if WATCH.origins:  # the session created workers: read what reached the broker
        await scan_topics(WATCH, stack.kafka_bootstrap, session_topics(WATCH))
    leaks = "; ".join(str(leak) for leak in WATCH.leaks[:20])
    assert not WATCH.leaks, f"personal data leaked ({len(WATCH.leaks)}): {leaks}"

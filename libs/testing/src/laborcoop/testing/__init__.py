"""Test support: the local stack's coordinates, fresh databases, running apps, tokens, waiting."""

import asyncio
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from fastapi import FastAPI
from prometheus_client import REGISTRY

from laborcoop.common.app import AppFactory
from laborcoop.common.auth import KeySet, TokenSigner
from laborcoop.common.clock import Clock, utc_now
from laborcoop.common.db import Pool
from laborcoop.common.settings import ServiceSettings
from laborcoop.contracts.envelope import CloudEvent
from laborcoop.contracts.events import spec_for
from laborcoop.testing.leaks import WATCH

if TYPE_CHECKING:
    from laborcoop.testing.databases import Databases  # it imports Stack from here

T = TypeVar("T")


@dataclass(frozen=True)
class Stack:
    """Where `make test`'s PostgreSQL and Kafka listen (the variables stack.sh reads)."""

    stack_dir: Path
    pg_port: int
    kafka_port: int
    kafka_controller_port: int
    pg_user: str = "laborcoop"
    pg_password: str = "laborcoop"

    @classmethod
    def from_env(cls) -> "Stack":
        root = Path(__file__).resolve().parents[5]
        return cls(
            stack_dir=Path(os.environ.get("LABORCOOP_STACK_DIR", root / ".devstack-test")),
            pg_port=int(os.environ.get("LABORCOOP_PG_PORT", "56432")),
            kafka_port=int(os.environ.get("LABORCOOP_KAFKA_PORT", "29192")),
            kafka_controller_port=int(os.environ.get("LABORCOOP_KAFKA_CONTROLLER_PORT", "29193")),
        )

    def environment(self) -> dict[str, str]:
        """The variables that point deploy/local/stack.sh at this stack."""
        return {
            "LABORCOOP_STACK_DIR": str(self.stack_dir),
            "LABORCOOP_PG_PORT": str(self.pg_port),
            "LABORCOOP_KAFKA_PORT": str(self.kafka_port),
            "LABORCOOP_KAFKA_CONTROLLER_PORT": str(self.kafka_controller_port),
        }

    def dsn(self, database: str) -> str:
        auth = f"{self.pg_user}:{self.pg_password}"
        return f"postgresql://{auth}@127.0.0.1:{self.pg_port}/{database}"

    @property
    def kafka_bootstrap(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"


class Tokens:
    """Mints tokens with the tests' own key, one call per kind of caller."""

    def __init__(self, signer: TokenSigner) -> None:
        self.signer = signer

    def province(self, code: str, *, client: str | None = None) -> dict[str, str]:
        token = self.signer.sign(client or f"hr-{code}", province=code, roles=["province"])
        return {"Authorization": f"Bearer {token}"}

    def ministry(self) -> dict[str, str]:
        token = self.signer.sign("mohrss", province=None, roles=["ministry"])
        return {"Authorization": f"Bearer {token}"}

    def observer(self) -> dict[str, str]:
        token = self.signer.sign("observer", province=None, roles=["observer"])
        return {"Authorization": f"Bearer {token}"}

    def keyset(self) -> KeySet:
        return KeySet(self.signer.jwks(), issuer=self.signer.issuer, audience=self.signer.audience)


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Run ``app``'s lifespan (pool, relay, consumers); the client calls it in-process.

    The app's seams (the tests' key set, a clock, transports) are given when it is created:
    ``create_app(settings, keys=tokens.keyset(), clock=clock)``."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        hooks = {"response": [WATCH.response]}  # no personal data to whom may not see it
        async with httpx.AsyncClient(
            transport=transport, base_url="http://test", event_hooks=hooks
        ) as client:
            yield client


async def eventually(
    check: Callable[[], Awaitable[T | None]], *, timeout: float = 30.0, interval: float = 0.1
) -> T:
    """Poll ``check`` until it returns something other than ``None``/``False``; fail on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result is not None and result is not False:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(interval)


async def read_topic(
    bootstrap: str, topic: str, *, expect: int, timeout: float = 30.0
) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record of ``topic`` from the beginning, once at least ``expect`` have arrived."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    records: list[ConsumerRecord[bytes, bytes]] = []
    try:
        deadline = time.monotonic() + timeout
        while len(records) < expect and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=300)
            for partition_records in batch.values():
                records.extend(partition_records)
        extra: Any = await consumer.getmany(timeout_ms=300)
        for partition_records in extra.values():
            records.extend(partition_records)
    finally:
        await consumer.stop()
    return records


S = TypeVar("S", bound=ServiceSettings)


async def publish(
    producer: AIOKafkaProducer, settings: ServiceSettings, events: Iterable[CloudEvent]
) -> list[str]:
    """Publish ``events`` as a service's relay does: each to its type's topic in the namespace
    of ``settings``, keyed by its subject. The (logical) topic of each event, in order."""
    published = []
    for event in events:
        spec = spec_for(event.type)
        assert spec is not None, f"{event.type} is not a published event type"
        await producer.send_and_wait(
            settings.topic(spec.topic), value=event.to_json_bytes(), key=event.subject.encode()
        )
        published.append(spec.topic)
    return published


def settings_for(
    cls: type[S], stack: Stack, *, database_url: str, topic_prefix: str, **overrides: Any
) -> S:
    """Settings of a service under test: its own database and topic namespace (two partitions a
    topic), quick polling.
    The namespace's topics are read by the session's leak watch at the end."""
    WATCH.prefixes.add(topic_prefix)
    values: dict[str, Any] = {
        "environment": "test",
        "database_url": database_url,
        "kafka_bootstrap": stack.kafka_bootstrap,
        "topic_prefix": topic_prefix,
        "relay_poll_interval_s": 0.2,
        "consumer_backoff_s": 0.01,
        "db_pool_min": 1,
        "db_pool_max": 5,
        # Every test namespace creates its topics and their dead-letter topics: at the default
        # six partitions a session leaves thousands on the broker, which then starts slowly.
        # Two still spread subjects over partitions, as ordering per subject must survive.
        "topic_partitions": 2,
        **overrides,
    }
    return cls(**values)


def consumed(group: str, outcome: str) -> float:
    """How many events ``group`` has consumed with ``outcome`` (from the Prometheus counter)."""
    value = REGISTRY.get_sample_value(
        "laborcoop_events_consumed_total", {"group": group, "outcome": outcome}
    )
    return value or 0.0


def assert_routes_document_problems(
    app: FastAPI, *, expected_routes: int, resource: str, commands_answer: set[str]
) -> None:
    """Every public route has a summary, its 401/422 problems, a 404 where it names one
    resource, and, for the POST commands on one resource, ``commands_answer``."""
    document = app.openapi()
    operations = [
        (path, method, op)
        for path, item in document["paths"].items()
        for method, op in item.items()
        if path.startswith("/v1/")
    ]
    assert len(operations) == expected_routes
    for path, method, op in operations:
        codes = set(op["responses"])
        assert op.get("summary"), (path, method)
        assert {"401", "422"} <= codes, (path, method, codes)
        assert "application/problem+json" in op["responses"]["401"]["content"], (path, method)
        if resource in path:
            assert "404" in codes, (path, method)
            if method == "post":
                assert commands_answer <= codes, (path, method, codes)


@dataclass(frozen=True)
class FreshApps:
    """Apps of one service under test, each on a database of its own (migrated) and in the test's
    topic namespace, verifying the tests' tokens: the ``fresh_apps`` fixture."""

    stack: Stack
    databases: "Databases"
    topic_prefix: str
    tokens: Tokens

    async def settings(self, cls: type[S], migration_package: str, **overrides: Any) -> S:
        """``cls`` on a fresh database with ``migration_package`` applied."""
        database_url = await self.databases.fresh(migration_package)
        return settings_for(
            cls, self.stack, topic_prefix=self.topic_prefix, database_url=database_url, **overrides
        )

    def app(self, create_app: AppFactory[S], settings: S, *, clock: Clock = utc_now) -> FastAPI:
        """The app, with the tests' key set and ``clock``."""
        return create_app(settings, keys=self.tokens.keyset(), clock=clock)

    @asynccontextmanager
    async def running(
        self, create_app: AppFactory[S], settings: S, *, clock: Clock = utc_now
    ) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
        """The app running (relay, consumers, workers as ``settings`` say) and a client to it."""
        app = self.app(create_app, settings, clock=clock)
        async with running(app) as client:
            yield app, client


async def row_counts(pool: Pool, *tables: str) -> tuple[int, ...]:
    """How many rows each of ``tables`` holds, read at one instant (what a test compares before
    and after something that must write nothing)."""
    counts = ", ".join(f"(SELECT count(*) FROM {table})" for table in tables)
    row = await pool.fetchrow(f"SELECT {counts}")
    assert row is not None
    return tuple(row)

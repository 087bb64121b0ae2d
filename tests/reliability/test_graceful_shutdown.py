"""SIGTERM to a service process under a steady stream of requests, on the real stack.

Two replicas of the agreements service run as real `laborcoop-agreements serve` processes on one
database, as two pods of a Deployment would: each serves drafts, runs the outbox relay (one of
them leads) and consumes the registry's brand events (group agreements.brands, partitions shared).
A registry in this process registers brands all along; eight clients draft agreements through a
small balancer that, like a Service's endpoints, sends each request to a replica still listed.

Replica A is then deleted the Kubernetes way: it leaves the balancer's list (the endpoints
update; `preStop` covers that delay), and gets SIGTERM while requests are in flight on it: a
lock the test holds on the outbox keeps every draft waiting in its transaction, so A is caught
mid-request, its relay mid-batch. Then the lock is released. It must show:

- no request fails: each draft sent to A or B is answered 201;
- no event is lost or applied twice: every drafted agreement's event is in Kafka exactly once
  (the relay finished its batch: nothing was published and left in the outbox to go again) and
  the outbox is empty; every brand event is in the brand copy and the inbox exactly once, though
  B took A's partitions over mid-stream (a redelivery to B, e.g. of B's own batch whose commit
  the rebalance refused, is deduplicated by the inbox, not applied again);
- A exits by itself well within LABORCOOP_SHUTDOWN_GRACE_S, with no error logged.
"""

import asyncio
import json
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from uuid import uuid4

import httpx
import pytest

from laborcoop.common.db import connect
from laborcoop.contracts import topics
from laborcoop.registry.app import create_app as create_registry
from laborcoop.registry.settings import RegistrySettings
from laborcoop.testing import FreshApps, Stack, Tokens, eventually, read_topic
from laborcoop.testing.databases import Databases

GRACE_S = 10
CLIENTS = 8
HELD_S = 1.5  # how long the outbox lock keeps the drafts in flight
SH, YN = "310000", "530000"
DRAFTED = "cn.laborcoop.agreements.agreement.drafted.v1"
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.timeout(180)


@dataclass
class Replica:
    name: str
    port: int
    process: asyncio.subprocess.Process
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Answer:
    replica: str
    started: float
    ended: float
    status: int | None
    agreement_id: str | None = None
    error: str | None = None


@dataclass
class Balancer:
    """A Service's endpoints: new requests go, in turn, to the replicas still listed."""

    replicas: list[Replica]
    turn: int = 0

    def pick(self) -> Replica:
        self.turn += 1
        return self.replicas[self.turn % len(self.replicas)]

    def remove(self, replica: Replica) -> None:
        self.replicas = [r for r in self.replicas if r is not replica]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def _replicas(
    names: list[str], env: dict[str, str], folder: Path
) -> AsyncIterator[list[Replica]]:
    replicas = []
    for name in names:
        port = _free_port()
        log = folder / f"agreements-{name}.log"
        with log.open("wb") as out:
            process = await asyncio.create_subprocess_exec(
                str(BIN / "laborcoop-agreements"),
                "serve",
                "--port",
                str(port),
                env={**os.environ, **env},
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
            )
        replicas.append(Replica(name, port, process, log))
    try:
        async with httpx.AsyncClient(timeout=2) as client:
            for replica in replicas:

                async def ready(replica: Replica = replica) -> bool:
                    assert replica.process.returncode is None, replica.log.read_text()
                    with suppress(httpx.HTTPError):
                        return (await client.get(f"{replica.url}/readyz")).status_code == 200
                    return False

                await eventually(ready, timeout=60)
        yield replicas
    finally:
        for replica in replicas:
            if replica.process.returncode is None:
                replica.process.kill()
            await replica.process.wait()


async def _metric(url: str, group: str, outcome: str) -> float:
    async with httpx.AsyncClient(timeout=5) as client:
        text = (await client.get(f"{url}/metrics")).text
    wanted = f'laborcoop_events_consumed_total{{group="{group}",outcome="{outcome}"}}'
    for line in text.splitlines():
        if line.startswith(wanted):
            return float(line.split()[-1])
    return 0.0


async def test_sigterm_under_load_loses_no_request_and_no_event(
    stack: Stack,
    databases: Databases,
    fresh_apps: FreshApps,
    topic_prefix: str,
    tokens: Tokens,
    tmp_path: Path,
) -> None:
    database_url = await databases.fresh("laborcoop.agreements.migrations")
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(tokens.signer.jwks()), encoding="utf-8")
    env = {
        "LABORCOOP_ENVIRONMENT": "test",
        "LABORCOOP_AGREEMENTS_DATABASE_URL": database_url,
        "LABORCOOP_KAFKA_BOOTSTRAP": stack.kafka_bootstrap,
        "LABORCOOP_TOPIC_PREFIX": topic_prefix,
        "LABORCOOP_JWKS_FILE": str(jwks),
        "LABORCOOP_RELAY_POLL_INTERVAL_S": "0.2",
        "LABORCOOP_DB_POOL_MAX": "12",
        "LABORCOOP_SHUTDOWN_GRACE_S": str(GRACE_S),
        "LABORCOOP_LOG_LEVEL": "INFO",
    }
    group = f"{topic_prefix}agreements.brands"
    registry_settings = await fresh_apps.settings(RegistrySettings, "laborcoop.registry.migrations")
    async with (
        fresh_apps.running(create_registry, registry_settings) as (_, registry),
        _replicas(["a", "b"], env, tmp_path) as (a, b),
    ):
        balancer = Balancer([a, b])
        stop = asyncio.Event()
        answers: list[Answer] = []
        brands: list[str] = []
        async with httpx.AsyncClient(timeout=60) as http:
            work = [
                asyncio.create_task(_draft_steadily(balancer, http, tokens, stop, answers))
                for _ in range(CLIENTS)
            ]
            work.append(asyncio.create_task(_register_steadily(registry, tokens, stop, brands)))
            await asyncio.sleep(2)  # steady state: both replicas serve and consume

            lock = await connect(database_url)
            try:
                transaction = lock.transaction()
                await transaction.start()
                await lock.execute("LOCK TABLE outbox IN EXCLUSIVE MODE")
                await asyncio.sleep(0.5)  # the drafts reaching A now wait on the lock
                balancer.remove(a)  # the endpoints drop A (what preStop waits for) ...
                await asyncio.sleep(0.2)
                terminated = time.monotonic()
                a.process.send_signal(signal.SIGTERM)  # ... then SIGTERM, with drafts in flight
                await asyncio.sleep(HELD_S)
                assert a.process.returncode is None, "A left before its requests were answered"
            finally:
                await transaction.rollback()
                await lock.close()
            code = await asyncio.wait_for(a.process.wait(), GRACE_S + 5)
            exited_after = time.monotonic() - terminated

            await asyncio.sleep(2)  # B alone: serves, relays, consumes A's partitions
            stop.set()
            await asyncio.gather(*work)

        failed = [x for x in answers if x.status != 201]
        assert not failed, failed[:5]
        on_a_at_sigterm = [
            x for x in answers if x.replica == "a" and x.started < terminated < x.ended
        ]
        assert len(on_a_at_sigterm) >= 2, len(answers)
        assert any(x.replica == "b" and x.started > terminated for x in answers)
        assert exited_after < GRACE_S, exited_after
        assert code in (0, -signal.SIGTERM), code
        log = a.log.read_text(encoding="utf-8")
        assert "shutting down" in log
        assert '"level": "ERROR"' not in log, log[-3000:]
        assert "lost its lock connection" not in log  # its own close on stopping is no loss

        drafted = {x.agreement_id for x in answers}
        await _every_event_once(stack, topic_prefix, database_url, drafted)
        await _every_brand_applied_once(database_url, brands)
        # brands registered after A left reached every partition: B consumed A's partitions too
        assert await _metric(b.url, group, "applied") > 0


async def _draft_steadily(
    balancer: Balancer,
    http: httpx.AsyncClient,
    tokens: Tokens,
    stop: asyncio.Event,
    answers: list[Answer],
) -> None:
    headers = tokens.province(SH)
    while not stop.is_set():
        replica = balancer.pick()
        body = {
            "title": f"沪滇劳务协作 {uuid4().hex[:12]}",
            "kind": "bilateral",
            "parties": [{"province": SH, "role": "both"}, {"province": YN, "role": "both"}],
            "effective_from": "2025-03-01",
        }
        started = time.monotonic()
        try:
            response = await http.post(
                f"{replica.url}/v1/agreements",
                json=body,
                headers={**headers, "Idempotency-Key": uuid4().hex},
            )
        except httpx.HTTPError as exc:
            answers.append(Answer(replica.name, started, time.monotonic(), None, error=repr(exc)))
            continue
        agreement = response.json().get("id") if response.status_code == 201 else response.text
        answers.append(
            Answer(replica.name, started, time.monotonic(), response.status_code, agreement)
        )


async def _register_steadily(
    registry: httpx.AsyncClient, tokens: Tokens, stop: asyncio.Event, brands: list[str]
) -> None:
    headers = tokens.province("430000")
    while not stop.is_set():
        name = f"湖南品牌{len(brands)}"
        answer = await registry.post(
            "/v1/brands",
            json={"name": name, "province": "430000", "category": "skilled_trades"},
            headers=headers,
        )
        assert answer.status_code == 201, answer.text
        brands.append(answer.json()["id"])
        await asyncio.sleep(0.1)


async def _every_event_once(
    stack: Stack, prefix: str, database_url: str, drafted: set[str | None]
) -> None:
    conn = await connect(database_url)
    try:

        async def relayed() -> bool:
            return bool(await conn.fetchval("SELECT count(*) FROM outbox") == 0)

        await eventually(relayed, timeout=30)
    finally:
        await conn.close()
    records = await read_topic(
        stack.kafka_bootstrap, f"{prefix}{topics.AGREEMENTS}", expect=len(drafted), timeout=30
    )
    ids = [dict(r.headers)["ce_id"].decode() for r in records]
    assert len(ids) == len(set(ids)), "an event was published twice"
    subjects = [
        json.loads(r.value)["subject"]
        for r in records
        if r.value is not None and dict(r.headers)["ce_type"].decode() == DRAFTED
    ]
    assert sorted(subjects) == sorted(str(d) for d in drafted)


async def _every_brand_applied_once(database_url: str, brands: list[str]) -> None:
    conn = await connect(database_url)
    try:

        async def applied() -> bool:
            copied = await conn.fetchval("SELECT count(*) FROM brand_copy")
            return bool(copied == len(brands))

        await eventually(applied, timeout=30)
        copied = {str(r["brand_id"]) for r in await conn.fetch("SELECT brand_id FROM brand_copy")}
        assert copied == set(brands)
        inbox = await conn.fetchval(
            "SELECT count(*) FROM inbox WHERE consumer_group = 'agreements.brands'"
        )
        assert inbox == len(brands)
    finally:
        await conn.close()

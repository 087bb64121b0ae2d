"""bench/write_to_view: how long after a command the gateway's view shows it, beside a bare
Kafka produce→consume round trip measured in the same run.

The registry and the gateway run as their ``serve`` processes with their background work on, as
in bench/gateway_forward: the registry's outbox relay publishes each brand, the gateway's
projection consumer (``gateway.projections``) writes it into ``brand_view``. Open-loop load at a
fixed rate (``RATES``: 20 and 200 commands/s): each brand registration is sent through the
gateway (forwarded to the registry) at its scheduled instant, whatever the earlier ones are
doing, over kept-alive connections taken from a pool that grows when all are busy.

For each command: the time from sending it until ``brand_view`` holds its row. One connection
polls the view database every ``POLL_S`` for the ids answered and not yet seen (a primary-key
lookup of a handful of ids: a few hundred microseconds of the database per poll, and no work
for the gateway process that runs the consumer, where polling the HTTP view would compete with
what is measured); the poll adds at most ``POLL_S`` to each figure.

Beside it, in the same seconds: a bare aiokafka producer (``acks=all``, idempotent, as the
relay's) sends one record at the same rate to a topic of its own and a bare consumer receives it;
its send→receive time is what Kafka alone costs. The ratio is write→view p99 over Kafka p99
(goal ≤ 2).

Where the time goes, per command (wall clock, one machine): sent → the event's ``time`` (the
registry's use case, through the gateway), → the Kafka record's timestamp (the relay sent it),
→ ``inbox.processed_at`` (the consumer's transaction began applying it), → seen in the view.
"""

import asyncio
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from statistics import quantiles
from uuid import UUID, uuid4

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench.common import post_request, registry_behind_gateway
from laborcoop.contracts import topics
from laborcoop.testing import Stack

RATES = [int(r) for r in os.environ.get("BENCH_W2V_RATES", "20,200").split(",")]
SECONDS = float(os.environ.get("BENCH_W2V_SECONDS", "15"))
GOAL = 2.0
POLL_S = 0.001
HUNAN = "430000"
WAIT_S = 60.0
PROJECTION_GROUP = "gateway.projections"


@dataclass
class Command:
    """One registration: when it was sent, answered, and seen in the view (``time.time()``)."""

    sent: float
    answered: float = 0.0
    status: int = 0
    brand_id: UUID | None = None
    seen: float = 0.0


@dataclass
class Stages:
    """Per brand id: the event's time, the Kafka record's timestamp and when the consumer
    applied it (seconds since the epoch)."""

    event_time: dict[UUID, float] = field(default_factory=dict)
    record_time: dict[UUID, float] = field(default_factory=dict)
    applied: dict[UUID, float] = field(default_factory=dict)


def _percentiles(millis: list[float]) -> tuple[float, float]:
    cuts = quantiles(millis, n=100)
    return cuts[49], cuts[98]


# -- the lean client, with the answer's body ------------------------------------------------------


class Connections:
    """Kept-alive connections to one port, opened when every one is busy (open loop)."""

    def __init__(self, port: int) -> None:
        self._port = port
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self._all: list[asyncio.StreamWriter] = []

    async def post(self, request: bytes) -> tuple[int, bytes]:
        """Send ``request`` on an idle connection (or a new one); a kept-alive connection the
        server closed meanwhile is replaced once."""
        if self._idle:
            try:
                return await self._exchange(*self._idle.pop(), request)
            except (asyncio.IncompleteReadError, ConnectionError):
                pass
        reader, writer = await asyncio.open_connection("127.0.0.1", self._port)
        self._all.append(writer)
        return await self._exchange(reader, writer, request)

    async def _exchange(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
    ) -> tuple[int, bytes]:
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        body = await reader.readexactly(length)
        self._idle.append((reader, writer))
        return int(head[9:12]), body

    def close(self) -> None:
        for writer in self._all:
            writer.close()


# -- the load ----------------------------------------------------------------------------------


async def _command(
    connections: Connections, request: bytes, command: Command, pending: dict[UUID, Command]
) -> None:
    status, body = await connections.post(request)
    command.answered = time.time()
    command.status = status
    if status == 201:
        command.brand_id = UUID(json.loads(body)["id"])
        pending[command.brand_id] = command


async def _watch(dsn: str, pending: dict[UUID, Command], stop: asyncio.Event) -> None:
    """Poll ``brand_view`` every ``POLL_S`` for the answered ids not seen yet."""
    conn = await asyncpg.connect(dsn)
    try:
        while not stop.is_set() or pending:
            if pending:
                rows = await conn.fetch(
                    "SELECT brand_id FROM brand_view WHERE brand_id = ANY($1::uuid[])",
                    list(pending),
                )
                now = time.time()
                for r in rows:
                    pending.pop(r["brand_id"]).seen = now
            await asyncio.sleep(POLL_S)
    finally:
        await conn.close()


async def _open_loop(
    gateway_port: int, gateway_dsn: str, token: str, rate: int, prefix: str, seconds: float
) -> list[Command]:
    """``rate`` registrations a second for ``SECONDS``, each sent at its instant; returns them
    once the view shows every one."""
    connections = Connections(gateway_port)
    pending: dict[UUID, Command] = {}
    stop = asyncio.Event()
    watcher = asyncio.create_task(_watch(gateway_dsn, pending, stop))
    headers = {"Authorization": f"Bearer {token}"}
    commands: list[Command] = []
    sends: list[asyncio.Task[None]] = []
    count = int(rate * seconds)
    started = time.perf_counter()
    try:
        for n in range(count):
            delay = started + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            body = {"name": f"{prefix}品牌{n:06d}", "province": HUNAN, "category": "agriculture"}
            request = post_request(gateway_port, "/v1/brands", headers, body)
            command = Command(sent=time.time())
            commands.append(command)
            sends.append(asyncio.create_task(_command(connections, request, command, pending)))
        await asyncio.gather(*sends)
        stop.set()
        await asyncio.wait_for(watcher, WAIT_S)
    finally:
        watcher.cancel()
        connections.close()
    return commands


# -- the stages ----------------------------------------------------------------------------------


async def _stages(stack: Stack, physical_topic: str, gateway_dsn: str, ids: set[UUID]) -> Stages:
    """Each brand's event time and record timestamp (read back from the topic), and when the
    gateway's consumer applied it (``inbox.processed_at``)."""
    stages = Stages()
    event_ids: dict[str, UUID] = {}
    consumer = AIOKafkaConsumer(
        physical_topic,
        bootstrap_servers=stack.kafka_bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        while len(stages.record_time) < len(ids):
            batch = await consumer.getmany(timeout_ms=1000)
            if not batch:
                break
            for records in batch.values():
                for record in records:
                    if record.value is None:
                        continue
                    event = json.loads(record.value)
                    subject = UUID(event["subject"])
                    if subject in ids and event["type"].endswith("brand.registered.v1"):
                        stages.record_time[subject] = record.timestamp / 1000
                        stages.event_time[subject] = datetime.fromisoformat(
                            event["time"]
                        ).timestamp()
                        event_ids[event["id"]] = subject
    finally:
        await consumer.stop()
    conn = await asyncpg.connect(gateway_dsn)
    try:
        rows = await conn.fetch(
            "SELECT event_id, processed_at FROM inbox WHERE consumer_group = $1",
            PROJECTION_GROUP,
        )
    finally:
        await conn.close()
    for r in rows:
        if (brand_id := event_ids.get(str(r["event_id"]))) is not None:
            stages.applied[brand_id] = r["processed_at"].timestamp()
    return stages


# -- the Kafka round trip ------------------------------------------------------------------------


async def _kafka_round_trips(stack: Stack, rate: int, seconds: float) -> list[float]:
    """A bare produce→consume round trip, ``rate`` records a second: milliseconds each."""
    topic = f"bench.w2v.{uuid4().hex[:8]}"
    producer = AIOKafkaProducer(
        bootstrap_servers=stack.kafka_bootstrap, acks="all", enable_idempotence=True
    )
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=stack.kafka_bootstrap, auto_offset_reset="earliest"
    )
    await producer.start()
    await producer.send_and_wait(topic, b"warm-up")  # creates the topic
    await consumer.start()
    sent: dict[bytes, float] = {}
    millis: list[float] = []
    count = int(rate * seconds)

    async def receive() -> None:
        async for record in consumer:
            if record.value in sent:
                millis.append((time.perf_counter() - sent.pop(record.value)) * 1000)
                if len(millis) == count:
                    return

    try:
        receiving = asyncio.create_task(receive())
        await asyncio.sleep(1.0)  # the consumer joined and fetches
        started = time.perf_counter()
        for n in range(count):
            delay = started + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            value = f"{n}".encode()
            sent[value] = time.perf_counter()
            await producer.send(topic, value)
        await asyncio.wait_for(receiving, WAIT_S)
    finally:
        await producer.stop()
        await consumer.stop()
    return millis


# -- the run -------------------------------------------------------------------------------------


def _stage_line(name: str, millis: list[float]) -> str:
    p50, p99 = _percentiles(millis)
    return f"    {name:<44} p50 {p50:6.2f} ms  p99 {p99:6.2f} ms"


def _report(rate: int, sent: list[Command], stages: Stages, kafka: list[float]) -> bool:
    commands = [c for c in sent if c.brand_id is not None]
    refused = len(sent) - len(commands)
    to_view = [(c.seen - c.sent) * 1000 for c in commands]
    view50, view99 = _percentiles(to_view)
    kafka50, kafka99 = _percentiles(kafka)
    ratio = view99 / kafka99
    met = ratio <= GOAL and not refused
    print(f"  {rate} commands/s for {SECONDS:.0f} s ({len(sent)} brand registrations):")
    if refused:
        print(f"    {refused} not accepted (503: the services are saturated), left out below")
    print(f"    {'write -> view':<44} p50 {view50:6.2f} ms  p99 {view99:6.2f} ms")
    print(f"    {'kafka produce -> consume':<44} p50 {kafka50:6.2f} ms  p99 {kafka99:6.2f} ms")
    print(f"    ratio {ratio:.2f} of the p99s (goal <= {GOAL}) {'meets' if met else 'MISSES'}")
    by_id = {c.brand_id: c for c in commands if c.brand_id is not None}
    known = [i for i in by_id if i in stages.record_time and i in stages.applied]
    steps: list[tuple[str, Callable[[UUID], float]]] = [
        ("sent -> event time (gateway, registry)", lambda i: stages.event_time[i] - by_id[i].sent),
        (
            "event -> record time (commit, relay)",
            lambda i: stages.record_time[i] - stages.event_time[i],
        ),
        (
            "record -> applied (kafka, consumer)",
            lambda i: stages.applied[i] - stages.record_time[i],
        ),
        ("applied -> seen (apply, commit, poll)", lambda i: by_id[i].seen - stages.applied[i]),
        ("sent -> answered", lambda i: by_id[i].answered - by_id[i].sent),
    ]
    print(f"    where the time goes ({len(known)} commands traced):")
    for name, step in steps:
        print(_stage_line(name, [step(i) * 1000 for i in known]))
    return met


async def _one_rate(
    stack: Stack, gateway_port: int, gateway_dsn: str, token: str, topic: str, rate: int
) -> bool:
    kafka = asyncio.create_task(_kafka_round_trips(stack, rate, SECONDS + 1.0))
    await asyncio.sleep(1.0)
    commands = await _open_loop(
        gateway_port, gateway_dsn, token, rate, f"r{rate}{uuid4().hex[:6]}", SECONDS
    )
    round_trips = await kafka
    ids = {c.brand_id for c in commands if c.brand_id is not None}
    stages = await _stages(stack, topic, gateway_dsn, ids)
    return _report(rate, commands, stages, round_trips)


async def run(stack: Stack) -> bool:
    met = True
    async with registry_behind_gateway(stack) as pair:
        print(
            "bench/write_to_view: brand registrations through the gateway, open loop; "
            "relay and consumers running; the view polled every "
            f"{POLL_S * 1000:.0f} ms"
        )
        topic = f"{pair.prefix}{topics.BRANDS}"
        port, dsn, token = pair.gateway_port, pair.gateway_dsn, pair.token
        await _open_loop(port, dsn, token, 20, "warm", 3.0)  # joined, warm
        for rate in RATES:
            met = await _one_rate(stack, port, dsn, token, topic, rate) and met
    print(f"  load average (1, 5, 15 min): {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    return met


if __name__ == "__main__":
    sys.exit(0 if asyncio.run(run(Stack.from_env())) else 1)

"""The gateway's event log: every event once, in arrival order, read back per audience and type;
positions never fill in behind a reader when writers run at once."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from laborcoop.common.db import Connection, Pool, connect, create_pool
from laborcoop.contracts.codes import DemandStatus
from laborcoop.contracts.envelope import CloudEvent
from laborcoop.contracts.events import EventPayload, all_specs, new_event
from laborcoop.contracts.placements import DemandClosed
from laborcoop.gateway.app import SPEC
from laborcoop.gateway.events import log
from laborcoop.gateway.events.log import Audience, matches
from laborcoop.gateway.events.wakeup import LogWakeup
from laborcoop.gateway.subscriptions import repository as deliveries
from laborcoop.testing.databases import Databases
from services.gateway.tests.story import GUANGDONG, HUNAN, at, demand

SHANGHAI = "310000"


@pytest.fixture
async def database(databases: Databases) -> str:
    return await databases.fresh(SPEC.migration_package)


@pytest.fixture
async def conn(database: str) -> AsyncIterator[Connection]:
    connection = await connect(database)
    try:
        yield connection
    finally:
        await connection.close()


def _event(payload: EventPayload, subject: int, version: int, *provinces: str) -> CloudEvent:
    return new_event(
        payload,
        subject=str(UUID(int=subject)),
        version=version,
        provinces=list(provinces),
        time=at("2025-03-01"),
    )


async def _append(conn: Connection, event: CloudEvent) -> None:
    """As the consumer applies it: the handler of the event's type, in a transaction."""
    async with conn.transaction():
        await log.SUBSCRIPTION.handlers[event.type](event)(conn)


def test_every_published_type_is_logged() -> None:
    assert set(log.SUBSCRIPTION.handlers) == {spec.type for spec in all_specs()}


@pytest.mark.parametrize(
    ("event_type", "patterns", "expected"),
    [
        ("cn.laborcoop.placements.placement.accepted.v1", [], True),
        ("cn.laborcoop.placements.placement.accepted.v1", ["cn.laborcoop.placements.*"], True),
        ("cn.laborcoop.registry.brand.registered.v1", ["cn.laborcoop.placements.*"], False),
        (
            "cn.laborcoop.registry.brand.registered.v1",
            ["cn.laborcoop.registry.brand.registered.v1"],
            True,
        ),
        ("cn.laborcoop.registry.brand.registered.v1", ["cn.laborcoop.registry.brand"], False),
    ],
)
def test_types_match_exactly_or_by_a_trailing_wildcard(
    event_type: str, patterns: list[str], expected: bool
) -> None:
    assert matches(event_type, patterns) is expected


def test_an_audience_admits_its_province_or_everything_for_the_ministry() -> None:
    assert Audience(HUNAN).admits([HUNAN, GUANGDONG])
    assert not Audience(SHANGHAI).admits([HUNAN, GUANGDONG])
    assert not Audience(None).admits([HUNAN])
    assert Audience(None, everything=True).admits([HUNAN])
    assert not Audience(HUNAN).admits([])


async def test_events_are_logged_once_in_order_and_read_per_audience_and_type(
    conn: Connection,
) -> None:
    posted = _event(demand(UUID(int=1), GUANGDONG, "440100"), 1, 1, GUANGDONG, HUNAN)
    closed = _event(
        DemandClosed(
            demand_id=UUID(int=1), province=GUANGDONG, status=DemandStatus.CLOSED, reason="满员"
        ),
        1,
        2,
        GUANGDONG,
    )
    shanghai = _event(demand(UUID(int=2), SHANGHAI, "310100"), 2, 1, SHANGHAI)
    for event in (posted, closed, shanghai, posted):  # the last: a redelivery
        await _append(conn, event)

    everything = await log.read_after(conn, 0, Audience(None, everything=True))
    assert [e.event_id for e in everything] == [posted.id, closed.id, shanghai.id]
    assert [e.position for e in everything] == sorted(e.position for e in everything)
    assert CloudEvent.model_validate_json(everything[0].envelope) == posted

    hunan = await log.read_after(conn, 0, Audience(HUNAN))
    assert [e.event_id for e in hunan] == [posted.id]
    guangdong_after_first = await log.read_after(conn, everything[0].position, Audience(GUANGDONG))
    assert [e.event_id for e in guangdong_after_first] == [closed.id]
    closed_only = await log.read_after(
        conn, 0, Audience(GUANGDONG), patterns=[closed.type, "cn.laborcoop.registry.*"]
    )
    assert [e.event_id for e in closed_only] == [closed.id]
    by_prefix = await log.read_after(
        conn, 0, Audience(None, everything=True), patterns=["cn.laborcoop.placements.demand.*"]
    )
    assert len(by_prefix) == 3

    assert await log.position_of(conn, shanghai.id) == everything[2].position
    assert await log.position_of(conn, "no-such-event") is None
    assert await log.head(conn) == everything[2].position
    assert await log.position_before(conn, at("2025-03-01")) == everything[0].position - 1
    assert await log.position_before(conn, at("2025-04-01")) == 0


async def test_appends_notify_their_position(conn: Connection, database: str) -> None:
    listener = await connect(database)
    heard: asyncio.Queue[str] = asyncio.Queue()
    await listener.add_listener(log.CHANNEL, lambda *args: heard.put_nowait(args[-1]))
    try:
        await _append(conn, _event(demand(UUID(int=3), HUNAN, "430100"), 3, 1, HUNAN))
        position = await asyncio.wait_for(heard.get(), 5.0)
        assert int(position) == await log.head(conn)
    finally:
        await listener.close()


async def test_a_reader_never_finds_a_position_filled_in_behind_it(database: str) -> None:
    """Writers on many connections at once, a reader following the log by ``position >``: the
    reader ends with every event, each once, in position order (a position taken but committed
    after a higher one would be skipped by such a reader)."""
    pool: Pool = await create_pool(database, min_size=8, max_size=8)
    events = [
        _event(demand(UUID(int=100 + n), HUNAN, "430100"), 100 + n, 1, HUNAN) for n in range(200)
    ]
    seen: list[int] = []
    done = asyncio.Event()

    async def write(event: CloudEvent) -> None:
        async with pool.acquire() as conn:
            await _append(conn, event)

    async def follow() -> None:
        async with pool.acquire() as conn:
            cursor = 0
            while not done.is_set() or len(seen) < len(events):
                batch = await log.read_after(conn, cursor, Audience(HUNAN))
                seen.extend(e.position for e in batch)
                cursor = batch[-1].position if batch else cursor
                await asyncio.sleep(0)

    try:
        reader = asyncio.create_task(follow())
        await asyncio.gather(*(write(e) for e in events))
        done.set()
        await asyncio.wait_for(reader, 30.0)
    finally:
        await pool.close()
    assert len(seen) == len(events)
    assert seen == sorted(seen)


async def test_the_wakeup_returns_when_the_log_grows_and_times_out_otherwise(
    conn: Connection, database: str
) -> None:
    wakeup = LogWakeup(database)
    try:
        assert await wakeup.wait(0.2) is False  # opens the listener, nothing appended
        waiting = asyncio.create_task(wakeup.wait(10.0))
        await asyncio.sleep(0.1)
        await _append(conn, _event(demand(UUID(int=4), HUNAN, "430100"), 4, 1, HUNAN))
        assert await asyncio.wait_for(waiting, 5.0) is True
    finally:
        await wakeup.aclose()


async def test_events_logged_before_the_retention_are_pruned_in_batches(conn: Connection) -> None:
    for n in range(5):
        await _append(conn, _event(demand(UUID(int=10 + n), HUNAN, "430100"), 10 + n, 1, HUNAN))
    await conn.execute(
        "UPDATE event_log SET logged_at = now() - interval '40 days' WHERE position <= "
        "(SELECT min(position) + 2 FROM event_log)"
    )
    kept = [e.event_id for e in await log.read_after(conn, 0, Audience(HUNAN))][3:]
    assert await log.prune(conn, datetime.now(UTC) - timedelta(days=30), batch=2) == 2
    assert await log.prune(conn, datetime.now(UTC) - timedelta(days=30), batch=2) == 1
    assert await log.prune(conn, datetime.now(UTC) - timedelta(days=30), batch=2) == 0
    assert [e.event_id for e in await log.read_after(conn, 0, Audience(HUNAN))] == kept


async def test_finished_deliveries_older_than_the_retention_are_pruned(conn: Connection) -> None:
    subscription = UUID(int=0x5B)
    await conn.execute(
        """INSERT INTO subscriptions (id, client_id, province, everything, url, types, provinces,
               status, secret, log_cursor, version, created_at, updated_at)
           VALUES ($1, 'c', '430000', false, 'https://hr.example.cn/hook', '{}', '{}',
                   'active', 'sealed', 0, 1, now(), now())""",
        subscription,
    )
    for state, age in [("delivered", 40), ("failed", 40), ("pending", 40), ("delivered", 1)]:
        await conn.execute(
            """INSERT INTO webhook_deliveries
                   (subscription_id, position, event_id, subject, state, next_attempt_at,
                    created_at)
               VALUES ($1, 1, 'e', 's', $2, now(), now() - make_interval(days => $3))""",
            subscription,
            state,
            age,
        )
    cutoff = datetime.now(UTC) - timedelta(days=30)
    assert await deliveries.prune_finished(conn, cutoff) == 2
    kept = await conn.fetch("SELECT state FROM webhook_deliveries ORDER BY id")
    assert [r["state"] for r in kept] == ["pending", "delivered"]

"""``rebuild-views`` over the real broker and database: the events of ``story.py`` are projected
by the gateway's live consumers, then rebuilt from the topics into new tables and swapped in
while the views answer: the same contents after as before, every read answered meanwhile with
the same contents, events published during the rebuild in the new tables, the inbox knowing
every event the rebuild applied; a second rebuild at the same time is refused, an interrupted
one leaves the live tables and the next starts clean, and a broker that cannot be reached is
said to be so."""

import asyncio
import io
import os
import sys
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from aiokafka import AIOKafkaProducer, ConsumerRecord

from laborcoop.common.clock import ManualClock
from laborcoop.common.db import Connection, Pool, connect
from laborcoop.common.deps import state_of
from laborcoop.common.kafka import ensure_topics, new_producer
from laborcoop.contracts import topics
from laborcoop.contracts.codes import DemandStatus
from laborcoop.contracts.envelope import CloudEvent
from laborcoop.contracts.events import EventPayload, new_event
from laborcoop.contracts.placements import DemandClosed, DemandFilled
from laborcoop.gateway.app import SPEC, create_app
from laborcoop.gateway.settings import GatewaySettings
from laborcoop.gateway.views.projections import DEMANDS, GROUP_OF
from laborcoop.gateway.views.rebuild import (
    PREVIOUS_SCHEMA,
    REBUILD_SCHEMA,
    TABLES,
    RebuildFailed,
    RebuildRefused,
    Statement,
    Tally,
    apply_batch,
    batched_steps,
    rebuild_views,
)
from laborcoop.testing import FreshApps, Tokens, consumed, eventually, publish
from laborcoop.testing.databases import Databases
from services.gateway.tests.story import B1, GUANGDONG, HUNAN, at, demand, story, uuid

pytestmark = pytest.mark.timeout(120)

NOW = at("2025-08-01")
READS = (
    "/v1/agreements",
    "/v1/demands",
    "/v1/placements",
    "/v1/provinces",
    f"/v1/provinces/{HUNAN}/overview",
    "/v1/corridors",
    f"/v1/brands/{B1}/impact",
    "/v1/national/overview",
)
"""Every view, as the ministry asks for it (those of records, as 湖南 does)."""
BY_PROVINCE = frozenset({"/v1/placements"})

D9 = uuid(0xD9)


class Interrupted(Exception):
    pass


@dataclass
class Live:
    """The gateway with its consumers running, and a producer onto its topics."""

    client: httpx.AsyncClient
    pool: Pool
    settings: GatewaySettings
    tokens: Tokens
    producer: AIOKafkaProducer
    published: Counter[str]

    async def publish(self, events: Iterable[CloudEvent]) -> None:
        for topic in await publish(self.producer, self.settings, events):
            self.published[GROUP_OF[topic]] += 1

    async def settle(self) -> None:
        """Until every group has processed everything it was sent."""

        async def done() -> bool:
            return all(
                sum(consumed(self.settings.topic(g), o) for o in ("applied", "duplicate")) >= n
                for g, n in self.published.items()
            )

        await eventually(done)

    async def contents(self) -> dict[str, list[dict[str, Any]]]:
        """Every row of every projection, in key order."""
        async with self.pool.acquire() as conn:
            return await contents(conn)

    async def read(self, path: str) -> dict[str, Any]:
        """A view's answer, without its freshness (the lag is measured again and again)."""
        who = self.tokens.province(HUNAN) if path in BY_PROVINCE else self.tokens.ministry()
        answer = await self.client.get(path, headers=who)
        assert answer.status_code == 200, (path, answer.text)
        body: dict[str, Any] = answer.json()
        body.pop("freshness", None)
        return body


async def contents(conn: Connection) -> dict[str, list[dict[str, Any]]]:
    return {
        table: [dict(r) for r in await conn.fetch(f"SELECT * FROM {table} ORDER BY 1, 2")]
        for table in TABLES
    }


async def table_ids(conn: Connection) -> dict[str, int]:
    return {t: await conn.fetchval("SELECT $1::regclass::oid", f"public.{t}") for t in TABLES}


@pytest.fixture
async def live(fresh_apps: FreshApps, tokens: Tokens) -> AsyncIterator[Live]:
    settings = await fresh_apps.settings(
        GatewaySettings,
        SPEC.migration_package,
        run_workers=True,
        view_lag_interval_s=0.2,
        client_rate_per_s=100_000.0,  # the reads of a rebuild's duration, unthrottled
        client_rate_burst=100_000,
    )
    await ensure_topics(settings, topics.ALL)
    producer = new_producer(settings, client_id="story")
    await producer.start()
    try:
        async with fresh_apps.running(create_app, settings, clock=ManualClock(NOW)) as (app, c):
            told = Live(c, state_of(app).pool, settings, tokens, producer, Counter())
            await told.publish(story().events)
            await told.settle()
            yield told
    finally:
        await producer.stop()


async def test_a_rebuild_swaps_in_the_same_contents_and_keeps_the_old_tables(live: Live) -> None:
    before = await live.contents()
    assert all(before[t] for t in TABLES if t != "brand_indicator_view"), before
    async with live.pool.acquire() as conn:
        old = await table_ids(conn)
    shown = io.StringIO()

    outcome = await rebuild_views(live.settings, progress=shown)

    assert await live.contents() == before
    async with live.pool.acquire() as conn:
        new = await table_ids(conn)
        assert all(new[t] != old[t] for t in TABLES)  # new tables, under the live names
        kept = await conn.fetchval(
            "SELECT count(*) FROM pg_tables WHERE schemaname = $1", PREVIOUS_SCHEMA
        )
        assert kept == len(TABLES)
        assert not await conn.fetchval(
            "SELECT count(*) FROM pg_namespace WHERE nspname = $1", REBUILD_SCHEMA
        )
        # the indexes have their migrations' names (a later migration may name them)
        assert await conn.fetchval(
            "SELECT indrelid = $1::regclass FROM pg_index"
            " WHERE indexrelid = 'public.agreement_view_target_origins'::regclass",
            "public.agreement_view",
        )
        indexes = await conn.fetchval(
            "SELECT count(*) FROM pg_indexes WHERE schemaname = 'public' AND tablename = ANY($1)",
            list(TABLES),
        )
        previous = await conn.fetchval(
            "SELECT count(*) FROM pg_indexes WHERE schemaname = $1", PREVIOUS_SCHEMA
        )
        assert indexes == previous
        # every event the rebuild applied is in the live inbox: a redelivery is a duplicate
        inboxed = await conn.fetchval(
            "SELECT count(*) FROM inbox WHERE consumer_group = ANY($1)", list(live.published)
        )
    assert outcome.tally.applied == sum(live.published.values()) == inboxed
    assert outcome.tally.failed == []
    assert outcome.records == sum(live.published.values())
    assert "swapped" in shown.getvalue()
    assert f"100% {outcome.records}/{outcome.records} records" in shown.getvalue()


async def test_the_command_rebuilds_and_says_what_it_did(live: Live) -> None:
    before = await live.contents()
    command = Path(sys.executable).with_name("laborcoop-gateway")
    process = await asyncio.create_subprocess_exec(
        str(command),
        "rebuild-views",
        "--drop-previous",
        env={
            **os.environ,
            "LABORCOOP_ENVIRONMENT": "test",
            "LABORCOOP_GATEWAY_DATABASE_URL": live.settings.database_url.get_secret_value(),
            "LABORCOOP_KAFKA_BOOTSTRAP": live.settings.kafka_bootstrap,
            "LABORCOOP_TOPIC_PREFIX": live.settings.topic_prefix,
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()

    said = err.decode()
    assert process.returncode == 0, said
    n = sum(live.published.values())
    assert f"rebuild-views: {n} records in " in said
    assert f"applied {n}, duplicate 0, unknown type 0, undecodable 0, refused 0" in said
    assert out == b""
    assert await live.contents() == before
    async with live.pool.acquire() as conn:
        assert not await conn.fetchval(
            "SELECT count(*) FROM pg_namespace WHERE nspname = $1", PREVIOUS_SCHEMA
        )


async def test_views_answer_the_same_throughout_a_rebuild(live: Live) -> None:
    before = {path: await live.read(path) for path in READS}
    contents = await live.contents()
    reads = 0
    done = asyncio.Event()

    async def reading() -> None:
        nonlocal reads
        while not done.is_set():
            for path in READS:
                assert await live.read(path) == before[path], path
                reads += 1

    reader = asyncio.create_task(reading())
    try:
        await rebuild_views(live.settings, progress=io.StringIO())
        await asyncio.sleep(0.2)  # a few reads of the new tables
    finally:
        done.set()
    await reader  # re-raises a failed or different read
    assert reads > len(READS)
    assert {path: await live.read(path) for path in READS} == before
    assert await live.contents() == contents


async def test_events_published_during_a_rebuild_are_in_the_new_tables(live: Live) -> None:
    posted = new_event(
        demand(D9, GUANGDONG, "440300"),
        subject=str(D9),
        version=1,
        provinces=[GUANGDONG],
        time=at("2025-07-01"),
    )

    async def publish() -> None:  # after the new tables caught up, before the swap
        await live.publish([posted])

    await rebuild_views(live.settings, progress=io.StringIO(), before_swap=publish)

    async with live.pool.acquire() as conn:  # applied by the swap, whatever the live consumer did
        assert await conn.fetchval("SELECT version FROM demand_view WHERE demand_id = $1", D9) == 1
        inboxed = await conn.fetchval(
            "SELECT count(*) FROM inbox WHERE consumer_group = $1 AND event_id = $2",
            GROUP_OF[topics.DEMANDS],
            posted.id,
        )
        assert inboxed == 1
    await live.settle()
    after = await live.contents()
    await rebuild_views(live.settings, progress=io.StringIO())
    assert await live.contents() == after


async def test_a_second_rebuild_at_the_same_time_is_refused(live: Live) -> None:
    release = asyncio.Event()
    holding = asyncio.Event()

    async def hold() -> None:
        holding.set()
        await release.wait()

    first = asyncio.create_task(
        rebuild_views(live.settings, progress=io.StringIO(), before_swap=hold)
    )
    await holding.wait()
    with pytest.raises(RebuildRefused, match="another rebuild-views is running"):
        await rebuild_views(live.settings, progress=io.StringIO())
    release.set()
    outcome = await first
    assert outcome.tally.applied == sum(live.published.values())


async def test_an_interrupted_rebuild_changes_nothing_and_the_next_starts_clean(
    live: Live,
) -> None:
    before = await live.contents()
    async with live.pool.acquire() as conn:
        old = await table_ids(conn)

    async def interrupt() -> None:
        raise Interrupted

    with pytest.raises(Interrupted):
        await rebuild_views(live.settings, progress=io.StringIO(), before_swap=interrupt)
    async with live.pool.acquire() as conn:
        assert await table_ids(conn) == old
        left = await conn.fetchval(
            "SELECT count(*) FROM pg_tables WHERE schemaname = $1", REBUILD_SCHEMA
        )
        assert left == len(TABLES) + 1  # half a rebuild, with its inbox

    outcome = await rebuild_views(live.settings, progress=io.StringIO())

    assert outcome.tally.applied == sum(live.published.values())
    assert await live.contents() == before


async def test_a_rebuild_without_kafka_says_so(fresh_apps: FreshApps) -> None:
    settings = await fresh_apps.settings(GatewaySettings, SPEC.migration_package)
    unreachable = settings.model_copy(update={"kafka_bootstrap": "127.0.0.1:9"})
    with pytest.raises(RebuildFailed, match=r"Kafka at 127\.0\.0\.1:9 is unreachable"):
        await rebuild_views(unreachable, progress=io.StringIO())


async def test_the_rebuild_knows_every_view_table(fresh_apps: FreshApps) -> None:
    settings = await fresh_apps.settings(GatewaySettings, SPEC.migration_package)
    conn = await connect(settings.database_url.get_secret_value())
    try:
        views = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            " AND tablename LIKE '%\\_view'"
        )
    finally:
        await conn.close()
    assert sorted(r["tablename"] for r in views) == sorted(TABLES)


# -- batching, without a database ---------------------------------------------------------------


def test_batched_steps_keep_each_subjects_order_and_group_the_rest() -> None:
    insert, update, other = "INSERT", "UPDATE", "UPSERT"
    a, b = str(UUID(int=1)), str(UUID(int=2))
    recorded: list[tuple[str, list[Statement]]] = [
        (a, [(insert, (a, 1))]),
        (b, [(insert, (b, 1))]),
        (a, [(update, (a, 2)), (other, (a, 2))]),
        (a, [(update, (a, 3))]),
        (b, [(update, (b, 2))]),
    ]
    assert batched_steps(recorded) == [
        {insert: [(a, 1), (b, 1)]},  # the first event of each subject
        {update: [(a, 2), (b, 2)]},  # their second events' first statements
        {other: [(a, 2)]},  # then the second statement of a's second event
        {update: [(a, 3)]},  # a's third event
    ]


# -- a batch against the database, without Kafka ------------------------------------------------


def _record(event: CloudEvent | bytes, offset: int) -> ConsumerRecord[bytes, bytes]:
    value = event if isinstance(event, bytes) else event.to_json_bytes()
    return ConsumerRecord(
        topic=topics.DEMANDS,
        partition=0,
        offset=offset,
        timestamp=0,
        timestamp_type=0,
        key=None,
        value=value,
        checksum=None,
        serialized_key_size=0,
        serialized_value_size=len(value),
        headers=[],
    )


async def _refuse(conn: Connection, event: CloudEvent, payload: DemandFilled) -> None:
    raise ValueError("refused")


async def test_a_batch_keeps_each_demands_order_skips_the_refused_and_inboxes_the_rest(
    databases: Databases,
) -> None:
    d1, d2 = uuid(0xDD1), uuid(0xDD2)

    def told(payload: EventPayload, subject: UUID, version: int) -> CloudEvent:
        return new_event(payload, subject=str(subject), version=version, provinces=[GUANGDONG])

    posted_1 = told(demand(d1, GUANGDONG, "440300"), d1, 1)
    closed_1 = told(
        DemandClosed(
            demand_id=d1, province=GUANGDONG, status=DemandStatus.CLOSED, reason="本地招满"
        ),
        d1,
        2,
    )
    posted_2 = told(demand(d2, GUANGDONG, "440300"), d2, 1)
    filled_2 = told(DemandFilled(demand_id=d2, province=GUANGDONG, headcount=5), d2, 2)
    refusing = DEMANDS.handle(DemandFilled, _refuse)
    records: list[CloudEvent | bytes] = [posted_1, closed_1, posted_1, posted_2, filled_2, b"?"]
    conn = await connect(await databases.fresh(SPEC.migration_package))
    try:
        tally = Tally()
        await apply_batch(conn, refusing, [_record(r, n) for n, r in enumerate(records)], tally)

        rows = await conn.fetch("SELECT demand_id, status, version FROM demand_view ORDER BY 1")
        inboxed = await conn.fetch("SELECT event_id FROM inbox ORDER BY event_id")
        again = Tally()  # the same records, none refused: only filled_2 is new
        await apply_batch(conn, DEMANDS, [_record(r, n) for n, r in enumerate(records)], again)
        assert await conn.fetchval("SELECT count(*) FROM inbox") == len(inboxed) + 1
        assert await conn.fetchval("SELECT status FROM demand_view WHERE demand_id = $1", d2) == (
            "filled"
        )
    finally:
        await conn.close()
    assert [tuple(r) for r in rows] == [(d1, "closed", 2), (d2, "open", 1)]
    assert sorted(r["event_id"] for r in inboxed) == sorted([posted_1.id, closed_1.id, posted_2.id])
    assert (tally.applied, tally.duplicate, tally.undecodable) == (3, 1, 1)
    assert tally.failed == [f"{topics.DEMANDS}/0@4: ValueError: refused"]
    assert (again.applied, again.duplicate) == (1, 4)

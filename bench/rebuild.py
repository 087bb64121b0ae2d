"""bench/rebuild: ``rebuild-views`` against a bare aiokafka consumer inserting the same rows with
COPY, same run, same topics.

Publishes N events (``BENCH_REBUILD_EVENTS``, 1,000,000 by default) to the five topics of the
gateway's views: the creating event of as many aggregates (brands 10 %, agreements 5 %, demands
15 %, workers 35 %, placements 35 %), valid CloudEvents of ``laborcoop.contracts`` (one per kind,
made by ``new_event``, then copied with new ids). Then, timed: the rebuild of every projection
into a migrated gateway database (reading, indexing, catch-up, swap); and a bare consumer without
a group reading the same partitions from the beginning, decoding each record as every consumer
does (the envelope and the payload by their contract classes) and COPYing the rows the views'
handlers write into the same tables of a second migrated database (no inbox, no handler, no
transaction beyond COPY's). Both end with the same rows. Goal: rebuild >= 0.5 x bare.
"""

import asyncio
import io
import json
import os
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from bench.common import Rate, report
from laborcoop.common.kafka import ensure_topics
from laborcoop.contracts import topics
from laborcoop.contracts.agreements import AgreementDrafted, Party, Target, Terms
from laborcoop.contracts.brands import BrandRegistered
from laborcoop.contracts.codes import (
    AgreementKind,
    Availability,
    BrandCategory,
    DemandKind,
    PartyRole,
    PlacementStatus,
)
from laborcoop.contracts.envelope import CloudEvent
from laborcoop.contracts.events import EventPayload, new_event, spec_for
from laborcoop.contracts.placements import DemandPosted, PlacementProposed, WorkerRegistered
from laborcoop.gateway.app import SPEC
from laborcoop.gateway.projections import BRAND_VIEW
from laborcoop.gateway.settings import GatewaySettings
from laborcoop.gateway.views.projections import agreement_row
from laborcoop.gateway.views.rebuild import TABLES, rebuild_views
from laborcoop.testing import Stack, settings_for
from laborcoop.testing.databases import Databases

N = int(os.environ.get("BENCH_REBUILD_EVENTS", "1000000"))
HUNAN, GUANGDONG = "430000", "440000"
TEMPLATE = UUID(int=0xFEED_FACE)
"""The subject of each kind's template event, replaced by a new id in each copy."""
WHEN = datetime(2025, 3, 1, 2, tzinfo=UTC)


def _agreement(subject: UUID) -> EventPayload:
    terms = Terms(
        title="湘粤劳务协作",
        kind=AgreementKind.BILATERAL,
        parties=(
            Party(province=HUNAN, role=PartyRole.SENDING),
            Party(province=GUANGDONG, role=PartyRole.RECEIVING),
        ),
        initiator=HUNAN,
        targets=(
            Target(period="2025", origin=HUNAN, destination=GUANGDONG, workers_transferred=100),
        ),
        linked_brands=(UUID(int=0xB1),),
        effective_from=date(2025, 1, 1),
        effective_to=date(2027, 12, 31),
    )
    return AgreementDrafted(agreement_id=subject, revision=1, terms=terms)


KINDS: list[tuple[int, Callable[[UUID], EventPayload]]] = [
    (
        10,
        lambda s: BrandRegistered(
            brand_id=s, name="安化黑茶茶艺师", province=HUNAN, category=BrandCategory.SKILLED_TRADES
        ),
    ),
    (5, _agreement),
    (
        15,
        lambda s: DemandPosted(
            demand_id=s,
            province=GUANGDONG,
            kind=DemandKind.PLACEMENT,
            employer_name="某物业服务有限公司",
            employer_credit_code="91350100M000100Y43",
            occupation="4-10-01-01",
            headcount=5,
            wage_min=6000,
            wage_max=9000,
            city_code="440300",
            start_date=date(2025, 4, 1),
        ),
    ),
    (
        35,
        lambda s: WorkerRegistered(
            worker_id=s,
            origin=HUNAN,
            occupations=("4-10-01-01",),
            brand_id=UUID(int=0xB1),
            availability=Availability.AVAILABLE,
        ),
    ),
    (
        35,
        lambda s: PlacementProposed(
            placement_id=s,
            worker_id=UUID(int=0x1001),
            demand_id=UUID(int=0xD1),
            origin=HUNAN,
            destination=GUANGDONG,
            agreement_id=UUID(int=0xA1),
            brand_id=UUID(int=0xB1),
            status=PlacementStatus.PROPOSED,
            occupation="4-10-01-01",
        ),
    ),
]
"""Each kind's share of the events (percent) and its creating payload for a subject."""


def _events(count: int) -> Iterator[tuple[str, bytes, bytes]]:
    """``count`` events as (topic, key, value): each kind's template copied with a new subject
    (which is also the payload's id) and a new event id."""
    for share, make in KINDS:
        event = new_event(
            make(TEMPLATE), subject=str(TEMPLATE), version=1, provinces=[HUNAN], time=WHEN
        )
        spec = spec_for(event.type)
        assert spec is not None
        template, subject, event_id = event.to_json_bytes(), str(TEMPLATE).encode(), event.id
        for _ in range(count * share // 100):
            new = str(uuid4()).encode()
            value = template.replace(subject, new).replace(event_id.encode(), uuid4().hex.encode())
            yield spec.topic, new, value


async def _produce(settings: GatewaySettings, count: int) -> int:
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        linger_ms=50,
        max_batch_size=512 * 1024,
        acks=1,
        enable_idempotence=False,
    )
    await producer.start()
    partitions = settings.topic_partitions
    sent = 0
    try:
        batches: dict[tuple[str, int], Any] = {}
        pending: list[asyncio.Future[Any]] = []
        for n, (topic, key, value) in enumerate(_events(count)):
            where = (settings.topic(topic), n % partitions)
            batch = batches.setdefault(where, producer.create_batch())
            if batch.append(key=key, value=value, timestamp=None) is None:
                pending.append(await producer.send_batch(batch, where[0], partition=where[1]))
                batch = batches[where] = producer.create_batch()
                batch.append(key=key, value=value, timestamp=None)
            sent += 1
            if len(pending) > 64:
                await asyncio.gather(*pending)
                pending.clear()
        for (topic, partition), batch in batches.items():
            if batch.record_count():
                pending.append(await producer.send_batch(batch, topic, partition=partition))
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return sent


# -- the bare consumer --------------------------------------------------------------------------

COLUMNS: dict[str, tuple[str, ...]] = {
    "brand_view": ("brand_id", *BRAND_VIEW.keeps, "version", "updated_at"),
    "agreement_view": (
        "agreement_id",
        "status",
        "kind",
        "title",
        "initiator",
        "parties",
        "areas",
        "linked_brands",
        "target_corridors",
        "corridors",
        "effective_from",
        "effective_to",
        "revision",
        "terms",
        "version",
        "created_at",
        "updated_at",
    ),
    "demand_view": (
        "demand_id",
        "province",
        "kind",
        "status",
        "employer_name",
        "employer_credit_code",
        "occupation",
        "headcount",
        "wage_min",
        "wage_max",
        "city_code",
        "start_date",
        "end_date",
        "preferred_brands",
        "version",
        "created_at",
        "updated_at",
    ),
    "worker_view": ("worker_id", "origin", "availability", "brand_id", "version", "updated_at"),
    "placement_view": (
        "placement_id",
        "worker_id",
        "demand_id",
        "origin",
        "destination",
        "agreement_id",
        "brand_id",
        "occupation",
        "beyond_target",
        "status",
        "proposed_at",
        "version",
        "updated_at",
    ),
}


def _row(event: CloudEvent, payload: EventPayload) -> tuple[str, tuple[Any, ...]]:
    """The row the views' handler writes for ``event``, for COPY."""
    s, v, t = UUID(event.subject), event.version, event.time
    match payload:
        case BrandRegistered():
            kept = BRAND_VIEW.kept(payload)
            return "brand_view", (s, *(kept.get(c) for c in BRAND_VIEW.keeps), v, t)
        case AgreementDrafted():
            row = agreement_row(event, payload.copy_change())
            terms_json = json.dumps(row[13], ensure_ascii=False)
            return "agreement_view", (UUID(event.subject), *row[1:13], terms_json, v, t, t)
        case DemandPosted():
            d = payload
            return "demand_view", (
                s,
                d.province,
                d.kind.value,
                "open",
                d.employer_name,
                d.employer_credit_code,
                d.occupation,
                d.headcount,
                d.wage_min,
                d.wage_max,
                d.city_code,
                d.start_date,
                d.end_date,
                list(d.preferred_brands),
                v,
                t,
                t,
            )
        case WorkerRegistered():
            w = payload
            return "worker_view", (s, w.origin, w.availability.value, w.brand_id, v, t)
        case PlacementProposed():
            p = payload
            return "placement_view", (
                s,
                p.worker_id,
                p.demand_id,
                p.origin,
                p.destination,
                p.agreement_id,
                p.brand_id,
                p.occupation,
                p.beyond_target,
                p.status.value,
                t,
                v,
                t,
            )
    raise ValueError(event.type)


async def _bare(settings: GatewaySettings, dsn: str) -> int:
    """Every record of the views' topics from the beginning, COPYed as rows: how many."""
    conn = await asyncpg.connect(dsn)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=None,
        enable_auto_commit=False,
        isolation_level="read_committed",
    )
    await consumer.start()
    count = 0
    try:
        names = sorted({settings.topic(_topic_of(make(TEMPLATE).event_type)) for _, make in KINDS})
        partitions = [TopicPartition(n, p) for n in names for p in range(settings.topic_partitions)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        behind = {p for p in partitions if ends[p] > 0}
        while behind:
            batch = await consumer.getmany(*behind, timeout_ms=500, max_records=5000)
            rows: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
            for records in batch.values():
                for record in records:
                    event = CloudEvent.from_json_bytes(record.value or b"")
                    spec = spec_for(event.type)
                    assert spec is not None
                    table, row = _row(event, spec.payload.model_validate(event.data))
                    rows[table].append(row)
                    count += 1
            for table, records_of in rows.items():
                await conn.copy_records_to_table(table, records=records_of, columns=COLUMNS[table])
            behind = {p for p in behind if await consumer.position(p) < ends[p]}
    finally:
        await consumer.stop()
        await conn.close()
    return count


def _topic_of(event_type: str) -> str:
    spec = spec_for(event_type)
    assert spec is not None
    return spec.topic


async def _counts(dsn: str) -> dict[str, int]:
    conn = await asyncpg.connect(dsn)
    try:
        return {t: await conn.fetchval(f"SELECT count(*) FROM {t}") for t in TABLES}
    finally:
        await conn.close()


async def _delete_topics(settings: GatewaySettings) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        await admin.delete_topics([settings.topic(t) for t in topics.ALL])
    finally:
        await admin.close()


async def run(stack: Stack) -> bool:
    databases = Databases(stack)
    try:
        rebuilt_dsn = await databases.fresh(SPEC.migration_package)
        bare_dsn = await databases.fresh(SPEC.migration_package)
        settings = settings_for(
            GatewaySettings, stack, database_url=rebuilt_dsn, topic_prefix=f"b{uuid4().hex[:8]}."
        )
        try:
            await ensure_topics(settings, topics.ALL)
            produced = await _produce(settings, N)
            outcome = await rebuild_views(settings, progress=io.StringIO())
            rebuilt = Rate("rebuild-views (read, index, swap)", outcome.records, outcome.seconds)
            loop = asyncio.get_running_loop()
            started = loop.time()
            copied = await _bare(settings, bare_dsn)
            bare = Rate("bare aiokafka consumer + COPY", copied, loop.time() - started)
        finally:
            await _delete_topics(settings)
        rebuilt_rows, bare_rows = await _counts(rebuilt_dsn), await _counts(bare_dsn)
    finally:
        await databases.drop_all()
    assert outcome.tally.applied == produced == copied, (outcome.tally.line(), produced, copied)
    assert rebuilt_rows == bare_rows, (rebuilt_rows, bare_rows)
    return report(f"bench/rebuild: {produced} events", rebuilt, bare, 0.5)

"""bench/gateway_read: ``GET /v1/provinces/{code}/overview`` through the gateway against a bare
FastAPI + asyncpg endpoint running the same SQL on the same data, in the same run.

The data is the demo's volume or more (``BENCH_READ_SCALE`` multiplies it): brands with their
indicators, agreements between a handful of provinces, workers, demands and placements, written
straight into the projection tables of a scratch gateway database migrated with the gateway's
own migrations (what the consumers would have built; the views read nothing else).

The gateway runs as its ``serve`` process (uvicorn, one worker, workers off: nothing is
published, so its consumers would only idle) and answers a province's token with everything its
view path does: authentication, the viewer's rules, the snapshot, the models, the response.
The baseline is this module run as ``python -m bench.gateway_read PORT DSN``: one FastAPI route,
an asyncpg pool, and the SQL the gateway runs, taken from ``views.repository`` (not copied), in
the same read-only snapshot, its rows returned as they are. The ratio is what the view path costs
beyond its queries (goal ≥ 0.8).

Both are driven by the same lean HTTP/1.1 client (``CONCURRENCY`` kept-alive connections) in
rounds that alternate which goes first, as bench/gateway_forward, in two phases: the projections
still (the gateway answers a repeated overview from ``views.service.Answers``, kept by database
snapshot), then written every ``WRITE_EVERY_S`` (each write a new snapshot: most overviews are
read afresh). Each phase has its ratio.
"""

import asyncio
import json
import os
import random
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, suppress
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final
from uuid import uuid4

import asyncpg
import uvicorn
from fastapi import FastAPI, Request

from bench.common import Latencies, free_port, load, scratch_database, served
from laborcoop.common.db import Connection
from laborcoop.contracts.agreements import Party, Target, Terms
from laborcoop.contracts.codes import (
    AgreementKind,
    AgreementStatus,
    Availability,
    BrandCategory,
    CooperationArea,
    PartyRole,
    PlacementStatus,
    ReturnPath,
)
from laborcoop.contracts.corridors import corridors_of
from laborcoop.gateway.identity.keys import SigningKeys, new_key_entry
from laborcoop.gateway.views import repository
from laborcoop.gateway.views.repository import PlacementSet
from laborcoop.gateway.views.service import BRANDS_SHOWN, EVERY_TOPIC
from laborcoop.testing import Stack

SCALE = int(os.environ.get("BENCH_READ_SCALE", "1"))
REQUESTS = int(os.environ.get("BENCH_READ_REQUESTS", "2400"))
CONCURRENCY = int(os.environ.get("BENCH_READ_CONCURRENCY", "16"))
ROUNDS = 8
WARMUP = 300
GOAL = 0.8
HUNAN = "430000"
TIMEZONE = "Asia/Shanghai"
PROVINCES = ["430000", "440000", "520000", "330000", "510000", "360000", "450000", "320000"]
"""Where the data lives: Hunan (the overview read) and the provinces it works with."""

BRANDS, AGREEMENTS, WORKERS, DEMANDS, PLACEMENTS = 100, 50, 3000, 200, 600
WRITE_EVERY_S = 0.005
"""How often the second phase writes to the projections (200 writes/s)."""


_COLUMN_NAMES: Final = {
    "brand_view": "brand_id name province category status level version updated_at",
    "brand_indicator_view": "brand_id period revision practitioners jobs_created people_trained"
    " labour_income_yuan output_value_yuan average_monthly_wage_yuan skilled_share satisfaction"
    " source version reported_at",
    "agreement_view": "agreement_id status kind title initiator parties areas linked_brands"
    " target_corridors corridors effective_from effective_to revision terms version created_at"
    " updated_at",
    "worker_view": "worker_id origin availability brand_id version updated_at",
    "demand_view": "demand_id province kind status employer_name employer_credit_code occupation"
    " headcount wage_min wage_max city_code start_date end_date preferred_brands closed_reason"
    " version created_at updated_at",
    "placement_view": "placement_id worker_id demand_id origin destination agreement_id brand_id"
    " occupation beyond_target status proposed_at accepted_at onboarded_on retained_3m_on"
    " retained_6m_on completed_on terminated_at returned_on end_reason follow_up follow_up_note"
    " version updated_at",
}
COLUMNS: Final = {table: names.split() for table, names in _COLUMN_NAMES.items()}
"""The columns the data fills, in the order of its rows (columns added later keep defaults)."""


# -- the data ------------------------------------------------------------------------------------


def _when(rng: random.Random) -> datetime:
    return datetime(2025, 1, 1, tzinfo=UTC) + timedelta(minutes=rng.randrange(600 * 24 * 60))


async def load_data(dsn: str, scale: int = SCALE) -> dict[str, int]:
    """The projection tables filled as the consumers would have (a fixed seed: every run reads
    the same data); returns how many rows of each."""
    rng = random.Random(20251129)
    now = datetime(2026, 11, 1, tzinfo=UTC)
    brands = [
        (uuid4(), f"品牌{n:04d}", rng.choice(PROVINCES), rng.choice(list(BrandCategory)))
        for n in range(BRANDS * scale)
    ]
    brand_rows = [
        (b, name, p, c.value, rng.choice(["registered", "recognised"]), None, 1, now)
        for b, name, p, c in brands
    ]
    indicator_rows = [
        (
            b,
            period,
            1,
            *(rng.randrange(10, 50000) for _ in range(4)),
            None,
            None,
            0.4,
            0.9,
            "survey",
            1,
            now,
        )
        for b, *_ in brands
        for period in ("2024", "2025")
    ]
    agreement_rows = []
    for n in range(AGREEMENTS * scale):
        parties = rng.sample(PROVINCES, rng.choice([2, 2, 3]))
        kind = AgreementKind.BILATERAL if len(parties) == 2 else AgreementKind.ALLIANCE
        terms = Terms(
            title=f"协议{n:03d}",
            kind=kind,
            parties=tuple(
                Party(province=p, role=PartyRole.SENDING if i == 0 else PartyRole.RECEIVING)
                for i, p in enumerate(parties)
            ),
            initiator=parties[0],
            areas=(CooperationArea.JOB_MATCHING,),
            targets=tuple(
                Target(period=period, origin=parties[0], destination=d, workers_transferred=100)
                for d in parties[1:]
                for period in ("2025", "2026-Q1", "2026-Q2")
            ),
            linked_brands=tuple(b for b, *_ in rng.sample(brands, 2)),
            effective_from=date(2025, 1, 1),
            effective_to=date(2027, 12, 31),
        )
        status = rng.choice([*[AgreementStatus.ACTIVE] * 3, *list(AgreementStatus)])
        agreement_rows.append(
            (
                uuid4(),
                status.value,
                kind.value,
                terms.title,
                terms.initiator,
                parties,
                ["job_matching"],
                list(terms.linked_brands),
                [f"{t.origin}>{t.destination}" for t in terms.targets],
                corridors_of(terms),
                terms.effective_from,
                terms.effective_to,
                1,
                terms.model_dump_json(),
                3,
                now,
                now,
            )
        )
    active = [r for r in agreement_rows if r[1] == "active"]
    workers = [
        (
            uuid4(),
            rng.choice(PROVINCES),
            rng.choice(list(Availability)).value,
            rng.choice([None, rng.choice(brands)[0]]),
            1,
            now,
        )
        for _ in range(WORKERS * scale)
    ]
    demands: list[tuple[Any, ...]] = [
        (
            uuid4(),
            rng.choice(PROVINCES),
            "placement",
            rng.choice(["open", "filled", "closed"]),
            "某公司",
            "91430000MA4L000000",
            "6-18-01-01",
            rng.randrange(1, 50),
            4000,
            8000,
            "430100",
            date(2026, 1, 1),
            None,
            [],
            None,
            1,
            now,
            now,
        )
        for _ in range(DEMANDS * scale)
    ]
    placement_rows = []
    for _ in range(PLACEMENTS * scale):
        worker = rng.choice(workers)
        demand = rng.choice(demands)
        step = rng.choice(list(PlacementStatus))
        proposed_at = _when(rng)
        onboarded = proposed_at.date() + timedelta(days=20)
        returned = step == PlacementStatus.RETURNED
        agreement = rng.choice([None, rng.choice(active)[0] if active else None])
        placement_rows.append(
            (
                uuid4(),
                worker[0],
                demand[0],
                worker[1],
                demand[1],
                agreement,
                worker[3],
                "6-18-01-01",
                False,
                step.value,
                proposed_at,
                proposed_at,
                onboarded if step not in ("proposed", "accepted", "declined") else None,
                None,
                None,
                None,
                None,
                onboarded + timedelta(days=200) if returned else None,
                None,
                rng.choice(list(ReturnPath)).value if returned else None,
                None,
                2,
                now,
            )
        )
    conn = await asyncpg.connect(dsn)
    try:
        tables: list[tuple[str, list[tuple[Any, ...]]]] = [
            ("brand_view", brand_rows),
            ("brand_indicator_view", indicator_rows),
            ("agreement_view", agreement_rows),
            ("worker_view", workers),
            ("demand_view", demands),
            ("placement_view", placement_rows),
        ]
        for table, rows in tables:
            await conn.copy_records_to_table(table, records=rows, columns=COLUMNS[table])
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return {
        "brands": len(brand_rows),
        "agreements": len(agreement_rows),
        "workers": len(workers),
        "demands": len(demands),
        "placements": len(placement_rows),
    }


# -- the baseline: FastAPI + asyncpg, the same SQL -----------------------------------------------


def bare_app(dsn: str) -> FastAPI:
    """The overview's SQL (the ``views.repository`` functions the gateway calls) in one
    read-only snapshot, the rows returned as they are; no authentication, rules or models."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.pool = await asyncpg.create_pool(dsn, min_size=2, max_size=10)
        yield
        await app.state.pool.close()

    app = FastAPI(lifespan=lifespan)

    @app.get("/v1/provinces/{code}/overview")
    async def overview(code: str, request: Request) -> dict[str, Any]:
        pool: asyncpg.Pool[asyncpg.Record] = request.app.state.pool
        async with (
            pool.acquire() as conn,
            conn.transaction(isolation="repeatable_read", readonly=True),
        ):
            return await _overview_rows(conn, code)

    return app


async def _overview_rows(conn: Connection, code: str) -> dict[str, Any]:
    """The overview's queries in the order ``Views.province_overview`` runs them (as a
    province's own overview), each answer as the rows came."""
    out, into = PlacementSet(origin=code), PlacementSet(destination=code)
    either = PlacementSet(either=code)
    freshness = await repository.freshness(conn, sorted(EVERY_TOPIC))
    active = await repository.active_agreements_of(conn, code)
    answer: dict[str, Any] = {
        "brands_total": await repository.brands_of(conn, code),
        "brands": await repository.brands_with_latest(conn, code, BRANDS_SHOWN),
        "agreements": await repository.agreement_counts(conn, party=code, drafts_of=code),
        "outbound": await repository.placements_by_status(conn, out),
        "outbound_months": await repository.placements_by_month(conn, out, TIMEZONE),
        "inbound": await repository.placements_by_status(conn, into),
        "inbound_months": await repository.placements_by_month(conn, into, TIMEZONE),
        "workers": await repository.workers_by_availability(conn, origin=code),
        "top_corridors": await repository.top_corridors(conn, either),
        "top_brands": await repository.top_brands(conn, either),
        "active": active,
        "counted": await repository.counted_against(
            conn, [r["agreement_id"] for r in active], TIMEZONE
        ),
        "freshness": freshness,
    }
    return {k: [dict(r) for r in v] if isinstance(v, list) else v for k, v in answer.items()}


# -- the run -------------------------------------------------------------------------------------


def _gets(port: int, path: str, token: str | None, count: int) -> Iterator[bytes]:
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{auth}\r\n".encode()
    for _ in range(count):
        yield request


def _report(
    still: tuple[Latencies, Latencies],
    changing: tuple[Latencies, Latencies],
    volume: dict[str, int],
) -> bool:
    rows = ", ".join(f"{n} {name}" for name, n in volume.items())
    print(
        f"bench/gateway_read: GET /v1/provinces/{HUNAN}/overview, {REQUESTS} each way per phase, "
        f"{CONCURRENCY} concurrent, {ROUNDS} alternating rounds; {rows}"
    )
    met = True
    for title, (bare, gateway) in [
        ("projections still", still),
        (f"projections written every {WRITE_EVERY_S * 1000:.0f} ms", changing),
    ]:
        ratio = gateway.rate.per_second / bare.rate.per_second
        met = met and ratio >= GOAL
        print(f"  {title}:")
        print(bare.line())
        print(gateway.line())
        verdict = "meets" if ratio >= GOAL else "MISSES"
        print(f"  ratio {ratio:.2f} (goal >= {GOAL}) {verdict} the goal")
    print(f"  load average (1, 5, 15 min): {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    return met


async def run(stack: Stack) -> bool:
    entry = new_key_entry("bench-1")
    keys = SigningKeys.parse(entry, None, issuer="laborcoop", audience="laborcoop")
    token = keys.signer.sign("bench", province=HUNAN, roles=["province"], ttl_s=3600)
    path = f"/v1/provinces/{HUNAN}/overview"
    async with scratch_database(stack, "laborcoop.gateway.migrations") as dsn:
        volume = await load_data(dsn)
        gateway_port, bare_port = free_port(), free_port()
        gateway_env = {
            "LABORCOOP_ENVIRONMENT": "test",
            "LABORCOOP_KAFKA_BOOTSTRAP": stack.kafka_bootstrap,
            "LABORCOOP_RUN_WORKERS": "false",
            "LABORCOOP_LOG_LEVEL": "WARNING",
            "LABORCOOP_TIMEZONE": TIMEZONE,
            "LABORCOOP_GATEWAY_DATABASE_URL": dsn,
            "LABORCOOP_TOKEN_SIGNING_KEYS": entry,
            # one client sends every request: the per-client rate limit would answer 429
            "LABORCOOP_CLIENT_RATE_PER_S": "1000000",
            "LABORCOOP_CLIENT_RATE_BURST": "1000000",
        }
        gateway_cmd = ["laborcoop-gateway", "serve", "--port", str(gateway_port)]
        bare_cmd = [sys.executable, "-m", "bench.gateway_read", str(bare_port), dsn]
        async with (
            served(gateway_cmd, gateway_env, gateway_port),
            served(bare_cmd, {}, bare_port),
        ):
            for port, auth in [(bare_port, None), (gateway_port, token)]:
                await _check(port, path, auth)
                warm = Latencies("warm-up")
                requests = _gets(port, path, auth, WARMUP)
                await load(port, requests, CONCURRENCY, expect=200, into=warm)
            still = await _compare(path, (bare_port, gateway_port), token)
            async with _writing(dsn):
                changing = await _compare(path, (bare_port, gateway_port), token)
    return _report(still, changing, volume)


async def _compare(path: str, ports: tuple[int, int], token: str) -> tuple[Latencies, Latencies]:
    """``REQUESTS`` overviews from each, in alternating rounds."""
    bare = Latencies("bare FastAPI + asyncpg, same SQL")
    gateway = Latencies("through the gateway")
    targets = [(bare, ports[0], None), (gateway, ports[1], token)]
    share = REQUESTS // ROUNDS
    for round_ in range(ROUNDS):
        order = targets if round_ % 4 in {0, 3} else targets[::-1]
        for into, port, auth in order:
            await load(port, _gets(port, path, auth, share), CONCURRENCY, expect=200, into=into)
    return bare, gateway


@asynccontextmanager
async def _writing(dsn: str) -> AsyncIterator[None]:
    """A write to the projections every ``WRITE_EVERY_S`` while the block runs (what the lag
    probe and the consumers do): each one is a new snapshot, so the gateway's held answers
    stop serving and most overviews are read afresh."""

    async def write() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            while True:
                await conn.execute(
                    """INSERT INTO view_lag (topic, consumer_group, lag, measured_at)
                       VALUES ('bench', 'bench', 0, now())
                       ON CONFLICT (topic) DO UPDATE SET measured_at = now()"""
                )
                await asyncio.sleep(WRITE_EVERY_S)
        finally:
            await conn.close()

    writer = asyncio.create_task(write())
    try:
        yield
    finally:
        writer.cancel()
        with suppress(asyncio.CancelledError):
            await writer


async def _check(port: int, path: str, token: str | None) -> None:
    """Both answer the overview with data (not an empty province)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        auth = f"Authorization: Bearer {token}\r\n" if token else ""
        writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\n{auth}Connection: close\r\n\r\n".encode())
        answer = await reader.read()
    finally:
        writer.close()
    body = json.loads(answer.partition(b"\r\n\r\n")[2] or b"{}")
    if not answer.startswith(b"HTTP/1.1 200") or not body.get("brands"):
        raise RuntimeError(f"port {port} did not answer the overview: {answer[:300]!r}")


if __name__ == "__main__":
    if len(sys.argv) == 3:
        uvicorn.run(
            bare_app(sys.argv[2]),
            host="127.0.0.1",
            port=int(sys.argv[1]),
            log_level="warning",
            access_log=False,
        )
    else:
        sys.exit(0 if asyncio.run(run(Stack.from_env())) else 1)

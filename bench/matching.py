"""bench/matching: one demand matched over 1,000,000 workers, through the API, against the bare
candidate query.

A scratch database gets 1,000,000 workers by ``COPY`` (the sealed columns hold placeholders:
matching never opens them; the blind index is unique bytes), spread over the 31 provinces, 60 %
of them available, with one or two occupations each drawn from 400 codes in 40 groups with a
Zipf-like skew (the most common one is held by ~9 % of the workers). One active agreement in
``agreement_copy`` covers six origins towards Shanghai, whose open demand asks for the most
common occupation: the most candidates, the worst case.

``laborcoop-placements serve`` runs as its own process (uvicorn, one worker, no background
work); this process sends ``GET /v1/demands/{id}/matches`` one request at a time over a
kept-alive connection and, in alternating rounds of the same run, the bare candidate query (the
tiers the service runs, with the same arguments, prepared) on a plain connection. Goals: the
API's p99 at most 50 ms, and at most 2 × the bare query's p99 (the p50s' ratio is shown too).
"""

import asyncio
import json
import os
import random
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from statistics import quantiles
from typing import Any
from uuid import UUID, uuid4

import asyncpg

from bench.common import free_port, scratch_database, served
from laborcoop.common.auth import TokenSigner
from laborcoop.contracts.corridors import corridor
from laborcoop.contracts.provinces import PROVINCES
from laborcoop.placements.matching import repository
from laborcoop.placements.matching.ranking import Opening
from laborcoop.placements.protection import Keyring
from laborcoop.testing import Stack

WORKERS = int(os.environ.get("BENCH_MATCHING_WORKERS", "1000000"))
REQUESTS = int(os.environ.get("BENCH_MATCHING_REQUESTS", "500"))
WARMUP = 50
ROUNDS = 10
CANDIDATES = 200
LIMIT = 20
P99_GOAL_MS = 50.0
RATIO_GOAL = 2.0
SHANGHAI = "310000"
COVERED = ["360000", "430000", "450000", "510000", "520000", "530000"]
BRANDS = [UUID(int=b + 1) for b in range(50)]
# 400 occupations: 40 groups (d-dd) of 10 codes, each group over two minor groups (d-dd-dd).
OCCUPATIONS = [
    f"{1 + g // 10}-{g % 10 + 1:02d}-{c // 5 + 1:02d}-{c % 5 + 1:02d}"
    for g in range(40)
    for c in range(10)
]
WEIGHTS = [1 / (rank + 1) ** 0.8 for rank in range(len(OCCUPATIONS))]
COLUMNS = [
    "id", "origin", "county", "sex", "birth_year", "name", "resident_id", "phone",
    "poverty_alleviation", "id_index", "education", "occupations", "certificates", "brand_id",
    "wage_min", "wage_max", "availability", "consents", "sealed_with", "version", "created_at",
    "updated_at",
]  # fmt: skip
SEALED = "k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
CERTIFICATE = json.dumps(
    [{"kind": "vocational_skill", "name": "电工", "level": 3, "issuer": "人社厅", "year": 2021}],
    ensure_ascii=False,
)
AVAILABILITY = ("available", "available", "available", "placed", "unavailable")


def _workers(count: int) -> Iterator[tuple[Any, ...]]:
    """The rows of ``count`` workers (seeded: every run loads the same people)."""
    rng = random.Random(2024)
    provinces = sorted(PROVINCES)
    now = datetime.now(UTC)
    for n in range(count):
        origin = provinces[n % len(provinces)]
        codes = rng.choices(OCCUPATIONS, WEIGHTS, k=1 if n % 3 else 2)
        wage = 4000 + rng.randrange(6) * 1000 if n % 5 else None
        yield (
            uuid4(),
            origin,
            origin[:2] + "0102",
            "male" if n % 2 else "female",
            1970 + n % 35,
            SEALED,
            SEALED,
            SEALED,
            SEALED,
            n.to_bytes(8, "big"),
            "junior_secondary",
            sorted(set(codes)),
            CERTIFICATE if n % 10 < 3 else "[]",
            BRANDS[n // 10 % 50] if n % 10 == 0 else None,
            wage,
            wage + 3000 if wage is not None else None,
            AVAILABILITY[rng.randrange(5)],
            "[]",
            "k1",
            1,
            now,
            now,
        )


def _terms() -> str:
    parties = [{"province": p, "role": "sending"} for p in COVERED]
    return json.dumps(
        {
            "title": "十省区劳务协作（基准）",
            "kind": "regional",
            "parties": [*parties, {"province": SHANGHAI, "role": "receiving"}],
            "initiator": SHANGHAI,
            "targets": [
                {
                    "period": "2025",
                    "origin": p,
                    "destination": SHANGHAI,
                    "workers_transferred": 5000,
                }
                for p in COVERED
            ],
            "effective_from": "2025-01-01",
        },
        ensure_ascii=False,
    )


async def _load(dsn: str) -> tuple[Opening, int, float]:
    """The workers, the agreement and the demand; the demand, its exact candidates and the
    seconds the load took."""
    started = time.perf_counter()
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SET maintenance_work_mem = '512MB'")
        await conn.copy_records_to_table("workers", records=_workers(WORKERS), columns=COLUMNS)
        await conn.execute(
            """INSERT INTO agreement_copy
                   (agreement_id, status, kind, revision, terms, corridors, version, updated_at)
               VALUES ($1, 'active', 'regional', 1, $2, $3, 5, now())""",
            uuid4(),
            _terms(),
            [corridor(p, SHANGHAI) for p in COVERED],
        )
        opening = Opening(
            demand_id=uuid4(),
            province=SHANGHAI,
            city_code="310115",
            occupation=OCCUPATIONS[0],
            wage_min=6000,
            wage_max=9000,
            preferred_brands=frozenset(BRANDS[:2]),
            employer_name="上海某制造有限公司",
            headcount=50,
        )
        await conn.execute(
            """INSERT INTO demands (id, province, kind, status, employer_name,
                   employer_credit_code, occupation, headcount, wage_min, wage_max, city_code,
                   start_date, open_until, preferred_brands, version, created_at, updated_at)
               VALUES ($1, $2, 'placement', 'open', $3, '91310115MA1K4QXX3L', $4, $5, $6, $7,
                       $8, $9, $10, $11, 1, now(), now())""",
            opening.demand_id,
            opening.province,
            opening.employer_name,
            opening.occupation,
            opening.headcount,
            opening.wage_min,
            opening.wage_max,
            opening.city_code,
            date(2025, 4, 1),
            date(2025, 6, 1),
            list(opening.preferred_brands),
        )
        await conn.execute("VACUUM ANALYZE")
        exact = await conn.fetchval(
            """SELECT count(*) FROM workers WHERE availability = 'available'
               AND origin = ANY($1::bpchar[]) AND $2 = ANY(occupations)""",
            COVERED,
            opening.occupation,
        )
    finally:
        await conn.close()
    return opening, exact, time.perf_counter() - started


@dataclass(frozen=True)
class Latency:
    label: str
    millis: list[float]

    @property
    def p50(self) -> float:
        return quantiles(self.millis, n=100)[49]

    @property
    def p99(self) -> float:
        return quantiles(self.millis, n=100)[98]

    def line(self) -> str:
        count = f"{len(self.millis)} runs"
        return f"  {self.label:<42} p50 {self.p50:6.2f} ms  p99 {self.p99:6.2f} ms  ({count})"


Once = Callable[[], Awaitable[None]]


async def _interleaved(api: Once, bare: Once) -> tuple[Latency, Latency]:
    """Both timed one request at a time, in alternating rounds, so that whatever else the
    machine does weighs on both alike."""
    for _ in range(WARMUP):
        await api()
        await bare()
    times: dict[str, list[float]] = {"api": [], "bare": []}
    per_round = max(1, REQUESTS // ROUNDS)
    for _ in range(ROUNDS):
        for name, once in (("api", api), ("bare", bare)):
            for _ in range(per_round):
                started = time.perf_counter()
                await once()
                times[name].append((time.perf_counter() - started) * 1000)
    return (
        Latency("API GET /v1/demands/{id}/matches", times["api"]),
        Latency("bare candidate SQL (asyncpg)", times["bare"]),
    )


def _bare(conn: "asyncpg.Connection[Any]", opening: Opening) -> Once:
    """The candidate query alone, as the service runs it (its tiers, prepared, same arguments)."""

    async def once() -> None:
        sql, args = repository.workers_query(opening, COVERED, exact=True, limit=CANDIDATES)
        found = await conn.fetch(sql, *args)
        if len(found) < CANDIDATES:
            sql, args = repository.workers_query(opening, COVERED, exact=False, limit=CANDIDATES)
            await conn.fetch(sql, *args)

    return once


async def _get(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> bytes:
    """One GET on a kept-alive connection; the body, refused unless the status is 200."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    body = await reader.readexactly(length)
    if head[9:12] != b"200":
        raise RuntimeError(f"matching answered {head[9:12].decode()}: {body[:300]!r}")
    return body


@asynccontextmanager
async def _api(port: int, token: str, opening: Opening) -> AsyncIterator[Once]:
    """One kept-alive connection to the service, and a request for the demand's matches on it
    (its first answer checked)."""
    request = (
        f"GET /v1/demands/{opening.demand_id}/matches?limit={LIMIT} HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n\r\n"
    ).encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        answer = json.loads(await _get(reader, writer, request))
        if len(answer["matches"]) != LIMIT or answer["considered"] != CANDIDATES:
            raise RuntimeError(f"unexpected answer: {answer['considered']} considered")

        async def once() -> None:
            await _get(reader, writer, request)

        yield once
    finally:
        writer.close()


async def run(stack: Stack) -> bool:
    signer = TokenSigner.generate(key_id="bench-1")
    token = signer.sign("bench", province=SHANGHAI, roles=["province"], ttl_s=3600)
    ring = Keyring.generate("k1")
    with tempfile.TemporaryDirectory() as keys:
        jwks = Path(keys) / "jwks.json"
        jwks.write_text(json.dumps(signer.jwks()))
        async with scratch_database(stack, "laborcoop.placements.migrations") as dsn:
            opening, exact, loading = await _load(dsn)
            port = free_port()
            env = {
                "LABORCOOP_PLACEMENTS_DATABASE_URL": dsn,
                "LABORCOOP_JWKS_FILE": str(jwks),
                "LABORCOOP_RUN_WORKERS": "false",
                "LABORCOOP_LOG_LEVEL": "WARNING",
                "LABORCOOP_KAFKA_BOOTSTRAP": stack.kafka_bootstrap,
                "LABORCOOP_MATCHING_CANDIDATES": str(CANDIDATES),
                **ring.render_settings(),
            }
            command = ["laborcoop-placements", "serve", "--port", str(port)]
            conn = await asyncpg.connect(dsn)
            try:
                async with served(command, env, port), _api(port, token, opening) as api:
                    timed_api, bare = await _interleaved(api, _bare(conn, opening))
            finally:
                await conn.close()
    print(
        f"bench/matching: one demand over {WORKERS:,} workers ({len(COVERED)} origins covered, "
        f"{exact:,} available with the exact occupation; loaded in {loading:.0f} s)"
    )
    print(timed_api.line())
    print(bare.line())
    fast = timed_api.p99 <= P99_GOAL_MS
    print(f"  p99 {timed_api.p99:.2f} ms (goal <= {P99_GOAL_MS:.0f} ms) {_verdict(fast)} the goal")
    ratio = timed_api.p99 / bare.p99
    close = ratio <= RATIO_GOAL
    print(f"  p50 ratio {timed_api.p50 / bare.p50:.2f} (for information)")
    print(f"  ratio {ratio:.2f} of the p99s (goal <= {RATIO_GOAL}) {_verdict(close)} the goal")
    return fast and close


def _verdict(met: bool) -> str:
    return "meets" if met else "MISSES"

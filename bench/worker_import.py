"""bench/worker_import: bulk import of workers against a bare COPY of the same rows, same run.

100,000 fictional workers (valid ID numbers from ``make_resident_id``) sent as one NDJSON body
to ``POST /v1/workers:import`` of the placements service, run by ``laborcoop-placements serve``
on its own scratch database with the relay off: per line the JSON decoding, validation, the
brand and county rules, four values sealed (AES-GCM) and the blind index (HMAC), the worker
row, its history and outbox rows. Baseline: the same workers' plaintext fields COPYed into a
plain table with no index, from rows already in memory (the least storing them costs). Goal:
the import >= 0.25 x the bare COPY.
"""

import json
import os
import tempfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Final

import httpx

from bench.common import Rate, free_port, report, scratch_database, served, timed
from laborcoop.common.auth import TokenSigner
from laborcoop.common.db import connect
from laborcoop.contracts.identifiers import make_resident_id
from laborcoop.placements.protection import Keyring
from laborcoop.testing import Stack

N = int(os.environ.get("BENCH_IMPORT_WORKERS", "100000"))
WARMUP: Final = 2000
HUNAN: Final = "430000"
COUNTIES: Final = ("430524", "430102", "430721", "431121")
NAMES: Final = ("张三丰", "李四海", "王小二", "赵敏", "陈家洛")
EDUCATION: Final = ("junior_secondary", "senior_secondary", "vocational", "college")
OCCUPATIONS: Final = (["6-04-01-01"], ["4-10-01-01", "4-03-02-01"], ["6-18-01-01"])

_BARE_TABLE: Final = """CREATE TABLE bare_workers (
    name text, resident_id text, phone text, poverty_alleviation boolean, education text,
    occupations text[], wage_min integer, wage_max integer)"""
_BARE_COLUMNS: Final = (
    "name",
    "resident_id",
    "phone",
    "poverty_alleviation",
    "education",
    "occupations",
    "wage_min",
    "wage_max",
)


def _workers(first: int, count: int) -> list[dict[str, Any]]:
    """``count`` distinct fictional workers of Hunan, numbered from ``first``."""
    workers = []
    for n in range(first, first + count):
        county = COUNTIES[n // 1_000_000 % len(COUNTIES)]
        born = date(1960, 1, 1) + timedelta(days=n // 1000 % 10_000)
        workers.append(
            {
                "name": NAMES[n % len(NAMES)],
                "resident_id": make_resident_id(county, born, n % 1000),
                "phone": f"139{n:08d}",
                "poverty_alleviation": n % 7 == 0,
                "education": EDUCATION[n % len(EDUCATION)],
                "occupations": OCCUPATIONS[n % len(OCCUPATIONS)],
                "wage_min": 4000 + n % 5 * 500,
                "wage_max": 8000 + n % 5 * 500,
            }
        )
    return workers


def _ndjson(workers: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(w, ensure_ascii=False).encode() + b"\n" for w in workers)


async def _import(client: httpx.AsyncClient, body: bytes, count: int) -> None:
    answer = await client.post(
        "/v1/workers:import", content=body, headers={"Content-Type": "application/x-ndjson"}
    )
    if answer.status_code != 200:
        raise RuntimeError(f"the import answered {answer.status_code}: {answer.text[:300]}")
    accepted = answer.json()["accepted"]
    if accepted != count:
        raise RuntimeError(f"the import accepted {accepted} of {count}: {answer.text[:300]}")


async def _service(stack: Stack, dsn: str, jwks: Path, token: str, body: bytes) -> Rate:
    port = free_port()
    env = {
        "LABORCOOP_PLACEMENTS_DATABASE_URL": dsn,
        "LABORCOOP_JWKS_FILE": str(jwks),
        "LABORCOOP_RUN_WORKERS": "false",
        "LABORCOOP_LOG_LEVEL": "WARNING",
        "LABORCOOP_KAFKA_BOOTSTRAP": stack.kafka_bootstrap,
        **Keyring.generate("k1").render_settings(),
    }
    command = ["laborcoop-placements", "serve", "--port", str(port)]
    async with (
        served(command, env, port) as base,
        httpx.AsyncClient(
            base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=600
        ) as client,
    ):
        await _import(client, _ndjson(_workers(10_000_000, WARMUP)), WARMUP)
        return await timed("POST /v1/workers:import", N, lambda: _import(client, body, N))


async def _bare(dsn: str, workers: list[dict[str, Any]]) -> Rate:
    rows = [tuple(w[c] for c in _BARE_COLUMNS) for w in workers]
    conn = await connect(dsn)
    try:
        await conn.execute(_BARE_TABLE)

        async def copy() -> None:
            await conn.copy_records_to_table("bare_workers", records=rows, columns=_BARE_COLUMNS)

        return await timed("bare COPY of the plaintext rows", N, copy)
    finally:
        await conn.close()


async def run(stack: Stack) -> bool:
    signer = TokenSigner.generate(key_id="bench-1")
    token = signer.sign("bench", province=HUNAN, roles=["province"], ttl_s=3600)
    workers = _workers(0, N)
    body = _ndjson(workers)
    with tempfile.TemporaryDirectory() as keys:
        jwks = Path(keys) / "jwks.json"
        jwks.write_text(json.dumps(signer.jwks()))
        async with (
            scratch_database(stack, "laborcoop.placements.migrations") as service_dsn,
            scratch_database(stack) as bare_dsn,
        ):
            imported = await _service(stack, service_dsn, jwks, token, body)
            bare = await _bare(bare_dsn, workers)
    title = f"bench/worker_import: {N} workers in one NDJSON body ({len(body) / 1e6:.1f} MB)"
    return report(title, imported, bare, 0.25)

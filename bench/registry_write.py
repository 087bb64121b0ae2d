"""bench/registry_write: brand registration throughput against two bare FastAPI+asyncpg apps.

The three servers run as separate uvicorn processes on 127.0.0.1, each on its own scratch
database; this process drives them with the same concurrent load of distinct brands. The
registry runs its full write path (token verification, validation, brand row, history, outbox,
NOTIFY) with the relay switched off. Baselines: a bare INSERT of the brand (goal ≥ 0.5, the
moonshot 0.7) and the registry's whole write by hand in a transaction, brand + history + outbox
rows (goal ≥ 0.85: what our framework costs beyond the work itself).
"""

import asyncio
import json
import os
import sys
import tempfile
from pathlib import Path

from bench.common import (
    Rate,
    exchange,
    free_port,
    post_request,
    report,
    report_ratio,
    scratch_database,
    served,
    timed,
)
from laborcoop.common.auth import TokenSigner
from laborcoop.testing import Stack

REQUESTS = int(os.environ.get("BENCH_WRITE_REQUESTS", "3000"))
CONCURRENCY = int(os.environ.get("BENCH_WRITE_CONCURRENCY", "32"))
WARMUP = 200
HUNAN = "430000"


async def _load(port: int, headers: dict[str, str], prefix: str, count: int) -> None:
    """``count`` registrations over CONCURRENCY kept-alive connections (a lean HTTP/1.1 client,
    so that the load generator is not what is measured)."""
    numbers = iter(range(count))

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for n in numbers:
                body = {
                    "name": f"{prefix}品牌{n:06d}",
                    "province": HUNAN,
                    "category": "skilled_trades",
                }
                status = await exchange(
                    reader, writer, post_request(port, "/v1/brands", headers, body)
                )
                if status != 201:
                    raise RuntimeError(f"registration answered {status}")
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(CONCURRENCY)))


async def _measure(label: str, port: int, headers: dict[str, str]) -> Rate:
    await _load(port, headers, "warm", WARMUP)
    return await timed(label, REQUESTS, lambda: _load(port, headers, "run", REQUESTS))


async def _bare(dsn: str, mode: str, label: str) -> Rate:
    port = free_port()
    async with served([sys.executable, "-m", "bench.bare_app", str(port), dsn, mode], {}, port):
        return await _measure(label, port, {})


async def run(stack: Stack) -> bool:
    signer = TokenSigner.generate(key_id="bench-1")
    token = signer.sign("bench", province=HUNAN, roles=["province"], ttl_s=3600)
    with tempfile.TemporaryDirectory() as keys:
        jwks = Path(keys) / "jwks.json"
        jwks.write_text(json.dumps(signer.jwks()))
        async with (
            scratch_database(stack, "laborcoop.registry.migrations") as registry_dsn,
            scratch_database(stack, "laborcoop.registry.migrations") as bare_dsn,
            scratch_database(stack, "laborcoop.registry.migrations") as whole_dsn,
        ):
            port = free_port()
            registry_env = {
                "LABORCOOP_REGISTRY_DATABASE_URL": registry_dsn,
                "LABORCOOP_JWKS_FILE": str(jwks),
                "LABORCOOP_RUN_WORKERS": "false",
                "LABORCOOP_LOG_LEVEL": "WARNING",
                "LABORCOOP_KAFKA_BOOTSTRAP": stack.kafka_bootstrap,
            }
            command = ["laborcoop-registry", "serve", "--port", str(port)]
            async with served(command, registry_env, port):
                full = await _measure(
                    "registry POST /v1/brands", port, {"Authorization": f"Bearer {token}"}
                )
            baseline = await _bare(bare_dsn, "insert", "bare FastAPI + asyncpg INSERT")
            whole = await _bare(whole_dsn, "transaction", "bare brand + history + outbox")
    title = f"bench/registry_write: {REQUESTS} registrations, {CONCURRENCY} concurrent"
    met = report(title, full, baseline, 0.5)
    return report_ratio(full, whole, 0.85, "against the whole write by hand") and met

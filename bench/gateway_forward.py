"""bench/gateway_forward: brand registrations through the gateway against the same registrations
straight to the registry, in the same run.

The registry and the gateway run as their own ``serve`` processes (uvicorn, one worker each) on
scratch databases and a topic prefix of their own, **with their background work on**: the
registry's outbox relay publishes every brand, and the gateway's projection consumer
(``gateway.projections``) builds ``brand_view`` from them — as on ``make run``. The gateway
verifies tokens with its own signing keys (``LABORCOOP_TOKEN_SIGNING_KEYS``), the registry with
their public halves (a JWKS file). The gateway's admission (its per-client rate limit and the
disabled clients) checks every request; the rate is set so high that the one client is never
held back: what is measured is the check's cost.

This process drives both with the same lean HTTP/1.1 client (asyncio streams, ``CONCURRENCY``
kept-alive connections) and the same distinct registrations, ``REQUESTS`` each way, in rounds
that alternate which target goes first (direct, gateway, gateway, direct, …) so that a drift of
the machine's load weighs on both alike. It prints both rates, p50 and p99, the ratio (goal
≥ 0.8: the gateway costs what a proxy costs), the load average, and how long the projection took
to hold every brand after the last answer.
"""

import asyncio
import os
import sys
import time
from collections.abc import Iterator

import asyncpg

from bench.common import Latencies, load, post_request, registry_behind_gateway
from laborcoop.testing import Stack

REQUESTS = int(os.environ.get("BENCH_FORWARD_REQUESTS", "2000"))
CONCURRENCY = int(os.environ.get("BENCH_FORWARD_CONCURRENCY", "32"))
ROUNDS = 8
WARMUP = 200
GOAL = 0.8
HUNAN = "430000"
PROJECTION_WAIT_S = 120.0


def _registrations(port: int, token: str, prefix: str, count: int) -> Iterator[bytes]:
    headers = {"Authorization": f"Bearer {token}"}
    for n in range(count):
        body = {"name": f"{prefix}品牌{n:06d}", "province": HUNAN, "category": "skilled_trades"}
        yield post_request(port, "/v1/brands", headers, body)


async def _projected(gateway_dsn: str, expected: int) -> float:
    """Seconds until ``brand_view`` holds ``expected`` brands (the projection caught up)."""
    conn = await asyncpg.connect(gateway_dsn)
    started = time.perf_counter()
    try:
        while await conn.fetchval("SELECT count(*) FROM brand_view") < expected:
            if time.perf_counter() - started > PROJECTION_WAIT_S:
                raise RuntimeError(f"the projection lacks brands after {PROJECTION_WAIT_S} s")
            await asyncio.sleep(0.1)
    finally:
        await conn.close()
    return time.perf_counter() - started


def _load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def _report(direct: Latencies, forwarded: Latencies, lag_s: float, loads: list[str]) -> bool:
    ratio = forwarded.rate.per_second / direct.rate.per_second
    met = ratio >= GOAL
    print(
        f"bench/gateway_forward: {REQUESTS} registrations each way, {CONCURRENCY} concurrent, "
        f"{ROUNDS} alternating rounds; relay and projection running"
    )
    print(direct.line())
    print(forwarded.line())
    print(f"  ratio {ratio:.2f} (goal >= {GOAL}) {'meets' if met else 'MISSES'} the goal")
    print(f"  projection held every brand {lag_s:.2f} s after the last answer")
    print(f"  load average (1, 5, 15 min): before {loads[0]}; after {loads[1]}")
    return met


async def run(stack: Stack) -> bool:
    loads = [_load_average()]
    async with registry_behind_gateway(stack) as pair:
        token, registry_port, gateway_port = pair.token, pair.registry_port, pair.gateway_port
        direct = Latencies("straight to the registry")
        forwarded = Latencies("through the gateway")
        targets = [(direct, registry_port), (forwarded, gateway_port)]
        for _, port in targets:
            warm = Latencies("warm-up")
            requests = _registrations(port, token, f"warm{port}", WARMUP)
            await load(port, requests, CONCURRENCY, expect=201, into=warm)
        share = REQUESTS // ROUNDS
        for round_ in range(ROUNDS):
            order = targets if round_ % 4 in {0, 3} else targets[::-1]
            for into, port in order:
                requests = _registrations(port, token, f"r{round_}p{port}", share)
                await load(port, requests, CONCURRENCY, expect=201, into=into)
        lag = await _projected(pair.gateway_dsn, 2 * (WARMUP + share * ROUNDS))
    loads.append(_load_average())
    return _report(direct, forwarded, lag, loads)


if __name__ == "__main__":
    sys.exit(0 if asyncio.run(run(Stack.from_env())) else 1)

"""The per-client rate limit of every gateway route: a token bucket per client id, or per source
address without a valid token; 429 problem+json with ``Retry-After`` past it; the probes and
metrics exempt. The buckets themselves first, on a clock of the test's."""

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY

from laborcoop.gateway.app import create_app
from laborcoop.gateway.limits import RateLimit
from laborcoop.gateway.settings import GatewaySettings
from laborcoop.testing import FreshApps, Tokens
from services.gateway.tests.conftest import HUNAN

BURST = 3
RATE_PER_S = 0.5  # a token back every 2 s: no test waits that long by accident


class Ticks:
    """A clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ticks() -> Ticks:
    return Ticks()


def test_a_caller_gets_its_burst_then_waits_for_the_refill(ticks: Ticks) -> None:
    limit = RateLimit(RATE_PER_S, BURST, clock=ticks)
    assert [limit.take("a") for _ in range(BURST)] == [None] * BURST
    assert limit.take("a") == 2  # one token back in 1 / 0.5 s
    ticks.now += 1.0
    assert limit.take("a") == 1  # half a token back: one more second
    ticks.now += 1.0
    assert limit.take("a") is None
    assert limit.take("a") == 2


def test_callers_have_buckets_of_their_own(ticks: Ticks) -> None:
    limit = RateLimit(RATE_PER_S, 1, clock=ticks)
    assert limit.take("a") is None
    assert limit.take("a") is not None
    assert limit.take("b") is None


def test_an_idle_bucket_refills_up_to_the_burst_only(ticks: Ticks) -> None:
    limit = RateLimit(RATE_PER_S, BURST, clock=ticks)
    assert limit.take("a") is None
    ticks.now += 3600.0
    assert [limit.take("a") for _ in range(BURST + 1)] == [None, None, None, 2]


def test_refilled_buckets_make_room_for_new_callers(ticks: Ticks) -> None:
    limit = RateLimit(RATE_PER_S, 1, clock=ticks, max_callers=2)
    assert limit.take("a") is None
    ticks.now += 2.0  # "a" has refilled: forgetting it changes nothing for it
    assert limit.take("b") is None
    assert limit.take("c") is None  # the bound is reached: "a" is forgotten, "b" kept
    assert len(limit) == 2
    assert limit.take("b") is not None  # still held back
    assert limit.take("a") is None


def test_a_flood_of_new_callers_keeps_the_newer_half_within_the_bound(ticks: Ticks) -> None:
    limit = RateLimit(RATE_PER_S, 1, clock=ticks, max_callers=4)
    for caller in "abcd":
        assert limit.take(caller) is None
    assert limit.take("e") is None  # none has refilled: "a" and "b", the older half, go
    assert len(limit) == 3
    assert [limit.take(caller) is None for caller in "cde"] == [False, False, False]
    assert limit.take("a") is None  # forgotten: a full bucket again


# -- through the gateway ---------------------------------------------------------------------


@pytest.fixture
async def limited(fresh_apps: FreshApps, tokens: Tokens) -> AsyncIterator[httpx.AsyncClient]:
    """A gateway whose clients get ``BURST`` requests (no background work; the tests' keys)."""
    settings = await fresh_apps.settings(
        GatewaySettings,
        "laborcoop.gateway.migrations",
        run_workers=False,
        client_rate_per_s=RATE_PER_S,
        client_rate_burst=BURST,
        placements_url="http://127.0.0.1:9",  # nothing listens: a forwarded request is a 503
    )
    async with fresh_apps.running(create_app, settings) as (_, client):
        yield client


@asynccontextmanager
async def from_address(client: httpx.AsyncClient, address: str) -> AsyncIterator[Any]:
    """A client of the same app whose requests come from ``address``."""
    transport = client._transport
    assert isinstance(transport, httpx.ASGITransport)
    other = httpx.ASGITransport(app=transport.app, client=(address, 40000))
    async with httpx.AsyncClient(transport=other, base_url="http://test") as sent_from:
        yield sent_from


def assert_too_many(answer: httpx.Response) -> None:
    assert answer.status_code == 429, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["status"] == 429
    assert 1 <= int(answer.headers["retry-after"]) <= 1 / RATE_PER_S


def routes() -> Iterator[str]:
    """A view, a forwarded route (its owner does not listen: the 503 shows the request went on)
    and a public one: the limit is the same everywhere."""
    yield from ["/v1/national/overview", "/v1/workers", "/.well-known/jwks.json"]


async def test_a_client_past_its_rate_gets_429_on_any_route(
    limited: httpx.AsyncClient, tokens: Tokens
) -> None:
    hunan = tokens.province(HUNAN)
    sent = [await limited.get(path, headers=hunan) for path in routes()]
    assert [answer.status_code for answer in sent] == [200, 503, 200]
    for path in routes():
        assert_too_many(await limited.get(path, headers=hunan))
    # another client, from the same address, has a bucket of its own
    other = await limited.get("/v1/national/overview", headers=tokens.province("440000"))
    assert other.status_code == 200, other.text


async def test_without_a_valid_token_the_address_is_limited(
    limited: httpx.AsyncClient, tokens: Tokens
) -> None:
    forged = {"Authorization": "Bearer e30.e30.e30"}
    answers = [await limited.get("/v1/national/overview", headers=forged) for _ in range(BURST)]
    assert [answer.status_code for answer in answers] == [401] * BURST
    assert_too_many(await limited.get("/v1/national/overview"))
    assert_too_many(await limited.post("/v1/oauth/token", data={"grant_type": "x"}))
    async with from_address(limited, "10.1.2.3") as elsewhere:
        assert (await elsewhere.get("/v1/national/overview")).status_code == 401
    # a client with a valid token is counted as itself, not as its address
    valid = await limited.get("/v1/national/overview", headers=tokens.ministry())
    assert valid.status_code == 200, valid.text


async def exhaust(client: httpx.AsyncClient) -> httpx.Response:
    """The answer to the request after a burst of unauthenticated ones from one address."""
    for _ in range(BURST):
        assert (await client.get("/v1/provinces")).status_code == 401
    return await client.get("/v1/provinces")


async def test_the_probes_and_metrics_are_never_limited(limited: httpx.AsyncClient) -> None:
    for _ in range(BURST + 2):
        for path in ("/healthz", "/readyz", "/metrics"):
            answer = await limited.get(path)
            assert answer.status_code == 200, (path, answer.text)
    assert_too_many(await exhaust(limited))


def refusals() -> float:
    labels = {"service": "gateway", "method": "GET", "route": "unmatched", "status": "429"}
    return REGISTRY.get_sample_value("laborcoop_http_requests_total", labels) or 0.0


async def test_a_refusal_is_counted_in_the_metrics(limited: httpx.AsyncClient) -> None:
    before = refusals()
    assert_too_many(await exhaust(limited))
    assert refusals() == before + 1

"""Failed client authentications are limited per client id and per source address (ADR 0012):
429 ``slow_down`` with ``Retry-After`` past the limit, without checking the secret; the lock
lifts as the failures leave the window; other clients and addresses are not affected."""

from collections.abc import AsyncIterator
from uuid import uuid4

import httpx
import pytest

from laborcoop.gateway.identity.limits import FailureLimit
from services.gateway.tests.conftest import FAILURE_WINDOW_S, Gateway, GatewayWith

LIMIT = 3


@pytest.fixture
async def limited(gateway_with: GatewayWith) -> AsyncIterator[Gateway]:
    async with gateway_with(token_failure_limit=LIMIT) as gateway:
        yield gateway


def from_address(gateway: Gateway, address: str) -> httpx.AsyncClient:
    """A client of the running gateway whose requests come from ``address``."""
    transport = httpx.ASGITransport(app=gateway.app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


def assert_slowed_down(answer: httpx.Response) -> int:
    assert answer.status_code == 429, answer.text
    assert answer.json()["error"] == "slow_down"
    assert answer.headers["cache-control"] == "no-store"
    retry_after = int(answer.headers["retry-after"])
    assert 0 < retry_after <= FAILURE_WINDOW_S
    return retry_after


async def test_failures_of_one_client_lock_it_even_against_the_right_secret(
    limited: Gateway,
) -> None:
    client_id, secret = await limited.new_client()
    other_id, other_secret = await limited.new_client(name="广东省人社厅")
    for _ in range(LIMIT):
        async with from_address(limited, f"10.0.0.{_ + 1}") as elsewhere:
            answer = await limited.token(auth=(client_id, "guess"), client=elsewhere)
        assert answer.status_code == 401
    retry_after = assert_slowed_down(await limited.token(auth=(client_id, secret)))

    # Another client, from another address, is served as before.
    async with from_address(limited, "10.9.9.9") as other:
        answer = await limited.token(auth=(other_id, other_secret), client=other)
    assert answer.status_code == 200, answer.text

    limited.clock.advance(seconds=retry_after - 1)
    assert_slowed_down(await limited.token(auth=(client_id, secret)))
    limited.clock.advance(seconds=1)
    assert (await limited.token(auth=(client_id, secret))).status_code == 200


async def test_failures_from_one_address_lock_it_for_every_client_id(limited: Gateway) -> None:
    client_id, secret = await limited.new_client()
    async with from_address(limited, "192.0.2.7") as guesser:
        for _ in range(LIMIT):
            answer = await limited.token(auth=(str(uuid4()), "guess"), client=guesser)
            assert answer.status_code == 401
        assert_slowed_down(await limited.token(auth=(client_id, secret), client=guesser))
    async with from_address(limited, "192.0.2.8") as neighbour:
        answer = await limited.token(auth=(client_id, secret), client=neighbour)
    assert answer.status_code == 200, answer.text


async def test_malformed_credentials_count_against_the_address(limited: Gateway) -> None:
    client_id, secret = await limited.new_client()
    async with from_address(limited, "198.51.100.1") as guesser:
        for _ in range(LIMIT):
            answer = await limited.token(Authorization="Basic !!!", client=guesser)
            assert answer.status_code == 401
        assert_slowed_down(await limited.token(auth=(client_id, secret), client=guesser))


async def test_a_client_id_spelt_otherwise_is_the_same_client(limited: Gateway) -> None:
    client_id, secret = await limited.new_client()
    for spelling in (client_id.upper(), "{" + client_id + "}", client_id):
        async with from_address(limited, f"203.0.113.{len(spelling)}") as elsewhere:
            await limited.token(auth=(spelling, "guess"), client=elsewhere)
    assert_slowed_down(await limited.token(auth=(client_id, secret)))


async def test_successes_and_refusals_that_are_not_authentication_count_nothing(
    limited: Gateway,
) -> None:
    client_id, secret = await limited.new_client()
    for _ in range(LIMIT + 2):
        assert (await limited.token(auth=(client_id, secret))).status_code == 200
        answer = await limited.token({"grant_type": "password"}, auth=(client_id, "guess"))
        assert answer.json()["error"] == "unsupported_grant_type"
    assert (await limited.token(auth=(client_id, secret))).status_code == 200


def test_the_limit_keeps_a_bounded_number_of_keys() -> None:
    now = [0.0]
    limit = FailureLimit(2, 60, clock=lambda: now[0], max_keys=100)
    for i in range(1000):
        limit.failed([f"address {i}"])
    assert len(limit._failures) == 100
    limit.failed(["client a"])
    limit.failed(["client a"])
    assert limit.retry_after(["client a", "address 999"]) == 60
    now[0] = 30.5
    assert limit.retry_after(["client a"]) == 30
    now[0] = 60
    assert limit.retry_after(["client a"]) is None
    assert "client a" not in limit._failures

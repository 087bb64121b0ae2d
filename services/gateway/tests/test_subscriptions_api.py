"""``/v1/subscriptions`` on a real database: who may subscribe, what they see, the conventions
of every route (problem+json naming the field, ETag/If-Match, Idempotency-Key, cursors), the
secret shown only once, refused targets (SSRF), test pings, and rotation with two signatures."""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook

from laborcoop.common.deps import state_of
from laborcoop.gateway.uses import GatewayUses
from laborcoop.testing import Tokens
from services.gateway.tests.conftest import GUANGDONG, HUNAN, Gateway, GatewayWith
from services.gateway.tests.webhook_receiver import Receiver

BASE = "/v1/subscriptions"
NAMES = {
    "public.example": ["93.184.216.34"],
    "inside.example": ["10.1.2.3"],
    "metadata.example": ["169.254.169.254"],
    "mixed.example": ["93.184.216.34", "192.168.0.7"],
}


async def _resolve(host: str, port: int) -> list[str]:
    """The tests' DNS: the names above, and ``localhost`` as the system has it."""
    if host == "localhost":
        return ["127.0.0.1", "::1"]
    if host not in NAMES:
        raise OSError(f"no such name {host}")
    return NAMES[host]


@pytest.fixture
async def gateway(gateway_with: GatewayWith) -> AsyncIterator[Gateway]:
    """Plain http allowed to the test receivers' 127.0.0.1 (nothing else)."""
    async with gateway_with(webhook_http_hosts=["127.0.0.1"], webhook_timeout_s=5) as gateway:
        _use_test_names(gateway)
        yield gateway


@pytest.fixture
async def strict_gateway(gateway_with: GatewayWith) -> AsyncIterator[Gateway]:
    """No development host listed: as in production."""
    async with gateway_with(webhook_http_hosts=[]) as gateway:
        _use_test_names(gateway)
        yield gateway


def _use_test_names(gateway: Gateway) -> None:
    uses = state_of(gateway.app).use_cases
    assert isinstance(uses, GatewayUses)
    uses.webhooks.resolver = _resolve


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    made = await Receiver().start()
    yield made
    await made.stop()


def problem_field(answer: httpx.Response, status: int) -> str:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    body = answer.json()
    assert body["status"] == status
    field: str = body["errors"][0]["field"]
    return field


async def _create(gateway: Gateway, who: dict[str, str], url: str, **body: Any) -> dict[str, Any]:
    answer = await gateway.client.post(BASE, json={"url": url, **body}, headers=who)
    assert answer.status_code == 201, answer.text
    made: dict[str, Any] = answer.json()
    assert answer.headers["etag"] == '"1"'
    assert answer.headers["location"] == f"{BASE}/{made['id']}"
    return made


async def test_a_province_subscribes_and_sees_only_its_own(
    gateway: Gateway, tokens: Tokens, receiver: Receiver
) -> None:
    hunan, guangdong = tokens.province(HUNAN), tokens.province(GUANGDONG)
    made = await _create(gateway, hunan, receiver.url, types=["cn.laborcoop.placements.*"])
    assert made["secret"].startswith("whsec_")
    assert (made["audience"], made["status"], made["types"]) == (
        HUNAN,
        "active",
        ["cn.laborcoop.placements.*"],
    )
    one = await gateway.client.get(f"{BASE}/{made['id']}", headers=hunan)
    assert one.status_code == 200
    assert "secret" not in one.json()  # shown once, at creation
    assert one.headers["etag"] == '"1"'
    assert (await gateway.client.get(f"{BASE}/{made['id']}", headers=guangdong)).status_code == 404
    assert (await gateway.client.get(BASE, headers=guangdong)).json()["items"] == []
    ministry = await _create(gateway, tokens.ministry(), receiver.url)
    assert ministry["audience"] == "all"
    [listed] = (await gateway.client.get(BASE, headers=hunan)).json()["items"]
    assert listed["id"] == made["id"]
    # the secret is sealed at rest
    stored = await gateway.pool.fetchval(
        "SELECT secret FROM subscriptions WHERE id = $1", listed["id"]
    )
    assert made["secret"] not in stored


async def test_observers_may_not_subscribe(gateway: Gateway, tokens: Tokens) -> None:
    observer = tokens.observer()
    answer = await gateway.client.post(
        BASE, json={"url": "https://public.example/h"}, headers=observer
    )
    assert answer.status_code == 403
    assert answer.headers["content-type"] == "application/problem+json"
    assert (await gateway.client.get(BASE, headers=observer)).status_code == 403


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://10.0.0.5/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[fd00:ec2::254]/hook",
        "https://[::1]/hook",
        "https://localhost/hook",  # a name resolving to loopback
        "https://inside.example/hook",  # a name resolving to a private address
        "https://metadata.example/hook",
        "https://mixed.example/hook",  # one private address among public ones is enough
        "https://unknown.example/hook",
        "http://public.example/hook",  # plain http to a host not listed
        "http://127.0.0.1:8080/hook",
        "https://user:secret@public.example/hook",
        "not a url at all",
    ],
)
async def test_refused_targets_are_a_422_naming_url(
    strict_gateway: Gateway, tokens: Tokens, url: str
) -> None:
    gateway = strict_gateway
    answer = await gateway.client.post(BASE, json={"url": url}, headers=tokens.province(HUNAN))
    assert problem_field(answer, 422) == "url"
    assert await gateway.pool.fetchval("SELECT count(*) FROM subscriptions") == 0


async def test_only_the_listed_host_is_allowed_over_http(gateway: Gateway, tokens: Tokens) -> None:
    hunan = tokens.province(HUNAN)
    for url in ("http://localhost:8080/hook", "http://127.0.0.2:8080/hook"):
        answer = await gateway.client.post(BASE, json={"url": url}, headers=hunan)
        assert problem_field(answer, 422) == "url"
    answer = await gateway.client.post(BASE, json={"url": "http://127.0.0.1:9/h"}, headers=hunan)
    assert answer.status_code == 201


async def test_every_error_is_a_problem_naming_the_field(
    gateway: Gateway, tokens: Tokens, receiver: Receiver
) -> None:
    hunan = tokens.province(HUNAN)
    post = gateway.client.post
    assert (
        problem_field(await post(BASE, json={"url": receiver.url, "colour": 1}, headers=hunan), 422)
        == "colour"
    )
    assert (
        problem_field(
            await post(BASE, json={"url": receiver.url, "types": ["Not A Type!"]}, headers=hunan),
            422,
        )
        == "types.0"
    )
    assert (
        problem_field(
            await post(BASE, json={"url": receiver.url, "provinces": ["99"]}, headers=hunan), 422
        )
        == "provinces.0"
    )
    assert problem_field(await post(BASE, json={}, headers=hunan), 422) == "url"
    assert (
        problem_field(await gateway.client.get(BASE, params={"limit": 201}, headers=hunan), 422)
        == "limit"
    )
    assert (
        problem_field(
            await gateway.client.get(BASE, params={"cursor": "garbage"}, headers=hunan), 422
        )
        == "cursor"
    )
    made = await _create(gateway, hunan, receiver.url)
    one = f"{BASE}/{made['id']}"
    # PATCH needs If-Match (428), a current one (412), and refuses a bad URL naming it
    assert (await gateway.client.patch(one, json={"types": []}, headers=hunan)).status_code == 428
    stale = {**hunan, "If-Match": '"7"'}
    assert (await gateway.client.patch(one, json={"types": []}, headers=stale)).status_code == 412
    current = {**hunan, "If-Match": '"1"'}
    bad = await gateway.client.patch(one, json={"url": "https://10.9.8.7/"}, headers=current)
    assert problem_field(bad, 422) == "url"
    changed = await gateway.client.patch(one, json={"provinces": [GUANGDONG]}, headers=current)
    assert changed.status_code == 200, changed.text
    assert (changed.headers["etag"], changed.json()["provinces"]) == ('"2"', [GUANGDONG])
    # replays name the field they miss or get wrong
    replays = f"{one}/replays"
    assert problem_field(await post(replays, json={}, headers=hunan), 422) == "body"
    both = {"since": "2025-01-01T00:00:00Z", "after_event_id": "x"}
    assert problem_field(await post(replays, json=both, headers=hunan), 422) == "body"
    naive = {"since": "2025-01-01T00:00:00"}
    assert problem_field(await post(replays, json=naive, headers=hunan), 422) == "since"
    unknown = {"after_event_id": "no-such-event"}
    assert problem_field(await post(replays, json=unknown, headers=hunan), 422) == "after_event_id"
    deliveries = f"{one}/deliveries"
    assert (
        problem_field(
            await gateway.client.get(deliveries, params={"state": "lost"}, headers=hunan), 422
        )
        == "state"
    )
    assert (
        problem_field(await gateway.client.get(deliveries, params={"limit": 0}, headers=hunan), 422)
        == "limit"
    )
    # someone else's subscription is not there for them
    guangdong = tokens.province(GUANGDONG)
    for method, path in [("POST", f"{one}/pause"), ("POST", f"{one}/pings"), ("DELETE", one)]:
        answer = await gateway.client.request(method, path, headers=guangdong)
        assert answer.status_code == 404, (method, path)
        assert answer.headers["content-type"] == "application/problem+json"


async def test_pause_resume_and_delete_follow_the_state(
    gateway: Gateway, tokens: Tokens, receiver: Receiver
) -> None:
    hunan = tokens.province(HUNAN)
    made = await _create(gateway, hunan, receiver.url)
    one = f"{BASE}/{made['id']}"
    paused = await gateway.client.post(f"{one}/pause", headers=hunan)
    assert (paused.status_code, paused.json()["status"]) == (200, "paused")
    again = await gateway.client.post(f"{one}/pause", headers=hunan)
    assert again.status_code == 409
    assert again.json()["current_state"] == "paused"
    resumed = await gateway.client.post(f"{one}/resume", headers={**hunan, "If-Match": '"2"'})
    assert (resumed.json()["status"], resumed.headers["etag"]) == ("active", '"3"')
    stale = await gateway.client.delete(one, headers={**hunan, "If-Match": '"2"'})
    assert stale.status_code == 412
    assert (await gateway.client.delete(one, headers=hunan)).status_code == 204
    assert (await gateway.client.get(one, headers=hunan)).status_code == 404


async def test_an_idempotent_retry_of_a_creation_replays_it_without_the_secret(
    gateway: Gateway, tokens: Tokens, receiver: Receiver
) -> None:
    keyed = {**tokens.province(HUNAN), "Idempotency-Key": "create-hook-0001"}
    first = await gateway.client.post(BASE, json={"url": receiver.url}, headers=keyed)
    retry = await gateway.client.post(BASE, json={"url": receiver.url}, headers=keyed)
    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.headers["idempotent-replayed"] == "true"
    assert first.json()["id"] == retry.json()["id"]
    assert first.json()["secret"].startswith("whsec_")
    assert retry.json()["secret"] is None  # never stored with the key's answer
    assert await gateway.pool.fetchval("SELECT count(*) FROM subscriptions") == 1
    stored = await gateway.pool.fetchval("SELECT body FROM idempotency_keys")
    assert first.json()["secret"].encode() not in stored
    other = await gateway.client.post(BASE, json={"url": receiver.url + "x"}, headers=keyed)
    assert problem_field(other, 422) == "Idempotency-Key"


async def test_a_ping_is_signed_and_its_outcome_returned(
    gateway: Gateway, tokens: Tokens, receiver: Receiver
) -> None:
    hunan = tokens.province(HUNAN)
    made = await _create(gateway, hunan, receiver.url)
    pinged = await gateway.client.post(f"{BASE}/{made['id']}/pings", headers=hunan)
    assert pinged.status_code == 200, pinged.text
    outcome = pinged.json()
    assert (outcome["delivered"], outcome["status"], outcome["error"]) == (True, 204, None)
    [request] = receiver.requests
    assert request.headers["content-type"] == "application/cloudevents+json"
    assert request.headers["webhook-id"] == outcome["event_id"]
    event = Webhook(made["secret"]).verify(request.body, request.headers)
    assert event["type"] == "cn.laborcoop.gateway.subscription.ping.v1"
    assert (event["id"], event["provinces"]) == (outcome["event_id"], HUNAN)
    # a failing receiver: the outcome says so
    receiver.answer = lambda _: (503, {"retry-after": "30"})
    failed = (await gateway.client.post(f"{BASE}/{made['id']}/pings", headers=hunan)).json()
    assert (failed["delivered"], failed["status"]) == (False, 503)


async def test_after_a_rotation_both_secrets_sign_until_the_overlap_ends(
    gateway: Gateway, tokens: Tokens, receiver: Receiver
) -> None:
    hunan = tokens.province(HUNAN)
    made = await _create(gateway, hunan, receiver.url)
    rotated = await gateway.client.post(f"{BASE}/{made['id']}/secret-rotations", headers=hunan)
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["secret"]
    assert new.startswith("whsec_")
    assert new != made["secret"]
    assert rotated.json()["previous_secret_expires_at"] is not None
    await gateway.client.post(f"{BASE}/{made['id']}/pings", headers=hunan)
    [request] = receiver.requests
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    Webhook(new).verify(request.body, request.headers)
    Webhook(made["secret"]).verify(request.body, request.headers)
    # once the overlap is over only the new secret signs
    gateway.clock.advance(seconds=gateway.settings.webhook_secret_overlap_s + 1)
    await gateway.client.post(f"{BASE}/{made['id']}/pings", headers=hunan)
    assert len(receiver.requests[-1].headers["webhook-signature"].split(" ")) == 1
    Webhook(new).verify(receiver.requests[-1].body, receiver.requests[-1].headers)


async def test_delivery_refuses_what_a_name_resolves_to_now_and_redirects(
    gateway: Gateway, tokens: Tokens, receiver: Receiver
) -> None:
    """DNS rebinding: a name public when the subscription was made resolves to loopback at
    delivery, and is refused before any connection; a redirect to an internal address is not
    followed (the internal server, on 127.0.0.2, which is not listed, hears nothing)."""
    hunan = tokens.province(HUNAN)
    NAMES["rebind.example"] = ["93.184.216.34"]
    try:
        made = await _create(gateway, hunan, f"https://rebind.example:{receiver.port}/hook")
        NAMES["rebind.example"] = ["127.0.0.1"]
        pinged = (await gateway.client.post(f"{BASE}/{made['id']}/pings", headers=hunan)).json()
    finally:
        del NAMES["rebind.example"]
    assert pinged["delivered"] is False
    assert pinged["status"] is None
    assert "refused" in pinged["error"]
    assert receiver.requests == []

    internal = await Receiver(host="127.0.0.2").start()
    try:
        receiver.answer = lambda _: (302, {"location": internal.url})
        made = await _create(gateway, hunan, receiver.url)
        pinged = (await gateway.client.post(f"{BASE}/{made['id']}/pings", headers=hunan)).json()
        assert (pinged["delivered"], pinged["status"]) == (False, 302)
        assert pinged["error"] == "redirects are not followed"
        assert len(receiver.requests) == 1
        assert internal.requests == []
    finally:
        await internal.stop()


def test_every_subscription_route_documents_its_problems(gateway: Gateway) -> None:
    paths = gateway.app.openapi()["paths"]
    operations = [
        (path, method, op)
        for path, item in paths.items()
        if path.startswith(BASE)
        for method, op in item.items()
    ]
    assert len(operations) == 12
    for path, method, op in operations:
        codes = set(op["responses"])
        assert op.get("summary"), (path, method)
        assert {"401", "422"} <= codes, (path, method)
        assert "application/problem+json" in op["responses"]["422"]["content"]
        if "{subscription_id}" in path:
            assert "404" in codes, (path, method)

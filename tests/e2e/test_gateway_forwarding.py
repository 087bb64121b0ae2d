"""Forwarding over the network, as ``serve`` runs it (ADR 0013): the gateway's pooled HTTP/1.1
client in front of owners on real sockets. What goes on (method, target byte for byte, the
listed headers and no other, a body streamed past the gateway's body limit) and what comes back
(the owner's status, listed headers and body, streamed), the token checked before anything is
sent, and one trace from the client through the gateway to the owner."""

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import date
from typing import Any
from uuid import uuid4

import httpx
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from laborcoop.common.clock import ManualClock
from laborcoop.contracts.identifiers import make_resident_id
from laborcoop.gateway.app import create_app as create_gateway
from laborcoop.gateway.forwarding import METHODS
from laborcoop.gateway.settings import GatewaySettings
from laborcoop.placements.app import create_app as create_placements
from laborcoop.placements.protection import Keyring
from laborcoop.placements.settings import PlacementsSettings
from laborcoop.registry.app import create_app as create_registry
from laborcoop.registry.settings import RegistrySettings
from laborcoop.testing import FreshApps, Stack, Tokens, running, settings_for
from laborcoop.testing.databases import Databases
from services.gateway.tests.test_upstream import Owner, Seen, answering, owner_at
from services.placements.tests.conftest import START, key_settings
from tests.conftest import served

HUNAN = "430000"
BRAND = {"name": "湘西苗绣", "province": HUNAN, "category": "skilled_trades"}

Gateway = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def gateway(stack: Stack, databases: Databases, topic_prefix: str, tokens: Tokens) -> Gateway:
    """A gateway (no background work) whose owners are at the given URLs, reached over the
    network; ``on_socket`` serves the gateway itself on a socket too (a client's streamed body
    then reaches it as uvicorn delivers it, part by part)."""

    @asynccontextmanager
    async def start(*, on_socket: bool = False, **urls: Any) -> AsyncIterator[httpx.AsyncClient]:
        settings = settings_for(
            GatewaySettings,
            stack,
            topic_prefix=topic_prefix,
            database_url=await databases.fresh("laborcoop.gateway.migrations"),
            run_workers=False,
            upstream_timeout_s=2.0,
            max_body_bytes=1024,
            **urls,
        )
        app = create_gateway(settings, keys=tokens.keyset())
        async with running(app) as client:
            if not on_socket:
                yield client
                return
            async with served(app) as url, httpx.AsyncClient(base_url=url) as remote:
                yield remote

    return start


@pytest.fixture
async def registry_url(
    stack: Stack, databases: Databases, topic_prefix: str, tokens: Tokens
) -> AsyncIterator[str]:
    settings = settings_for(
        RegistrySettings,
        stack,
        topic_prefix=topic_prefix,
        database_url=await databases.fresh("laborcoop.registry.migrations"),
        run_workers=False,
    )
    app = create_registry(settings, keys=tokens.keyset())
    async with running(app), served(app) as url:
        yield url


# -- a real owner ----------------------------------------------------------------------------


async def test_a_command_its_replay_and_its_preconditions_through_the_pool(
    gateway: Gateway, registry_url: str, tokens: Tokens
) -> None:
    hunan = tokens.province(HUNAN)
    async with gateway(registry_url=registry_url) as client:
        keyed = {**hunan, "Idempotency-Key": "forwarding-0001"}
        created = await client.post("/v1/brands", json=BRAND, headers=keyed)
        assert created.status_code == 201, created.text
        brand = created.json()
        assert created.headers["location"].endswith(brand["id"])
        assert created.headers["etag"] == '"1"'
        assert "idempotent-replayed" not in created.headers

        replayed = await client.post("/v1/brands", json=BRAND, headers=keyed)
        assert (replayed.status_code, replayed.json()) == (201, brand)
        assert replayed.headers["idempotent-replayed"] == "true"

        url = f"/v1/brands/{brand['id']}"
        stale = await client.patch(
            url, json={"description": "苗绣"}, headers={**hunan, "If-Match": '"7"'}
        )
        assert stale.status_code == 412, stale.text
        changed = await client.patch(
            url, json={"description": "苗绣"}, headers={**hunan, "If-Match": '"1"'}
        )
        assert (changed.status_code, changed.headers["etag"]) == (200, '"2"')


async def test_one_trace_runs_from_the_client_through_the_gateway_to_the_owner(
    gateway: Gateway, registry_url: str, tokens: Tokens, spans: InMemorySpanExporter
) -> None:
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    async with gateway(registry_url=registry_url) as client:
        answer = await client.get(
            f"/v1/brands/{uuid4()}",
            headers={**tokens.observer(), "traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"},
        )
    assert answer.status_code == 404, answer.text
    assert answer.json()["trace_id"] == trace_id  # the owner's problem names the caller's trace
    ours = [s for s in spans.get_finished_spans() if s.context.trace_id == int(trace_id, 16)]

    def children(of: int, kind: SpanKind) -> list[str]:
        return [s.name for s in ours if s.kind == kind and s.parent and s.parent.span_id == of]

    [received] = [s for s in ours if s.name == "GET /v1/brands/{rest:path}"]  # the gateway's
    assert received.parent is not None
    assert received.parent.span_id == 0x00F067AA0BA902B7  # the caller's span
    [call] = [s for s in ours if s.kind == SpanKind.CLIENT and s.name == "GET"]
    assert call.parent is not None
    assert call.parent.span_id == received.context.span_id
    assert children(call.context.span_id, SpanKind.SERVER) == ["GET /v1/brands/{brand_id}"]


# -- a scripted owner: exactly what goes on and what comes back --------------------------------


SENT_HEADERS = {
    "Content-Type": "application/json",
    "Idempotency-Key": "key-0001",
    "If-Match": '"3"',
    "Cookie": "session=1",
    "X-Forwarded-For": "10.0.0.1",
    "X-Custom": "anything",
}


@pytest.mark.parametrize("method", METHODS)
async def test_every_method_goes_on_with_its_target_and_the_listed_headers_only(
    gateway: Gateway, tokens: Tokens, method: str
) -> None:
    answer_head = (
        b'HTTP/1.1 202 Accepted\r\ncontent-type: application/json\r\netag: "4"\r\n'
        b"location: /v1/brands/x\r\nset-cookie: owner=1\r\nx-owner-internal: 1\r\n"
        b"content-length: 11\r\n\r\n"
    )
    owner = Owner(answering(answer_head + (b"" if method == "HEAD" else b'{"ok":true}')))
    query = b"limit=5&limit=6&bogus=%E5%93%81+x&flag"
    headers = {**SENT_HEADERS, "Authorization": tokens.province(HUNAN)["Authorization"]}
    body = b'{"a": 1}' if method in {"POST", "PUT", "PATCH", "DELETE"} else b""
    async with owner_at(owner) as url, gateway(registry_url=url) as client:
        answer = await client.request(
            method, f"/v1/brands/x/y%20z?{query.decode()}", content=body or None, headers=headers
        )
    assert answer.status_code == 202, answer.text
    [seen] = owner.seen
    assert seen.start == f"{method} /v1/brands/x/y%20z?{query.decode()} HTTP/1.1".encode()
    names = {line.partition(b":")[0].lower() for line in seen.head[1:]}
    framing = {b"content-length"} if body else set()
    assert names == {
        b"host",
        b"authorization",
        b"content-type",
        b"idempotency-key",
        b"if-match",
        b"traceparent",
        *framing,
    }
    assert seen.header(b"idempotency-key") == b"key-0001"
    assert seen.header(b"if-match") == b'"3"'
    assert seen.body == body
    assert answer.headers["etag"] == '"4"'
    assert answer.headers["location"] == "/v1/brands/x"
    assert "set-cookie" not in answer.headers
    assert "x-owner-internal" not in answer.headers
    assert answer.content == (b"" if method == "HEAD" else b'{"ok":true}')


async def test_a_request_without_a_valid_token_never_reaches_the_owner(
    gateway: Gateway, tokens: Tokens
) -> None:
    owner = Owner()
    async with owner_at(owner) as url, gateway(registry_url=url) as client:
        for headers in ({}, {"Authorization": "Bearer not-a-token"}):
            answer = await client.post("/v1/brands", json=BRAND, headers=headers)
            assert answer.status_code == 401, answer.text
            assert answer.headers["www-authenticate"].startswith("Bearer")
    assert owner.seen == []


async def test_a_dot_segment_is_a_404_that_never_reaches_the_owner(
    gateway: Gateway, tokens: Tokens
) -> None:
    owner = Owner()
    async with owner_at(owner) as url, gateway(registry_url=url, on_socket=True) as client:
        for path in ("/v1/brands/x/%2e%2e/y", "/v1/brands/x/%2E/y"):
            answer = await client.get(path, headers=tokens.observer())
            assert answer.status_code == 404, answer.text
    assert owner.seen == []


async def test_a_large_chunked_answer_comes_back_whole(gateway: Gateway, tokens: Tokens) -> None:
    part = b"x" * 100_000

    async def chunked(seen: Seen, writer: asyncio.StreamWriter) -> bool:
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n"
        )
        for _ in range(30):
            writer.write(b"%x\r\n%s\r\n" % (len(part), part))
            await writer.drain()
        writer.write(b"0\r\n\r\n")
        return True

    async with (
        owner_at(Owner(chunked)) as url,
        gateway(registry_url=url, on_socket=True) as client,
        client.stream("GET", "/v1/brands/x", headers=tokens.observer()) as answer,
    ):
        assert answer.status_code == 200
        assert answer.headers["transfer-encoding"] == "chunked"
        received = [len(chunk) async for chunk in answer.aiter_raw()]
    assert sum(received) == 30 * len(part)


# -- the bulk import streams through ---------------------------------------------------------


@pytest.fixture
async def placements_url(fresh_apps: FreshApps, tokens: Tokens) -> AsyncIterator[str]:
    settings = await fresh_apps.settings(
        PlacementsSettings,
        "laborcoop.placements.migrations",
        run_workers=False,
        **key_settings(Keyring.generate()),
    )
    app = create_placements(settings, keys=tokens.keyset(), clock=ManualClock(START))
    async with running(app), served(app) as url:
        yield url


def worker_line(sequence: int) -> bytes:
    person = {
        "name": "李四海",
        "resident_id": make_resident_id("430524", date(1990, 5, 17), sequence),
        "phone": "13912345678",
        "education": "vocational",
        "occupations": ["6-04-01-01"],
    }
    return json.dumps(person, ensure_ascii=False).encode() + b"\n"


async def test_a_bulk_import_larger_than_the_gateways_body_limit_streams_to_its_owner(
    gateway: Gateway, placements_url: str, tokens: Tokens
) -> None:
    """Sent chunked, in parts that cut lines, and ten times the gateway's own body limit: the
    gateway holds none of it and the placements service reads every line."""
    body = b"".join(worker_line(n) for n in range(1, 101))
    assert len(body) > 10 * 1024

    async def parts() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 700):
            yield body[start : start + 700]

    headers = {**tokens.province(HUNAN), "Content-Type": "application/x-ndjson"}
    async with gateway(placements_url=placements_url, on_socket=True) as client:
        answer = await client.post("/v1/workers:import", content=parts(), headers=headers)
        assert answer.status_code == 200, answer.text
        assert (answer.json()["lines"], answer.json()["accepted"]) == (100, 100)
        again = await client.post("/v1/workers:import", content=body, headers=headers)
        assert again.status_code == 200, again.text
        assert again.json()["duplicates"] == 100

"""The gateway at its edges: headers it cannot forward, owners that do not answer, the version
its list shows, its OpenAPI document, development tokens and garbled cursors."""

import argparse
import asyncio
import base64
import json
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
import pytest

from laborcoop.agreements.app import create_app as create_agreements
from laborcoop.agreements.settings import AgreementsSettings
from laborcoop.common.auth import KeySet
from laborcoop.gateway import cli
from laborcoop.gateway.app import create_app as create_gateway
from laborcoop.gateway.settings import GatewaySettings
from laborcoop.registry.app import create_app as create_registry
from laborcoop.registry.settings import RegistrySettings
from laborcoop.testing import Stack, Tokens, eventually, running, settings_for
from laborcoop.testing.databases import Databases
from tests.conftest import System, served

HUNAN = "430000"
UPSTREAM_TIMEOUT_S = 1.0

GatewayTowards = Callable[[str], AbstractAsyncContextManager[httpx.AsyncClient]]
GatewayOver = Callable[[httpx.AsyncBaseTransport], AbstractAsyncContextManager[httpx.AsyncClient]]


async def register(client: httpx.AsyncClient, tokens: Tokens, name: str) -> dict[str, Any]:
    created = await client.post(
        "/v1/brands",
        json={"name": name, "province": HUNAN, "category": "skilled_trades"},
        headers=tokens.province(HUNAN),
    )
    assert created.status_code == 201, created.text
    brand: dict[str, Any] = created.json()
    return brand


# -- headers the gateway forwards ------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "header", "value"),
    [
        ("GET", "Idempotency-Key", b"key-caf\xe9-0001"),
        ("GET", "If-Match", b'"1\xe9"'),
        ("POST", "Idempotency-Key", "key-劳务-0001".encode()),
        ("POST", "Content-Type", b"application/json; charset=\xe9"),
        ("PATCH", "If-Match", b'"\xff"'),
    ],
)
async def test_a_header_that_cannot_be_forwarded_is_refused_naming_it(
    system: System, tokens: Tokens, method: str, header: str, value: bytes
) -> None:
    brand = await register(system.gateway.client, tokens, "醴陵陶瓷工")
    url = "/v1/brands" if method == "POST" else f"/v1/brands/{brand['id']}"
    body = {"name": "醴陵釉下彩", "province": HUNAN, "category": "skilled_trades"}
    answer = await system.gateway.client.request(
        method,
        url,
        content=json.dumps(body).encode(),
        headers={
            b"Authorization": tokens.province(HUNAN)["Authorization"].encode(),
            b"Content-Type": b"application/json",
            header.encode(): value,
        },
    )
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in answer.json()["errors"]] == [header]


async def test_a_traceparent_that_is_not_valid_is_dropped(system: System, tokens: Tokens) -> None:
    """W3C trace context: a receiver ignores a traceparent it cannot parse; so does the gateway,
    whether it is garbled text or carries bytes outside ASCII."""
    brand = await register(system.gateway.client, tokens, "湘绣绣工")
    for traceparent in ("00-caf\u00e9".encode(), b"not-a-traceparent", "追踪".encode()):
        answer = await system.gateway.client.get(
            f"/v1/brands/{brand['id']}",
            headers=[
                (b"Authorization", tokens.observer()["Authorization"].encode()),
                (b"traceparent", traceparent),
            ],
        )
        assert (answer.status_code, answer.headers["etag"]) == (200, '"1"'), answer.text


async def test_a_valid_traceparent_is_forwarded(system: System, tokens: Tokens) -> None:
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    answer = await system.gateway.client.get(
        "/v1/brands/not-a-uuid",
        headers={**tokens.observer(), "traceparent": f"00-{trace_id}-00f067aa0ba902b7-00"},
    )
    assert answer.status_code == 422
    assert answer.json()["trace_id"] == trace_id


# -- owners that cannot be reached or do not answer in time ----------------------------------


@pytest.fixture
def gateway_towards(
    stack: Stack, databases: Databases, topic_prefix: str, tokens: Tokens
) -> GatewayTowards:
    """A gateway (no background work) whose registry is at the given URL, with a short upstream
    timeout."""

    @asynccontextmanager
    async def start(registry_url: str) -> AsyncIterator[httpx.AsyncClient]:
        settings = settings_for(
            GatewaySettings,
            stack,
            topic_prefix=topic_prefix,
            database_url=await databases.fresh("laborcoop.gateway.migrations"),
            registry_url=registry_url,
            upstream_timeout_s=UPSTREAM_TIMEOUT_S,
            run_workers=False,
        )
        async with running(create_gateway(settings, keys=tokens.keyset())) as client:
            yield client

    return start


@pytest.fixture
async def registry_served(
    stack: Stack, databases: Databases, topic_prefix: str, tokens: Tokens
) -> AsyncIterator[tuple[str, str]]:
    """The registry on a real socket: its base URL and its database's URL."""
    database_url = await databases.fresh("laborcoop.registry.migrations")
    settings = settings_for(
        RegistrySettings,
        stack,
        topic_prefix=topic_prefix,
        database_url=database_url,
        run_workers=False,
    )
    app = create_registry(settings, keys=tokens.keyset())
    async with running(app), served(app) as url:
        yield url, database_url


@asynccontextmanager
async def brands_locked(database_url: str) -> AsyncIterator[None]:
    """The registry's ``brands`` table locked: every request touching it waits, as when the
    registry's database stalls."""
    conn = await asyncpg.connect(database_url)
    try:
        async with conn.transaction():
            await conn.execute("LOCK TABLE brands IN ACCESS EXCLUSIVE MODE")
            yield
    finally:
        await conn.close()


async def test_a_write_that_times_out_is_504_and_its_retry_with_the_same_key_is_safe(
    gateway_towards: GatewayTowards, registry_served: tuple[str, str], tokens: Tokens
) -> None:
    registry_url, database_url = registry_served
    headers = {**tokens.province(HUNAN), "Idempotency-Key": "gateway-timeout-0001"}
    body = {"name": "湘西苗绣", "province": HUNAN, "category": "skilled_trades"}
    async with gateway_towards(registry_url) as gateway:
        async with brands_locked(database_url):
            timed_out = await gateway.post("/v1/brands", json=body, headers=headers)
        assert timed_out.status_code == 504, timed_out.text
        assert timed_out.headers["content-type"] == "application/problem+json"
        assert timed_out.headers["retry-after"].isdigit()
        problem = timed_out.json()
        assert problem["type"] == "https://laborcoop.cn/problems/gateway-timeout"
        assert "outcome is unknown" in problem["detail"]
        assert "Idempotency-Key" in problem["detail"]

        retried = await gateway.post("/v1/brands", json=body, headers=headers)
        assert retried.status_code == 201, retried.text
        listed = await gateway.get("/v1/brands/" + retried.json()["id"], headers=tokens.observer())
        assert listed.status_code == 200
    async with httpx.AsyncClient(base_url=registry_url) as registry:
        search = await registry.get(
            "/v1/brands", params={"province": HUNAN}, headers=tokens.observer()
        )
    assert [b["name"] for b in search.json()["items"]] == ["湘西苗绣"]


async def test_a_read_that_times_out_is_504(
    gateway_towards: GatewayTowards, registry_served: tuple[str, str], tokens: Tokens
) -> None:
    registry_url, database_url = registry_served
    async with gateway_towards(registry_url) as gateway:
        brand = await register(gateway, tokens, "浏阳花炮工")
        async with brands_locked(database_url):
            answer = await gateway.get(f"/v1/brands/{brand['id']}", headers=tokens.observer())
    assert answer.status_code == 504, answer.text
    assert answer.headers["retry-after"].isdigit()
    assert "timed out" in answer.json()["detail"]
    assert "Idempotency-Key" not in answer.json()["detail"]


@pytest.fixture
def refusing_port() -> Iterator[int]:
    """A port bound on 127.0.0.1 but not listening: every connection is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


async def test_an_owner_that_refuses_connections_is_503_with_retry_after(
    gateway_towards: GatewayTowards, refusing_port: int, tokens: Tokens
) -> None:
    async with gateway_towards(f"http://127.0.0.1:{refusing_port}") as gateway:
        body = {"name": "湘菜厨师", "province": HUNAN, "category": "skilled_trades"}
        answer = await gateway.post("/v1/brands", json=body, headers=tokens.province(HUNAN))
    assert answer.status_code == 503, answer.text
    assert answer.headers["retry-after"].isdigit()
    assert answer.json()["type"] == "https://laborcoop.cn/problems/unavailable"


@asynccontextmanager
async def hanging_up() -> AsyncIterator[str]:
    """A server that reads a request's head and closes the connection without answering."""

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()
        await server.wait_closed()


async def test_a_connection_lost_after_the_request_was_sent_is_504(
    gateway_towards: GatewayTowards, tokens: Tokens
) -> None:
    async with hanging_up() as url, gateway_towards(url) as gateway:
        body = {"name": "湘菜厨师", "province": HUNAN, "category": "skilled_trades"}
        answer = await gateway.post("/v1/brands", json=body, headers=tokens.province(HUNAN))
    assert answer.status_code == 504, answer.text
    assert "outcome is unknown" in answer.json()["detail"]


# -- the list's version ----------------------------------------------------------------------


async def test_an_indicator_report_advances_the_listed_version(
    system: System, tokens: Tokens
) -> None:
    hunan = tokens.province(HUNAN)
    brand = await register(system.gateway.client, tokens, "安化黑茶茶艺师")
    url = f"/v1/brands/{brand['id']}"
    reported = await system.gateway.client.put(
        f"{url}/indicators/2024", json={"practitioners": 15000}, headers=hunan
    )
    assert reported.status_code == 201, reported.text
    read = await system.gateway.client.get(url, headers=hunan)
    etag = read.headers["etag"]
    assert etag == '"2"'

    async def listed_version() -> int | None:
        page = await system.gateway.client.get("/v1/brands", headers=hunan)
        versions = [b["version"] for b in page.json()["items"] if b["id"] == brand["id"]]
        return versions[0] if versions == [2] else None

    assert await eventually(listed_version) == 2
    stale_free = await system.gateway.client.patch(
        url, json={"description": "安化黑茶"}, headers={**hunan, "If-Match": etag}
    )
    assert stale_free.status_code == 200, stale_free.text


# -- the OpenAPI document --------------------------------------------------------------------


def resolved(node: Any, components: dict[str, Any]) -> Any:
    """``node`` with every ``#/components/schemas/…`` reference replaced by its schema and
    without titles and descriptions (wording may differ; the constraints may not)."""
    if isinstance(node, list):
        return [resolved(item, components) for item in node]
    if not isinstance(node, dict):
        return node
    target: dict[str, Any] = {}
    ref = node.get("$ref")
    if isinstance(ref, str):
        target = resolved(components[ref.rsplit("/", 1)[1]], components)
    return target | {
        key: resolved(value, components)
        for key, value in node.items()
        if key not in {"$ref", "title", "description"}
    }


async def test_the_openapi_document_declares_the_body_of_a_brand_registration(
    system: System,
) -> None:
    """The gateway forwards the body unchanged and documents it as the registry does."""
    operation = system.gateway.app.openapi()["paths"]["/v1/brands"]["post"]
    body = operation["requestBody"]
    assert body["required"] is True
    schema = body["content"]["application/json"]["schema"]
    assert "$ref" not in json.dumps(schema)
    registry = system.registry.app.openapi()
    registry_body = registry["paths"]["/v1/brands"]["post"]["requestBody"]["content"]
    components = registry["components"]["schemas"]
    assert resolved(schema, {}) == resolved(registry_body["application/json"]["schema"], components)
    assert {"503", "504"} <= set(operation["responses"])
    assert "Idempotency-Key" in operation["responses"]["504"]["description"]


# -- development tokens ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "subject"),
    [
        (["--province", "430000"], "dev-430000-province"),
        (["--province", "310000"], "dev-310000-province"),
        (["--roles", "ministry"], "dev-ministry"),
        (["--roles", "observer,ministry"], "dev-observer-ministry"),
        (["--province", "430000", "--client", "hunan-hr"], "hunan-hr"),
    ],
)
async def test_development_tokens_name_their_province_and_roles_in_their_subject(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], arguments: list[str], subject: str
) -> None:
    settings = GatewaySettings(environment="development", jwks_file=tmp_path / "jwks.json")
    assert settings.jwks_file is not None
    cli.write_dev_keys(settings.jwks_file)
    parser = argparse.ArgumentParser()
    cli.token_arguments(parser)
    await cli.dev_token(settings, parser.parse_args(arguments))
    token = capsys.readouterr().out.strip()
    keys = KeySet.from_file(
        settings.jwks_file, issuer=settings.jwt_issuer, audience=settings.jwt_audience
    )
    assert keys.verify(token).client_id == subject


# -- cursors ---------------------------------------------------------------------------------


async def test_a_deeply_nested_cursor_is_422(system: System, tokens: Tokens) -> None:
    nested = '{"id":' * 1000 + "1" + "}" * 1000
    cursor = base64.urlsafe_b64encode(nested.encode()).decode().rstrip("=")
    answer = await system.gateway.client.get(
        "/v1/brands", params={"cursor": cursor}, headers=tokens.observer()
    )
    assert answer.status_code == 422, answer.text
    assert [e["field"] for e in answer.json()["errors"]] == ["cursor"]


# -- answers relayed from the owner ------------------------------------------------------------


@dataclass
class Owners:
    """The gateway in front of an in-process registry and agreements service (no background
    work), with a client for each."""

    gateway: httpx.AsyncClient
    registry: httpx.AsyncClient
    agreements: httpx.AsyncClient

    def owner(self, path: str) -> httpx.AsyncClient:
        return self.agreements if path.startswith("/v1/agreements") else self.registry


@pytest.fixture
async def owners(
    stack: Stack, databases: Databases, topic_prefix: str, tokens: Tokens
) -> AsyncIterator[Owners]:
    async def database(package: str) -> dict[str, Any]:
        url = await databases.fresh(package)
        return {"topic_prefix": topic_prefix, "database_url": url, "run_workers": False}

    registry_app = create_registry(
        settings_for(RegistrySettings, stack, **await database("laborcoop.registry.migrations")),
        keys=tokens.keyset(),
    )
    agreements_app = create_agreements(
        settings_for(
            AgreementsSettings, stack, **await database("laborcoop.agreements.migrations")
        ),
        keys=tokens.keyset(),
    )
    gateway_app = create_gateway(
        settings_for(GatewaySettings, stack, **await database("laborcoop.gateway.migrations")),
        keys=tokens.keyset(),
        transports={
            "registry": httpx.ASGITransport(app=registry_app),
            "agreements": httpx.ASGITransport(app=agreements_app),
        },
    )
    async with (
        running(registry_app) as registry,
        running(agreements_app) as agreements,
        running(gateway_app) as gateway,
    ):
        yield Owners(gateway, registry, agreements)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", f"/v1/brands/{uuid4()}"),
        ("PUT", f"/v1/brands/{uuid4()}/recognition"),
        ("DELETE", "/v1/agreements"),
        ("PATCH", f"/v1/agreements/{uuid4()}"),
        ("PUT", f"/v1/agreements/{uuid4()}/history"),
        ("OPTIONS", f"/v1/brands/{uuid4()}"),
        ("HEAD", "/v1/agreements"),
        ("TRACE", f"/v1/agreements/{uuid4()}"),
    ],
)
async def test_a_405_of_the_owner_keeps_its_allow(
    owners: Owners, tokens: Tokens, method: str, path: str
) -> None:
    """RFC 9110 §15.5.6: a 405 names the methods the resource has; the owner knows them."""
    hunan = tokens.province(HUNAN)
    direct = await owners.owner(path).request(method, path, headers=hunan)
    assert direct.status_code == 405, direct.text
    forwarded = await owners.gateway.request(method, path, headers=hunan)
    assert forwarded.status_code == 405, forwarded.text
    assert forwarded.headers["content-type"] == direct.headers["content-type"]
    assert forwarded.headers.get("allow") == direct.headers["allow"]


@pytest.fixture
def gateway_over(
    stack: Stack, databases: Databases, topic_prefix: str, tokens: Tokens
) -> GatewayOver:
    """A gateway (no background work) whose registry and agreements are the given transport."""

    @asynccontextmanager
    async def start(owner: httpx.AsyncBaseTransport) -> AsyncIterator[httpx.AsyncClient]:
        settings = settings_for(
            GatewaySettings,
            stack,
            topic_prefix=topic_prefix,
            database_url=await databases.fresh("laborcoop.gateway.migrations"),
            run_workers=False,
        )
        transports = {"registry": owner, "agreements": owner}
        app = create_gateway(settings, keys=tokens.keyset(), transports=transports)
        async with running(app) as client:
            yield client

    return start


@pytest.mark.parametrize(
    ("status", "header", "value"),
    [
        (401, "WWW-Authenticate", 'Bearer realm="laborcoop", error="invalid_token"'),
        (405, "Allow", "GET, PATCH"),
        (415, "Accept-Post", "application/json"),
        (415, "Accept-Patch", "application/json"),
        (429, "Retry-After", "7"),
        (503, "Retry-After", "30"),
    ],
)
async def test_the_owners_answer_headers_reach_the_client(
    gateway_over: GatewayOver,
    tokens: Tokens,
    status: int,
    header: str,
    value: str,
) -> None:
    """What a refusal tells the client to do next is relayed; the owner's other headers are not."""

    def owner(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            status,
            headers={header: value, "Set-Cookie": "owner=1", "X-Owner-Internal": "1"},
            content=b'{"type": "about:blank", "status": %d}' % status,
        )

    async with gateway_over(httpx.MockTransport(owner)) as gateway:
        answer = await gateway.patch(f"/v1/brands/{uuid4()}", headers=tokens.province(HUNAN))
    assert answer.status_code == status
    assert answer.headers.get(header) == value
    assert "set-cookie" not in answer.headers
    assert "x-owner-internal" not in answer.headers


# -- query parameters ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        f"/v1/brands/{uuid4()}/history",
        f"/v1/agreements/{uuid4()}",
        f"/v1/agreements/{uuid4()}/history",
        "/v1/brands",
    ],
)
async def test_a_forwarded_query_string_reaches_the_owner_byte_for_byte(
    gateway_over: GatewayOver,
    tokens: Tokens,
    path: str,
) -> None:
    """The owner declares and checks the parameters: a repeated one stays repeated, an unknown
    one reaches it (the gateway refuses none), the encoding is the caller's."""
    seen: list[bytes] = []

    def owner(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.query)
        return httpx.Response(200, json={})

    query = b"limit=5&limit=6&bogus=%E5%93%81+x&flag"
    async with gateway_over(httpx.MockTransport(owner)) as gateway:
        method = "POST" if path == "/v1/brands" else "GET"
        answer = await gateway.request(
            method, f"{path}?{query.decode()}", headers=tokens.province(HUNAN)
        )
    assert answer.status_code == 200, answer.text
    assert seen == [query]


async def test_a_forwarded_query_string_is_checked_by_its_owner(
    owners: Owners, tokens: Tokens
) -> None:
    hunan = tokens.province(HUNAN)
    brand = await register(owners.gateway, tokens, "湘潭湘莲工")
    history = f"/v1/brands/{brand['id']}/history"
    for path, accepted, refused in [
        (history, {"limit": "1"}, "limits"),
        ("/v1/agreements", {"party": HUNAN, "kind": "bilateral"}, "partie"),
    ]:
        answer = await owners.gateway.get(path, params=accepted, headers=hunan)
        assert answer.status_code == 200, answer.text
        answer = await owners.gateway.get(path, params={**accepted, refused: "1"}, headers=hunan)
        assert answer.status_code == 422, answer.text
        [error] = answer.json()["errors"]
        assert (error["field"], error["code"]) == (refused, "unknown_parameter")


def cursor_after(after: UUID) -> str:
    return base64.urlsafe_b64encode(json.dumps({"id": str(after)}).encode()).decode().rstrip("=")


LISTS: list[tuple[str, str, dict[str, str]]] = [
    (
        "registry",
        "/v1/brands",
        {
            "province": HUNAN,
            "category": "skilled_trades",
            "level": "province",
            "status": "recognised",
            "occupation": "4-03-02-09",
            "q": "茶",
        },
    ),
    (
        "agreements",
        "/v1/agreements",
        {
            "party": HUNAN,
            "kind": "bilateral",
            "status": "active",
            "area": "job_matching",
            "brand": str(uuid4()),
            "origin": HUNAN,
            "destination": "320000",
            "active_on": "2025-06-01",
        },
    ),
    (
        "gateway",
        "/v1/brands",
        {"province": HUNAN, "category": "skilled_trades", "level": "city", "status": "recognised"},
    ),
    (  # the gateway's own lists take the owners' filters (laborcoop.gateway.views)
        "gateway",
        "/v1/agreements",
        {
            "party": HUNAN,
            "kind": "bilateral",
            "status": "active",
            "area": "job_matching",
            "brand": str(uuid4()),
            "origin": HUNAN,
            "destination": "320000",
            "active_on": "2025-06-01",
        },
    ),
    (
        "gateway",
        "/v1/demands",
        {"province": HUNAN, "occupation": "4-10-01-01", "status": "open", "brand": str(uuid4())},
    ),
    (
        "gateway",
        "/v1/placements",
        {
            "origin": HUNAN,
            "destination": "440000",
            "status": "returned",
            "brand": str(uuid4()),
            "agreement": str(uuid4()),
            "period": "2025-Q1",
        },
    ),
]


@pytest.mark.parametrize(("service", "path", "filters"), LISTS, ids=[s for s, *_ in LISTS])
async def test_a_list_takes_every_documented_parameter_and_refuses_any_other(
    owners: Owners, tokens: Tokens, service: str, path: str, filters: dict[str, str]
) -> None:
    client: httpx.AsyncClient = getattr(owners, service)
    document = (await client.get("/openapi.json")).json()
    parameters = document["paths"][path]["get"]["parameters"]
    documented = {p["name"] for p in parameters if p["in"] == "query"}
    assert documented == {*filters, "limit", "cursor"}
    every = {**filters, "limit": "10", "cursor": cursor_after(uuid4())}
    hunan = tokens.province(HUNAN)
    answer = await client.get(path, params=every, headers=hunan)
    assert answer.status_code == 200, answer.text

    unknown = {"sort": "name", "Province": HUNAN}
    answer = await client.get(path, params={**every, **unknown}, headers=hunan)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    errors = answer.json()["errors"]
    assert [(e["field"], e["code"]) for e in errors] == [
        ("Province", "unknown_parameter"),
        ("sort", "unknown_parameter"),
    ]


@pytest.mark.parametrize(
    ("parameter", "value"),
    [("category", "bogus"), ("status", "active"), ("level", "global"), ("province", "43")],
)
async def test_the_gateway_list_refuses_a_value_its_filter_does_not_know(
    owners: Owners, tokens: Tokens, parameter: str, value: str
) -> None:
    answer = await owners.gateway.get(
        "/v1/brands", params={parameter: value}, headers=tokens.observer()
    )
    assert answer.status_code == 422, answer.text
    assert [e["field"] for e in answer.json()["errors"]] == [parameter]


async def test_the_gateway_list_filters_by_category_status_and_level(
    system: System, tokens: Tokens
) -> None:
    hunan = tokens.province(HUNAN)
    gateway = system.gateway.client
    trade = await register(gateway, tokens, "湘军电工")
    tourism = (
        await gateway.post(
            "/v1/brands",
            json={"name": "张家界导游", "province": HUNAN, "category": "culture_tourism"},
            headers=hunan,
        )
    ).json()
    recognised = await gateway.post(
        f"/v1/brands/{tourism['id']}/recognition", json={"level": "province"}, headers=hunan
    )
    assert recognised.status_code == 200, recognised.text

    async def listed(**filters: str) -> set[str]:
        page = await gateway.get("/v1/brands", params=filters, headers=hunan)
        assert page.status_code == 200, page.text
        return {b["name"] for b in page.json()["items"]}

    async def projected() -> bool:
        page = await gateway.get("/v1/brands", headers=hunan)
        levels = {b["name"]: b["level"] for b in page.json()["items"]}
        return levels == {"湘军电工": None, "张家界导游": "province"}

    await eventually(projected)
    assert await listed() == {"湘军电工", "张家界导游"}
    assert await listed(category="culture_tourism") == {"张家界导游"}
    assert await listed(category="skilled_trades") == {trade["name"]}
    assert await listed(status="registered") == {"湘军电工"}
    assert await listed(status="recognised", level="province") == {"张家界导游"}
    assert await listed(level="national") == set()
    assert await listed(category="skilled_trades", status="recognised") == set()

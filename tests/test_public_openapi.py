"""The gateway's one OpenAPI document: its own routes and every route it forwards.

The forwarded part is the committed ``forwarded.json`` (``make openapi``); it must equal a fresh
generation, cover every forwarding route, merge without clashes, and the whole must be a valid
OpenAPI 3.1 document that the gateway serves with no owning service up.
"""

import asyncio
import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import jsonschema_rs
import pytest
from fastapi import FastAPI
from schemathesis.specs.openapi.definitions import OPENAPI_31

from laborcoop.common.middleware import routes_in_order
from laborcoop.common.principal import Role
from laborcoop.devstack import public_openapi as generator
from laborcoop.gateway.app import create_app as create_gateway
from laborcoop.gateway.forwarding import ForwardingRoute
from laborcoop.gateway.openapi import (
    FORWARDED_FILE,
    OWNER_EXTENSION,
    SECURITY_SCHEMES,
    TOKEN_REQUIRED,
    SchemaConflict,
    forwarded_document,
    merged,
    operations,
)
from laborcoop.gateway.settings import GatewaySettings
from laborcoop.testing import FreshApps

PUBLIC = {"/healthz", "/readyz", "/metrics", "/v1/oauth/token", "/.well-known/jwks.json"}
"""Paths answered without a token."""


@pytest.fixture(scope="module")
def gateway() -> FastAPI:
    """The gateway, its owners at addresses where nothing listens."""
    nowhere = "http://127.0.0.1:9"
    settings = GatewaySettings(registry_url=nowhere, agreements_url=nowhere, placements_url=nowhere)
    return create_gateway(settings)


@pytest.fixture(scope="module")
def document(gateway: FastAPI) -> dict[str, Any]:
    return gateway.openapi()


@pytest.fixture(scope="module")
def owners() -> dict[str, dict[str, Any]]:
    return generator.owner_documents()


def _keys(document: dict[str, Any]) -> set[str]:
    return {f"{method.upper()} {path}" for path, method, _ in operations(document)}


def _difference(committed: dict[str, Any], fresh: dict[str, Any]) -> str:
    """What a regeneration would change, by operation and component schema."""
    lines = []
    old_ops = {f"{m.upper()} {p}": op for p, m, op in operations(committed)}
    new_ops = {f"{m.upper()} {p}": op for p, m, op in operations(fresh)}
    lines += [f"operation added: {k}" for k in sorted(new_ops.keys() - old_ops.keys())]
    lines += [f"operation removed: {k}" for k in sorted(old_ops.keys() - new_ops.keys())]
    lines += [
        f"operation changed: {k}"
        for k in sorted(old_ops.keys() & new_ops.keys())
        if old_ops[k] != new_ops[k]
    ]
    old_schemas = committed.get("components", {}).get("schemas", {})
    new_schemas = fresh.get("components", {}).get("schemas", {})
    for name in sorted(old_schemas.keys() | new_schemas.keys()):
        if old_schemas.get(name) != new_schemas.get(name):
            lines.append(f"component schema changed, added or removed: {name}")
    if committed.get("tags") != fresh.get("tags"):
        lines.append("tags changed")
    return "\n".join(lines) or "formatting only"


def test_the_committed_forwarded_document_is_current() -> None:
    fresh = generator.generate()
    committed = generator.OUTPUT.read_text(encoding="utf-8")
    if committed != fresh:
        difference = _difference(json.loads(committed), json.loads(fresh))
        pytest.fail(f"{FORWARDED_FILE} is stale; run: make openapi\n{difference}")


def test_the_gateway_reads_the_committed_file_as_package_data() -> None:
    """Through importlib.resources, as from the wheel (hatch packs every file under
    ``src/laborcoop``, as it does the migrations' SQL)."""
    committed = json.loads(generator.OUTPUT.read_text(encoding="utf-8"))
    assert forwarded_document() == committed
    assert committed["paths"], "the gateway forwards operations; none are documented"


def _concrete(path: str) -> str:
    return generator.concrete(path)


def test_every_forwarding_route_appears_in_the_public_document(
    gateway: FastAPI, document: dict[str, Any]
) -> None:
    """Each forwarding route is what some documented operation reaches (none is undocumented),
    and each documented forwarded operation reaches a forwarding route."""
    forwarding = [
        r for r in routes_in_order(gateway.router.routes) if isinstance(r, ForwardingRoute)
    ]
    reached: set[int] = set()
    for path, method, operation in operations(document):
        found = generator.route_for(gateway, method.upper(), _concrete(path))
        assert found is not None, f"{method.upper()} {path} reaches no route of the gateway"
        route = found[0]
        if OWNER_EXTENSION in operation:
            assert isinstance(route, ForwardingRoute), f"{method.upper()} {path} is not forwarded"
        if isinstance(route, ForwardingRoute):
            reached.add(id(route))
    missing = [r.path for r in forwarding if id(r) not in reached]
    assert not missing, f"forwarding routes with no documented operation: {missing}"


def test_every_forwarded_owner_operation_is_documented_as_the_owner_documents_it(
    gateway: FastAPI, document: dict[str, Any], owners: dict[str, dict[str, Any]]
) -> None:
    forwarded = asyncio.run(generator.forwarded_operations(generator.gateway_app(), owners))
    assert len(forwarded) > 30
    documented = {(path, method): op for path, method, op in operations(document)}
    for owner, path, method in forwarded:
        operation = documented.get((path, method))
        assert operation is not None, f"{method.upper()} {path} of {owner} is not documented"
        if OWNER_EXTENSION not in operation:
            continue  # the gateway documents it itself (POST /v1/brands)
        theirs = owners[owner]["paths"][path][method]
        assert operation[OWNER_EXTENSION] == owner
        assert operation["operationId"] == theirs["operationId"]
        assert operation.get("parameters") == theirs.get("parameters")
        assert set(theirs["responses"]) <= set(operation["responses"])
        assert {"401", "503", "504"} <= set(operation["responses"])


def test_the_gateway_answers_its_lists_itself_and_forwards_the_commands(
    document: dict[str, Any],
) -> None:
    agreements = document["paths"]["/v1/agreements"]
    assert OWNER_EXTENSION not in agreements["get"]  # from its view
    assert agreements["post"][OWNER_EXTENSION] == "agreements"
    assert document["paths"]["/v1/workers:import"]["post"][OWNER_EXTENSION] == "placements"
    assert OWNER_EXTENSION not in document["paths"]["/v1/brands/{brand_id}/impact"]["get"]


def test_schemas_two_owners_define_differently_are_renamed_after_each(
    document: dict[str, Any], owners: dict[str, dict[str, Any]]
) -> None:
    schemas = document["components"]["schemas"]
    for owner in ("agreements", "placements"):
        assert (
            schemas[f"{owner.capitalize()}Decline"]
            == (owners[owner]["components"]["schemas"]["Decline"])
        )
    assert "Decline" not in schemas
    body = document["paths"]["/v1/placements/{placement_id}/declines"]["post"]["requestBody"]
    assert json.dumps(body).count("#/components/schemas/PlacementsDecline") == 1


def test_a_clash_left_in_the_forwarded_part_stops_the_merge() -> None:
    own = {"paths": {}, "components": {"schemas": {"Thing": {"type": "string"}}}}
    forwarded = {"paths": {}, "components": {"schemas": {"Thing": {"type": "integer"}}}}
    with pytest.raises(SchemaConflict, match="Thing"):
        merged(own, forwarded)
    with pytest.raises(generator.GenerationError, match="'Thing' of b clashes"):
        generator.renames({"b": {"Thing": {}}}, {"Thing": {"type": "string"}, "BThing": {}})


def test_every_operation_that_needs_a_token_says_so(document: dict[str, Any]) -> None:
    assert document["components"]["securitySchemes"] == SECURITY_SCHEMES
    flow = SECURITY_SCHEMES["clientCredentials"]["flows"]["clientCredentials"]
    assert set(flow["scopes"]) == set(Role)  # each role a client may ask for
    assert flow["tokenUrl"] in document["paths"]
    for path, method, operation in operations(document):
        expected = None if path in PUBLIC else TOKEN_REQUIRED
        assert operation.get("security") == expected, f"{method.upper()} {path}"


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def test_the_public_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    errors = [
        f"{list(e.instance_path)}: {e.message}"
        for e in jsonschema_rs.Draft202012Validator(OPENAPI_31).iter_errors(document)
    ]
    assert not errors, "\n".join(errors[:20])
    schemas = document["components"]["schemas"]
    dangling = {
        ref for ref in _refs(document) if ref.removeprefix("#/components/schemas/") not in schemas
    }
    assert not dangling
    invalid = [name for name, schema in schemas.items() if not jsonschema_rs.meta.is_valid(schema)]
    assert not invalid
    ids = Counter(op["operationId"] for _, _, op in operations(document))
    assert not [i for i, n in ids.items() if n > 1], "operationIds must be unique"
    assert len(_keys(document)) > 45


async def test_the_gateway_serves_the_document_and_docs_with_no_owner_up(
    fresh_apps: FreshApps, document: dict[str, Any]
) -> None:
    nowhere = "http://127.0.0.1:9"  # the discard port: nothing listens
    settings = await fresh_apps.settings(
        GatewaySettings,
        "laborcoop.gateway.migrations",
        registry_url=nowhere,
        agreements_url=nowhere,
        placements_url=nowhere,
        run_workers=False,
    )
    async with fresh_apps.running(create_gateway, settings) as (_, client):
        served = await client.get("/openapi.json")
        docs = await client.get("/docs")
        forwarded = await client.get("/v1/workers", headers=fresh_apps.tokens.province("430000"))
    assert forwarded.status_code == 503  # the owner is down indeed
    assert served.status_code == 200
    assert served.json() == document
    assert docs.status_code == 200
    assert "/openapi.json" in docs.text

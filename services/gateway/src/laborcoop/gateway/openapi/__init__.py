"""The public OpenAPI document: the gateway's own routes and every route it forwards, in one.

A provincial developer reads one document at one URL (``/openapi.json``, shown at ``/docs``).
The gateway answers lists and views itself and forwards commands and single-resource reads to
the owning services; their operations — parameters, bodies, examples, errors — are the owners'
to describe. Services do not import each other and the gateway must serve its document when no
owner is up, so the owners' part is a committed file of this package, ``forwarded.json``,
written by the development tool ``python -m laborcoop.devstack.public_openapi`` (``make
openapi``) from the owners' own documents and the gateway's forwarding routes; a test fails
when it is stale.

At run time :func:`public_document` lays that file over the gateway's own document: the
gateway's operations win where both define a path and method (a list answered from a view), the
component schemas are merged (the generator renamed any that would clash), and one security
scheme applies to every operation that needs a token: a bearer JWT from ``POST
/v1/oauth/token``.
"""

import json
from collections.abc import Iterator, Mapping
from copy import deepcopy
from functools import cache
from importlib import resources
from typing import Any, Final

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from laborcoop.common.auth import current_principal
from laborcoop.common.middleware import routes_in_order
from laborcoop.common.principal import Role
from laborcoop.gateway.admission import EXEMPT

FORWARDED_FILE: Final = "forwarded.json"
"""The owners' operations the gateway forwards, next to this module (package data)."""

TOKEN_URL: Final = "/v1/oauth/token"  # noqa: S105 - the endpoint's path, not a secret

ROLE_SCOPES: Final = {
    Role.PROVINCE.value: "A provincial system, acting for the province of its client.",
    Role.MINISTRY.value: "The ministry: aggregates of every province, and what owners show it.",
    Role.OBSERVER.value: "An observer: the national overview only.",
}
"""The scopes of a token are roles its client holds (none asked for: all of them; an empty
scope is refused, so ``/docs`` asks for the roles ticked)."""

SECURITY_SCHEMES: Final[dict[str, Any]] = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": f"An access token from `POST {TOKEN_URL}`, sent as "
        "`Authorization: Bearer …`; the keys that verify it are at `/.well-known/jwks.json`.",
    },
    "clientCredentials": {
        "type": "oauth2",
        "description": "The same token, obtained with the OAuth 2.0 client credentials grant "
        "(the client id and secret your province was given).",
        "flows": {"clientCredentials": {"tokenUrl": TOKEN_URL, "scopes": ROLE_SCOPES}},
    },
}
TOKEN_REQUIRED: Final[list[dict[str, list[str]]]] = [{name: []} for name in SECURITY_SCHEMES]
"""The security requirement of an operation that needs a token: either scheme (one token)."""

HTTP_METHODS: Final = frozenset({"get", "put", "post", "delete", "options", "head", "patch"})
OWNER_EXTENSION: Final = "x-laborcoop-owner"
"""On a forwarded operation: the service that answers it."""


class SchemaConflict(ValueError):
    """Two different component schemas under one name: the merged document would be wrong."""


def operations(document: Mapping[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Every operation of ``document`` as (path, lower-case method, operation)."""
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield path, method, operation


def _depends_on(dependant: Dependant, call: object) -> bool:
    return any(d.call is call or _depends_on(d, call) for d in dependant.dependencies)


def token_operations(app: FastAPI) -> set[tuple[str, str]]:
    """(path, method) of the app's documented operations that verify a bearer token."""
    return {
        (route.path_format, method.lower())
        for route in routes_in_order(app.router.routes)
        if isinstance(route, APIRoute)
        and route.include_in_schema
        and _depends_on(route.dependant, current_principal)
        for method in route.methods or ()
    }


def merge_schemas(
    into: dict[str, Any], schemas: Mapping[str, Any], *, source: str
) -> dict[str, Any]:
    """``into`` with ``schemas`` added: a name both hold must name the same schema."""
    for name, schema in schemas.items():
        if name in into and into[name] != schema:
            raise SchemaConflict(
                f"component schema {name!r} of {source} differs from the one already merged"
            )
        into[name] = schema
    return into


def merged(own: Mapping[str, Any], forwarded: Mapping[str, Any]) -> dict[str, Any]:
    """``own`` with the operations, tags and component schemas of ``forwarded`` that it does not
    define itself; a component schema both define differently is a :class:`SchemaConflict`."""
    document = deepcopy(dict(own))
    paths: dict[str, Any] = document.setdefault("paths", {})
    for path, method, operation in operations(forwarded):
        paths.setdefault(path, {}).setdefault(method, deepcopy(operation))
    own_tags = list(document.get("tags", []))
    named = {tag["name"] for tag in own_tags}
    more_tags = [deepcopy(t) for t in forwarded.get("tags", []) if t["name"] not in named]
    if own_tags or more_tags:
        document["tags"] = [*own_tags, *more_tags]
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    forwarded_schemas = deepcopy(forwarded.get("components", {}).get("schemas", {}))
    merge_schemas(schemas, forwarded_schemas, source="the forwarded routes")
    return document


def secured(document: dict[str, Any], needs_token: set[tuple[str, str]]) -> dict[str, Any]:
    """``document`` with the security schemes, and the token requirement on the operations
    ``needs_token`` names (forwarded operations carry it already)."""
    document.setdefault("components", {})["securitySchemes"] = deepcopy(SECURITY_SCHEMES)
    for path, method, operation in operations(document):
        if (path, method) in needs_token:
            operation["security"] = deepcopy(TOKEN_REQUIRED)
    return document


RATE_LIMITED: Final[dict[str, Any]] = {
    "description": "Too Many Requests: past the client's rate (per client id, or per address "
    "without a token); retry after `Retry-After` seconds.",
    "headers": {
        "Retry-After": {
            "description": "Seconds to wait before the next request.",
            "schema": {"type": "integer", "minimum": 1},
        }
    },
    "content": {
        "application/problem+json": {"schema": {"$ref": "#/components/schemas/ProblemDocument"}}
    },
}


def rate_limited(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with the 429 every operation may answer (``laborcoop.gateway.limits``: the
    gateway limits every route but the probes and metrics)."""
    for path, _, operation in operations(document):
        if path in EXEMPT:
            continue
        operation.setdefault("responses", {}).setdefault("429", deepcopy(RATE_LIMITED))
    return document


@cache
def forwarded_document() -> dict[str, Any]:
    """The committed operations of the owners that the gateway forwards (read once)."""
    text = resources.files(__name__).joinpath(FORWARDED_FILE).read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


def public_document(app: FastAPI, own: dict[str, Any]) -> dict[str, Any]:
    """The gateway's OpenAPI document: ``own`` (the app's routes) with the forwarded routes."""
    return rate_limited(secured(merged(own, forwarded_document()), token_operations(app)))
